// Logging in on any node with address + password: directory record (CA-signed) -> certificate ->
// keystore object (signed by the certified key) -> Argon2id + open -> keys in memory.
//
//   const user = await login({ storage, trust, address: 'alice@rice.example', password, clock });
//   // UserError: UNKNOWN_USER, WRONG_PASSWORD, CERT_REVOKED, CERT_EXPIRED, CERT_INVALID, KEYSTORE_INVALID, UNAVAILABLE
//
// lookupUser is what a sender does: the recipient's verified certificate (hence keys) from the address.
import { type RingTrust, verifyUserCertificate } from '../../crypto/certificates';
import { blake2b } from '../../crypto/hash';
import { type KeystoreSecrets, openKeystore } from '../../crypto/keystore';
import type { Clock } from '../../infra/ports';
import type { UserCertificate } from '../../protocol/identity';
import type { StorageApi } from '../api';
import { FOLDER_INDEX_LOG_NAME } from '../folders/folderLogs';
import { readDirectoryRecord } from './directory';
import { type UnlockedUser, unlockedUser } from './unlockedUser';
import { normaliseAddress, orUnavailable, userError } from './userErrors';
import { readFolderIndexPointer, readKeystore } from './userRecords';

export interface LoginArgs {
  readonly storage: StorageApi;
  readonly trust: RingTrust;
  readonly address: string;
  readonly password: string;
  readonly clock: Clock;
}

/** The verified, unrevoked, currently valid certificate of `address`; throws UserError. */
export async function lookupUser(storage: StorageApi, trust: RingTrust, address: string, nowMs: number): Promise<UserCertificate> {
  const normalised = normaliseAddress(address, trust.org);
  const record = await orUnavailable(`looking up ${normalised}`, () => readDirectoryRecord(storage, trust.caPublicKey, normalised));
  if (!record) throw userError('UNKNOWN_USER', `no user ${normalised}`);
  if (record.revoked) throw userError('CERT_REVOKED', `user ${normalised} was revoked by the ${trust.org} CA`);
  const check = await verifyUserCertificate(record.certificate, trust, nowMs);
  if (!check.ok) throw userError(check.code === 'CERT_EXPIRED' ? 'CERT_EXPIRED' : 'CERT_INVALID', check.reason);
  return record.certificate;
}

export async function login(args: LoginArgs): Promise<UnlockedUser> {
  return (await loginWithKeystore(args)).user;
}

/** What a node that logged a user in may keep to recognise the same login later without Argon2id. */
export interface LoginRecord {
  readonly user: UnlockedUser;
  /** BLAKE2b of the sealed keystore the password opened: a changed password changes it. */
  readonly keystoreDigest: Uint8Array;
}

/**
 * Is a login made earlier still good: the directory still certifies the user (not revoked, not
 * expired) and the keystore is the one the password opened then (the password was not changed)?
 * Throws UserError like login (CERT_REVOKED, UNAVAILABLE, ...); false when the keystore changed.
 */
export async function loginStillValid(storage: StorageApi, trust: RingTrust, record: LoginRecord, nowMs: number): Promise<boolean> {
  const certificate = await lookupUser(storage, trust, record.user.address, nowMs);
  if (!Buffer.from(certificate.signingKey).equals(Buffer.from(record.user.signing.publicKey))) return false;
  const sealed = await orUnavailable(`reading the keystore of ${record.user.address}`, () => readKeystore(storage, certificate.signingKey, record.user.address));
  return sealed !== undefined && Buffer.from(blake2b(sealed)).equals(Buffer.from(record.keystoreDigest));
}

export async function loginWithKeystore(args: LoginArgs): Promise<LoginRecord> {
  const { secrets, keystoreDigest } = await openUserSecrets(args);
  return { user: await unlockWithSecrets(args.storage, secrets), keystoreDigest };
}

/**
 * The user's keys from its keystore in the ring, opened with the password (Argon2id), with the
 * directory's certificate: what a login unlocks, and what the CA's tool seals to a user's standby
 * hosts (storage/users/standbyGrants.ts). Throws UserError like login.
 */
export async function openUserSecrets(args: LoginArgs): Promise<{ secrets: KeystoreSecrets; keystoreDigest: Uint8Array }> {
  const { storage, trust, password } = args;
  const certificate = await lookupUser(storage, trust, args.address, args.clock.now());
  const address = certificate.address;
  const sealed = await orUnavailable(`reading the keystore of ${address}`, () => readKeystore(storage, certificate.signingKey, address));
  // The directory record is stored after the keystore, so a missing keystore is a replica still catching up.
  if (!sealed) throw userError('UNAVAILABLE', `the keystore of ${address} is not readable yet; try again shortly`);
  const opened = await openKeystore(sealed, password, address);
  if (!opened.ok) throw userError(opened.code === 'WRONG_PASSWORD' ? 'WRONG_PASSWORD' : 'KEYSTORE_INVALID', opened.message);
  // The directory's certificate is authoritative (the CA may have renewed it); the keys must match it.
  return { secrets: { ...opened.value, certificate }, keystoreDigest: blake2b(sealed) };
}

/** The unlocked user from its keys (checked against the certificate) and its identity record's folder index pointer. */
export async function unlockWithSecrets(storage: StorageApi, secrets: KeystoreSecrets): Promise<UnlockedUser> {
  const keys = { ...secrets, folderIndexLog: FOLDER_INDEX_LOG_NAME };
  const provisional = unlockedUser(keys);
  const address = provisional.address;
  const pointer = await orUnavailable(`reading the identity record of ${address}`, () => readFolderIndexPointer(storage, provisional));
  // Stored before the directory record: absent, it is a replica still catching up, and guessing the
  // folder index's name could open an empty index beside the user's (its name is placed, createUser.ts).
  if (!pointer) throw userError('UNAVAILABLE', `the identity record of ${address} is not readable yet; try again shortly`);
  return pointer !== FOLDER_INDEX_LOG_NAME ? unlockedUser({ ...keys, folderIndexLog: pointer }) : provisional;
}
