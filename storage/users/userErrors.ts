// Why a user could not be created, logged in or looked up. Stable codes (protocol/errors.ts):
//   UNKNOWN_USER      no directory record for the address
//   WRONG_PASSWORD    the keystore does not open with this password
//   CERT_REVOKED      the organisation's CA revoked the user
//   CERT_EXPIRED      the certificate is not valid now
//   CERT_INVALID      the certificate does not verify against the CA (or is for another address)
//   KEYSTORE_INVALID  the stored keystore is malformed or does not match the certificate
//   USER_EXISTS       createUser for an address that already has a directory record
//   UNAVAILABLE       storage could not answer (replicas unreachable): retry later
//   BAD_REQUEST       the address is not a valid address of this organisation
import { PostError } from '../../protocol/errors';

export type UserErrorCode = 'UNKNOWN_USER' | 'WRONG_PASSWORD' | 'CERT_REVOKED' | 'CERT_EXPIRED' | 'CERT_INVALID' | 'KEYSTORE_INVALID' | 'USER_EXISTS' | 'UNAVAILABLE' | 'BAD_REQUEST';

/** A PostError with one of the codes above; named UserError in logs, as the family it belongs to. */
export function userError(code: UserErrorCode, message: string): PostError {
  const error = new PostError(code, message);
  error.name = 'UserError';
  return error;
}

const STORAGE_UNAVAILABLE = new Set(['TIMEOUT', 'UNAVAILABLE', 'NO_RESPONDERS', 'CLOSED', 'BLOCK_MISSING', 'NOT_READY', 'ROUTE_FAILED']);

/** Run a storage call; availability failures become a UserError UNAVAILABLE, everything else is rethrown. */
export async function orUnavailable<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    if (e instanceof PostError && STORAGE_UNAVAILABLE.has(e.code)) throw userError('UNAVAILABLE', `${what}: storage is unreachable (${e.code}); try again shortly`);
    throw e;
  }
}

/** `alice@Rice.Example ` -> `alice@rice.example`; a bare local part gets the organisation's domain. */
export function normaliseAddress(address: string, org: string): string {
  const a = address.trim().toLowerCase();
  return a.includes('@') ? a : `${a}@${org.toLowerCase()}`;
}
