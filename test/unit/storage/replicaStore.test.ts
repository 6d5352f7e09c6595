// A replica's handling of puts against its local store: verify, then store; signed-object puts decided
// and compare-and-put atomically, so concurrent writers cannot both win and a loser learns the winner.
import { describe, expect, it } from 'vitest';
import { sealConvergent } from '../../../crypto/convergent';
import { blake2b, blake2bHex } from '../../../crypto/hash';
import { signingKeyPairFromSeed } from '../../../crypto/sign';
import { MemoryStore } from '../../../infra/store/memory';
import { acceptBlocks, applyBlockPut, applyObjectPut, getVerifiedBlock, getVerifiedObject } from '../../../storage/replicaStore';
import { signObjectVersion, versionHash } from '../../../storage/signedObject';

const user = blake2bHex('user alice');
const lease = { expiresAtMs: 5000, insertedBy: user };
const keys = await signingKeyPairFromSeed(new Uint8Array(32).fill(5));
const name = 'log:INBOX';

describe('replica store: blocks', () => {
  it('stores a block whose bytes hash to its id and refuses one that does not', async () => {
    const store = new MemoryStore();
    const sealed = sealConvergent(blake2b('secret'), Buffer.from('a mail part'));
    const id = sealed.id.toString('hex');
    expect(await applyBlockPut(store, id, sealed.ciphertext, lease)).toMatchObject({ ok: true, value: { created: true } });
    const other = blake2bHex('another id');
    expect(await applyBlockPut(store, other, sealed.ciphertext, lease)).toMatchObject({ ok: false, code: 'BLOCK_CORRUPT' });
    expect(await store.hasBlock(other)).toBe(false);
  });

  it('never serves a copy that rotted on disk', async () => {
    const store = new MemoryStore();
    const sealed = sealConvergent(blake2b('secret'), Buffer.from('will rot'));
    const id = sealed.id.toString('hex');
    await applyBlockPut(store, id, sealed.ciphertext, lease);
    expect((await getVerifiedBlock(store, id)).status).toBe('ok');
    store.corrupt(id);
    expect(await getVerifiedBlock(store, id)).toMatchObject({ status: 'corrupt', meta: { sizeBytes: sealed.ciphertext.length } });
    expect(await getVerifiedBlock(store, blake2bHex('absent'))).toEqual({ status: 'missing' });
  });
});

describe('replica store: a batch of blocks', () => {
  const sealedBlock = (text: string) => {
    const sealed = sealConvergent(blake2b('secret'), Buffer.from(text));
    return { id: sealed.id.toString('hex'), bytes: new Uint8Array(sealed.ciphertext) };
  };
  const opts = { quotaBytes: 1_000_000, leaseCapAtMs: 4000 };

  it('a corrupt block is refused alone: the good ones are stored in one write, leases capped', async () => {
    const store = new MemoryStore();
    const [a, b, c] = ['part a', 'part b', 'part c'].map(sealedBlock);
    const rotten = { ...b!, bytes: Uint8Array.from(b!.bytes, (x, i) => (i === 3 ? x ^ 0xff : x)) };
    let writes = 0;
    const putBlocks = store.putBlocks.bind(store);
    store.putBlocks = (blocks) => (writes++, putBlocks(blocks));
    const outcomes = await acceptBlocks(store, [a!, rotten, c!].map((x) => ({ ...x, ...lease })), opts);
    expect(outcomes).toEqual([
      { ok: true, value: { created: true } },
      { ok: false, code: 'BLOCK_CORRUPT', message: expect.stringMatching(/do not hash to its id/) },
      { ok: true, value: { created: true } },
    ]);
    expect(writes).toBe(1);
    expect(await store.hasBlock(b!.id)).toBe(false);
    expect((await store.blockMeta(a!.id))!.expiresAtMs).toBe(4000);
    expect((await getVerifiedBlock(store, c!.id)).status).toBe('ok');
  });

  it("a new block over its inserter's quota is refused; one already stored only has its lease extended", async () => {
    const store = new MemoryStore();
    const [a, b] = ['quota a', 'quota b'].map(sealedBlock);
    const quotaBytes = a!.bytes.length + 1;
    await store.putBlock(b!.id, b!.bytes, { expiresAtMs: 100, insertedBy: user });
    const outcomes = await acceptBlocks(store, [a!, b!].map((x) => ({ ...x, ...lease })), { ...opts, quotaBytes });
    expect(outcomes[0]).toMatchObject({ ok: false, code: 'QUOTA_EXCEEDED' });
    expect(outcomes[1]).toEqual({ ok: true, value: { created: false } });
    expect((await store.blockMeta(b!.id))!.expiresAtMs).toBe(4000);
  });
});

describe('replica store: signed objects', () => {
  it('two devices racing from the same version: exactly one wins, the other is told the winner and rebases', async () => {
    const store = new MemoryStore();
    const v1 = await signObjectVersion({ keys, name, payload: Buffer.from('1') });
    expect(await applyObjectPut(store, v1, 0)).toEqual({ accept: true });
    const laptop = await signObjectVersion({ keys, name, payload: Buffer.from('2 laptop'), previous: v1 });
    const phone = await signObjectVersion({ keys, name, payload: Buffer.from('2 phone'), previous: v1 });

    const [a, b] = await Promise.all([applyObjectPut(store, laptop, 1), applyObjectPut(store, phone, 1)]);
    expect([a.accept, b.accept].filter(Boolean)).toHaveLength(1);
    const loser = a.accept ? b : a;
    const winner = a.accept ? laptop : phone;
    expect(loser).toMatchObject({ accept: false, code: 'CAS_MISMATCH' });
    if (!loser.accept) expect(versionHash(loser.current!).equals(versionHash(winner))).toBe(true);

    const rebased = await signObjectVersion({ keys, name, payload: Buffer.from('3 merged'), previous: winner });
    expect(await applyObjectPut(store, rebased, 2)).toEqual({ accept: true });
    expect((await getVerifiedObject(store, v1.objectId))!.seq).toBe(3);
  });

  it('refuses forged and stale puts and leaves the stored version alone', async () => {
    const store = new MemoryStore();
    const v1 = await signObjectVersion({ keys, name, payload: Buffer.from('1') });
    const v2 = await signObjectVersion({ keys, name, payload: Buffer.from('2'), previous: v1 });
    await applyObjectPut(store, v1, 0);
    await applyObjectPut(store, v2, 1);
    expect(await applyObjectPut(store, { ...v2, seq: 3 }, 2)).toMatchObject({ accept: false, code: 'BAD_SIGNATURE' });
    expect(await applyObjectPut(store, v1, undefined)).toMatchObject({ accept: false, code: 'SEQ_NOT_NEWER' });
    expect((await getVerifiedObject(store, v1.objectId))!.seq).toBe(2);
  });

  it('treats a stored copy that rotted as absent, so repair can replace it', async () => {
    const store = new MemoryStore();
    const v1 = await signObjectVersion({ keys, name, payload: Buffer.from('1') });
    const v2 = await signObjectVersion({ keys, name, payload: Buffer.from('2'), previous: v1 });
    await applyObjectPut(store, v1, 0);
    store.corrupt(v1.objectId);
    expect(await getVerifiedObject(store, v1.objectId)).toBeUndefined();
    expect(await applyObjectPut(store, v2, undefined)).toEqual({ accept: true });
    expect((await getVerifiedObject(store, v1.objectId))!.seq).toBe(2);
  });
});
