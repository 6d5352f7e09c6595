// Convergent encryption of one block chunk (DESIGN 3): the same plaintext under the same ring
// convergence secret always gives the same key, ciphertext and block id, so identical content is
// stored once per ring; another ring (another secret) gets unrelated ids.
//
//   key        = BLAKE2b-256 keyed by the convergence secret, over P
//   nonce      = BLAKE2b-192(HashDomain.convergentNonce || key)
//   ciphertext = XChaCha20-Poly1305(key, nonce, P), no associated data
//   id         = BLAKE2b-256(ciphertext)
//
// A nonce derived from the key is safe because the key is itself a function of P: one key only ever
// encrypts one plaintext. This is the bulk path (every byte of every message goes through it), so it
// calls sodium-native synchronously with scratch buffers reused across calls (STACK.md: sodium-plus
// allocates per call and costs up to 40% here). Calls are synchronous, so module-level scratch is safe.
import { ErrorCodes } from '../protocol/errors';
import { BLOCK_CHUNK_BYTES_MAX, BLOCK_TAG_BYTES, CONVERGENCE_SECRET_BYTES, ID_BYTES } from '../protocol/limits';
import { HashDomain } from './domains';
import { native, toBuffer } from './sodium';

const NONCE_BYTES: number = native.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES; // 24
const NONCE_TAG = Buffer.from(HashDomain.convergentNonce, 'utf8');

/** Scratch: `tag || key` (the nonce hash input), the nonce, and an id for verification. */
const nonceInput = Buffer.alloc(NONCE_TAG.length + ID_BYTES);
NONCE_TAG.copy(nonceInput, 0);
const nonce = Buffer.alloc(NONCE_BYTES);
const idScratch = Buffer.alloc(ID_BYTES);

export interface SealedChunk {
  /** Block id: BLAKE2b-256 of the ciphertext (32 bytes). */
  readonly id: Buffer;
  /** Convergent key (32 bytes): whoever holds it (and the id) can read the chunk. */
  readonly key: Buffer;
  /** plaintext.length + 16 bytes: a fresh buffer the caller owns, or a view of the `out` it passed. */
  readonly ciphertext: Buffer;
}

export type OpenResult = { ok: true; plaintext: Buffer } | { ok: false; code: typeof ErrorCodes.BLOCK_CORRUPT; message: string };

function deriveNonce(key: Buffer): Buffer {
  key.copy(nonceInput, NONCE_TAG.length);
  native.crypto_generichash(nonce, nonceInput);
  return nonce;
}

function assertSecret(secret: Uint8Array): void {
  if (secret.length !== CONVERGENCE_SECRET_BYTES) {
    throw new RangeError(`convergence secret must be ${CONVERGENCE_SECRET_BYTES} bytes, got ${secret.length}`);
  }
}

/**
 * Encrypt one chunk (at most BLOCK_CHUNK_BYTES_MAX bytes) convergently. With `out` (at least
 * plaintext.length + 16 bytes) the ciphertext is written into it and returned as a view of it: bulk
 * writers reuse a few such buffers instead of having the kernel map and zero fresh pages per chunk.
 */
export function sealConvergent(convergenceSecret: Uint8Array, plaintext: Uint8Array, out?: Uint8Array): SealedChunk {
  assertSecret(convergenceSecret);
  if (plaintext.length > BLOCK_CHUNK_BYTES_MAX) {
    throw new RangeError(`chunk of ${plaintext.length} bytes exceeds ${BLOCK_CHUNK_BYTES_MAX}: split it first`);
  }
  const p = toBuffer(plaintext);
  const key = Buffer.allocUnsafe(ID_BYTES);
  native.crypto_generichash(key, p, toBuffer(convergenceSecret));
  const sealedBytes = p.length + BLOCK_TAG_BYTES;
  if (out && out.length < sealedBytes) throw new RangeError(`output buffer of ${out.length} bytes cannot hold ${sealedBytes}`);
  const ciphertext = out ? toBuffer(out).subarray(0, sealedBytes) : Buffer.allocUnsafe(sealedBytes);
  native.crypto_aead_xchacha20poly1305_ietf_encrypt(ciphertext, p, null, null, deriveNonce(key), key);
  const id = Buffer.allocUnsafe(ID_BYTES);
  native.crypto_generichash(id, ciphertext);
  return { id, key, ciphertext };
}

/** BLAKE2b-256 of a block's bytes: its id. */
export function blockIdOf(ciphertext: Uint8Array): Buffer {
  const id = Buffer.allocUnsafe(ID_BYTES);
  native.crypto_generichash(id, toBuffer(ciphertext));
  return id;
}

/** Does `ciphertext` hash to `id`? What a replica checks before storing a block, and a reader after fetching. */
export function matchesBlockId(id: Uint8Array, ciphertext: Uint8Array): boolean {
  if (id.length !== ID_BYTES) return false;
  native.crypto_generichash(idScratch, toBuffer(ciphertext));
  return idScratch.equals(toBuffer(id));
}

const hex = (b: Uint8Array) => toBuffer(b).toString('hex');

/**
 * Verify and decrypt one block: its bytes must hash to `id` and open under `key`. Needs no
 * convergence secret, so a reader in another ring can open what it was given a reference to.
 * With `out`, the plaintext is written into it and returned as a view (see sealConvergent).
 */
export function openConvergent(id: Uint8Array, key: Uint8Array, ciphertext: Uint8Array, out?: Uint8Array): OpenResult {
  if (key.length !== ID_BYTES) throw new RangeError(`block key must be ${ID_BYTES} bytes, got ${key.length}`);
  if (!matchesBlockId(id, ciphertext)) {
    return { ok: false, code: ErrorCodes.BLOCK_CORRUPT, message: `block ${hex(id)}: its bytes do not hash to its id` };
  }
  if (ciphertext.length < BLOCK_TAG_BYTES) {
    return { ok: false, code: ErrorCodes.BLOCK_CORRUPT, message: `block ${hex(id)}: ${ciphertext.length} bytes is shorter than a tag` };
  }
  const k = toBuffer(key);
  const plainBytes = ciphertext.length - BLOCK_TAG_BYTES;
  if (out && out.length < plainBytes) throw new RangeError(`output buffer of ${out.length} bytes cannot hold ${plainBytes}`);
  const plaintext = out ? toBuffer(out).subarray(0, plainBytes) : Buffer.allocUnsafe(plainBytes);
  try {
    native.crypto_aead_xchacha20poly1305_ietf_decrypt(plaintext, null, toBuffer(ciphertext), null, deriveNonce(k), k);
  } catch {
    return { ok: false, code: ErrorCodes.BLOCK_CORRUPT, message: `block ${hex(id)}: does not decrypt under the key in the reference` };
  }
  return { ok: true, plaintext };
}
