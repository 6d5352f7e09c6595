// Random-nonce authenticated encryption under a given 32-byte key, for what must NOT converge: log
// entries, encrypted head fields, keystore copies. Two encryptions of the same plaintext differ.
//
//   sealed = nonce (24 random bytes) || XChaCha20-Poly1305(key, nonce, plaintext, associatedData)
//
// The nonce comes from a Random port argument, so the simulator's seeded source keeps runs
// reproducible; 192-bit random nonces never repeat in practice. `associatedData` binds a ciphertext to
// its context (e.g. the log id), so it cannot be replayed under another one.
import type { Random } from '../infra/ports';
import { native, toBuffer } from './sodium';

export const SECRETBOX_KEY_BYTES: number = native.crypto_aead_xchacha20poly1305_ietf_KEYBYTES; // 32
export const SECRETBOX_NONCE_BYTES: number = native.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES; // 24
const TAG_BYTES: number = native.crypto_aead_xchacha20poly1305_ietf_ABYTES; // 16
/** Bytes a sealed box adds to its plaintext (nonce + tag). */
export const SECRETBOX_OVERHEAD_BYTES = SECRETBOX_NONCE_BYTES + TAG_BYTES;

function assertKey(key: Uint8Array): void {
  if (key.length !== SECRETBOX_KEY_BYTES) throw new RangeError(`secretbox key must be ${SECRETBOX_KEY_BYTES} bytes, got ${key.length}`);
}

const adOf = (ad: Uint8Array | undefined): Buffer | null => (ad && ad.length > 0 ? toBuffer(ad) : null);

export function sealWithKey(key: Uint8Array, plaintext: Uint8Array, random: Random, associatedData?: Uint8Array): Buffer {
  assertKey(key);
  const nonce = random.bytes(SECRETBOX_NONCE_BYTES);
  if (nonce.length !== SECRETBOX_NONCE_BYTES) throw new Error('Random.bytes returned the wrong length');
  const sealed = Buffer.allocUnsafe(SECRETBOX_OVERHEAD_BYTES + plaintext.length);
  sealed.set(nonce, 0);
  const body = sealed.subarray(SECRETBOX_NONCE_BYTES);
  native.crypto_aead_xchacha20poly1305_ietf_encrypt(body, toBuffer(plaintext), adOf(associatedData), null, sealed.subarray(0, SECRETBOX_NONCE_BYTES), toBuffer(key));
  return sealed;
}

/** The plaintext, or undefined when the box was not sealed under this key (and associated data) or was altered. */
export function openWithKey(key: Uint8Array, sealed: Uint8Array, associatedData?: Uint8Array): Buffer | undefined {
  assertKey(key);
  if (sealed.length < SECRETBOX_OVERHEAD_BYTES) return undefined;
  const box = toBuffer(sealed);
  const plaintext = Buffer.allocUnsafe(box.length - SECRETBOX_OVERHEAD_BYTES);
  try {
    native.crypto_aead_xchacha20poly1305_ietf_decrypt(
      plaintext,
      null,
      box.subarray(SECRETBOX_NONCE_BYTES),
      adOf(associatedData),
      box.subarray(0, SECRETBOX_NONCE_BYTES),
      toBuffer(key),
    );
  } catch {
    return undefined;
  }
  return plaintext;
}
