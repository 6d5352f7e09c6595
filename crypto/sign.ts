// Domain-separated Ed25519 signatures over canonical msgpack field layouts.
import { canonicalBytes } from '../protocol/frame';
import type { SignatureDomainName } from './domains';
import { Ed25519PublicKey, Ed25519SecretKey, sodium } from './sodium';

export interface SigningKeyPair {
  readonly publicKey: Uint8Array; // 32 bytes
  readonly secretKey: Uint8Array; // 64 bytes
}

const PREFIX = 'POST/v1/';

/** The exact bytes signed: "POST/v1/<domain>\0" followed by the canonical encoding of the fields. */
export function signedBytes(domain: SignatureDomainName, fields: unknown[]): Uint8Array {
  const head = Buffer.from(`${PREFIX}${domain}\0`, 'utf8');
  return Buffer.concat([head, canonicalBytes(fields)]);
}

/** A key pair from a 32-byte seed (the simulator derives seeds from its seeded random source). */
export async function signingKeyPairFromSeed(seed: Uint8Array): Promise<SigningKeyPair> {
  const s = await sodium();
  const kp = await s.crypto_sign_seed_keypair(Buffer.from(seed));
  return {
    publicKey: new Uint8Array((await s.crypto_sign_publickey(kp)).getBuffer()),
    secretKey: new Uint8Array((await s.crypto_sign_secretkey(kp)).getBuffer()),
  };
}

export async function sign(domain: SignatureDomainName, fields: unknown[], secretKey: Uint8Array): Promise<Uint8Array> {
  const s = await sodium();
  const sig = await s.crypto_sign_detached(Buffer.from(signedBytes(domain, fields)), new Ed25519SecretKey(Buffer.from(secretKey)));
  return new Uint8Array(sig);
}

export async function verify(
  domain: SignatureDomainName,
  fields: unknown[],
  signature: Uint8Array,
  publicKey: Uint8Array,
): Promise<boolean> {
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  const s = await sodium();
  try {
    return await s.crypto_sign_verify_detached(
      Buffer.from(signedBytes(domain, fields)),
      new Ed25519PublicKey(Buffer.from(publicKey)),
      Buffer.from(signature),
    );
  } catch {
    return false;
  }
}
