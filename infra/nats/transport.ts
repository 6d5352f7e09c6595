// The Transport port over a real NATS connection (@nats-io/transport-node v3).
//
// - Reconnects forever with a short wait, and pings often enough to notice a silently dead server
//   within a few seconds (a killed server is noticed at once: its socket closes).
// - Requests share one reply subscription of this connection (requestMux). A request inside a server
//   that dies is lost and surfaces as TIMEOUT at its deadline (STACK.md); callers retry idempotently.
// - The server's "no responders" status message (empty, header code 503) is a request outcome, never
//   a message: it is not passed to handlers of inboxes used with publish(..., { reply }).
// - Payloads are copied when published: the client keeps a reference until it flushes, and the
//   caller may reuse its buffer at once; unless handed over (a frame its caller never changes).
// - Handlers are called synchronously from the client's read loop; what they throw is logged.
// - Publishes (requests included) are handed to the client together once the event-loop turn's I/O
//   has run (infra/turnEnd.ts, after the turn's batches are gathered, in the same check phase): the
//   client writes what it holds once per microtask checkpoint, so the publishes of one turn's
//   callbacks leave in one TLS write instead of one each (issue 11). What the client would refuse
//   at once (a closed connection, a payload over the server's max_payload) is still refused at the
//   call; a publish the client refuses later is logged, a request fails.
import {
  connect,
  createInbox,
  credsAuthenticator,
  nkeyAuthenticator,
  type Msg,
  type NatsConnection,
  type NodeConnectionOptions,
} from '@nats-io/transport-node';
import { readFileSync } from 'node:fs';
import { BehaviorSubject } from 'rxjs';
import { runHandler } from '../handler';
import { atTurnEnd } from '../turnEnd';
import { silentLog } from '../log';
import { copyPayload } from '../payload';
import type { Log, MessageHandler, Transport, TransportMessage, TransportStatus, TransportSubscription } from '../ports';
import { TransportError } from '../ports';
import { assertPublishSubject, assertSubscribeSubject } from '../subject';
import { transportCodeOf, transportError } from './errors';

/** Credentials, from the node's configuration (natsClientSecurity builds them from files). */
export type NatsCredentials =
  | { kind: 'userPass'; user: string; pass: string }
  | { kind: 'token'; token: string }
  /** A NATS `.creds` file (user JWT and nkey seed), as issued by an operator. */
  | { kind: 'credsFile'; path: string }
  | { kind: 'nkeySeedFile'; path: string };

export interface NatsTransportOptions {
  /**
   * Every server of the cluster (`nats://host:port`), nearest first: the client connects to the first
   * that admits it and fails over down the list (see clientOptions).
   */
  servers: readonly string[];
  /** Shown by the server's monitoring pages: use the node id. */
  name?: string;
  /** Passed to the client as is (caFile, certFile, keyFile, handshakeFirst, ...). */
  tls?: NodeConnectionOptions['tls'];
  credentials?: NatsCredentials;
  /**
   * Where this connection's request replies arrive (protocol/subjects.ts replyPrefix): a node's NATS
   * user may subscribe only to its own, so it must not use the client's default `_INBOX`.
   */
  inboxPrefix?: string;
  /** Client ping period; with maxPingOut, how fast a silent server is declared dead. */
  pingIntervalMs?: number;
  maxPingOut?: number;
  reconnectWaitMs?: number;
  reconnectJitterMs?: number;
  /** Deadline for the first connection's handshake. */
  connectTimeoutMs?: number;
  /** Bound on close(): pending publishes get this long to reach the server. */
  closeFlushMs?: number;
  log?: Log;
}

/** A publish waiting for the end of this event-loop turn. */
interface Held {
  readonly subject: string;
  readonly payload: Uint8Array;
  readonly reply: string | undefined;
  /** The client refused it when it was handed over. */
  failed(error: unknown): void;
}

