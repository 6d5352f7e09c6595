// The one place libsodium is loaded, through one binding: sodium-native (synchronous, into buffers the
// caller may reuse). Nothing outside crypto/ imports it (test/unit/architecture.test.ts).
//
// Why not sodium-plus, the package the project started with: it is an asynchronous wrapper that, on
// Node, calls this same sodium-native underneath (STACK.md: it "picks the sodium-native backend") and
// allocates a fresh output buffer for every call. The protocol needs the synchronous calls anyway:
// replicas verify every signed object inside a pure, synchronous acceptance rule
// (storage/signedObject.ts), the router authenticates every frame before it becomes a machine event,
// and bulk AEAD reuses scratch buffers (STACK.md: up to 40% of its throughput). Using both meant two
// code paths for the same signature bytes (sign.ts' async sign beside a synchronous signSync); now each
// primitive has one: sign.ts' async functions are the synchronous ones, returned as promises for
// their callers.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
/**
 * The part of sodium-native this project calls, typed here because the package ships no types: each
 * function writes its output into the first buffer it is given (libsodium's argument order) and throws
 * on a bad length; the decrypt and verify calls report failure as documented per line.
 */
export interface SodiumNative {
  readonly crypto_aead_xchacha20poly1305_ietf_ABYTES: number;
  readonly crypto_aead_xchacha20poly1305_ietf_KEYBYTES: number;
  readonly crypto_aead_xchacha20poly1305_ietf_NPUBBYTES: number;
  /** Returns the ciphertext's length. */
  crypto_aead_xchacha20poly1305_ietf_encrypt(c: Uint8Array, m: Uint8Array, ad: Uint8Array | null, nsec: null, npub: Uint8Array, k: Uint8Array): number;
  /** Throws when the ciphertext does not open under the key, nonce and associated data. */
  crypto_aead_xchacha20poly1305_ietf_decrypt(m: Uint8Array, nsec: null, c: Uint8Array, ad: Uint8Array | null, npub: Uint8Array, k: Uint8Array): number;
  readonly crypto_box_PUBLICKEYBYTES: number;
  readonly crypto_box_SECRETKEYBYTES: number;
  readonly crypto_box_SEALBYTES: number;
  crypto_box_seal(c: Uint8Array, m: Uint8Array, pk: Uint8Array): void;
  /** False when the box does not open with this key pair. */
  crypto_box_seal_open(m: Uint8Array, c: Uint8Array, pk: Uint8Array, sk: Uint8Array): boolean;
  crypto_box_seed_keypair(pk: Uint8Array, sk: Uint8Array, seed: Uint8Array): void;
  crypto_generichash(out: Uint8Array, input: Uint8Array, key?: Uint8Array | null): void;
  /** One hash over the concatenation of `inputs`, in one call (no state buffer on our side); `key` omitted, not null, when unkeyed. */
  crypto_generichash_batch(out: Uint8Array, inputs: readonly Uint8Array[], key?: Uint8Array): void;
  readonly crypto_generichash_STATEBYTES: number;
  crypto_generichash_init(state: Uint8Array, key: Uint8Array | null, outputLength: number): void;
  crypto_generichash_update(state: Uint8Array, input: Uint8Array): void;
  crypto_generichash_final(state: Uint8Array, out: Uint8Array): void;
  readonly crypto_pwhash_ALG_ARGON2ID13: number;
  readonly crypto_pwhash_MEMLIMIT_INTERACTIVE: number;
  readonly crypto_pwhash_MEMLIMIT_MIN: number;
  readonly crypto_pwhash_OPSLIMIT_INTERACTIVE: number;
  readonly crypto_pwhash_OPSLIMIT_MIN: number;
  readonly crypto_pwhash_SALTBYTES: number;
  crypto_pwhash(out: Uint8Array, password: Uint8Array, salt: Uint8Array, opsLimit: number, memLimit: number, algorithm: number): void;
  crypto_pwhash_async(out: Uint8Array, password: Uint8Array, salt: Uint8Array, opsLimit: number, memLimit: number, algorithm: number, done: (error: Error | null) => void): void;
  readonly crypto_scalarmult_BYTES: number;
  crypto_scalarmult(q: Uint8Array, n: Uint8Array, p: Uint8Array): void;
  crypto_scalarmult_base(q: Uint8Array, n: Uint8Array): void;
  crypto_sign_seed_keypair(pk: Uint8Array, sk: Uint8Array, seed: Uint8Array): void;
  crypto_sign_detached(sig: Uint8Array, m: Uint8Array, sk: Uint8Array): void;
  /** False when the signature does not verify. */
  crypto_sign_verify_detached(sig: Uint8Array, m: Uint8Array, pk: Uint8Array): boolean;
  crypto_sign_ed25519_pk_to_curve25519(curvePk: Uint8Array, edPk: Uint8Array): void;
  crypto_sign_ed25519_sk_to_curve25519(curveSk: Uint8Array, edSk: Uint8Array): void;
  randombytes_buf(out: Uint8Array): void;
  /** Constant-time equality of two buffers of the same length. */
  sodium_memcmp(a: Uint8Array, b: Uint8Array): boolean;
}

/** libsodium, through sodium-native. */
export const native: SodiumNative = require('sodium-native');

export const toBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));
