// Signed objects verified over the bytes they arrived as (issue 11): a version read from its canonical
// encoding is checked and hashed over those bytes without encoding it again. What must still hold: a
// changed byte anywhere is refused, exactly one byte string encodes a version (no other encoding of
// the same fields is read, even one its owner signed), and what is acted on is what was verified.
import { describe, expect, it } from 'vitest';
import { SignatureDomain } from '../../../crypto/domains';
import { signedBytesOfEncoded, signingKeyPairFromSeed, signSignedBytesSync } from '../../../crypto/sign';
import { MemoryStore } from '../../../infra/store/memory';
import { obj } from '../../../protocol/codec';
import { canonicalBytes, decodeFrame, defineFrame } from '../../../protocol/frame';
import { PROTOCOL_VERSION } from '../../../protocol/limits';
import { encodedFormOf, parseSignedObject, signedFieldsEncodingOf, signedObjectCodec } from '../../../protocol/objects';
import { applyObjectPut, getVerifiedObject } from '../../../storage/replicaStore';
import { checkSignedObject, decidePut, type SignedObject, signObjectVersion, versionHash } from '../../../storage/signedObject';
import { decodeSignedObject, encodeSignedObject } from '../../../storage/signedObjectCodec';

const owner = await signingKeyPairFromSeed(new Uint8Array(32).fill(7));
const name = 'log:inbox';
const v1 = await signObjectVersion({ keys: owner, name, payload: Buffer.from('head 1') });
const v2 = await signObjectVersion({ keys: owner, name, payload: Buffer.alloc(300, 0x61), previous: v1 });

/** What a replica holding `stored` (at the put's id) does with bytes: read them, then its acceptance rule. */
function replicaVerdict(bytes: Uint8Array, stored: SignedObject | undefined, replaces: number | undefined): string {
  const d = decodeSignedObject(bytes);
  if (!d.ok) return d.code;
  const r = decidePut(stored?.objectId === d.value.objectId ? stored : undefined, d.value, replaces);
  return r.accept ? 'accepted' : r.code;
}

/** The six signed fields of a canonical encoding, each as its own encoded bytes. */
function splitFields(bytes: Uint8Array): Record<'objectId' | 'owner' | 'name' | 'seq' | 'prev' | 'payload', Uint8Array> {
  const o = parseSignedObject(bytes);
  const enc = (v: unknown) => canonicalBytes(v);
  return { objectId: enc(Buffer.from(o.objectId, 'hex')), owner: enc(o.owner), name: enc(o.name), seq: enc(o.seq), prev: enc(o.prev), payload: enc(o.payload) };
}

/** An 8-field tuple around `signedPart` (the six fields, encoded some way), signed by the owner over exactly those bytes. */
function ownerSigned(signedPart: Uint8Array): Uint8Array {
  const signature = signSignedBytesSync(signedBytesOfEncoded(SignatureDomain.signedObject, [Uint8Array.of(0x96), signedPart]), owner.secretKey);
  return Buffer.concat([Uint8Array.of(0x98, 0x01), signedPart, Uint8Array.of(0xc4, 64), signature]);
}

const carrier = defineFrame('test.signed-object-bytes', obj({ head: signedObjectCodec }));

