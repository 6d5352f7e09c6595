// The keystore: a user's private keys, master secret and certificate, sealed under a key derived from
// the password with Argon2id (libsodium crypto_pwhash, ALG_ARGON2ID13). The sealed form is what the
// ring stores, so a user can log in on any node with address + password; it is never in clear outside
// this process.
//
//   keystore = msgpack [1, "argon2id13", opsLimit, memLimitBytes, salt (16), sealed]
//   sealed   = sealWithKey(Argon2id(password, salt), msgpack [signingSecretKey, boxSecretKey,
//              masterSecret, certificate], AD = "POST/v1/keystore\0" || lowercased address)
//
// The KDF parameters travel with the keystore (so they can be raised later), bounded by
// KEYSTORE_*_MAX so that a forged keystore cannot make a login allocate gigabytes.
import { Decoder } from '@msgpack/msgpack';
import type { Random } from '../infra/ports';
import { ErrorCodes, type Result, err, ok } from '../protocol/errors';
import { canonicalBytes } from '../protocol/frame';
import { type UserCertificate, userCertificateCodec } from '../protocol/identity';
import { KEYSTORE_BYTES_MAX, KEYSTORE_MEMLIMIT_BYTES_MAX, KEYSTORE_OPSLIMIT_MAX } from '../protocol/limits';
import { SealDomain } from './domains';
import { openWithKey, SECRETBOX_KEY_BYTES, sealWithKey } from './secretbox';
import { native } from './sodium';
import { MASTER_SECRET_BYTES } from './userKeys';

export interface KdfLimits {
  /** Argon2id passes. */
  readonly opsLimit: number;
  readonly memLimitBytes: number;
}

/** libsodium's interactive limits (~100 ms, 64 MiB here): the default for real users. */
export const KEYSTORE_KDF_INTERACTIVE: KdfLimits = {
  opsLimit: native.crypto_pwhash_OPSLIMIT_INTERACTIVE,
  memLimitBytes: native.crypto_pwhash_MEMLIMIT_INTERACTIVE,
};

/** libsodium's minimum limits (well under a millisecond): tests and simulation only, never real users. */
export const KEYSTORE_KDF_CHEAP: KdfLimits = {
  opsLimit: Math.max(1, native.crypto_pwhash_OPSLIMIT_MIN),
  memLimitBytes: native.crypto_pwhash_MEMLIMIT_MIN,
};

const FORMAT = 1;
const ALGORITHM = 'argon2id13';
const SALT_BYTES: number = native.crypto_pwhash_SALTBYTES; // 16

export interface KeystoreSecrets {
  /** Ed25519 secret key, 64 bytes (libsodium layout: seed || public key). */
  readonly signingSecretKey: Uint8Array;
  /** X25519 secret key, 32 bytes. */
  readonly boxSecretKey: Uint8Array;
  readonly masterSecret: Uint8Array;
  readonly certificate: UserCertificate;
}

const decoder = new Decoder({ maxStrLength: 64, maxBinLength: KEYSTORE_BYTES_MAX, maxArrayLength: 8, maxMapLength: 16, maxExtLength: 0 });
const certDecoder = new Decoder({ maxStrLength: 4096, maxBinLength: 64, maxArrayLength: 0, maxMapLength: 16, maxExtLength: 0 });

function checkLimits(limits: KdfLimits): string | undefined {
  const { opsLimit, memLimitBytes } = limits;
  if (!Number.isSafeInteger(opsLimit) || opsLimit < 1 || opsLimit > KEYSTORE_OPSLIMIT_MAX) return `Argon2id passes ${String(opsLimit)} outside 1..${KEYSTORE_OPSLIMIT_MAX}`;
  if (!Number.isSafeInteger(memLimitBytes) || memLimitBytes < native.crypto_pwhash_MEMLIMIT_MIN || memLimitBytes > KEYSTORE_MEMLIMIT_BYTES_MAX) {
    return `Argon2id memory ${String(memLimitBytes)} outside ${native.crypto_pwhash_MEMLIMIT_MIN}..${KEYSTORE_MEMLIMIT_BYTES_MAX} bytes`;
  }
  return undefined;
}

/**
 * Argon2id(password, salt) off the event loop (libsodium's async variant runs on the thread pool).
 * At the minimum limits (microseconds) it runs inline instead: a thread-pool callback lands at a
 * wall-clock moment, which would let the deterministic simulator's time move while it runs.
 */
