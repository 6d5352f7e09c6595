// The user directory: one record per user, owned by the organisation's CA.
//
//   objectId = objectIdOf(caPublicKey, "user:<address>")
//   payload  = msgpack [1, certificate, revoked, revokedAtMs | null]      (in clear: it is public)
//
// DESIGN 4 places the identity record at id("user", address). A signed object's id is derived from its
// owner's key and a name, and a sender knows only the recipient's address, not the recipient's key: it
// cannot derive an id owned by the recipient. It does know its organisation's CA key (RingTrust), so
// the CA owns this record and anyone can find a user's certificate (hence keys) from the address
// alone. The user's own identity record (userRecords.ts) then lives at an id derived from the user's
// key, which the certificate provides. Revocation is a newer version with `revoked` set.
import { Decoder } from '@msgpack/msgpack';
import { canonicalBytes } from '../../protocol/frame';
import { type UserCertificate, userCertificateCodec } from '../../protocol/identity';
import type { StorageApi } from '../api';
import { checkSignedObject, objectIdOf, type SignedObject } from '../signedObject';
import type { UserIssuer } from './issuer';
import { userError } from './userErrors';

export interface DirectoryRecord {
  readonly certificate: UserCertificate;
  readonly revoked: boolean;
  readonly revokedAtMs?: number;
  /** The signed version it came from (for the next version). */
  readonly version: SignedObject;
}

export const directoryName = (address: string): string => `user:${address}`;
export const directoryObjectId = (caPublicKey: Uint8Array, address: string): string => objectIdOf(caPublicKey, directoryName(address));

const decoder = new Decoder({ maxStrLength: 4096, maxBinLength: 64, maxArrayLength: 4, maxMapLength: 16, maxExtLength: 0 });

export const encodeDirectoryPayload = (certificate: UserCertificate, revokedAtMs?: number): Uint8Array =>
  canonicalBytes([1, userCertificateCodec.encode(certificate), revokedAtMs !== undefined, revokedAtMs ?? null]);

/** Read and verify the directory record of `address` (already normalised); undefined when none. */
export async function readDirectoryRecord(storage: StorageApi, caPublicKey: Uint8Array, address: string): Promise<DirectoryRecord | undefined> {
  const objectId = directoryObjectId(caPublicKey, address);
  const version = await storage.getObject(objectId);
  if (!version) return undefined;
  const invalid = (why: string) => userError('CERT_INVALID', `directory record of ${address}: ${why}`);
  if (version.objectId !== objectId || !Buffer.from(version.owner).equals(Buffer.from(caPublicKey))) throw invalid('not signed by the organisation CA');
  const check = checkSignedObject(version);
  if (!check.ok) throw invalid(check.message);
  try {
    const wire = decoder.decode(version.payload);
    if (!Array.isArray(wire) || wire.length !== 4 || wire[0] !== 1 || typeof wire[2] !== 'boolean') throw new Error('unknown format');
    const certificate = userCertificateCodec.decode(wire[1], 'certificate');
    if (certificate.address !== address) throw new Error(`it certifies ${certificate.address}`);
    const revokedAtMs = typeof wire[3] === 'number' ? wire[3] : undefined;
    return { certificate, revoked: wire[2], ...(revokedAtMs !== undefined ? { revokedAtMs } : {}), version };
  } catch (e) {
    throw invalid((e as Error).message.slice(0, 200));
  }
}

/** Store the first version of a user's directory record; USER_EXISTS when there is one. */
export async function publishDirectoryRecord(storage: StorageApi, issuer: UserIssuer, certificate: UserCertificate): Promise<void> {
  const version = await issuer.signObject(directoryName(certificate.address), encodeDirectoryPayload(certificate));
  const r = await storage.putObject(version, 0);
  if (r.ok) return;
  if (r.code === 'CAS_MISMATCH') throw userError('USER_EXISTS', `user ${certificate.address} already exists`);
  throw userError('CERT_INVALID', `directory record of ${certificate.address} refused: ${r.message}`);
}

/** The CA revokes a user: a newer directory version with `revoked` set; logins and lookups then fail CERT_REVOKED. */
export async function revokeUser(storage: StorageApi, issuer: UserIssuer, address: string, nowMs: number): Promise<void> {
  const current = await readDirectoryRecord(storage, issuer.trust.caPublicKey, address);
  if (!current) throw userError('UNKNOWN_USER', `no user ${address}`);
  if (current.revoked) return;
  const next = await issuer.signObject(directoryName(address), encodeDirectoryPayload(current.certificate, nowMs), current.version);
  const r = await storage.putObject(next, current.version.seq);
  if (!r.ok) throw userError('UNAVAILABLE', `revocation of ${address} not stored (${r.code}): ${r.message}; retry`);
}
