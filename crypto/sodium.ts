// The one place libsodium is loaded. sodium-plus (async, safe key types) for keys and signatures;
// sodium-native (sync, reusable buffers) only for bulk paths where sodium-plus' allocations cost
// throughput (STACK.md). Nothing outside crypto/ imports either.
import { createRequire } from 'node:module';
import sodiumPlus from 'sodium-plus';

const { SodiumPlus } = sodiumPlus;
export const { Ed25519PublicKey, Ed25519SecretKey, X25519PublicKey, X25519SecretKey, CryptographyKey } = sodiumPlus;

let instance: Promise<InstanceType<typeof SodiumPlus>> | undefined;

export function sodium(): Promise<InstanceType<typeof SodiumPlus>> {
  instance ??= SodiumPlus.auto();
  return instance;
}

const require = createRequire(import.meta.url);
/** Synchronous libsodium for hashing and bulk AEAD (typed loosely: sodium-native ships no types). */
export const native: any = require('sodium-native');

export const toBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));