/** A request waiting for its reply. */
interface Waiter {
  readonly subject: string;
  resolve(data: Uint8Array): void;
  fail(error: unknown): void;
}

interface RequestMux {
  /** Replies come to this prefix + the request's token. */
  readonly prefix: string;
  readonly waiting: Map<string, Waiter>;
  next: number;
}

/** The first connection failed: no server, refused credentials, or TLS; the message says which and what to do. */
export class NatsConnectError extends Error {
  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.name = 'NatsConnectError';
  }
}

export const NATS_DEFAULTS = {
  pingIntervalMs: 1000,
  maxPingOut: 2,
  reconnectWaitMs: 250,
  reconnectJitterMs: 100,
  connectTimeoutMs: 5000,
  closeFlushMs: 2000,
  /** First connections tried when nats.js gives no reason (see connect). */
  connectAttempts: 2,
} as const;

export class NatsTransport implements Transport {
  readonly status$ = new BehaviorSubject<TransportStatus>('connected');
  private readonly pending = new Set<(error: TransportError) => void>();
  private closed = false;
  private closing: Promise<void> | undefined;
  private mux: RequestMux | undefined;
  /** Publishes of this event-loop turn, handed to the client at its end (handOverTurn). */
  private held: Held[] = [];

  private constructor(
    private readonly nc: NatsConnection,
    private readonly opts: NatsTransportOptions,
    private readonly log: Log,
  ) {
    void this.followStatus();
    nc.closed().then(
      (error) => this.onClosed(error),
      (error) => this.onClosed(error),
    );
  }

  /** Connects to the first reachable server; rejects with advice when none answers. */
  static async connect(opts: NatsTransportOptions): Promise<NatsTransport> {
    const log = (opts.log ?? silentLog).child({ transport: opts.name ?? 'nats' });
    let nc: NatsConnection | undefined;
    for (let attempt = 1; !nc; attempt++) {
      try {
        nc = await connect(clientOptions(opts));
      } catch (error) {
        // nats.js says only "connection refused" when a server closed the socket before its error line
        // (an authorization violation under load): once more, to learn the server's own words.
        if (attempt < NATS_DEFAULTS.connectAttempts && (error as Error).message === 'connection refused') {
          await new Promise((r) => setTimeout(r, NATS_DEFAULTS.reconnectWaitMs));
          continue;
        }
        const told = await mostTellingRefusal(error, opts);
        const servers = opts.servers.join(', ');
        throw new NatsConnectError(`could not connect to NATS at ${servers}: ${told.message}. ${connectAdvice(told.error, opts)}`, told.error);
      }
    }
    log.info('nats.connected', { server: nc.getServer() });
    return new NatsTransport(nc, opts, log);
  }

  /** The server this client is connected to now (host:port). */
  get server(): string {
    return this.nc.getServer();
  }

  publish(subject: string, data: Uint8Array, opts?: { reply?: string; handOver?: boolean }): void {
    this.assertOpen();
    assertPublishSubject(subject);
    if (opts?.reply !== undefined) assertPublishSubject(opts.reply);
    this.hold(subject, opts?.handOver ? data : copyPayload(data), opts?.reply, `publish to '${subject}'`, (error) => this.log.warn('nats.publish_failed', { subject, error: String(error) }));
  }

  /**
   * Queues a publish for the end of this turn; throws what the client would throw at once: the
   * connection closed, or a payload over the server's max_payload.
   */
  private hold(subject: string, payload: Uint8Array, reply: string | undefined, what: string, failed: (error: unknown) => void): void {
    if (this.nc.isClosed()) throw transportError('CLOSED', `${what} failed: CLOSED (the connection is closed)`);
    const maxPayload = this.nc.info?.max_payload;
    if (maxPayload !== undefined && payload.length > maxPayload)
      throw transportError('PAYLOAD_TOO_LARGE', `${what} failed: PAYLOAD_TOO_LARGE (${payload.length} bytes, the server takes at most ${maxPayload})`);
    if (this.held.length === 0) atTurnEnd(this.handOverTurn, 'send');
    this.held.push({ subject, payload, reply, failed: (error) => failed(this.translate(error, what)) });
  }

