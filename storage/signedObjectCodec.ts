// The wire and disk form of a signed object: a msgpack array with a format number first,
//   [1, objectId (32 bytes), owner (32), name, seq, prev (32), payload, signature (64)]
// decoded with every length bounded. Decoding checks shape only; checkSignedObject verifies.
import { Decoder } from '@msgpack/msgpack';
import { arr, bytes, type Codec, FrameError, hexBytes, literal, str, uint } from '../protocol/codec';
import { ErrorCodes, type Result, err, ok } from '../protocol/errors';
import { canonicalBytes } from '../protocol/frame';
import { ID_BYTES, OBJECT_NAME_BYTES_MAX, OBJECT_PAYLOAD_BYTES_MAX } from '../protocol/limits';
import { type SignedObject, versionHash } from './signedObject';

const FORMAT = 1;
const FIELDS = 8;

const fieldCodecs = {
  format: literal(FORMAT),
  objectId: hexBytes(ID_BYTES),
  owner: bytes({ len: 32, max: 32 }),
  // A JS string never has more UTF-16 units than its UTF-8 bytes; the byte bound is checkSignedObject's.
  name: str({ max: OBJECT_NAME_BYTES_MAX }),
  seq: uint(),
  prev: bytes({ len: ID_BYTES, max: ID_BYTES }),
  payload: bytes({ max: OBJECT_PAYLOAD_BYTES_MAX }),
  signature: bytes({ len: 64, max: 64 }),
};

const tuple = arr({ encode: (v: unknown) => v, decode: (w: unknown) => w }, { min: FIELDS, max: FIELDS });

/** A signed object as a frame field (embed it in replica-manager messages). */
export const signedObjectCodec: Codec<SignedObject> = {
  encode: (o) => [FORMAT, Buffer.from(o.objectId, 'hex'), o.owner, o.name, o.seq, o.prev, o.payload, o.signature],
  decode(wire, path) {
    const [format, objectId, owner, name, seq, prev, payload, signature] = tuple.decode(wire, path);
    const at = (field: string) => (path ? `${path}.${field}` : field);
    fieldCodecs.format.decode(format, at('format'));
    return {
      objectId: fieldCodecs.objectId.decode(objectId, at('objectId')),
      owner: fieldCodecs.owner.decode(owner, at('owner')),
      name: fieldCodecs.name.decode(name, at('name')),
      seq: fieldCodecs.seq.decode(seq, at('seq')),
      prev: fieldCodecs.prev.decode(prev, at('prev')),
      payload: fieldCodecs.payload.decode(payload, at('payload')),
      signature: fieldCodecs.signature.decode(signature, at('signature')),
    };
  },
};

const decoder = new Decoder({
  maxStrLength: OBJECT_NAME_BYTES_MAX,
  maxBinLength: OBJECT_PAYLOAD_BYTES_MAX,
  maxArrayLength: FIELDS,
  maxMapLength: 0,
  maxExtLength: 0,
});

/** Canonical bytes of a version (what a store keeps and a replica sends). */
export const encodeSignedObject = (o: SignedObject): Uint8Array => canonicalBytes(signedObjectCodec.encode(o));

export function decodeSignedObject(encoded: Uint8Array): Result<SignedObject> {
  if (encoded.length > OBJECT_PAYLOAD_BYTES_MAX + OBJECT_NAME_BYTES_MAX + 512) {
    return err(ErrorCodes.BAD_OBJECT, `signed object of ${encoded.length} bytes is larger than any valid one`);
  }
  try {
    return ok(signedObjectCodec.decode(decoder.decode(encoded), 'signedObject'));
  } catch (e) {
    const reason = e instanceof FrameError ? e.reason : `not msgpack: ${(e as Error).message.slice(0, 200)}`;
    return err(ErrorCodes.BAD_OBJECT, `not a signed object: ${reason}`);
  }
}

/** What a LocalStore keeps for a version: its sequence, its hash (for compare-and-put and digests) and its bytes. */
export const storedVersionOf = (o: SignedObject): { seq: number; hash: Uint8Array; bytes: Uint8Array } => ({
  seq: o.seq,
  hash: versionHash(o),
  bytes: encodeSignedObject(o),
});
