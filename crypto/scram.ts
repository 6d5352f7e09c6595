// SCRAM (RFC 5802, RFC 7677) credentials and proofs, server side: what a node keeps to check a
// SCRAM-SHA-1 or SCRAM-SHA-256 login without the password (StoredKey, ServerKey), and the checks.
// POST's password is verified with Argon2id against the keystore; a node derives these keys only from
// a password it has just verified that way (issue 17), so SCRAM never accepts less than the keystore.
import { createHash, createHmac, pbkdf2Sync, timingSafeEqual } from 'node:crypto';

export type ScramHash = 'sha1' | 'sha256';
/** Bytes of a fresh SCRAM salt. */
export const SCRAM_SALT_BYTES = 16;

export interface ScramCredentials {
  readonly hash: ScramHash;
  readonly salt: Uint8Array;
  readonly iterations: number;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

const hashBytes = (hash: ScramHash): number => (hash === 'sha1' ? 20 : 32);
const hmac = (hash: ScramHash, key: Uint8Array, text: string | Uint8Array): Buffer => createHmac(hash, key).update(text).digest();

/** The keys of `password` under `salt` (RFC 5802 section 3). The password is used as given (ASCII passwords need no SASLprep). */
export function deriveScramCredentials(hash: ScramHash, password: string, salt: Uint8Array, iterations: number): ScramCredentials {
  const salted = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, hashBytes(hash), hash);
  const clientKey = hmac(hash, salted, 'Client Key');
  return { hash, salt, iterations, storedKey: createHash(hash).update(clientKey).digest(), serverKey: hmac(hash, salted, 'Server Key') };
}

/** SCRAM-SHA-1 and SCRAM-SHA-256 keys of one password under one salt: what a node keeps per user. */
export function deriveScramKeys(password: string, salt: Uint8Array, iterations: number): Record<ScramHash, ScramCredentials> {
  return { sha1: deriveScramCredentials('sha1', password, salt, iterations), sha256: deriveScramCredentials('sha256', password, salt, iterations) };
}

/** The client's proof checked against the stored key: H(ClientProof XOR HMAC(StoredKey, AuthMessage)) == StoredKey, in constant time. */
export function scramProofValid(creds: ScramCredentials, authMessage: string, proof: Uint8Array): boolean {
  if (proof.length !== hashBytes(creds.hash)) return false;
  const signature = hmac(creds.hash, creds.storedKey, authMessage);
  const clientKey = Buffer.alloc(proof.length);
  for (let i = 0; i < proof.length; i++) clientKey[i] = proof[i]! ^ signature[i]!;
  return timingSafeEqual(createHash(creds.hash).update(clientKey).digest(), creds.storedKey);
}

/** What the server proves back (`v=` of the server-final message). */
export function scramServerSignature(creds: ScramCredentials, authMessage: string): Buffer {
  return hmac(creds.hash, creds.serverKey, authMessage);
}

/** A client's proof, as a client computes it (for tests and benchmarks that play the client). */
export function scramClientProof(hash: ScramHash, password: string, salt: Uint8Array, iterations: number, authMessage: string): Buffer {
  const salted = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, hashBytes(hash), hash);
  const clientKey = hmac(hash, salted, 'Client Key');
  const signature = hmac(hash, createHash(hash).update(clientKey).digest(), authMessage);
  return Buffer.from(clientKey.map((b, i) => b ^ signature[i]!));
}
