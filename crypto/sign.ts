// Domain-separated Ed25519 signatures over canonical msgpack field layouts, through sodium-native
// (crypto/sodium.ts says why one binding): the async sign and verify are the synchronous calls below,
// returned as promises for the callers that await them.
import { canonicalBytes } from '../protocol/frame';
import type { SignatureDomainName } from './domains';
import { native, toBuffer } from './sodium';

export interface SigningKeyPair {
  readonly publicKey: Uint8Array; // 32 bytes
  readonly secretKey: Uint8Array; // 64 bytes
}

const PREFIX = 'POST/v1/';

/** The exact bytes signed: "POST/v1/<domain>\0" followed by the canonical encoding of the fields. */
export function signedBytes(domain: SignatureDomainName, fields: unknown[]): Uint8Array {
  return signedBytesOfEncoded(domain, [canonicalBytes(fields)]);
}

const domainHeads = new Map<SignatureDomainName, Buffer>();
const domainHead = (domain: SignatureDomainName): Buffer => {
  let head = domainHeads.get(domain);
  if (!head) domainHeads.set(domain, (head = Buffer.from(`${PREFIX}${domain}\0`, 'utf8')));
  return head;
};

/**
 * The same bytes for fields whose canonical encoding the caller holds already (as pieces to
 * concatenate): a replica verifies a signed object over the bytes it received (protocol/objects.ts).
 */
export function signedBytesOfEncoded(domain: SignatureDomainName, encodedFields: readonly Uint8Array[]): Uint8Array {
  return Buffer.concat([domainHead(domain), ...encodedFields]);
}

/** A key pair from a 32-byte seed (the simulator derives seeds from its seeded random source). */
export async function signingKeyPairFromSeed(seed: Uint8Array): Promise<SigningKeyPair> {
  if (seed.length !== 32) throw new RangeError(`an Ed25519 seed is 32 bytes, got ${seed.length}`);
  const publicKey = new Uint8Array(32);
  const secretKey = new Uint8Array(64);
  native.crypto_sign_seed_keypair(toBuffer(publicKey), toBuffer(secretKey), toBuffer(seed));
  return { publicKey, secretKey };
}

/** The signature over signedBytes(domain, fields); async for callers that await it (the same call as signSync). */
export async function sign(domain: SignatureDomainName, fields: unknown[], secretKey: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(signSync(domain, fields, secretKey));
}

/** Whether `signature` is `publicKey`'s over signedBytes(domain, fields); false for malformed input (the same call as verifySync). */
export async function verify(domain: SignatureDomainName, fields: unknown[], signature: Uint8Array, publicKey: Uint8Array): Promise<boolean> {
  return verifySync(domain, fields, signature, publicKey);
}

/**
 * The synchronous forms, for code that may not wait on a promise: replicas verify every signed object
 * they are offered inside a pure, synchronous acceptance rule (storage/signedObject.ts), and the router
 * authenticates every overlay frame before it becomes a machine event, in arrival order.
 */
export function verifySync(domain: SignatureDomainName, fields: unknown[], signature: Uint8Array, publicKey: Uint8Array): boolean {
  return verifySignedBytesSync(signedBytes(domain, fields), signature, publicKey);
}

/** Whether `signature` is `publicKey`'s over `signed`, bytes from signedBytes or signedBytesOfEncoded. */
export function verifySignedBytesSync(signed: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  try {
    return native.crypto_sign_verify_detached(toBuffer(signature), toBuffer(signed), toBuffer(publicKey)) === true;
  } catch {
    return false;
  }
}

export function signSync(domain: SignatureDomainName, fields: unknown[], secretKey: Uint8Array): Uint8Array {
  return signSignedBytesSync(signedBytes(domain, fields), secretKey);
}

/** The signature over `signed`, bytes from signedBytes or signedBytesOfEncoded. */
export function signSignedBytesSync(signed: Uint8Array, secretKey: Uint8Array): Uint8Array {
  if (secretKey.length !== 64) throw new RangeError(`an Ed25519 secret key is 64 bytes, got ${secretKey.length}`);
  const signature = Buffer.alloc(64);
  native.crypto_sign_detached(signature, toBuffer(signed), toBuffer(secretKey));
  return signature;
}
