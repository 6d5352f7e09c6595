// A logged-in user: keys in memory, never stored in clear. The master secret stays inside the
// closure of `logKey`, so holders can derive log keys but not read or leak the secret itself.
import type { SigningKeyPair } from '../../crypto/sign';
import { type BoxKeyPair, boxPublicKeyOf, deriveLogKey, signingPublicKeyOf } from '../../crypto/userKeys';
import type { UserCertificate } from '../../protocol/identity';
import type { LogOwner } from '../log/logAddress';
import { userError } from './userErrors';

export interface UnlockedUser extends LogOwner {
  readonly address: string;
  readonly certificate: UserCertificate;
  readonly signing: SigningKeyPair;
  readonly box: BoxKeyPair;
  /** The 32-byte key of the log called `name`. */
  logKey(name: string): Uint8Array;
  /** Name of the folder index log (from the identity record). */
  readonly folderIndexLog: string;
}

/** Assemble an unlocked user, checking that the keys are the ones the certificate certifies. */
export function unlockedUser(args: {
  certificate: UserCertificate;
  signingSecretKey: Uint8Array;
  boxSecretKey: Uint8Array;
  masterSecret: Uint8Array;
  folderIndexLog: string;
}): UnlockedUser {
  const { certificate } = args;
  const signingPublic = signingPublicKeyOf(args.signingSecretKey);
  const boxPublic = boxPublicKeyOf(args.boxSecretKey);
  if (!Buffer.from(signingPublic).equals(Buffer.from(certificate.signingKey)) || !Buffer.from(boxPublic).equals(Buffer.from(certificate.boxKey))) {
    throw userError('KEYSTORE_INVALID', `the keystore of ${certificate.address} holds keys its certificate does not certify`);
  }
  const masterSecret = Uint8Array.from(args.masterSecret);
  const keys = new Map<string, Uint8Array>();
  return {
    address: certificate.address,
    certificate,
    signing: { publicKey: Uint8Array.from(signingPublic), secretKey: Uint8Array.from(args.signingSecretKey) },
    box: { publicKey: Uint8Array.from(boxPublic), secretKey: Uint8Array.from(args.boxSecretKey) },
    logKey(name) {
      let key = keys.get(name);
      if (!key) keys.set(name, (key = deriveLogKey(masterSecret, name)));
      return key;
    },
    folderIndexLog: args.folderIndexLog,
  };
}
