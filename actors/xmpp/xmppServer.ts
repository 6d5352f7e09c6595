// The node's XMPP client port (issue 17): one XmppSession (the protocol core, xmpp/session.ts) per TCP
// connection, TCP_NODELAY on every socket (a stanza answered in two writes must not wait for a
// delayed ACK), STARTTLS when the node has a certificate, a login deadline, a bound on connections
// and on bytes queued to a client that stopped reading. close() ends every stream with
// system-shutdown and waits (bounded) for the sockets to close. A stream-managed session with
// resumption whose connection drops is held by the hub (XEP-0198), keeping its user's thread open.
//
// What an operator sees: `xmpp.stream.error` (info) per stream error with its condition, `xmpp.bound`
// per resource bound, `xmpp.held`, `xmpp.resumed` and `xmpp.hold.expired` for resumption; on /metrics
// post_xmpp_connections, post_xmpp_sessions, post_xmpp_sessions_held(_stanzas) and post_xmpp_stream_errors_total{condition}.
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { Clock, Log, Random } from '../../infra/ports';
import { NODE_STOP_GRACE_MS, XMPP_CONNECTIONS_MAX, XMPP_LOGIN_TIMEOUT_MS, XMPP_SEND_QUEUE_BYTES_MAX } from '../../protocol/limits';
import type { LoginRecord } from '../../storage/users/login';
import { type XmppConnection, XmppSession } from '../../xmpp/session';
import { STREAM_CLOSE, streamError, streamHeader } from '../../xmpp/stanzas';
import type { LoginGuard } from '../mail/loginGuard';
import type { Metrics } from '../metrics';
import type { HostedScram } from '../users/logins';
import { ScramKeys, xmppLogin } from './xmppLogin';
import { NodeXmppHub } from './xmppHub';
import { type ImApp, UserThread } from './userThread';

export interface XmppServerOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** 0 picks a free port; the bound port is in XmppServer.port. */
  readonly port: number;
  /** The organisation's domain: the JIDs' domain. */
  readonly domain: string;
  /** PEM key and certificate: enables STARTTLS. */
  readonly tls?: { readonly key: string | Buffer; readonly cert: string | Buffer };
  readonly loginGuard: () => LoginGuard;
  readonly login: (username: string, password: string) => Promise<LoginRecord>;
  /** The logged-in user's application context on this node (hosted, or visiting while logged in here). */
  readonly imAppFor: (record: LoginRecord) => ImApp;
  /** A recipient's directory record (throws UNKNOWN_USER): checked before a message is stored. */
  readonly lookup: (address: string) => Promise<unknown>;
  /** SCRAM keys of the users this node hosts (derived when it unlocked them), so SCRAM works there before any PLAIN login. */
  readonly hostedScram?: (address: string) => HostedScram | undefined;
  readonly clock: Clock;
  readonly random: Random;
  readonly log: Log;
  readonly metrics?: Metrics;
}

export interface XmppServer {
  readonly host: string;
  readonly port: number;
  readonly connectionCount: number;
  readonly hub: NodeXmppHub;
  close(): Promise<void>;
}

interface ServerContext {
  readonly options: XmppServerOptions;
  readonly log: Log;
  readonly hub: NodeXmppHub;
  readonly scram: ScramKeys;
  readonly connections: Map<net.Socket, XmppSession>;
  readonly secureContext: tls.SecureContext | undefined;
  readonly newId: () => string;
}

export async function startXmppServer(options: XmppServerOptions): Promise<XmppServer> {
  const log = options.log.child({ component: 'xmpp' });
  const ctx: ServerContext = {
    options,
    log,
    hub: new NodeXmppHub(log, options.clock),
    scram: new ScramKeys({ clock: options.clock, random: options.random, domain: options.domain, hosted: options.hostedScram }),
    connections: new Map(),
    secureContext: options.tls ? tls.createSecureContext({ key: options.tls.key, cert: options.tls.cert }) : undefined,
    newId: () => Buffer.from(options.random.bytes(9)).toString('base64url'),
  };
  const { hub, connections } = ctx;
  options.metrics?.gauge('post_xmpp_connections', 'Open XMPP client connections', () => connections.size);
  options.metrics?.gauge('post_xmpp_sessions', 'XMPP sessions with a bound resource', () => hub.sessionCount);
  options.metrics?.gauge('post_xmpp_sessions_held', 'XMPP sessions held for resumption after their connection dropped (XEP-0198)', () => hub.heldCount);
  options.metrics?.gauge('post_xmpp_sessions_held_stanzas', 'Stanzas waiting in held XMPP sessions for their clients to resume', () => hub.heldStanzas);
  const server = net.createServer((socket) => accept(ctx, socket));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as net.AddressInfo;
  log.info('xmpp.listening', { host: address.address, port: address.port, tls: ctx.secureContext !== undefined });
  return {
    host: address.address,
    port: address.port,
    hub,
    get connectionCount() {
      return connections.size;
    },
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const session of connections.values()) session.end('system-shutdown', 'the node is stopping');
      let timer: unknown;
      const grace = new Promise<void>((resolve) => (timer = options.clock.setTimeout(resolve, NODE_STOP_GRACE_MS / 2)));
      await Promise.race([closed, grace]);
      options.clock.clearTimeout(timer as Parameters<Clock['clearTimeout']>[0]);
      for (const socket of connections.keys()) socket.destroy();
      hub.close();
    },
  };
}

