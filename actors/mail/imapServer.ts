// The IMAP listener: one ImapConnection (session actor) per TCP connection, optional STARTTLS or
// implicit TLS, a shared message cache. close() stops accepting, says BYE to every session and
// waits (bounded) for their sockets to close.
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { Clock, Log } from '../../infra/ports';
import type { MailAuthenticator } from '../../mail/backend';
import type { ImapServerSettings } from '../../mail/imap/capabilities';
import { encodeStatus } from '../../mail/imap/encoder';
import { imapLimits } from '../../mail/imap/limits';
import { MessageCache } from '../../mail/imap/messageCache';
import type { ImapSessionLimits } from '../../machines/imapSession.machine';
import { ImapConnection } from './imapConnection';
import type { LoginGuard } from './loginGuard';
import type { MailCommandObserver } from './mailMetrics';

export interface ImapServerOptions {
  readonly authenticator: MailAuthenticator;
  /** The node's login throttle, shared with SMTP AUTH; every LOGIN/AUTHENTICATE passes it. */
  readonly loginGuard?: LoginGuard;
  readonly clock: Clock;
  readonly log: Log;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** 0 picks a free port; the bound port is in ImapServer.port. */
  readonly port: number;
  /** PEM key and certificate: enables STARTTLS (or implicit TLS with implicitTls). */
  readonly tls?: { readonly key: string | Buffer; readonly cert: string | Buffer };
  /** Speak TLS from the first byte (IMAPS) instead of offering STARTTLS. */
  readonly implicitTls?: boolean;
  /** Refuse LOGIN/AUTHENTICATE before TLS (LOGINDISABLED). Needs `tls`. */
  readonly requireTls?: boolean;
  readonly serverName?: string;
  readonly appendLimitBytes?: number;
  readonly sessionLimits?: Partial<ImapSessionLimits>;
  readonly connectionsMax?: number;
  /** Told of every command answered (metrics). */
  readonly observer?: MailCommandObserver;
}

export interface ImapServer {
  readonly host: string;
  readonly port: number;
  /** Open connections. */
  readonly connectionCount: number;
  /** `reason`: the BYE text sessions get (default: server shutting down). */
  close(reason?: string): Promise<void>;
}

export async function startImapServer(options: ImapServerOptions): Promise<ImapServer> {
  if (options.requireTls && !options.tls) throw new Error('requireTls needs a TLS key and certificate');
  const log = options.log.child({ component: 'imap' });
  const secureContext = options.tls ? tls.createSecureContext({ key: options.tls.key, cert: options.tls.cert }) : undefined;
  const settings: ImapServerSettings = {
    serverName: options.serverName ?? 'ePOST',
    tlsAvailable: secureContext !== undefined && !options.implicitTls,
    requireTls: options.requireTls ?? false,
    appendLimitBytes: Math.min(options.appendLimitBytes ?? imapLimits.appendMessageBytesMax, imapLimits.appendMessageBytesMax),
  };
  const cache = new MessageCache();
  const connections = new Set<ImapConnection>();
  const connectionsMax = options.connectionsMax ?? imapLimits.connectionsMax;
  let accepting = true;

  const upgradeToTls = secureContext
    ? (socket: Duplex): Promise<Duplex> =>
        new Promise((resolve, reject) => {
          const secure = new tls.TLSSocket(socket as net.Socket, { isServer: true, secureContext });
          // A failed handshake may emit more than one error; none may go unhandled.
          secure.on('error', () => undefined);
          secure.once('secure', () => resolve(secure));
          secure.once('error', reject);
        })
    : undefined;

  const accept = (socket: Duplex, tlsActive: boolean): void => {
    if (!accepting || connections.size >= connectionsMax) {
      socket.on('error', () => undefined);
      socket.end(encodeStatus(undefined, 'BYE', accepting ? 'Too many connections; try again later' : 'Server shutting down'));
      return;
    }
    const connection = new ImapConnection({
      socket,
      tlsActive,
      ...(upgradeToTls && !tlsActive ? { upgradeToTls } : {}),
      settings,
      authenticator: options.loginGuard ? options.loginGuard.imapAuthenticator(options.authenticator, (socket as net.Socket).remoteAddress) : options.authenticator,
      cache,
      clock: options.clock,
      log,
      ...(options.sessionLimits ? { limits: options.sessionLimits } : {}),
      ...(options.observer ? { observer: options.observer } : {}),
    });
    connections.add(connection);
    void connection.closed.then(() => connections.delete(connection));
    connection.start();
  };

  const server =
    options.implicitTls && options.tls
      ? tls.createServer({ key: options.tls.key, cert: options.tls.cert, noDelay: true }, (socket) => accept(socket, true))
      : net.createServer({ noDelay: true }, (socket) => accept(socket, false));
  server.on('error', (error) => log.error('imap.listener.error', { error: error.message }));
  server.on('tlsClientError', (error: Error) => log.debug('imap.tls.handshake_failed', { error: error.message }));
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;
  log.info('imap.listening', { host, port, tls: settings.tlsAvailable || options.implicitTls === true });

  return {
    host,
    port,
    get connectionCount() {
      return connections.size;
    },
    async close(reason?: string) {
      accepting = false;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const connection of connections) connection.shutdown(reason);
      const allClosed = Promise.all([...connections].map((c) => c.closed));
      await new Promise<void>((resolve) => {
        const timer = options.clock.setTimeout(() => {
          if (connections.size > 0) log.warn('imap.shutdown.forced', { connections: connections.size });
          for (const connection of connections) connection.forceClose();
          void allClosed.then(() => resolve());
        }, imapLimits.shutdownGraceMs);
        void allClosed.then(() => {
          options.clock.clearTimeout(timer);
          resolve();
        });
      });
      await stopped;
      log.info('imap.stopped', { port });
    },
  };
}