describe('signed objects read from their bytes', () => {
  it('a version is read back from its bytes frozen, as views of them, and keeps them: encoding it again gives the very bytes', () => {
    const bytes = encodeSignedObject(v2);
    const back = parseSignedObject(bytes);
    expect(Object.isFrozen(back)).toBe(true);
    expect(encodedFormOf(back)).toBe(bytes);
    expect(encodeSignedObject(back)).toBe(bytes);
    expect(back.payload.buffer).toBe(bytes.buffer);
    expect(checkSignedObject(back)).toEqual({ ok: true });
    // The same fields as a plain object (encoded again to be checked) verify and hash the same.
    const plain = { ...back };
    expect(encodedFormOf(plain)).toBeUndefined();
    expect(checkSignedObject(plain)).toEqual({ ok: true });
    expect(versionHash(plain).equals(versionHash(back))).toBe(true);
    expect(Buffer.from(canonicalBytes([1, Buffer.from(plain.objectId, 'hex'), plain.owner, plain.name, plain.seq, plain.prev, plain.payload, plain.signature])).equals(bytes)).toBe(true);
  });

  it('signObjectVersion returns its version already as bytes, so sending and storing it encode nothing', () => {
    expect(Object.isFrozen(v2)).toBe(true);
    expect(encodedFormOf(v2)).toBeDefined();
    expect(signedFieldsEncodingOf(v2)!.reduce((n, p) => n + p.length, 0)).toBe(encodedFormOf(v2)!.length - 2 - 66 + 1);
  });

  it('a changed byte anywhere in the encoding, in any field or header, is refused', () => {
    const bytes = encodeSignedObject(v2);
    expect(replicaVerdict(bytes, v1, 1)).toBe('accepted');
    for (let i = 0; i < bytes.length; i++) {
      for (const bit of [0x01, 0x80]) {
        const tampered = Uint8Array.from(bytes);
        tampered[i]! ^= bit;
        expect(replicaVerdict(tampered, v1, 1), `byte ${i} ^ ${bit}`).not.toBe('accepted');
      }
    }
  });

  it('cut or padded bytes are refused', () => {
    const bytes = encodeSignedObject(v2);
    for (const n of [0, 1, 2, 40, bytes.length - 1]) expect(replicaVerdict(bytes.subarray(0, n), v1, 1)).toBe('BAD_OBJECT');
    expect(replicaVerdict(Buffer.concat([bytes, Uint8Array.of(0)]), v1, 1)).toBe('BAD_OBJECT');
  });

  it('changing a read version in place changes its bytes too: it no longer verifies', () => {
    const back = parseSignedObject(Uint8Array.from(encodeSignedObject(v2)));
    back.payload[0]! ^= 1;
    expect(checkSignedObject(back)).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
    back.payload[0]! ^= 1;
    back.prev[5]! ^= 1;
    expect(checkSignedObject(back)).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
    expect(() => {
      (back as { seq: number }).seq = 9;
    }).toThrow(TypeError);
  });

  it('a copy with a field changed has no bytes of its own: it is encoded again and refused', () => {
    for (const change of [{ seq: 3 }, { name: 'log:sent' }, { payload: Buffer.from('other') }, { prev: new Uint8Array(32) }, { owner: new Uint8Array(32).fill(1) }, { signature: new Uint8Array(64) }]) {
      const copy = { ...v2, ...change };
      expect(encodedFormOf(copy)).toBeUndefined();
      expect(checkSignedObject(copy).ok, Object.keys(change)[0]).toBe(false);
    }
  });

  it('only the canonical encoding is read, even when the owner signed another encoding of the same fields', () => {
    const bytes = encodeSignedObject(v1);
    const parts = splitFields(bytes);
    const variants: Record<string, Uint8Array[]> = {
      'seq as uint 8': [parts.objectId, parts.owner, parts.name, Uint8Array.of(0xcc, 1), parts.prev, parts.payload],
      'seq as uint 64': [parts.objectId, parts.owner, parts.name, Uint8Array.of(0xcf, 0, 0, 0, 0, 0, 0, 0, 1), parts.prev, parts.payload],
      'seq as float': [parts.objectId, parts.owner, parts.name, Uint8Array.of(0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0), parts.prev, parts.payload],
      'name as str 8': [parts.objectId, parts.owner, Buffer.concat([Uint8Array.of(0xd9, name.length), Buffer.from(name)]), parts.seq, parts.prev, parts.payload],
      'payload as bin 16': [parts.objectId, parts.owner, parts.name, parts.seq, parts.prev, Buffer.concat([Uint8Array.of(0xc5, 0, 6), Buffer.from('head 1')])],
      'name not UTF-8': [parts.objectId, parts.owner, Buffer.concat([Uint8Array.of(0xa0 + 9), Buffer.from('log:inbo'), Uint8Array.of(0xff)]), parts.seq, parts.prev, parts.payload],
      'name with an encoded surrogate': [parts.objectId, parts.owner, Buffer.concat([Uint8Array.of(0xa0 + 11), Buffer.from('log:inbo'), Uint8Array.of(0xed, 0xa0, 0x80)]), parts.seq, parts.prev, parts.payload],
    };
    for (const [what, fields] of Object.entries(variants)) {
      expect(decodeSignedObject(ownerSigned(Buffer.concat(fields))), what).toMatchObject({ ok: false, code: 'BAD_OBJECT' });
    }
    // The helper itself makes what the reader takes when given the canonical fields.
    const canonical = ownerSigned(Buffer.concat([parts.objectId, parts.owner, parts.name, parts.seq, parts.prev, parts.payload]));
    expect(Buffer.from(canonical).equals(Buffer.from(bytes))).toBe(true);
    expect(replicaVerdict(canonical, undefined, 0)).toBe('accepted');
  });

  it('frames carry a version as its bytes; the older array form is refused with a reason', () => {
    const decoded = carrier.decode(carrier.encode({ head: v2 }));
    expect(decoded.ok).toBe(true);
    if (decoded.ok) {
      expect(checkSignedObject(decoded.body.head)).toEqual({ ok: true });
      expect(Buffer.from(encodedFormOf(decoded.body.head)!).equals(Buffer.from(encodeSignedObject(v2)))).toBe(true);
    }
    const legacy = canonicalBytes([PROTOCOL_VERSION, carrier.kind, { head: [1, Buffer.from(v2.objectId, 'hex'), v2.owner, v2.name, v2.seq, v2.prev, v2.payload, v2.signature] }]);
    expect(decodeFrame(legacy)).toMatchObject({ ok: false, reason: expect.stringMatching(/head: expected a signed object's bytes, got an array/) });
  });

  it('a replica stores the bytes it verified and serves them back as they came', async () => {
    const store = new MemoryStore();
    const received = (v: SignedObject) => parseSignedObject(Uint8Array.from(encodeSignedObject(v)));
    expect(await applyObjectPut(store, received(v1), 0)).toEqual({ accept: true });
    expect(await applyObjectPut(store, received(v2), 1)).toEqual({ accept: true });
    const served = (await getVerifiedObject(store, v1.objectId))!;
    expect(Buffer.from(encodeSignedObject(served)).equals(Buffer.from(encodeSignedObject(v2)))).toBe(true);
    const forged = Uint8Array.from(encodeSignedObject(await signObjectVersion({ keys: owner, name, payload: Buffer.from('3'), previous: v2 })));
    forged[forged.length - 70]! ^= 1; // the payload's last byte
    expect(await applyObjectPut(store, parseSignedObject(forged), 2)).toMatchObject({ accept: false, code: 'BAD_SIGNATURE' });
    expect((await getVerifiedObject(store, v1.objectId))!.seq).toBe(2);
  });
});
