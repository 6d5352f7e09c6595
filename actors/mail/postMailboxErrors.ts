// Storage, log and user failures as MailBackendError codes the IMAP core turns into NO replies:
// availability problems (replicas unreachable, head contention, a lagging replica) are UNAVAILABLE,
// so the client retries; integrity failures (forged or corrupt logs) are INTERNAL (a server bug or an
// attack, never silently served).
import { FOLDER_NAME_CHARS_MAX } from '../../protocol/limits';
import { PostError } from '../../protocol/errors';
import { MailBackendError, type MailErrorCode } from '../../mail/backend';

const BY_CODE: Record<string, MailErrorCode> = {
  WRONG_PASSWORD: 'WRONG_PASSWORD',
  UNKNOWN_USER: 'UNKNOWN_USER',
  // A revoked or expired account cannot log in; the message says why.
  CERT_REVOKED: 'CANNOT',
  CERT_EXPIRED: 'CANNOT',
  CERT_INVALID: 'INTERNAL',
  KEYSTORE_INVALID: 'INTERNAL',
  TIMEOUT: 'UNAVAILABLE',
  UNAVAILABLE: 'UNAVAILABLE',
  NO_RESPONDERS: 'UNAVAILABLE',
  CLOSED: 'UNAVAILABLE',
  NOT_READY: 'UNAVAILABLE',
  ROUTE_FAILED: 'UNAVAILABLE',
  BLOCK_MISSING: 'UNAVAILABLE',
  LOG_CONTENTION: 'UNAVAILABLE',
  LOG_ROLLBACK: 'UNAVAILABLE',
  QUEUE_FULL: 'UNAVAILABLE',
  QUOTA_EXCEEDED: 'OVER_QUOTA',
  DATA_TOO_LARGE: 'TOO_BIG',
  LOG_TOO_LARGE: 'TOO_BIG',
  NOT_AUTHORISED: 'CANNOT',
};

export function mailErrorOf(error: unknown): MailBackendError {
  if (error instanceof MailBackendError) return error;
  if (error instanceof PostError) {
    const code = BY_CODE[error.code] ?? 'INTERNAL';
    const hint = code === 'UNAVAILABLE' ? '; try again shortly' : '';
    return new MailBackendError(code, `${error.message}${hint}`);
  }
  return new MailBackendError('INTERNAL', `storage failed unexpectedly: ${error instanceof Error ? error.message : String(error)}`);
}

/** Run a backend operation; every failure leaves as a MailBackendError. */
export async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    throw mailErrorOf(e);
  }
}

/** A folder name this backend can store: "/"-separated, no empty level, bounded. */
export function checkFolderName(name: string): void {
  if (name.length === 0 || name.length > FOLDER_NAME_CHARS_MAX || name.split('/').some((level) => level.length === 0)) {
    throw new MailBackendError('CANNOT', `"${name.slice(0, 80)}" is not a valid folder name (empty level or longer than ${FOLDER_NAME_CHARS_MAX} characters)`);
  }
}

export function parentNames(name: string): string[] {
  const levels = name.split('/');
  return levels.slice(1).map((_, i) => levels.slice(0, i + 1).join('/'));
}
