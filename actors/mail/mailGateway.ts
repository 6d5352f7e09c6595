// The mail gateway actor (DESIGN 6): IMAP and SMTP submission listeners on the user's node, plus the
// inbound MX listener on an organisation's gateway node. Unmodified mail clients talk to these.
import type { ActorRefFrom } from 'xstate';
import type { Clock, Log } from '../../infra/ports';
import type { MailAuthenticator } from '../../mail/backend';
import type { MailSubmission } from '../../mail/submission';
import { mailGatewayMachine } from '../../machines/mailGateway.machine';
import { type ImapServer, startImapServer } from './imapServer';
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
}

export interface MailGatewayDeps {
  readonly authenticator: MailAuthenticator;
  readonly submission: MailSubmission;
  readonly clock: Clock;
  readonly log: Log;
  /** Told of every IMAP and SMTP command answered (the node's /metrics). */
  readonly observer?: MailCommandObserver;
}

export class MailGatewayService {
  private imap: ImapServer | undefined;
  private smtp: SmtpServer | undefined;
  private mx: SmtpServer | undefined;
  private ref: ActorRefFrom<typeof mailGatewayMachine> | undefined;

  constructor(
    private readonly deps: MailGatewayDeps,
    private readonly options: MailGatewayOptions,
  ) {}

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
      await this.close();
      if (this.options.imapPort !== undefined)
        this.imap = await startImapServer({ authenticator: this.deps.authenticator, clock, log, host, port: this.options.imapPort, tls: this.options.tls, ...observer });
      if (this.options.smtpPort !== undefined)
        this.smtp = await startSmtpServer({
          submission: this.deps.submission,
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

  async close(): Promise<void> {
    const servers = [this.mx, this.smtp, this.imap].filter((s) => s !== undefined);
    this.imap = this.smtp = this.mx = undefined;
    await Promise.all(servers.map((s) => s!.close().catch(() => {})));
  }
}