/** One client connection: its session, its socket (upgraded in place by STARTTLS), its login deadline. */
function accept(ctx: ServerContext, socket: net.Socket): void {
  const { options, hub, log } = ctx;
  socket.setNoDelay(true);
  socket.on('error', (e) => log.debug('xmpp.socket.error', { error: e.message }));
  if (ctx.connections.size >= XMPP_CONNECTIONS_MAX) {
    socket.end(streamHeader(options.domain, ctx.newId()) + streamError('resource-constraint', 'too many connections; try again later') + STREAM_CLOSE);
    return;
  }
  const held: string[] = [];
  // Nothing a client sends may take the node down: a failure inside the core ends this stream only.
  const onData = (chunk: Buffer) => {
    try {
      session.receive(chunk);
    } catch (e) {
      log.error('xmpp.failed', { client: socket.remoteAddress, error: (e as Error).message });
      session.end('internal-server-error', 'the server failed; try again');
    }
  };
  const session: XmppSession = new XmppSession({
    info: { domain: options.domain, tlsAvailable: ctx.secureContext !== undefined, newId: ctx.newId, now: () => options.clock.now() },
    hub,
    login: xmppLogin(
      {
        guard: options.loginGuard(),
        login: options.login,
        scram: ctx.scram,
        accountFor: (record: LoginRecord) => {
          held.push(record.user.address);
          return hub.acquire(record.user.address, () => UserThread.open(options.imAppFor(record), { domain: options.domain, lookup: options.lookup, log }));
        },
      },
      socket.remoteAddress,
    ),
    connection: connectionPort(ctx, socket, onData),
    observe: (event, fields) => {
      if (event === 'xmpp.stream.error') options.metrics?.inc('post_xmpp_stream_errors_total', 'XMPP streams closed with an error, by condition', { condition: String(fields.condition) });
      log.info(event, { client: socket.remoteAddress, ...fields });
    },
  });
  ctx.connections.set(socket, session);
  socket.on('data', onData);
  const deadline = options.clock.setTimeout(() => session.isBound || session.end('connection-timeout', 'log in and bind a resource sooner'), XMPP_LOGIN_TIMEOUT_MS);
  socket.on('close', () => {
    options.clock.clearTimeout(deadline);
    ctx.connections.delete(socket);
    const release = () => held.splice(0).forEach((address) => hub.release(address));
    // A resumable session outlives its connection for the hold; it keeps the user's thread until then.
    if (session.detach()) return hub.hold(session, release);
    session.end();
    release();
  });
}

/** The session's view of its socket: writes bounded by what the client has not read yet, and the TLS upgrade. */
function connectionPort(ctx: ServerContext, socket: net.Socket, onData: (chunk: Buffer) => void): XmppConnection {
  let stream: Duplex = socket;
  return {
    write: (text) => {
      if (stream.destroyed) return;
      stream.write(text);
      // A client that stopped reading: drop it rather than queue without bound.
      if (stream.writableLength > XMPP_SEND_QUEUE_BYTES_MAX) stream.destroy();
    },
    startTls: () =>
      new Promise((resolve, reject) => {
        socket.off('data', onData);
        const secure = new tls.TLSSocket(socket, { isServer: true, secureContext: ctx.secureContext! });
        secure.on('error', () => undefined);
        secure.once('secure', () => {
          stream = secure;
          secure.on('data', onData);
          resolve();
        });
        secure.once('error', reject);
      }),
    close: () => stream.end(),
  };
}
