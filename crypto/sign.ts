// Domain-separated Ed25519 signatures over canonical msgpack field layouts, through sodium-native
// (crypto/sodium.ts says why one binding): the async sign and verify are the synchronous calls below,
// returned as promises for the callers that await them.
import { canonicalBytes } from '../protocol/frame';
import { SIGNATURES_MADE_REMEMBERED_MAX } from '../protocol/limits';
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
  if (made.holds(signed, signature, publicKey)) {
    counts.known++;
    return true;
  }
  counts.verified++;
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
  rememberMade(signed, signature, secretKey);
  return signature;
}

// ---- remembered signatures -----------------------------------------------------------------------

/**
 * Signatures known good, each with the exact bytes and public key it is over (copies: a caller may
 * reuse its buffers), the oldest forgotten once `max` are held. A lookup answers only for the very
 * same triple: the signature alone would let a forger reuse it over other bytes or another key.
 */
export class SignatureMemo {
  private readonly held = new Map<string, { readonly signed: Buffer; readonly publicKey: Buffer }>();

  constructor(private readonly max: number) {}

  remember(signed: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): void {
    const key = toBuffer(signature).toString('latin1');
    this.held.delete(key);
    this.held.set(key, { signed: Buffer.from(signed), publicKey: Buffer.from(publicKey) });
    if (this.held.size > this.max) this.held.delete(this.held.keys().next().value as string);
  }

  holds(signed: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
    const entry = this.held.get(toBuffer(signature).toString('latin1'));
    return entry !== undefined && entry.publicKey.equals(toBuffer(publicKey)) && entry.signed.equals(toBuffer(signed));
  }
}

// ---- signatures this process made ----------------------------------------------------------------
// A node verifies many of its own signatures right after making them: its own replica of a head it has
// just written checks the head's signature, like every replica. A signature made here over bytes B
// with the secret key of public key P verifies against exactly (B, P), so remembering the triple spares
// that Ed25519 verification (about 50 us, the largest item of a replica's put). Only the exact triple is
// answered from memory: other bytes, another key or another signature are verified as before. A secret
// key is trusted to hold its own public key (libsodium's layout: seed, then public key) only after
// deriving that key from its seed once; a key that does not is never remembered.

const made = new SignatureMemo(SIGNATURES_MADE_REMEMBERED_MAX);
const counts = { verified: 0, known: 0 };
/** Secret keys found consistent, by key object, as they were then: a key changed in place since is checked again. */
const keysChecked = new WeakMap<Uint8Array, Buffer>();

/** Whether the secret key's second half is the public key of its seed. */
function consistentKey(secretKey: Uint8Array): boolean {
  const checked = keysChecked.get(secretKey);
  if (checked?.equals(toBuffer(secretKey))) return true;
  const publicKey = Buffer.alloc(32);
  native.crypto_sign_seed_keypair(publicKey, Buffer.alloc(64), toBuffer(secretKey.subarray(0, 32)));
  if (!publicKey.equals(toBuffer(secretKey.subarray(32)))) return false;
  keysChecked.set(secretKey, Buffer.from(secretKey));
  return true;
}

function rememberMade(signed: Uint8Array, signature: Uint8Array, secretKey: Uint8Array): void {
  if (consistentKey(secretKey)) made.remember(signed, signature, secretKey.subarray(32));
}

/** Verifications this process has made so far: with Ed25519 (`verified`), and answered from the signatures it made (`known`). */
export function signatureCounts(): { readonly verified: number; readonly known: number } {
  return { ...counts };
}