  /** This turn's publishes to the client, in order, in one go: it writes them together. */
  private readonly handOverTurn = (): void => {
    const held = this.held;
    this.held = [];
    for (const p of held) {
      try {
        this.nc.publish(p.subject, p.payload, p.reply !== undefined ? { reply: p.reply } : undefined);
      } catch (error) {
        p.failed(error);
      }
    }
  };

  subscribe(subject: string, handler: MessageHandler, opts?: { queue?: string }): TransportSubscription {
    this.assertOpen();
    assertSubscribeSubject(subject);
    const onError = (error: unknown) => this.log.warn('transport.handler_failed', { subject, error });
    const callback = (error: Error | null, msg: Msg) => {
      if (error) {
        this.log.warn('nats.subscription_failed', { subject, error });
        return;
      }
      if (this.closed || isNoRespondersStatus(msg)) return;
      runHandler(handler, toMessage(msg), onError);
    };
    let sub: ReturnType<NatsConnection['subscribe']>;
    try {
      sub = this.nc.subscribe(subject, opts?.queue !== undefined ? { queue: opts.queue, callback } : { callback });
    } catch (error) {
      throw this.translate(error, `subscribe to '${subject}'`);
    }
    return {
      subject,
      unsubscribe: () => {
        if (!sub.isClosed()) sub.unsubscribe();
      },
    };
  }

  request(subject: string, data: Uint8Array, opts: { timeoutMs: number; handOver?: boolean }): Promise<Uint8Array> {
    try {
      this.assertOpen();
      assertPublishSubject(subject);
      if (!(opts.timeoutMs > 0)) throw new RangeError(`request timeoutMs must be positive, got ${opts.timeoutMs}`);
    } catch (error) {
      return Promise.reject(error);
    }
    const mux = this.requestMux();
    const token = (mux.next++).toString(36);
    return new Promise<Uint8Array>((resolve, reject) => {
      const settle = (): void => {
        clearTimeout(timer);
        mux.waiting.delete(token);
        this.pending.delete(fail);
      };
      const fail = (error: unknown): void => {
        settle();
        reject(error);
      };
      const timeoutMs = Math.ceil(opts.timeoutMs);
      const timer = setTimeout(() => fail(transportError('TIMEOUT', `request to '${subject}' failed: TIMEOUT (no reply within ${timeoutMs} ms)`)), timeoutMs);
      // close() rejects what is still pending with CLOSED, whatever the client does with it.
      this.pending.add(fail);
      mux.waiting.set(token, {
        subject,
        resolve: (data) => {
          settle();
          resolve(data);
        },
        fail,
      });
      try {
        this.hold(subject, opts.handOver ? data : copyPayload(data), mux.prefix + token, `request to '${subject}'`, fail);
      } catch (error) {
        fail(error);
      }
    });
  }

  /**
   * The replies to this connection's requests: one subscription on a reply prefix of its own, a
   * token per request. (nats.js's request() builds an Error for every request it resolves, and a
   * promise and timer object more: ~2% of a busy mail node's CPU.)
   */
  private requestMux(): RequestMux {
    if (this.mux) return this.mux;
    const prefix = `${createInbox(this.opts.inboxPrefix)}.`;
    const waiting = new Map<string, Waiter>();
    this.nc.subscribe(`${prefix}*`, {
      callback: (error, msg) => {
        if (error) return this.log.warn('nats.subscription_failed', { subject: `${prefix}*`, error });
        const waiter = waiting.get(msg.subject.slice(prefix.length));
        if (!waiter) return; // late: the request timed out
        if (isNoRespondersStatus(msg)) waiter.fail(transportError('NO_RESPONDERS', `request to '${waiter.subject}' failed: NO_RESPONDERS (no responders)`));
        else waiter.resolve(msg.data);
      },
    });
    this.mux = { prefix, waiting, next: 0 };
    return this.mux;
  }

