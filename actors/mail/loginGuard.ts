// The node's login throttle (mail/loginThrottle.ts) in front of every password check of the mail
// gateway: IMAP LOGIN/AUTHENTICATE (a MailAuthenticator wrapped per connection, so it knows the
// client's address) and SMTP AUTH (the session asks it around MailSubmission.authenticate). One
// guard per node: a guesser gains nothing by switching connection or protocol.
//
// What an operator sees: `mail.login.failed` (info) per wrong password, `mail.login.refused` (info)
// per attempt the throttle turned away, `mail.login.account_locked` (warn) when an account locks;
// on /metrics post_mail_login_failures_total, post_mail_login_refused_total{reason},
// post_mail_login_account_locks_total (alert on its rate) and the table's size.
import type { Log } from '../../infra/ports';
import { MailBackendError, type MailAuthenticator } from '../../mail/backend';
import { clientKeyOf, LoginRefused, type LoginNotice, type LoginOutcome, type LoginThrottle } from '../../mail/loginThrottle';
import { SubmissionError } from '../../mail/submission';
import type { Metrics } from '../metrics';

/** CalDAV's HTTP Basic logins share the guard (issue 16): a guesser gains nothing by switching to the calendar port. */
export type LoginProtocol = 'imap' | 'smtp' | 'caldav' | 'xmpp';

export interface LoginGuardDeps {
  readonly throttle: LoginThrottle;
  readonly log: Log;
  readonly metrics?: Metrics;
  /** The account a user name logs in to; POST: lower case, the organisation's domain added when missing. */
  readonly accountOf?: (username: string) => string;
}

/** IMAP backend failures: wrong password and unknown user are failed guesses; the rest is not the client's doing. */
export function imapLoginOutcome(error: unknown): LoginOutcome {
  return error instanceof MailBackendError && (error.code === 'WRONG_PASSWORD' || error.code === 'UNKNOWN_USER') ? 'failure' : 'other';
}

export function smtpLoginOutcome(error: unknown): LoginOutcome {
  return error instanceof SubmissionError && (error.code === 'WRONG_PASSWORD' || error.code === 'UNKNOWN_USER') ? 'failure' : 'other';
}

const defaultAccountOf = (username: string): string => username.trim().toLowerCase();

export class LoginGuard {
  private readonly accountOf: (username: string) => string;

  constructor(private readonly deps: LoginGuardDeps) {
    this.accountOf = deps.accountOf ?? defaultAccountOf;
    deps.metrics?.gauge('post_mail_login_throttle_entries', 'Accounts and client addresses the login throttle remembers', () => deps.throttle.size);
  }

  get throttle(): LoginThrottle {
    return this.deps.throttle;
  }

  /**
   * Runs `check` (the password check) if the throttle admits the attempt, after the attempts in
   * flight for the same account or address settled if it has to wait for them; otherwise rejects
   * with LoginRefused, without checking. `outcomeOf` tells a failed guess from other failures.
   */
  async attempt<T>(protocol: LoginProtocol, clientAddress: string | undefined, username: string, check: () => Promise<T>, outcomeOf: (error: unknown) => LoginOutcome): Promise<T> {
    const account = this.accountOf(username);
    const client = clientKeyOf(clientAddress);
    const admission = await this.deps.throttle.admitWaiting(account, client);
    if (!admission.ok) {
      const { refusal } = admission;
      this.deps.metrics?.inc('post_mail_login_refused_total', 'Login attempts refused by the throttle without checking the password', { protocol, reason: refusal.kind });
      this.deps.log.info('mail.login.refused', { protocol, account, client, reason: refusal.kind, retryAfterMs: refusal.retryAfterMs });
      throw new LoginRefused(refusal);
    }
    this.report(protocol, admission.notices);
    let result: T;
    try {
      result = await check();
    } catch (error) {
      this.report(protocol, this.deps.throttle.settle(admission.ticket, outcomeOf(error)));
      throw error;
    }
    this.report(protocol, this.deps.throttle.settle(admission.ticket, 'success'));
    return result;
  }

  /** `inner` behind the throttle, for one IMAP connection from `clientAddress`. */
  imapAuthenticator(inner: MailAuthenticator, clientAddress: string | undefined): MailAuthenticator {
    return { authenticate: (username, password) => this.attempt('imap', clientAddress, username, () => inner.authenticate(username, password), imapLoginOutcome) };
  }

  private report(protocol: LoginProtocol, notices: readonly LoginNotice[]): void {
    const { log, metrics } = this.deps;
    for (const notice of notices) {
      switch (notice.kind) {
        case 'failed':
          metrics?.inc('post_mail_login_failures_total', 'Failed logins (wrong password or unknown user)', { protocol });
          log.info('mail.login.failed', { protocol, account: notice.account, client: notice.client, accountFailures: notice.accountFailures, clientFailures: notice.clientFailures });
          break;
        case 'locked':
          metrics?.inc('post_mail_login_account_locks_total', 'Accounts locked after repeated failed logins');
          log.warn('mail.login.account_locked', { protocol, account: notice.account, client: notice.client, failures: notice.failures, lockedForMs: notice.lockedForMs });
          break;
        case 'evicted':
          metrics?.inc('post_mail_login_throttle_evictions_total', 'Login throttle entries dropped to stay within its bound', undefined, notice.count);
          log.warn('mail.login.throttle_full', { evicted: notice.count, entriesMax: this.deps.throttle.limits.entriesMax });
          break;
      }
    }
  }
}
