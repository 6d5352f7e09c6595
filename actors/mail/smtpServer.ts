// The SMTP listener (nodemailer's smtp-server): the submission port of a user's node, or the
// inbound gateway of an organisation's MX. One SmtpSession (session machine) per connection.
// close() stops accepting, lets every session finish the command it is in (a DATA being stored
// and relayed included) and then say 421, and cuts what is left after the grace period.
import type net from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import type { Clock, Log } from '../../infra/ports';
import type { GatewayMode } from '../../mail/smtp/envelope';
import { smtpLimits } from '../../mail/smtp/limits';
import { MessageBudget } from '../../mail/smtp/messageBudget';
import { replies } from '../../mail/smtp/replies';
import type { FromPolicy } from '../../mail/smtp/senderAlignment';
import { SenderRate } from '../../mail/smtp/senderRate';
import type { MailSubmission } from '../../mail/submission';
import type { SmtpSessionLimits } from '../../machines/smtpSession.machine';
import type { LoginGuard } from './loginGuard';
import { SmtpGatewayConnection } from './smtpConnection';
import { SmarthostRelay, type SmarthostOptions } from './smtpRelay';
import { SmtpSession } from './smtpSession';
import type { MailCommandObserver } from './mailMetrics';

export interface SmtpServerOptions {
  readonly submission: MailSubmission;
  /** The node's login throttle, shared with IMAP; every AUTH passes it (submission mode). */
  readonly loginGuard?: LoginGuard;
  /** The node's per-sender submission rate (submission mode; one per node; this listener's own by default). */
  readonly senderRate?: SenderRate;
  /** A submitted From: that is not the user's: refused (default) or sent with a Sender: header. */
  readonly fromPolicy?: FromPolicy;
  readonly clock: Clock;
  readonly log: Log;
  /** Told of every command answered (metrics). */
  readonly observer?: MailCommandObserver;
  /** `submission` (default): AUTH required, POST and relayed recipients. `inbound`: the MX, no AUTH, local users only. */
  readonly mode?: GatewayMode;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** 0 picks a free port; the bound port is in SmtpServer.port. */
  readonly port: number;
  /** The name in the greeting and in Received headers. */
  readonly serverName?: string;
  /** PEM key and certificate: enables STARTTLS. */
  readonly tls?: { readonly key: string | Buffer; readonly cert: string | Buffer };
  /** Refuse AUTH until STARTTLS (530 5.7.0). Needs `tls`. */
  readonly requireTlsForAuth?: boolean;
  /** Where non-POST recipients are relayed; without it they are refused at RCPT (550 5.7.1). */
  readonly smarthost?: SmarthostOptions;
  /** SIZE; at most smtpLimits.messageBytesMax. */
  readonly messageBytesMax?: number;
  readonly connectionsMax?: number;
  /** Message bytes all sessions may hold in memory together. */
  readonly inFlightMessageBytesMax?: number;
  readonly sessionLimits?: Partial<Omit<SmtpSessionLimits, 'messageBytesMax'>>;
  readonly timeouts?: Partial<Pick<typeof smtpLimits, 'submitTimeoutMs' | 'lookupTimeoutMs' | 'idleTimeoutMs' | 'shutdownGraceMs'>>;
}

export interface SmtpServer {
  readonly host: string;
  readonly port: number;
  readonly mode: GatewayMode;
  /** Open sessions. */
  readonly connectionCount: number;
  close(): Promise<void>;
}

/** smtp-server with our connection class (see smtpConnection.ts for why). */
class GatewayListener extends SMTPServer {
  onConnection: ((connection: SmtpGatewayConnection) => void) | undefined;
  /** Early-talker pause before the greeting: on inbound (port 25) only. */
  greetPause = true;

  override connect(socket: net.Socket, socketOptions?: ConstructorParameters<typeof SmtpGatewayConnection>[2]): void {
    // A reply written in pieces must not wait for the client's delayed ACK (Nagle: ~40 ms a command).
    socket.setNoDelay(true);
    const connection = new SmtpGatewayConnection(this, socket, socketOptions);
    connection.greetPause = this.greetPause;
    this.connections.add(connection);
    connection.on('error', (err: Error) => this._onError(err));
    connection.on('connect', (data) => this._onClientConnect(data));
    this.onConnection?.(connection);
    connection.init();
  }
}

