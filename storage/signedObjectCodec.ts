// The disk form of a signed object, the same bytes as its wire form (protocol/objects.ts): canonical
// bytes, decoded strictly with every length bounded. Decoding checks shape only; checkSignedObject verifies.
import { FrameError } from '../protocol/codec';
import { ErrorCodes, type Result, err, ok } from '../protocol/errors';
import { SIGNED_OBJECT_BYTES_MAX } from '../protocol/limits';
import { encodeSignedObjectBytes, parseSignedObject, type SignedObject, signedObjectCodec } from '../protocol/objects';
import { versionHash } from './signedObject';

export { signedObjectCodec };

/** Canonical bytes of a version (what a store keeps and a replica sends): the ones it was decoded from, if any. */
export const encodeSignedObject = (o: SignedObject): Uint8Array => encodeSignedObjectBytes(o);

export function decodeSignedObject(encoded: Uint8Array): Result<SignedObject> {
  if (encoded.length > SIGNED_OBJECT_BYTES_MAX) {
    return err(ErrorCodes.BAD_OBJECT, `signed object of ${encoded.length} bytes is larger than any valid one`);
  }
  try {
    return ok(parseSignedObject(encoded, 'signedObject'));
  } catch (e) {
    if (e instanceof FrameError) return err(ErrorCodes.BAD_OBJECT, `not a signed object: ${e.reason}`);
    throw e;
  }
}

/** What a LocalStore keeps for a version: its sequence, its hash (for compare-and-put and digests) and its bytes. */
export const storedVersionOf = (o: SignedObject): { seq: number; hash: Uint8Array; bytes: Uint8Array } => ({
  seq: o.seq,
  hash: versionHash(o),
  bytes: encodeSignedObject(o),
});
