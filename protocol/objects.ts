// The wire form of a signed object (storage/signedObject.ts has the rules), as a frame field:
//   [1, objectId (32 bytes), owner (32), name, seq, prev (32), payload, signature (64)]
// Decoding checks shape only (every length bounded); storage/signedObject.ts checkSignedObject verifies.
import { arr, bytes, type Codec, hexBytes, literal, str, uint } from './codec';
import { ID_BYTES, OBJECT_NAME_BYTES_MAX, OBJECT_PAYLOAD_BYTES_MAX } from './limits';

export interface SignedObject {
  /** Lowercase hex, 64 chars: objectIdOf(owner, name). */
  readonly objectId: string;
  /** The owner's Ed25519 public key, 32 bytes. */
  readonly owner: Uint8Array;
  readonly name: string;
  /** 1 for the first version, then +1 per version. */
  readonly seq: number;
  /** versionHash of version seq - 1 (32 bytes); all zeros for seq 1. */
  readonly prev: Uint8Array;
  /** Opaque to replicas (usually encrypted by the owner); at most OBJECT_PAYLOAD_BYTES_MAX bytes. */
  readonly payload: Uint8Array;
  /** Ed25519 over the signed bytes above, 64 bytes. */
  readonly signature: Uint8Array;
}

export const SIGNED_OBJECT_FIELDS = 8;

const FORMAT = 1;
const FIELDS = SIGNED_OBJECT_FIELDS;

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