  newInbox(): string {
    return createInbox(this.opts.inboxPrefix);
  }

  async flush(): Promise<void> {
    this.assertOpen();
    this.handOverTurn();
    try {
      await this.nc.flush();
    } catch (error) {
      // A flush interrupted by a disconnect did not reach the server: the caller may retry.
      throw this.translate(error, 'flush', 'TIMEOUT');
    }
  }

  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  // ---- internals ------------------------------------------------------------------------------

  private async shutDown(): Promise<void> {
    this.markClosed();
    if (!this.nc.isClosed()) {
      this.handOverTurn();
      // Give what was published before close() a bounded chance to reach the server.
      const flushMs = this.opts.closeFlushMs ?? NATS_DEFAULTS.closeFlushMs;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.nc.flush().catch(() => {}),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, flushMs))),
      ]);
      clearTimeout(timer);
      await this.nc.close().catch((error) => this.log.warn('nats.close_failed', { error }));
    }
    this.setStatus('closed');
  }

  private markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    const error = new TransportError('CLOSED', `transport '${this.opts.name ?? 'nats'}' closed before the reply came`);
    for (const reject of this.pending) reject(error);
    this.pending.clear();
  }

  private onClosed(error: unknown): void {
    if (error && !this.closed) this.log.error('nats.connection_lost', { error });
    this.markClosed();
    this.setStatus('closed');
  }

  private async followStatus(): Promise<void> {
    for await (const status of this.nc.status()) {
      switch (status.type) {
        case 'disconnect':
          this.log.warn('nats.disconnected', { server: status.server });
          this.setStatus('reconnecting');
          break;
        case 'reconnecting':
          this.setStatus('reconnecting');
          break;
        case 'reconnect':
          this.log.info('nats.reconnected', { server: status.server });
          this.setStatus('connected');
          break;
        case 'ldm':
          this.log.info('nats.server_lame_duck', { server: status.server });
          break;
        case 'error':
          this.log.warn('nats.server_error', { error: status.error });
          break;
        case 'close':
          this.setStatus('closed');
          return;
      }
    }
  }

  private setStatus(status: TransportStatus): void {
    // Once closed, stay closed: a late status event from the client must not revive the transport.
    if (this.status$.value !== status && this.status$.value !== 'closed') this.status$.next(status);
  }

  private assertOpen(): void {
    if (this.closed) throw new TransportError('CLOSED', `transport '${this.opts.name ?? 'nats'}' is closed`);
  }

  /** The port's error for a client error; `fallback` when the client error has no port code. */
  private translate(error: unknown, what: string, fallback?: 'TIMEOUT'): unknown {
    const code = transportCodeOf(error) ?? fallback;
    if (code === undefined) return error; // a programmer error (bad subject, ...): keep it as it is
    const reason = error instanceof Error ? error.message : String(error);
    return transportError(code, `${what} failed: ${code} (${reason})`, error);
  }
}

/** How much a refusal tells the operator: credentials (2), TLS (1), or only that no server answered (0). */
const refusalRank = (error: unknown): number => {
  const text = String((error as Error)?.message ?? error);
  if (/authorization|authentication|permissions/i.test(text)) return 2;
  if (/certificate|self[- ]signed|tls|ssl/i.test(text)) return 1;
  return 0;
};

/**
 * nats.js reports only the last server it tried, in random order: with one server down and the others
 * refusing our credentials, the operator would be told "connection refused" a third of the time. When
 * several servers are given and the reason is not already about credentials or TLS, each server is
 * asked alone, and the most telling reason is given with the server that gave it.
 */
