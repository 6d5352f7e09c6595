// The simulator's disk passes the LocalStore contract, and injects the faults scenarios need.
import { describe, expect, it } from 'vitest';
import { blake2bHex } from '../../../crypto/hash';
import { MemoryDisk, MemoryStore } from '../../../infra/store/memory';
import { storeCompliance } from '../../compliance/store';

storeCompliance('memory', async () => {
  const disk = new MemoryDisk();
  let current = new MemoryStore(disk);
  return {
    get store() {
      return current;
    },
    async reopen() {
      await current.close();
      current = new MemoryStore(disk);
      return current;
    },
    async cleanup() {
      await current.close();
    },
  };
});

const owner = blake2bHex('owner');
const lease = { expiresAtMs: 1000, insertedBy: owner };

describe('MemoryStore faults', () => {
  it('corrupt(id) flips a stored byte in place; the store hands back the damaged bytes unverified', async () => {
    const store = new MemoryStore();
    const bytes = Buffer.from('a block body that will rot');
    const id = blake2bHex(bytes);
    await store.putBlock(id, bytes, lease);
    expect(store.corrupt(id)).toBe(true);
    const got = (await store.getBlock(id))!.bytes;
    expect(Buffer.from(got).equals(bytes)).toBe(false);
    expect(blake2bHex(got)).not.toBe(id);
    expect(store.corrupt(blake2bHex('absent'))).toBe(false);
  });

  it('corrupt(dropId, entryId) flips a byte of a drop entry in place, leaving its meta as it was', async () => {
    const store = new MemoryStore();
    const [dropId, entryId] = [blake2bHex('drop'), blake2bHex('entry')];
    const bytes = Buffer.from('a sealed notification that will rot');
    await store.putDropEntry(dropId, entryId, bytes, { sender: owner, receivedAtMs: 5 });
    expect(store.corrupt(dropId, entryId)).toBe(true);
    const got = (await store.getDropEntry(dropId, entryId))!;
    expect(Buffer.from(got.bytes).equals(bytes)).toBe(false);
    expect(got).toMatchObject({ sender: owner, receivedAtMs: 5, sizeBytes: bytes.length });
    expect(store.corrupt(dropId, blake2bHex('absent'))).toBe(false);
    expect(store.corrupt(dropId)).toBe(false); // a drop id alone names no block or object
  });

  it('loseDisk() fails the open store and leaves an empty disk for the next one', async () => {
    const disk = new MemoryDisk();
    const store = new MemoryStore(disk);
    const id = blake2bHex('x');
    await store.putBlock(id, Buffer.from('x'), lease);
    await store.putDropEntry(id, id, Buffer.from('n'), { sender: owner, receivedAtMs: 1 });
    await store.deleteDropEntry(id, blake2bHex('taken'), { tombstoneUntilMs: 9 });
    store.loseDisk();
    await expect(store.getBlock(id)).rejects.toMatchObject({ code: 'STORE_FAILED' });
    const replaced = new MemoryStore(disk);
    expect(await replaced.hasBlock(id)).toBe(false);
    expect(await replaced.totals()).toEqual({ blocks: 0, blockBytes: 0, objects: 0, objectBytes: 0, dropEntries: 0, dropBytes: 0 });
    expect(await replaced.countDrop(id)).toBe(0);
    expect(await replaced.hasTombstone(id, blake2bHex('taken'))).toBe(false);
  });

  it('is deterministic: the same operations give the same scans and digests', async () => {
    const run = async () => {
      const store = new MemoryStore();
      for (let i = 0; i < 50; i++) await store.putBlock(blake2bHex(`b${(i * 37) % 50}`), Buffer.from(`body ${i}`), { expiresAtMs: i, insertedBy: owner });
      for (let i = 0; i < 50; i++) {
        const [dropId, entryId] = [blake2bHex(`d${i % 7}`), blake2bHex(`e${(i * 37) % 50}`)];
        await store.putDropEntry(dropId, entryId, Buffer.from(`note ${i}`), { sender: owner, receivedAtMs: i });
        if (i % 3 === 0) await store.deleteDropEntry(dropId, entryId, { tombstoneUntilMs: 50 - i });
      }
      const whole = { lo: blake2bHex('lo'), hi: blake2bHex('lo') };
      const drops = await store.scanDrops(whole);
      return {
        scan: await store.scanBlocks(whole),
        digest: await store.rangeDigest(whole),
        gc: await store.deleteExpired(20),
        drops,
        lists: await Promise.all(drops.map((d) => store.listDrop(d.dropId))),
        tombstones: await store.deleteExpiredTombstones(30),
      };
    };
    expect(await run()).toEqual(await run());
  });
});
