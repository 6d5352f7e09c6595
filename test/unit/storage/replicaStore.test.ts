// A replica's handling of puts against its local store: verify, then store; signed-object puts decided
// and compare-and-put atomically, so concurrent writers cannot both win and a loser learns the winner.
import { describe, expect, it } from 'vitest';
import { sealConvergent } from '../../../crypto/convergent';
import { blake2b, blake2bHex } from '../../../crypto/hash';
import { signingKeyPairFromSeed } from '../../../crypto/sign';
import { MemoryStore } from '../../../infra/store/memory';
import { applyBlockPut, applyObjectPut, getVerifiedBlock, getVerifiedObject } from '../../../storage/replicaStore';
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
