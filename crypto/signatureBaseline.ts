// The signature work of one replicated write done the cheapest way libsodium allows: one Ed25519
// signature and k verifications of the same bytes, through sodium-native into buffers allocated once,
// and never answered from the signatures this process remembers (crypto/sign.ts). bench/ringCpu.ts
// prints the ring's CPU per command next to it.
// Lives in crypto/ because every libsodium call does.
import { native } from './sodium';

export class SignatureBaseline {
  private readonly publicKey = Buffer.alloc(32);
  private readonly secretKey = Buffer.alloc(64);
  private readonly signature = Buffer.alloc(64);

  constructor(seed: Uint8Array) {
    native.crypto_sign_seed_keypair(this.publicKey, this.secretKey, Buffer.from(seed));
  }

  /** Sign `message` once and verify it `verifications` times; true when every verification passed. */
  run(message: Buffer, verifications: number): boolean {
    native.crypto_sign_detached(this.signature, message, this.secretKey);
    let ok = true;
    for (let i = 0; i < verifications; i++) ok = native.crypto_sign_verify_detached(this.signature, message, this.publicKey) === true && ok;
    return ok;
  }
}
