// Creating a user (`post user add`): fresh keys, a certificate from the organisation's CA, the keystore
// sealed under the password, and the three records in the ring (the identity record names the folder
// index: placed by the user's home node when it is known). The directory record goes last, so an
// address only ever resolves to a user whose keystore and identity record are already stored.
//
//   const { user } = await createUser({ storage, issuer: localUserIssuer(ca), address: 'alice@rice.example',
//                                       password, clock, random });
import { type KdfLimits, sealKeystore } from '../../crypto/keystore';
import { generateUserKeys } from '../../crypto/userKeys';
import type { Clock, Random } from '../../infra/ports';
import type { UserCertificate } from '../../protocol/identity';
import { USER_ADDRESS_CHARS_MAX } from '../../protocol/limits';
import type { StorageApi } from '../api';
import { FOLDER_INDEX_LOG_NAME, placedFolderIndexName } from '../folders/folderLogs';
import { publishDirectoryRecord, readDirectoryRecord } from './directory';
import type { UserIssuer } from './issuer';
import { type UnlockedUser, unlockedUser } from './unlockedUser';
import { normaliseAddress, orUnavailable, userError } from './userErrors';
import { storeIdentityRecord, storeKeystore } from './userRecords';

export interface CreateUserArgs {
  readonly storage: StorageApi;
  readonly issuer: UserIssuer;
  readonly address: string;
  readonly password: string;
  readonly clock: Clock;
  readonly random: Random;
  /** Argon2id limits (interactive by default; KEYSTORE_KDF_CHEAP for tests and simulation). */
  readonly kdf?: KdfLimits;
  /** The node that will host the user: its folders are placed by it (folderLogs.ts placedFolderIndexName). */
  readonly home?: string;
}

const ADDRESS = /^[^\s@]+@[^\s@]+$/;

export async function createUser(args: CreateUserArgs): Promise<{ user: UnlockedUser; certificate: UserCertificate }> {
  const { storage, issuer, clock, random } = args;
  const address = normaliseAddress(args.address, issuer.trust.org);
  if (!ADDRESS.test(address) || address.length > USER_ADDRESS_CHARS_MAX || address.split('@')[1] !== issuer.trust.org) {
    throw userError('BAD_REQUEST', `"${address.slice(0, 80)}" is not an address of ${issuer.trust.org}`);
  }
  if (await orUnavailable('checking the directory', () => readDirectoryRecord(storage, issuer.trust.caPublicKey, address))) {
    throw userError('USER_EXISTS', `user ${address} already exists`);
  }
  const keys = await generateUserKeys(random);
  const certificate = await issuer.issue({ address, signingKey: keys.signing.publicKey, boxKey: keys.box.publicKey }, clock.now());
  const secrets = { signingSecretKey: keys.signing.secretKey, boxSecretKey: keys.box.secretKey, masterSecret: keys.masterSecret, certificate };
  const keystore = await sealKeystore({ secrets, password: args.password, random, ...(args.kdf ? { limits: args.kdf } : {}) });
  const unplaced = unlockedUser({ ...secrets, folderIndexLog: FOLDER_INDEX_LOG_NAME });
  const user = args.home ? unlockedUser({ ...secrets, folderIndexLog: placedFolderIndexName(unplaced, args.home) }) : unplaced;
  await orUnavailable('storing the keystore', () => storeKeystore(storage, user, keystore));
  await orUnavailable('storing the identity record', () => storeIdentityRecord(storage, user, random));
  await orUnavailable('storing the directory record', () => publishDirectoryRecord(storage, issuer, certificate));
  return { user, certificate };
}
