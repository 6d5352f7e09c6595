// A node's in-memory proof of a password it has already checked the slow way (Argon2id, keystore
// opened): a keyed BLAKE2b of the password under a key that lives only in this object, compared in
// constant time. It lets a user whose keys this node already holds log in again in microseconds
// (issue 11: LOGIN <= 10 ms) while a wrong password still takes the slow path. It reveals nothing the
// node does not already hold: the node has the user's unlocked keys in the same memory.
import { native, toBuffer } from './sodium';

const DIGEST_BYTES = 32;
const KEY_BYTES = 32;
const DOMAIN = 'post/password-verifier/v1';

export class PasswordVerifier {
  private constructor(
    private readonly key: Buffer,
    private readonly digest: Buffer,
  ) {}

  /** Remember `password` of `address` (already proven correct). */
  static of(address: string, password: string): PasswordVerifier {
    const key = Buffer.alloc(KEY_BYTES);
    native.randombytes_buf(key);
    return new PasswordVerifier(key, digestOf(key, address, password));
  }

  matches(address: string, password: string): boolean {
    return native.sodium_memcmp(digestOf(this.key, address, password), this.digest) === true;
  }
}

function digestOf(key: Buffer, address: string, password: string): Buffer {
  const out = Buffer.alloc(DIGEST_BYTES);
  const state = Buffer.alloc(native.crypto_generichash_STATEBYTES);
  native.crypto_generichash_init(state, key, DIGEST_BYTES);
  // Length-prefixed fields: ("a", "bc") and ("ab", "c") never collide.
  for (const field of [DOMAIN, address.toLowerCase(), password]) {
    const bytes = toBuffer(Buffer.from(field, 'utf8'));
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    native.crypto_generichash_update(state, length);
    native.crypto_generichash_update(state, bytes);
  }
  native.crypto_generichash_final(state, out);
  return out;
}
