// Synchronous domain-separated Ed25519 (the same bytes and libsodium functions as sign.ts' async
// `sign` and `verify`). Replicas verify every signed object they are offered inside a pure,
// synchronous acceptance rule (storage/signedObject.ts), and the router authenticates every overlay
// frame before it becomes a machine event, in arrival order: neither may wait on a promise.
import type { SignatureDomainName } from './domains';
import { signedBytes } from './sign';
import { native, toBuffer } from './sodium';

export function verifySync(domain: SignatureDomainName, fields: unknown[], signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  try {
    return native.crypto_sign_verify_detached(toBuffer(signature), toBuffer(signedBytes(domain, fields)), toBuffer(publicKey)) === true;
  } catch {
    return false;
  }
}

export function signSync(domain: SignatureDomainName, fields: unknown[], secretKey: Uint8Array): Uint8Array {
  if (secretKey.length !== 64) throw new RangeError(`an Ed25519 secret key is 64 bytes, got ${secretKey.length}`);
  const signature = Buffer.alloc(64);
  native.crypto_sign_detached(signature, toBuffer(signedBytes(domain, fields)), toBuffer(secretKey));
  return signature;
}
