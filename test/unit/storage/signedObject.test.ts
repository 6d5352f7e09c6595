// Mutable signed objects: id derivation, signatures over a fixed, domain-separated layout, the
// replica's acceptance rule (every refusal code), and readers skipping forged versions.
import { describe, expect, it } from 'vitest';
import { SignatureDomain } from '../../../crypto/domains';
import { sign, signingKeyPairFromSeed, verify } from '../../../crypto/sign';
import { obj } from '../../../protocol/codec';
import { defineFrame } from '../../../protocol/frame';
import { OBJECT_PAYLOAD_BYTES_MAX } from '../../../protocol/limits';
import {
  checkSignedObject,
  decidePut,
  NO_PREVIOUS_VERSION,
  objectIdOf,
  pickNewest,
  rankVersions,
  type SignedObject,
  signObjectVersion,
  versionHash,
} from '../../../storage/signedObject';
import { decodeSignedObject, encodeSignedObject, signedObjectCodec } from '../../../storage/signedObjectCodec';

const seed = (n: number) => new Uint8Array(32).fill(n);
const owner = await signingKeyPairFromSeed(seed(1));
const mallory = await signingKeyPairFromSeed(seed(2));
const name = 'log:inbox';
const payload = (s: string) => Buffer.from(s);

const v1 = await signObjectVersion({ keys: owner, name, payload: payload('head 1') });
const v2 = await signObjectVersion({ keys: owner, name, payload: payload('head 2'), previous: v1 });
const v3 = await signObjectVersion({ keys: owner, name, payload: payload('head 3'), previous: v2 });
/** Another device's version 3, also on top of v2: a fork of v3. */
const v3b = await signObjectVersion({ keys: owner, name, payload: payload('head 3 from the phone'), previous: v2 });
const v4 = await signObjectVersion({ keys: owner, name, payload: payload('head 4'), previous: v3 });

/** Re-sign `fields` with `keys` under `domain`, keeping everything else. */
async function resign(o: SignedObject, changes: Partial<SignedObject>, keys = owner, domain: (typeof SignatureDomain)[keyof typeof SignatureDomain] = SignatureDomain.signedObject) {
  const body = { ...o, ...changes };
  const fields = [Buffer.from(body.objectId, 'hex'), body.owner, body.name, body.seq, body.prev, body.payload];
  return { ...body, signature: await sign(domain, fields, keys.secretKey) };
}

