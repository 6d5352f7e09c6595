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

  it('loseDisk() fails the open store and leaves an empty disk for the next one', async () => {
    const disk = new MemoryDisk();
    const store = new MemoryStore(disk);
    const id = blake2bHex('x');
    await store.putBlock(id, Buffer.from('x'), lease);
    store.loseDisk();
    await expect(store.getBlock(id)).rejects.toMatchObject({ code: 'STORE_FAILED' });
    const replaced = new MemoryStore(disk);
    expect(await replaced.hasBlock(id)).toBe(false);
    expect(await replaced.totals()).toEqual({ blocks: 0, blockBytes: 0, objects: 0, objectBytes: 0 });
  });

  it('is deterministic: the same operations give the same scans and digests', async () => {
    const run = async () => {
      const store = new MemoryStore();
      for (let i = 0; i < 50; i++) await store.putBlock(blake2bHex(`b${(i * 37) % 50}`), Buffer.from(`body ${i}`), { expiresAtMs: i, insertedBy: owner });
      const whole = { lo: blake2bHex('lo'), hi: blake2bHex('lo') };
      return { scan: await store.scanBlocks(whole), digest: await store.rangeDigest(whole), gc: await store.deleteExpired(20) };
    };
    expect(await run()).toEqual(await run());
  });
});