function passwordKey(password: string, salt: Uint8Array, limits: KdfLimits): Promise<Buffer> {
  const out = Buffer.alloc(SECRETBOX_KEY_BYTES);
  const pw = Buffer.from(password.normalize('NFC'), 'utf8');
  if (limits.opsLimit <= KEYSTORE_KDF_CHEAP.opsLimit && limits.memLimitBytes <= KEYSTORE_KDF_CHEAP.memLimitBytes) {
    native.crypto_pwhash(out, pw, Buffer.from(salt), limits.opsLimit, limits.memLimitBytes, native.crypto_pwhash_ALG_ARGON2ID13);
    return Promise.resolve(out);
  }
  return new Promise((resolve, reject) => {
    native.crypto_pwhash_async(out, pw, Buffer.from(salt), limits.opsLimit, limits.memLimitBytes, native.crypto_pwhash_ALG_ARGON2ID13, (e: Error | null) =>
      e ? reject(e) : resolve(out),
    );
  });
}

const associatedData = (address: string): Buffer => Buffer.from(`${SealDomain.keystore}${address.toLowerCase()}`, 'utf8');

export async function sealKeystore(args: {
  secrets: KeystoreSecrets;
  password: string;
  random: Random;
  limits?: KdfLimits;
}): Promise<Uint8Array> {
  const { secrets, password, random } = args;
  const limits = args.limits ?? KEYSTORE_KDF_INTERACTIVE;
  const problem = checkLimits(limits);
  if (problem) throw new RangeError(`sealKeystore: ${problem}`);
  const salt = random.bytes(SALT_BYTES);
  const key = await passwordKey(password, salt, limits);
  const cert = canonicalBytes(userCertificateCodec.encode(secrets.certificate));
  const inner = canonicalBytes([secrets.signingSecretKey, secrets.boxSecretKey, secrets.masterSecret, cert]);
  const sealed = sealWithKey(key, inner, random, associatedData(secrets.certificate.address));
  key.fill(0);
  const out = canonicalBytes([FORMAT, ALGORITHM, limits.opsLimit, limits.memLimitBytes, salt, sealed]);
  if (out.length > KEYSTORE_BYTES_MAX) throw new RangeError(`keystore of ${out.length} bytes exceeds ${KEYSTORE_BYTES_MAX}`);
  return out;
}

const isBytes = (x: unknown, len?: number): x is Uint8Array => x instanceof Uint8Array && (len === undefined || x.length === len);

/**
 * Open a keystore with a password. WRONG_PASSWORD when it does not open (a wrong password and a
 * damaged keystore look the same to AEAD); KEYSTORE_INVALID when it is not a keystore at all, asks for
 * KDF limits beyond the bounds, or is bound to another address.
 */
export async function openKeystore(bytes: Uint8Array, password: string, address: string): Promise<Result<KeystoreSecrets>> {
  const invalid = (why: string) => err<KeystoreSecrets>(ErrorCodes.KEYSTORE_INVALID, `the stored keystore of ${address} is unusable: ${why}`);
  if (bytes.length > KEYSTORE_BYTES_MAX) return invalid(`${bytes.length} bytes exceeds ${KEYSTORE_BYTES_MAX}`);
  let outer: unknown;
  try {
    outer = decoder.decode(bytes);
  } catch {
    return invalid('not msgpack');
  }
  if (!Array.isArray(outer) || outer.length !== 6) return invalid('not a keystore record');
  const [format, algorithm, opsLimit, memLimitBytes, salt, sealed] = outer as unknown[];
  if (format !== FORMAT || algorithm !== ALGORITHM) return invalid(`unknown format ${String(format)}/${String(algorithm)}`);
  const limits = { opsLimit: opsLimit as number, memLimitBytes: memLimitBytes as number };
  const problem = checkLimits(limits);
  if (problem) return invalid(problem);
  if (!isBytes(salt, SALT_BYTES) || !isBytes(sealed)) return invalid('salt or sealed body malformed');
  const key = await passwordKey(password, salt, limits);
  const inner = openWithKey(key, sealed, associatedData(address));
  key.fill(0);
  if (!inner) return err(ErrorCodes.WRONG_PASSWORD, `wrong password for ${address}`);
  return decodeSecrets(inner, invalid);
}

function decodeSecrets(inner: Uint8Array, invalid: (why: string) => Result<KeystoreSecrets>): Result<KeystoreSecrets> {
  try {
    const fields = decoder.decode(inner);
    if (!Array.isArray(fields) || fields.length !== 4) return invalid('sealed body is not [keys, certificate]');
    const [signingSecretKey, boxSecretKey, masterSecret, cert] = fields as unknown[];
    if (!isBytes(signingSecretKey, 64) || !isBytes(boxSecretKey, 32) || !isBytes(masterSecret, MASTER_SECRET_BYTES) || !isBytes(cert)) {
      return invalid('a key has the wrong length');
    }
    const certificate = userCertificateCodec.decode(certDecoder.decode(cert), 'certificate');
    return ok({ signingSecretKey, boxSecretKey, masterSecret, certificate });
  } catch (e) {
    return invalid(`sealed body malformed (${(e as Error).message.slice(0, 120)})`);
  }
}