describe('signed objects: ids and versions', () => {
  it('object id = H(domain, owner key, name): stable, and distinct per owner and per name', () => {
    expect(v1.objectId).toBe(objectIdOf(owner.publicKey, name));
    expect(v1.objectId).toMatch(/^[0-9a-f]{64}$/);
    expect(objectIdOf(mallory.publicKey, name)).not.toBe(v1.objectId);
    expect(objectIdOf(owner.publicKey, 'log:sent')).not.toBe(v1.objectId);
  });

  it('versions chain: seq counts from 1 and prev is the hash of the version replaced', () => {
    expect([v1.seq, v2.seq, v3.seq]).toEqual([1, 2, 3]);
    expect(Buffer.from(v1.prev).equals(Buffer.from(NO_PREVIOUS_VERSION))).toBe(true);
    expect(Buffer.from(v2.prev).equals(versionHash(v1))).toBe(true);
    expect(versionHash(v3).equals(versionHash(v3b))).toBe(false);
    for (const v of [v1, v2, v3, v3b]) expect(checkSignedObject(v)).toEqual({ ok: true });
  });

  it('a changed field breaks the signature', async () => {
    expect(checkSignedObject({ ...v2, payload: payload('head 2!') })).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
    expect(checkSignedObject({ ...v2, seq: 7 })).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
    expect(checkSignedObject({ ...v2, prev: versionHash(v2) })).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
  });

  it('signatures are domain-separated: the same fields signed for another purpose do not verify, nor the reverse', async () => {
    const asNotification = await resign(v2, {}, owner, SignatureDomain.notification);
    expect(checkSignedObject(asNotification)).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
    const fields = [Buffer.from(v2.objectId, 'hex'), v2.owner, v2.name, v2.seq, v2.prev, v2.payload];
    expect(await verify(SignatureDomain.signedObject, fields, v2.signature, owner.publicKey)).toBe(true);
    expect(await verify(SignatureDomain.notification, fields, v2.signature, owner.publicKey)).toBe(false);
    expect(await verify(SignatureDomain.receipt, fields, v2.signature, owner.publicKey)).toBe(false);
  });

  it('an id not derived from owner and name is BAD_OBJECT_ID, even when correctly signed', async () => {
    const moved = await resign(v1, { objectId: objectIdOf(owner.publicKey, 'log:other') });
    expect(checkSignedObject(moved)).toMatchObject({ ok: false, code: 'BAD_OBJECT_ID' });
    // Mallory signs a version of Alice's object with her own key: the id is not hers.
    const forged = await resign(v1, { owner: mallory.publicKey }, mallory);
    expect(checkSignedObject(forged)).toMatchObject({ ok: false, code: 'BAD_OBJECT_ID' });
  });

  it('malformed versions are BAD_OBJECT', async () => {
    const cases: Partial<SignedObject>[] = [
      { seq: 0 },
      { seq: 1.5 },
      { prev: new Uint8Array(31) },
      { payload: new Uint8Array(OBJECT_PAYLOAD_BYTES_MAX + 1) },
      { signature: new Uint8Array(63) },
      { owner: new Uint8Array(31) },
      { objectId: 'XYZ' },
    ];
    for (const c of cases) expect(checkSignedObject({ ...v2, ...c }), JSON.stringify(Object.keys(c))).toMatchObject({ ok: false, code: 'BAD_OBJECT' });
    const firstWithPrev = await resign(v1, { prev: versionHash(v1) });
    expect(checkSignedObject(firstWithPrev)).toMatchObject({ ok: false, code: 'BAD_OBJECT', message: expect.stringMatching(/all-zero prev/) });
  });

  it('encode canonically and decode strictly', () => {
    const bytes = encodeSignedObject(v2);
    expect(Buffer.from(encodeSignedObject({ ...v2 })).equals(Buffer.from(bytes))).toBe(true);
    const back = decodeSignedObject(bytes);
    expect(back.ok && checkSignedObject(back.value).ok && versionHash(back.value).equals(versionHash(v2))).toBe(true);
    expect(decodeSignedObject(Buffer.from('not msgpack at all'))).toMatchObject({ ok: false, code: 'BAD_OBJECT' });
    expect(decodeSignedObject(bytes.subarray(0, bytes.length - 1))).toMatchObject({ ok: false, code: 'BAD_OBJECT' });
    const frame = defineFrame('test.signed-object-carrier', obj({ head: signedObjectCodec }));
    const carried = frame.decode(frame.encode({ head: v3 }));
    expect(carried.ok && versionHash(carried.body.head).equals(versionHash(v3))).toBe(true);
  });
});

