// The user's own records, owned (signed) by the user's key:
//
//   keystore  objectIdOf(userSigningKey, "keystore"): the sealed keystore (crypto/keystore.ts), so the
//             user can log in from any node with address + password.
//   identity  objectIdOf(userSigningKey, "identity"): msgpack [1, address, signingKey, boxKey,
//             certificate, pointers]; `pointers` is sealWithKey(key derived from the master secret,
//             msgpack [folder index log name], AD = "identity-pointer" || objectId): who holds the
//             user's public keys learns nothing about the user's logs.
import { Decoder } from '@msgpack/msgpack';
import { SealDomain } from '../../crypto/domains';
import { openWithKey, sealWithKey } from '../../crypto/secretbox';
import type { Random } from '../../infra/ports';
import { canonicalBytes } from '../../protocol/frame';
import { userCertificateCodec } from '../../protocol/identity';
import type { StorageApi } from '../api';
import { checkSignedObject, objectIdOf, type SignedObject, signObjectVersion } from '../signedObject';
import type { UnlockedUser } from './unlockedUser';
import { userError } from './userErrors';

export const KEYSTORE_OBJECT_NAME = 'keystore';
export const IDENTITY_OBJECT_NAME = 'identity';
/** The key name (through the master secret's KDF) that seals the identity record's pointers. */
const POINTER_KEY_NAME = 'pointer:identity';

const decoder = new Decoder({ maxStrLength: 4096, maxBinLength: 4096, maxArrayLength: 8, maxMapLength: 16, maxExtLength: 0 });

async function putFirstVersion(storage: StorageApi, version: SignedObject, what: string): Promise<void> {
  const r = await storage.putObject(version, 0);
  if (!r.ok) throw userError(r.code === 'CAS_MISMATCH' ? 'USER_EXISTS' : 'KEYSTORE_INVALID', `${what} refused (${r.code}): ${r.message}`);
}

export async function storeKeystore(storage: StorageApi, user: UnlockedUser, sealedKeystore: Uint8Array): Promise<void> {
  const version = await signObjectVersion({ keys: user.signing, name: KEYSTORE_OBJECT_NAME, payload: sealedKeystore });
  await putFirstVersion(storage, version, `keystore of ${user.address}`);
}

/** The sealed keystore of the user whose signing key is `signingKey`, verified as theirs; undefined if none. */
export async function readKeystore(storage: StorageApi, signingKey: Uint8Array, address: string): Promise<Uint8Array | undefined> {
  const objectId = objectIdOf(signingKey, KEYSTORE_OBJECT_NAME);
  const version = await storage.getObject(objectId);
  if (!version) return undefined;
  if (version.objectId !== objectId || !Buffer.from(version.owner).equals(Buffer.from(signingKey)) || !checkSignedObject(version).ok) {
    throw userError('KEYSTORE_INVALID', `the stored keystore of ${address} is not signed by its key`);
  }
  return version.payload;
}

const pointerAd = (objectId: string) => Buffer.concat([Buffer.from(SealDomain.identityPointer), Buffer.from(objectId, 'hex')]);

export async function storeIdentityRecord(storage: StorageApi, user: UnlockedUser, random: Random): Promise<void> {
  const objectId = objectIdOf(user.signing.publicKey, IDENTITY_OBJECT_NAME);
  const pointers = sealWithKey(user.logKey(POINTER_KEY_NAME), canonicalBytes([user.folderIndexLog]), random, pointerAd(objectId));
  const payload = canonicalBytes([1, user.address, user.signing.publicKey, user.box.publicKey, userCertificateCodec.encode(user.certificate), pointers]);
  const version = await signObjectVersion({ keys: user.signing, name: IDENTITY_OBJECT_NAME, payload });
  await putFirstVersion(storage, version, `identity record of ${user.address}`);
}

/** The folder index log's name from the user's identity record; undefined when the record is absent. */
export async function readFolderIndexPointer(storage: StorageApi, user: Pick<UnlockedUser, 'address' | 'signing' | 'logKey'>): Promise<string | undefined> {
  const objectId = objectIdOf(user.signing.publicKey, IDENTITY_OBJECT_NAME);
  const version = await storage.getObject(objectId);
  if (!version) return undefined;
  const invalid = (why: string) => userError('KEYSTORE_INVALID', `identity record of ${user.address}: ${why}`);
  if (!Buffer.from(version.owner).equals(Buffer.from(user.signing.publicKey)) || !checkSignedObject(version).ok) throw invalid('not signed by the user');
  try {
    const wire = decoder.decode(version.payload);
    if (!Array.isArray(wire) || wire.length !== 6 || wire[0] !== 1 || !(wire[5] instanceof Uint8Array)) throw new Error('unknown format');
    const opened = openWithKey(user.logKey(POINTER_KEY_NAME), wire[5], pointerAd(objectId));
    if (!opened) throw new Error('its pointers do not open under the user key');
    const [name] = decoder.decode(opened) as unknown[];
    if (typeof name !== 'string' || name.length === 0) throw new Error('no folder index name');
    return name;
  } catch (e) {
    throw invalid((e as Error).message.slice(0, 200));
  }
}
