// What the MailSubmission port's answers mean to the SMTP session, as plain values the session
// machine can branch on. Errors that are not SubmissionErrors (bugs, timeouts) are treated as
// temporary: the client is told to retry, never that its credentials or recipients are wrong.
import { LoginRefused } from '../loginThrottle';
import { SubmissionError, type RecipientClass, type SubmitterIdentity } from '../submission';
import type { RelayAvailability } from './envelope';
import type { SubmitFailure } from './replies';

export type AuthResult =
  | { readonly kind: 'ok'; readonly identity: SubmitterIdentity }
  /** Wrong password and unknown user look the same to the client: no account probing. */
  | { readonly kind: 'badCredentials' }
  /** The node's login throttle turned the attempt away unchecked; `text` says why and how long to wait. */
  | { readonly kind: 'refused'; readonly text: string }
  | { readonly kind: 'unavailable' };

export function authResultOf(error: unknown): AuthResult {
  if (error instanceof LoginRefused) return { kind: 'refused', text: error.message };
  if (error instanceof SubmissionError && (error.code === 'WRONG_PASSWORD' || error.code === 'UNKNOWN_USER')) {
    return { kind: 'badCredentials' };
  }
  return { kind: 'unavailable' };
}

export type RecipientCheck =
  | { readonly kind: 'classified'; readonly cls: RecipientClass; readonly relay: RelayAvailability }
  | { readonly kind: 'unavailable' };

export function submitFailureOf(error: unknown): SubmitFailure {
  if (error instanceof SubmissionError) return { code: error.code, message: error.message, recipients: error.recipients };
  return { code: 'INTERNAL', message: String((error as Error)?.message ?? error), recipients: [] };
}