export async function startSmtpServer(options: SmtpServerOptions): Promise<SmtpServer> {
  if (options.requireTlsForAuth && !options.tls) throw new Error('requireTlsForAuth needs a TLS key and certificate');
  const mode = options.mode ?? 'submission';
  const log = options.log.child({ component: 'smtp', mode });
  const serverName = options.serverName ?? 'epost.localhost';
  const messageBytesMax = Math.min(options.messageBytesMax ?? smtpLimits.messageBytesMax, smtpLimits.messageBytesMax);
  const timeouts = { ...smtpLimits, ...options.timeouts };
  const relay = options.smarthost && mode === 'submission' ? new SmarthostRelay({ clientName: serverName, ...options.smarthost }, options.clock, log) : undefined;
  if (options.smarthost && mode === 'inbound') log.warn('smtp.smarthost.ignored', { reason: 'the inbound gateway relays nothing' });
  const senderRate = mode === 'submission' ? (options.senderRate ?? new SenderRate(options.clock)) : undefined;
  const sessions = new Map<string, SmtpSession>();
  const budget = new MessageBudget(options.inFlightMessageBytesMax ?? smtpLimits.inFlightMessageBytesMax);
  const sessionLimits: SmtpSessionLimits = {
    badCommandsBeforeDelay: smtpLimits.badCommandsBeforeDelay,
    badCommandsMax: smtpLimits.badCommandsMax,
    badCommandDelayMs: smtpLimits.badCommandDelayMs,
    failedAuthsMax: smtpLimits.failedAuthsMax,
    failedAuthDelayMs: smtpLimits.failedAuthDelayMs,
    refusedRecipientsMax: smtpLimits.refusedRecipientsMax,
    ...options.sessionLimits,
    messageBytesMax,
  };

  const sessionOf = (id: string): SmtpSession | undefined => sessions.get(id);
  const lost = (): Error => Object.assign(new Error('4.3.0 Session lost; try again'), { responseCode: 421 });

  const smtpOptions: SMTPServerOptions = {
    name: serverName,
    banner: mode === 'inbound' ? 'ePOST inbound gateway' : 'ePOST submission',
    logger: false,
    ...(options.tls ? { key: options.tls.key, cert: options.tls.cert } : {}),
    // No certificate, no STARTTLS (smtp-server would otherwise use its public test key). The MX
    // takes no AUTH at all: users submit on their own node. The sendmail jokes are not commands.
    disabledCommands: [...(options.tls ? [] : ['STARTTLS']), ...(mode === 'inbound' ? ['AUTH'] : []), 'WIZ', 'SHELL', 'KILL'],
    allowInsecureAuth: !options.requireTlsForAuth,
    authMethods: ['PLAIN', 'LOGIN'],
    authOptional: mode === 'inbound',
    authRequiredMessage: `${replies.authRequired().enhanced} ${replies.authRequired().text}`,
    size: messageBytesMax,
    rejectOversized: true,
    hideENHANCEDSTATUSCODES: false,
    hideDSN: true,
    hideREQUIRETLS: true,
    disableReverseLookup: true,
    maxClients: options.connectionsMax ?? smtpLimits.connectionsMax,
    maxCommandLength: smtpLimits.commandLineBytesMax,
    maxRecipients: smtpLimits.recipientsPerMessageMax,
    maxAllowedUnauthenticatedCommands: smtpLimits.unauthenticatedCommandsMax,
    socketTimeout: timeouts.idleTimeoutMs,
    // Backstop only: close() below cuts connections on the node's clock at shutdownGraceMs.
    closeTimeout: timeouts.shutdownGraceMs + 5_000,
    onConnect: (session, cb) => (sessionOf(session.id) ? sessionOf(session.id)!.connected(cb) : cb(lost())),
    onSecure: (_socket, session, cb) => (sessionOf(session.id) ? sessionOf(session.id)!.secured(cb) : cb(lost())),
    onAuth: (auth, session, cb) => {
      const s = sessionOf(session.id);
      if (!s) return cb(lost());
      s.auth(auth.username ?? '', auth.password ?? '', cb);
    },
    onMailFrom: (address, session, cb) => {
      const s = sessionOf(session.id);
      if (!s) return cb(lost());
      s.mailFrom(address.address, session.envelope.bodyType === '8bitmime', session.envelope.smtpUtf8 === true, cb);
    },
    onRcptTo: (address, session, cb) => (sessionOf(session.id) ? sessionOf(session.id)!.rcptTo(address.address, cb) : cb(lost())),
    onData: (stream, session, cb) => {
      const s = sessionOf(session.id);
      if (!s) {
        stream.resume();
        return cb(lost());
      }
      s.data(stream, cb);
    },
    onClose: (session) => {
      sessionOf(session.id)?.connectionClosed();
      sessions.delete(session.id);
    },
  };

  const listener = new GatewayListener(smtpOptions);
  listener.greetPause = mode === 'inbound';
  listener.onConnection = (connection) => {
    const session = new SmtpSession(connection, {
      mode,
      submission: options.submission,
      relay,
      clock: options.clock,
      log,
      serverName,
      limits: sessionLimits,
      budget,
      lookupTimeoutMs: timeouts.lookupTimeoutMs,
      submitTimeoutMs: timeouts.submitTimeoutMs,
      ...(mode === 'submission'
        ? {
            ...(options.loginGuard ? { loginGuard: options.loginGuard } : {}),
            ...(senderRate ? { senderRate } : {}),
            ...(options.fromPolicy ? { fromPolicy: options.fromPolicy } : {}),
          }
        : {}),
      ...(options.observer ? { observer: options.observer } : {}),
    });
    sessions.set(connection.id, session);
    void session.closed.then(() => sessions.delete(connection.id));
  };
  // Connection errors (resets mid-transaction, TLS failures) arrive here; unhandled they would crash.
  listener.on('error', (error: Error & { code?: string }) => log.debug('smtp.connection.error', { error: error.message, code: error.code }));

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    listener.server.once('error', reject);
    listener.listen(options.port, host, () => {
      listener.server.off('error', reject);
      resolve();
    });
  });
  const port = (listener.server.address() as net.AddressInfo).port;
  log.info('smtp.listening', { host, port, tls: options.tls !== undefined, smarthost: relay?.label ?? null, messageBytesMax });

  return {
    host,
    port,
    mode,
    get connectionCount() {
      return sessions.size;
    },
    async close() {
      const stopped = new Promise<void>((resolve) => listener.close(() => resolve()));
      const open = [...sessions.values()];
      for (const session of open) session.shutdown();
      const allClosed = Promise.all(open.map((s) => s.closed));
      await new Promise<void>((resolve) => {
        const timer = options.clock.setTimeout(() => {
          if (sessions.size > 0) log.warn('smtp.shutdown.forced', { connections: sessions.size });
          for (const session of sessions.values()) session.forceClose();
          resolve();
        }, timeouts.shutdownGraceMs);
        void allClosed.then(() => {
          options.clock.clearTimeout(timer);
          resolve();
        });
      });
      await stopped;
      relay?.close();
      log.info('smtp.stopped', { port });
    },
  };
}