describe('signed objects: the replica acceptance rule (decidePut)', () => {
  it('accepts a first version (create: replacesSeq 0) and the next version of the stored one', () => {
    expect(decidePut(undefined, v1, 0)).toEqual({ accept: true });
    expect(decidePut(v1, v2, 1)).toEqual({ accept: true });
    expect(decidePut(v2, v3b, 2)).toEqual({ accept: true });
  });

  it('SEQ_NOT_NEWER: an older or equal sequence is refused, returning the current version', () => {
    expect(decidePut(v2, v1, undefined)).toMatchObject({ accept: false, code: 'SEQ_NOT_NEWER', current: v2 });
    expect(decidePut(v2, v2, undefined)).toMatchObject({ accept: false, code: 'SEQ_NOT_NEWER' });
    expect(decidePut(v3, v3b, undefined)).toMatchObject({ accept: false, code: 'SEQ_NOT_NEWER', current: v3 });
    expect(decidePut(v2, v2, 2)).toMatchObject({ accept: false, code: 'SEQ_NOT_NEWER' });
  });

  it('CAS_MISMATCH: the put replaces another sequence than the stored one; the writer gets the current version', () => {
    const r = decidePut(v3, v3b, 2); // the phone read v2, but the laptop's v3 is stored now
    expect(r).toMatchObject({ accept: false, code: 'CAS_MISMATCH', current: v3 });
    if (!r.accept) expect(r.message).toMatch(/re-read/);
    expect(decidePut(undefined, v2, 1)).toMatchObject({ accept: false, code: 'CAS_MISMATCH' });
    expect(decidePut(v1, v1, 0)).toMatchObject({ accept: false, code: 'CAS_MISMATCH', current: v1 });
  });

  it('FORK: right sequence but not built on the stored version, or skipping ahead of it', () => {
    expect(decidePut(v3b, v4, 3)).toMatchObject({ accept: false, code: 'FORK', current: v3b });
    expect(decidePut(v2, v4, 2)).toMatchObject({ accept: false, code: 'FORK', message: expect.stringMatching(/skips ahead/) });
    expect(decidePut(undefined, v2, 0)).toMatchObject({ accept: false, code: 'FORK' });
  });

  it('BAD_SIGNATURE and BAD_OBJECT_ID are refused before anything about the stored state is told', async () => {
    const forged = { ...v4, payload: payload('evil head') };
    expect(decidePut(v3, forged, 3)).toEqual({ accept: false, code: 'BAD_SIGNATURE', message: expect.any(String) });
    expect(decidePut(v3, forged, undefined)).toMatchObject({ accept: false, code: 'BAD_SIGNATURE' });
    const malloryVersion = await resign(v4, { owner: mallory.publicKey }, mallory);
    expect(decidePut(v3, malloryVersion, 3)).toEqual({ accept: false, code: 'BAD_OBJECT_ID', message: expect.any(String) });
    expect(decidePut(v3, { ...v4, seq: 0 }, 3)).toMatchObject({ accept: false, code: 'BAD_OBJECT' });
    expect(decidePut(v3, v4, -1)).toMatchObject({ accept: false, code: 'BAD_OBJECT' });
  });

  it('repair (no compare-and-swap) stores whatever verifies and is newer, healing a replica left on a fork', () => {
    expect(decidePut(undefined, v3, undefined)).toEqual({ accept: true });
    expect(decidePut(v1, v3, undefined)).toEqual({ accept: true });
    expect(decidePut(v3b, v4, undefined)).toEqual({ accept: true });
  });

  it('comparing different objects is a programmer error', async () => {
    const other = await signObjectVersion({ keys: owner, name: 'log:sent', payload: payload('x') });
    expect(() => decidePut(v1, other, undefined)).toThrow(/compared with a put/);
  });
});

describe('signed objects: readers (pickNewest)', () => {
  it('takes the highest sequence that verifies, skipping a forged newest version', async () => {
    const forgedNewest = { ...v3, seq: 99, payload: payload('rolled forward by a liar') };
    const foreign = await signObjectVersion({ keys: mallory, name, payload: payload('mine') });
    const answers = [v2, forgedNewest, undefined, v3, { ...foreign, seq: 50 }];
    expect(pickNewest(answers, v1.objectId)).toBe(v3);
    const ranked = rankVersions(answers, v1.objectId);
    expect(ranked.valid).toEqual([v3, v2]);
    expect(ranked.rejected.map((r) => [r.index, r.code])).toEqual([
      [1, 'BAD_SIGNATURE'],
      [4, 'BAD_OBJECT_ID'],
    ]);
  });

  it('without an expected id, still refuses versions whose id is not their own', async () => {
    const moved = await resign(v3, { objectId: objectIdOf(owner.publicKey, 'elsewhere'), seq: 40 });
    expect(pickNewest([v1, moved])).toBe(v1);
  });

  it('returns undefined when nothing verifies, and breaks fork ties the same way for every reader', () => {
    expect(pickNewest([{ ...v1, signature: new Uint8Array(64) }, undefined])).toBeUndefined();
    expect(pickNewest([])).toBeUndefined();
    expect(pickNewest([v3, v3b])).toBe(pickNewest([v3b, v3]));
  });
});
