// Backend failures to tagged NO responses with RFC 5530 response codes.
import type { MailBackendError, MailErrorCode } from '../backend';

export interface NoReply {
  readonly code: string;
  readonly text: string;
}

const codes: Record<MailErrorCode, string> = {
  WRONG_PASSWORD: 'AUTHENTICATIONFAILED',
  UNKNOWN_USER: 'AUTHENTICATIONFAILED',
  NO_SUCH_FOLDER: 'NONEXISTENT',
  FOLDER_EXISTS: 'ALREADYEXISTS',
  FOLDER_HAS_CHILDREN: 'HASCHILDREN',
  CANNOT: 'CANNOT',
  OVER_QUOTA: 'OVERQUOTA',
  TOO_BIG: 'TOOBIG',
  UNAVAILABLE: 'UNAVAILABLE',
  LIMIT: 'LIMIT',
  INTERNAL: 'SERVERBUG',
};

/**
 * The NO reply for a backend failure. `missingFolderCode` replaces NONEXISTENT where the client
 * should create the folder and retry (APPEND, COPY, MOVE targets: TRYCREATE).
 */
export function noReplyFor(error: MailBackendError, missingFolderCode?: 'TRYCREATE'): NoReply {
  if (error.code === 'NO_SUCH_FOLDER' && missingFolderCode) return { code: missingFolderCode, text: error.message };
  return { code: codes[error.code], text: error.message };
}
