// The primitive work of convergent encryption done the cheapest way libsodium allows: keyed BLAKE2b
// over the chunk, the nonce hash, XChaCha20-Poly1305 and BLAKE2b over the ciphertext, all into
// buffers allocated once (and the same for opening). bench/convergent.ts measures sealConvergent and
// openConvergent against this, so the figures show only what our API adds (argument checks, the
// buffers it hands over, the id and key objects).
// Lives in crypto/ because every libsodium call does.
import { BLOCK_CHUNK_BYTES_MAX, BLOCK_TAG_BYTES, ID_BYTES } from '../protocol/limits';
import { HashDomain } from './domains';
import { native, toBuffer } from './sodium';

export class ConvergentBaseline {
  private readonly key = Buffer.alloc(ID_BYTES);
  private readonly id = Buffer.alloc(ID_BYTES);
  private readonly nonce = Buffer.alloc(24);
  private readonly nonceInput = Buffer.concat([Buffer.from(HashDomain.convergentNonce), Buffer.alloc(ID_BYTES)]);
  private readonly tagLength = Buffer.byteLength(HashDomain.convergentNonce);
  private readonly ciphertext = Buffer.alloc(BLOCK_CHUNK_BYTES_MAX + BLOCK_TAG_BYTES);
  private readonly plaintext = Buffer.alloc(BLOCK_CHUNK_BYTES_MAX);
  private readonly secret: Buffer;

  constructor(convergenceSecret: Uint8Array) {
    this.secret = Buffer.from(convergenceSecret);
  }

  /** Same primitive calls as sealConvergent; returns the first id byte so the work cannot be skipped. */
  run(plaintext: Uint8Array): number {
    const p = toBuffer(plaintext);
    native.crypto_generichash(this.key, p, this.secret);
    this.key.copy(this.nonceInput, this.tagLength);
    native.crypto_generichash(this.nonce, this.nonceInput);
    const c = this.ciphertext.subarray(0, p.length + BLOCK_TAG_BYTES);
    native.crypto_aead_xchacha20poly1305_ietf_encrypt(c, p, null, null, this.nonce, this.key);
    native.crypto_generichash(this.id, c);
    return this.id[0]!;
  }

  /** Same primitive calls as openConvergent (id hash, nonce hash, AEAD open) into a reused buffer. */
  open(key: Uint8Array, ciphertext: Uint8Array): number {
    const c = toBuffer(ciphertext);
    native.crypto_generichash(this.id, c);
    toBuffer(key).copy(this.nonceInput, this.tagLength);
    native.crypto_generichash(this.nonce, this.nonceInput);
    const p = this.plaintext.subarray(0, c.length - BLOCK_TAG_BYTES);
    native.crypto_aead_xchacha20poly1305_ietf_decrypt(p, null, c, null, this.nonce, toBuffer(key));
    return this.id[0]! ^ p[0]!;
  }
}
