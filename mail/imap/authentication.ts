// Logging a user in, shared by LOGIN and AUTHENTICATE: the backend decides; failures are answered
// alike for unknown users and wrong passwords, and marked for throttling. An attempt the node's
// login throttle refused is answered [UNAVAILABLE] with its reason (wait, or the account is locked).
import { MailBackendError } from '../backend';
import { LoginRefused } from '../loginThrottle';
import { noReplyFor } from './backendErrors';
import { capabilityList, loginAllowed } from './capabilities';
import type { CommandResult } from './command';
import type { ImapSession } from './session';

export const privacyRequired: CommandResult = {
  kind: 'done',
  status: 'NO',
  code: 'PRIVACYREQUIRED',
  text: 'Plaintext login is disabled on this connection; issue STARTTLS first',
};

export function plaintextLoginRefused(session: ImapSession): boolean {
  return !loginAllowed(session.deps.settings, session.tlsActive);
}

export async function logIn(session: ImapSession, username: string, password: string): Promise<CommandResult> {
  try {
    session.user = await session.deps.authenticator.authenticate(username, password);
  } catch (error) {
    if (error instanceof LoginRefused) {
      // Not a wrong password (it was not checked), but it costs the connection like one.
      session.log.info('imap.login.refused', { username, reason: error.refusal.kind });
      return { kind: 'done', status: 'NO', code: 'UNAVAILABLE', text: error.message, failedLogin: true };
    }
    if (error instanceof MailBackendError && (error.code === 'WRONG_PASSWORD' || error.code === 'UNKNOWN_USER')) {
      session.log.info('imap.login.failed', { username, reason: error.code });
      return { kind: 'done', status: 'NO', code: 'AUTHENTICATIONFAILED', text: 'Authentication failed: wrong user name or password', failedLogin: true };
    }
    if (error instanceof MailBackendError) {
      const reply = noReplyFor(error);
      return { kind: 'done', status: 'NO', code: reply.code, text: `Login is not possible right now: ${error.message}` };
    }
    throw error;
  }
  session.log.info('imap.login', { username });
  const caps = capabilityList(session.deps.settings, session.tlsActive, true).join(' ');
  return { kind: 'done', status: 'OK', code: `CAPABILITY ${caps}`, text: `Logged in as ${username}`, next: 'authenticated' };
}
