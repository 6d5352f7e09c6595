// The mail gateway actor (DESIGN 6): IMAP and SMTP submission listeners on the user's node, plus the
// inbound MX listener on an organisation's gateway node. Unmodified mail clients talk to these.
import type { ActorRefFrom } from 'xstate';
import type { Clock, Log } from '../../infra/ports';
import type { MailAuthenticator } from '../../mail/backend';
import { LoginThrottle, type LoginThrottleLimits } from '../../mail/loginThrottle';
import type { FromPolicy } from '../../mail/smtp/senderAlignment';
import { SenderRate, type SenderRateLimits } from '../../mail/smtp/senderRate';
import type { MailSubmission } from '../../mail/submission';
import { mailGatewayMachine } from '../../machines/mailGateway.machine';
import type { Metrics } from '../metrics';
import { type ImapServer, startImapServer } from './imapServer';
import { LoginGuard } from './loginGuard';
import { type SmtpServer, startSmtpServer } from './smtpServer';
import type { SmarthostOptions } from './smtpRelay';
import type { MailCommandObserver } from './mailMetrics';

export interface MailGatewayOptions {
  readonly host?: string;
  readonly imapPort?: number;
  readonly smtpPort?: number;
  /** The inbound MX (accepts Internet mail for local users, no AUTH), when this node is a gateway. */
  readonly mxPort?: number;
  readonly serverName?: string;
  readonly tls?: { key: string | Buffer; cert: string | Buffer };
  readonly smarthost?: SmarthostOptions;
  /** The login throttle's bounds (defaults in protocol/limits.ts); tests shorten them. */
  readonly loginThrottle?: Partial<LoginThrottleLimits>;
  /** A submitted message whose From: is not the user's: refused (default) or sent with a Sender: header. */
  readonly fromPolicy?: FromPolicy;
  /** Per-sender submission rate (defaults in protocol/limits.ts). */
  readonly submissionRate?: Partial<SenderRateLimits>;
}

export interface MailGatewayDeps {
  readonly authenticator: MailAuthenticator;
  readonly submission: MailSubmission;
  readonly clock: Clock;
  readonly log: Log;
  readonly metrics?: Metrics;
  /** The account a login name means (POST: the organisation's domain added when missing), for the throttle. */
  readonly accountOf?: (username: string) => string;
  /** Told of every IMAP and SMTP command answered (the node's /metrics). */
  readonly observer?: MailCommandObserver;
  /**
   * The node's login guard and submission rate, when they must outlive this service (a restarted
   * gateway must not forget a password-guessing client or a sender over its rate); a fresh one else.
   */
  readonly loginGuard?: LoginGuard;
  readonly senderRate?: SenderRate;
  /** The listeners of the gateway this one replaces, still closing: ports are opened after them. */
  readonly predecessorClosed?: Promise<void>;
}

export class MailGatewayService {
  private imap: ImapServer | undefined;
  private smtp: SmtpServer | undefined;
  private mx: SmtpServer | undefined;
  private ref: ActorRefFrom<typeof mailGatewayMachine> | undefined;
  /** One per node: IMAP and SMTP logins share it, and it outlives listener restarts. */
  readonly loginGuard: LoginGuard;
  /** One per node, like the login guard. */
  readonly senderRate: SenderRate;

  constructor(
    private readonly deps: MailGatewayDeps,
    private readonly options: MailGatewayOptions,
  ) {
    this.loginGuard = deps.loginGuard ?? MailGatewayService.loginGuard(deps, options);
    this.senderRate = deps.senderRate ?? new SenderRate(deps.clock, options.submissionRate);
  }

  private static loginGuard(deps: Pick<MailGatewayDeps, 'clock' | 'log' | 'metrics' | 'accountOf'>, options: MailGatewayOptions): LoginGuard {
    return new LoginGuard({
      throttle: new LoginThrottle(deps.clock, options.loginThrottle),
      log: deps.log.child({ component: 'login' }),
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
      ...(deps.accountOf ? { accountOf: deps.accountOf } : {}),
    });
  }

  /** The storage side of SMTP (what a 250 means), for scenarios that submit without a socket. */
  get submission(): MailSubmission {
    return this.deps.submission;
  }

  get authenticator(): MailAuthenticator {
    return this.deps.authenticator;
  }

  get enabled(): boolean {
    return this.options.imapPort !== undefined || this.options.smtpPort !== undefined || this.options.mxPort !== undefined;
  }

  logic() {
    return mailGatewayMachine.provide({
      actions: {
        openListeners: () => void this.open(),
        closeListeners: () => void this.close().then(() => this.send({ type: 'STOPPED' })),
      },
    });
  }

  attach(ref: ActorRefFrom<typeof mailGatewayMachine>): void {
    this.ref = ref;
    if (this.enabled) ref.send({ type: 'START' });
  }

  private send(e: Parameters<ActorRefFrom<typeof mailGatewayMachine>['send']>[0]): void {
    if (this.ref?.getSnapshot().status === 'active') this.ref.send(e);
  }

  endpoints(): Record<string, number> {
    return { ...(this.imap ? { imap: this.imap.port } : {}), ...(this.smtp ? { smtp: this.smtp.port } : {}), ...(this.mx ? { mx: this.mx.port } : {}) };
  }

  private async open(): Promise<void> {
    const { clock, log } = this.deps;
    const observer = this.deps.observer ? { observer: this.deps.observer } : {};
    const host = this.options.host ?? '127.0.0.1';
    try {
      await this.deps.predecessorClosed;
      await this.close();
      if (this.options.imapPort !== undefined)
        this.imap = await startImapServer({ authenticator: this.deps.authenticator, loginGuard: this.loginGuard, clock, log, host, port: this.options.imapPort, tls: this.options.tls, ...observer });
      if (this.options.smtpPort !== undefined)
        this.smtp = await startSmtpServer({
          submission: this.deps.submission,
          loginGuard: this.loginGuard,
          senderRate: this.senderRate,
          ...(this.options.fromPolicy ? { fromPolicy: this.options.fromPolicy } : {}),
          clock,
          log,
          host,
          port: this.options.smtpPort,
          mode: 'submission',
          serverName: this.options.serverName,
          tls: this.options.tls,
          smarthost: this.options.smarthost,
          ...observer,
        });
      if (this.options.mxPort !== undefined)
        this.mx = await startSmtpServer({ submission: this.deps.submission, clock, log, host, port: this.options.mxPort, mode: 'inbound', serverName: this.options.serverName, tls: this.options.tls, ...observer });
      log.info('mail.listening', this.endpoints());
      this.send({ type: 'LISTENING', endpoints: this.endpoints() });
    } catch (e) {
      log.error('mail.listen.failed', { error: (e as Error).message });
      this.send({ type: 'FAILED', error: (e as Error).message });
    }
  }

  /**
   * Stop listening and close every session: IMAP clients get `* BYE` and SMTP clients a 421 (try again
   * later), and reconnect to the gateway that replaces this one.
   */
  async close(reason?: string): Promise<void> {
    const imap = this.imap;
    const smtp = [this.mx, this.smtp].filter((s) => s !== undefined);
    this.imap = this.smtp = this.mx = undefined;
    await Promise.all([imap?.close(reason), ...smtp.map((s) => s!.close())].map((p) => p?.catch((e: Error) => this.deps.log.warn('mail.close.failed', { error: e.message }))));
  }
}
