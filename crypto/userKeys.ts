// A user's key material: an Ed25519 signing pair (signatures, log heads), an X25519 box pair
// (notifications sealed to the user) and a 32-byte master secret from which every log key is
// derived, so one keystore entry unlocks any number of logs. Everything comes from the Random port,
// so the simulator's seeded source makes users reproducible.
//
//   logKey = BLAKE2b-256 keyed by the master secret, over ("POST/v1/log-key\0" || log name)
import type { Random } from '../infra/ports';
import { HashDomain } from './domains';
import { blake2b } from './hash';
import { signingKeyPairFromSeed, type SigningKeyPair } from './sign';
import { native, toBuffer } from './sodium';

export const MASTER_SECRET_BYTES = 32;
const SEED_BYTES = 32;
const BOX_KEY_BYTES: number = native.crypto_box_PUBLICKEYBYTES; // 32

export interface BoxKeyPair {
  readonly publicKey: Uint8Array; // 32 bytes, X25519
  readonly secretKey: Uint8Array; // 32 bytes
}

export interface UserKeyMaterial {
  readonly signing: SigningKeyPair;
  readonly box: BoxKeyPair;
  readonly masterSecret: Uint8Array;
}

export function boxKeyPairFromSeed(seed: Uint8Array): BoxKeyPair {
  if (seed.length !== SEED_BYTES) throw new RangeError(`box key seed must be ${SEED_BYTES} bytes, got ${seed.length}`);
  const publicKey = Buffer.alloc(BOX_KEY_BYTES);
  const secretKey = Buffer.alloc(BOX_KEY_BYTES);
  native.crypto_box_seed_keypair(publicKey, secretKey, toBuffer(seed));
  return { publicKey, secretKey };
}

/** The X25519 public key of a secret key (checks that a keystore's keys match its certificate). */
export function boxPublicKeyOf(secretKey: Uint8Array): Uint8Array {
  if (secretKey.length !== BOX_KEY_BYTES) throw new RangeError(`box secret key must be ${BOX_KEY_BYTES} bytes, got ${secretKey.length}`);
  const publicKey = Buffer.alloc(BOX_KEY_BYTES);
  native.crypto_scalarmult_base(publicKey, toBuffer(secretKey));
  return publicKey;
}

/** The Ed25519 public key inside a 64-byte libsodium secret key (its second half). */
export const signingPublicKeyOf = (secretKey: Uint8Array): Uint8Array => secretKey.subarray(32, 64);

export async function generateUserKeys(random: Random): Promise<UserKeyMaterial> {
  const signing = await signingKeyPairFromSeed(random.bytes(SEED_BYTES));
  const box = boxKeyPairFromSeed(random.bytes(SEED_BYTES));
  return { signing, box, masterSecret: random.bytes(MASTER_SECRET_BYTES) };
}

/** The 32-byte key of the log called `logName` (e.g. "folders", "folder:<id>"). */
export function deriveLogKey(masterSecret: Uint8Array, logName: string): Uint8Array {
  if (masterSecret.length !== MASTER_SECRET_BYTES) throw new RangeError(`master secret must be ${MASTER_SECRET_BYTES} bytes, got ${masterSecret.length}`);
  return blake2b([HashDomain.logKey, logName], masterSecret);
}