async function mostTellingRefusal(error: unknown, opts: NatsTransportOptions): Promise<{ error: unknown; message: string }> {
  const message = String((error as Error)?.message ?? error);
  if (opts.servers.length < 2 || refusalRank(error) > 0) return { error, message };
  let best: { error: unknown; message: string } = { error, message };
  for (const server of opts.servers) {
    try {
      const nc = await connect(clientOptions({ ...opts, servers: [server] }));
      await nc.close(); // admitted now: the first failure stands
    } catch (alone) {
      if (refusalRank(alone) > refusalRank(best.error)) best = { error: alone, message: `${server} said: ${(alone as Error).message}` };
    }
  }
  return best;
}

/** What to check when the first connection fails: credentials and CA, or whether a server runs there at all. */
function connectAdvice(error: unknown, opts: NatsTransportOptions): string {
  const rank = refusalRank(error);
  if (rank === 2)
    return opts.credentials === undefined
      ? 'The servers require credentials: give the NATS credentials file (--nats-creds, or natsCreds in lab.json).'
      : 'The servers refused these credentials: check that this key is in their configuration (post nats config).';
  if (rank === 1)
    return 'TLS failed: give the CA that signed the servers\' certificates (--nats-ca, or natsCa in lab.json).';
  return 'Check that nats-server is running there (see infra/nats/server.ts) and that the URLs are right.';
}

function toMessage(msg: Msg): TransportMessage {
  const { subject, data, reply } = msg;
  return reply ? { subject, data, reply } : { subject, data };
}

function isNoRespondersStatus(msg: Msg): boolean {
  return msg.data.length === 0 && msg.headers?.code === 503;
}

function clientOptions(opts: NatsTransportOptions): NodeConnectionOptions {
  const options: NodeConnectionOptions = {
    servers: [...opts.servers],
    maxReconnectAttempts: -1,
    reconnectTimeWait: opts.reconnectWaitMs ?? NATS_DEFAULTS.reconnectWaitMs,
    reconnectJitter: opts.reconnectJitterMs ?? NATS_DEFAULTS.reconnectJitterMs,
    pingInterval: opts.pingIntervalMs ?? NATS_DEFAULTS.pingIntervalMs,
    maxPingOut: opts.maxPingOut ?? NATS_DEFAULTS.maxPingOut,
    timeout: opts.connectTimeoutMs ?? NATS_DEFAULTS.connectTimeoutMs,
    // nats.js otherwise builds an Error per request (and per timeout timer) to keep the caller's stack
    // for a possible failure: ~6% of a busy mail node's CPU. Our errors carry codes and subjects instead.
    noAsyncTraces: true,
    // A server that refuses us while others admit us (credentials rotated on one server first, or a
    // partition: NatsCluster.cut) must not end the connection: nats.js otherwise gives up after two
    // refusals in a row. The first connection still fails once every server refused it.
    ignoreAuthErrorAbort: true,
    // Servers in the order given, not shuffled: a node talks to its nearest server (listed first) and
    // the others stand by. Two nodes on different servers pay a route hop for every message between
    // them (one more server decrypting and encrypting it over TLS); with nats.js's shuffling, two of
    // three messages of a lab whose nodes share one machine took that hop: 22% against 14% of a core
    // for the NATS servers, and 0.99-1.03 against 1.11-1.18 thousand IMAP commands/s (issue 11).
    noRandomize: true,
  };
  if (opts.name !== undefined) options.name = opts.name;
  if (opts.tls !== undefined) options.tls = opts.tls;
  if (opts.inboxPrefix !== undefined) options.inboxPrefix = opts.inboxPrefix;
  const credentials = opts.credentials;
  if (credentials !== undefined) {
    switch (credentials.kind) {
      case 'userPass':
        options.user = credentials.user;
        options.pass = credentials.pass;
        break;
      case 'token':
        options.token = credentials.token;
        break;
      case 'credsFile':
        options.authenticator = credsAuthenticator(readFileSync(credentials.path));
        break;
      case 'nkeySeedFile':
        options.authenticator = nkeyAuthenticator(new TextEncoder().encode(readFileSync(credentials.path, 'utf8').trim()));
        break;
    }
  }
  return options;
}
