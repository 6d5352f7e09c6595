// The disk form of a signed object (the wire codec is protocol/objects.ts): canonical bytes, decoded
// with every length bounded. Decoding checks shape only; checkSignedObject verifies.
import { Decoder } from '@msgpack/msgpack';
import { FrameError } from '../protocol/codec';
import { ErrorCodes, type Result, err, ok } from '../protocol/errors';
import { canonicalBytes } from '../protocol/frame';
import { OBJECT_NAME_BYTES_MAX, OBJECT_PAYLOAD_BYTES_MAX } from '../protocol/limits';
import { SIGNED_OBJECT_FIELDS, type SignedObject, signedObjectCodec } from '../protocol/objects';
import { versionHash } from './signedObject';

export { signedObjectCodec };
const FIELDS = SIGNED_OBJECT_FIELDS;

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
