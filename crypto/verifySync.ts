// Synchronous verification of domain-separated Ed25519 signatures (the same bytes and libsodium
// function as sign.ts' async `verify`). Replicas verify every signed object they are offered inside a
// pure, synchronous acceptance rule (storage/signedObject.ts), so this one must not be async.
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
