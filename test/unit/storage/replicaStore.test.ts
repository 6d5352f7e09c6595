// A replica's handling of puts against its local store: verify, then store; signed-object puts decided
// and compare-and-put atomically, so concurrent writers cannot both win and a loser learns the winner.
import { describe, expect, it } from 'vitest';
import { sealConvergent } from '../../../crypto/convergent';
import { blake2b, blake2bHex } from '../../../crypto/hash';
import { signatureCounts, signingKeyPairFromSeed } from '../../../crypto/sign';
import { MemoryStore } from '../../../infra/store/memory';
import { acceptBlocks, applyBlockPut, applyObjectPut, getVerifiedBlock, getVerifiedObject, StoredObjectMemo } from '../../../storage/replicaStore';
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

describe('replica store: the version it last stored, remembered (issue 11)', () => {
  /** A store that counts object reads. */
  const counted = () => {
    const store = new MemoryStore();
    const reads = { n: 0 };
    const getObject = store.getObject.bind(store);
    store.getObject = (id) => (reads.n++, getObject(id));
    return { store, reads };
  };
  const chain = async (count: number) => {
    const versions = [await signObjectVersion({ keys, name, payload: Buffer.from('1') })];
    for (let i = 2; i <= count; i++) versions.push(await signObjectVersion({ keys, name, payload: Buffer.from(String(i)), previous: versions.at(-1)! }));
    return versions;
  };

  it('a head put again and again is decided against the remembered version: the stored copy is read once, not per put', async () => {
    const versions = await chain(6);
    const { store, reads } = counted();
    const memo = new StoredObjectMemo(1 << 20);
    for (const [i, v] of versions.entries()) expect(await applyObjectPut(store, v, i, memo)).toEqual({ accept: true });
    expect(reads.n).toBe(1); // the first put, before anything was remembered
    const plain = counted();
    for (const [i, v] of versions.entries()) await applyObjectPut(plain.store, v, i);
    expect(plain.reads.n).toBe(versions.length);
    expect((await getVerifiedObject(store, versions[0]!.objectId))!.seq).toBe(6);
  });

  it('a version changed behind its back (a repair put, a delete) decides nothing: the store does', async () => {
    const [v1, v2, v3, v4] = await chain(4);
    const { store } = counted();
    const memo = new StoredObjectMemo(1 << 20);
    await applyObjectPut(store, v1!, 0, memo);
    await applyObjectPut(store, v2!, 1, memo);
    // v3 arrives by another path (repair), which does not tell the memo: v4 still lands on it.
    expect(await applyObjectPut(store, v3!, undefined)).toEqual({ accept: true });
    expect(await applyObjectPut(store, v4!, 3, memo)).toEqual({ accept: true });
    // A put that the remembered version would refuse is decided against the store, and refused only if the store refuses it.
    expect(await applyObjectPut(store, v4!, 3, memo)).toMatchObject({ accept: false, code: 'CAS_MISMATCH', current: { seq: 4 } });
    // Deleted behind its back: the compare-and-put fails and the put is refused as without the memo.
    await store.deleteObject(v1!.objectId);
    const [, , , , v5] = await chain(5);
    expect(await applyObjectPut(store, v5!, 4, memo)).toMatchObject({ accept: false, code: 'CAS_MISMATCH' });
    expect(await getVerifiedObject(store, v1!.objectId)).toBeUndefined();
  });

  /** A store whose compare-and-puts wait for `commit()` and then run in the order they were issued (as lmdb-js's transactions do). */
  const committingLater = () => {
    const { store, reads } = counted();
    const compareAndPut = store.compareAndPutObject.bind(store);
    const waiting: (() => void)[] = [];
    store.compareAndPutObject = (id, expected, next) => new Promise<void>((resolve) => waiting.push(resolve)).then(() => compareAndPut(id, expected, next));
    /** Commit what is waiting, again and again until `done` settles. */
    const commitUntil = async <T>(done: Promise<T>): Promise<T> => {
      let settled = false;
      void done.finally(() => (settled = true));
      for (let turn = 0; turn < 1000 && !settled; turn++) {
        await Promise.resolve();
        for (const go of waiting.splice(0)) go();
      }
      return done;
    };
    return { store, reads, commitUntil };
  };
  const signatureChecks = () => {
    const c = signatureCounts();
    return c.verified + c.known;
  };

  it("a writer's next head arriving while this one is still committing is decided against it: no lost race, no re-read, one verification each", async () => {
    const [v1, v2, v3, v4] = await chain(4);
    const { store, reads, commitUntil } = committingLater();
    const memo = new StoredObjectMemo(1 << 20);
    expect(await commitUntil(applyObjectPut(store, v1!, 0, memo))).toEqual({ accept: true });
    const checksBefore = signatureChecks();
    const readsBefore = reads.n;
    // v3 is sent once a majority took v2; here v2 is still being committed when v3 (and v4) arrive.
    const decisions = Promise.all([applyObjectPut(store, v2!, 1, memo), applyObjectPut(store, v3!, 2, memo), applyObjectPut(store, v4!, 3, memo)]);
    expect(await commitUntil(decisions)).toEqual([{ accept: true }, { accept: true }, { accept: true }]);
    expect(signatureChecks() - checksBefore).toBe(3);
    expect(reads.n - readsBefore).toBe(0);
    expect((await getVerifiedObject(store, v1!.objectId))!.seq).toBe(4);
  });

  it('a version decided against one still committing fails with it, and is decided again against the store', async () => {
    const [v1, v2, v3] = await chain(3);
    const { store, commitUntil } = committingLater();
    const memo = new StoredObjectMemo(1 << 20);
    await commitUntil(applyObjectPut(store, v1!, 0, memo));
    // v2's commit will find the object gone (deleted behind its back): v3, decided against v2, cannot land either.
    const [d2, d3] = await commitUntil(Promise.all([applyObjectPut(store, v2!, 1, memo), applyObjectPut(store, v3!, 2, memo), store.deleteObject(v1!.objectId)]));
    expect(d2).toMatchObject({ accept: false, code: 'CAS_MISMATCH' });
    expect(d3).toMatchObject({ accept: false, code: 'CAS_MISMATCH' });
    expect(d3).not.toHaveProperty('current');
    expect(memo.get(v1!.objectId)).toBeUndefined();
    expect(await getVerifiedObject(store, v1!.objectId)).toBeUndefined();
  });

  it('a compare-and-put that throws (the disk failed) leaves nothing remembered', async () => {
    const [v1, v2] = await chain(2);
    const { store } = counted();
    const memo = new StoredObjectMemo(1 << 20);
    await applyObjectPut(store, v1!, 0, memo);
    store.compareAndPutObject = () => Promise.reject(new Error('disk full'));
    await expect(applyObjectPut(store, v2!, 1, memo)).rejects.toThrow('disk full');
    expect(memo.get(v1!.objectId)).toBeUndefined();
  });

  it('keeps at most its bytes, the oldest forgotten first', async () => {
    const [v1] = await chain(1);
    const other = await signObjectVersion({ keys, name: 'log:Sent', payload: Buffer.from('1') });
    const memo = new StoredObjectMemo(1);
    await applyObjectPut(new MemoryStore(), v1!, 0, memo);
    expect(memo.size).toBe(0); // larger than the bound: not kept
    const roomy = new StoredObjectMemo(1 << 20);
    const store = new MemoryStore();
    await applyObjectPut(store, v1!, 0, roomy);
    await applyObjectPut(store, other, 0, roomy);
    expect(roomy.size).toBe(2);
    const bytesOfOne = roomy.get(v1!.objectId)!.bytes;
    const tight = new StoredObjectMemo(bytesOfOne + roomy.get(other.objectId)!.bytes - 1);
    await applyObjectPut(new MemoryStore(), v1!, 0, tight);
    const second = new MemoryStore();
    await applyObjectPut(second, other, 0, tight);
    expect(tight.get(v1!.objectId)).toBeUndefined();
    expect(tight.get(other.objectId)).toBeDefined();
  });
});
