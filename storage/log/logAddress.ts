// Where a log lives and how to open it: the signed object `log:<name>` of its owner, and its key.
// The key comes from the owner's master secret (crypto/userKeys.ts deriveLogKey), so only the owner
// (and whoever the owner gives the key to) can read the log; only the owner can write it.
import { objectIdOf } from '../signedObject';

export interface LogAddress {
  /** The log's name, e.g. "folders", "folder:<id>". */
  readonly name: string;
  /** The signed object's name: `log:<name>`. */
  readonly objectName: string;
  readonly objectId: string;
  /** The owner's Ed25519 public key: the only key a head of this log may be signed with. */
  readonly owner: Uint8Array;
  /** The 32-byte log key (XChaCha20-Poly1305) sealing the head body, entries and snapshots. */
  readonly key: Uint8Array;
}

const logObjectName = (name: string): string => `log:${name}`;

/** The id of the log's head (a signed object): where the log lives on the ring. */
export const logObjectIdOf = (owner: Uint8Array, name: string): string => objectIdOf(owner, logObjectName(name));

export function logAddressOf(owner: Uint8Array, name: string, key: Uint8Array): LogAddress {
  const objectName = logObjectName(name);
  return { name, objectName, objectId: objectIdOf(owner, objectName), owner, key };
}

/** Whoever can write logs: the owner's signing keys and the derivation of each log's key. */
export interface LogOwner {
  readonly signing: { readonly publicKey: Uint8Array; readonly secretKey: Uint8Array };
  logKey(name: string): Uint8Array;
}

export const logAddressFor = (owner: LogOwner, name: string): LogAddress => logAddressOf(owner.signing.publicKey, name, owner.logKey(name));
