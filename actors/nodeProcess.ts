// A real node process (`post node start`): the composition root for real adapters. Loads the node's
// identity from its data folder, connects to NATS, runs the node's supervisor tree and its HTTP port,
// logs JSON lines to stdout, stops gracefully on SIGTERM/SIGINT, and exits non-zero if the supervisor
// escalates (so whatever started the process can restart it). With an inspector URL, every actor
// transition also streams to the XState inspector (@statelyai/inspect over WebSocket).
import { createWebSocketInspector } from '@statelyai/inspect';
import type { AnyActorRef, InspectionEvent } from 'xstate';
import { wallClock } from '../infra/clock';
import { readNode } from '../infra/files/identity';
import { startHttpServer } from '../infra/http/server';
import { JsonLog } from '../infra/log';
import { LmdbStore, type StoreWriteObserver } from '../infra/store/lmdb';
import { LmdbBlockCache } from '../infra/store/lmdbBlockCache';
import { HOST_BLOCK_CACHE_BYTES_MAX } from '../protocol/limits';
import { FileHostedUsers } from '../infra/files/hostedUsers';
import { join } from 'node:path';
import { NatsTransport } from '../infra/nats/transport';
import { type NatsClientFiles, natsClientSecurity } from '../infra/nats/clientSecurity';
import { replyPrefix } from '../protocol/subjects';
import { CryptoRandom } from '../infra/random';
import type { Log } from '../infra/ports';
import type { FromPolicy } from '../mail/smtp/senderAlignment';
import type { SenderRateLimits } from '../mail/smtp/senderRate';
import { NODE_STOP_GRACE_MS, OVERLAY_TIMINGS, type StorageTimings } from '../protocol/limits';
import { CalDavHttp } from './calendar/calDavHttp';
import { lazyScheduling } from './calendar/scheduling';
import { startXmppServer, type XmppServer } from './xmpp/xmppServer';
import { actorTree, InspectionPublisher } from './inspection';
import { createNode, type PostNode } from './node';

export interface NodeProcessOptions {
  readonly dataDir: string;
  readonly natsUrls: readonly string[];
  /** The node's NATS credentials and the CA of the servers' certificates (none: a plaintext test server). */
  readonly nats?: NatsClientFiles;
  /** On a gateway: its credentials in the global ring's account (its own connection when `nats.credsFile` is set). */
  readonly natsGlobalCredsFile?: string;
  readonly httpPort?: number;
  /** PEM key and certificate of the node's client-facing listeners: HTTPS on the HTTP port (CalDAV's Basic), STARTTLS on IMAP, SMTP and XMPP. */
  readonly tls?: { readonly key: string; readonly cert: string };
  readonly imapPort?: number;
  readonly smtpPort?: number;
  /** The XMPP client port (issue 17); no XMPP listener without it. */
  readonly xmppPort?: number;
  readonly gateway?: boolean;
  /** The inbound MX port (Internet mail for local users), on an organisation's gateway node. */
  readonly mxPort?: number;
  /** The hosted user inbound mail is stored and notified under. */
  readonly gatewayUser?: string;
  /** Relay for non-POST recipients: host:port. */
  readonly smarthost?: { host: string; port: number };
  /** A submitted From: that is not the user's: refused (default) or sent with a Sender: header. */
  readonly fromPolicy?: FromPolicy;
  /** Per-sender submission rate (defaults in protocol/limits.ts). */
  readonly submissionRate?: Partial<SenderRateLimits>;
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Stream every actor transition to the XState inspector at this WebSocket URL. */
  readonly inspectUrl?: string;
  /** Leases and GC passes other than the defaults (a lab that watches garbage collection). */
  readonly storageTimings?: StorageTimings;
}

/** Where @statelyai/inspect's WebSocket inspector (and its relay, createInspectorServer) listens by default. */
export const DEFAULT_INSPECT_URL = 'ws://localhost:8080';

export async function runNodeProcess(opts: NodeProcessOptions): Promise<PostNode> {
  const files = readNode(opts.dataDir);
  const log = new JsonLog(process.stdout, { level: opts.logLevel ?? 'info', clock: wallClock, bindings: { node: files.cert.nodeId.slice(0, 12) } });
  const storeDir = join(opts.dataDir, 'store');
  // Each write's time until committed and on disk, on /metrics once the node (and its metrics) exist.
  let observeWrite: StoreWriteObserver = () => {};
  const openStore = (): LmdbStore => {
    const opened = LmdbStore.open(storeDir);
    opened.observeWrites((writeMs) => observeWrite(writeMs));
    return opened;
  };
  const store = openStore();
  // Beside the store, never in it: copies of blocks this node's sessions read, not replicas.
  const blockCache = LmdbBlockCache.open(join(opts.dataDir, 'block-cache'), { bytesMax: HOST_BLOCK_CACHE_BYTES_MAX });
  const security = natsClientSecurity(opts.natsUrls, opts.nats ?? {});
  const nodeId = files.cert.nodeId;
  const transport = await NatsTransport.connect({ ...security, name: nodeId, inboxPrefix: replyPrefix(nodeId), log });
  // On authenticated NATS the global ring is an account of its own (infra/nats/accounts.ts): a gateway
  // joins it with a second connection under its global-ring key.
  const globalTransport =
    opts.gateway && opts.nats?.credsFile !== undefined
      ? await NatsTransport.connect({
          ...natsClientSecurity(opts.natsUrls, { ...opts.nats, credsFile: required(opts.natsGlobalCredsFile, 'a gateway needs its global-ring NATS key (nats/global.nk in its data folder, or --nats-global-creds)') }),
          name: `${nodeId}.global`,
          inboxPrefix: replyPrefix(nodeId),
          log,
        }).catch(async (e) => {
          await transport.close();
          throw e;
        })
      : undefined;
  const inspector = opts.inspectUrl ? connectInspector(opts.inspectUrl, log) : undefined;
  const node = createNode(
    { transport, ...(globalTransport ? { globalTransport } : {}), clock: wallClock, random: new CryptoRandom(), log, store, reopenStore: openStore, blockCache },
    {
      cert: files.cert,
      signingSecretKey: files.signingSecretKey,
      trust: files.trust,
      convergenceSecret: files.convergenceSecret,
      replicationFactor: files.replicationFactor,
      mailQuotaBytesPerUser: files.mailQuotaBytesPerUser,
      federated: files.federated,
    },
    {
      timings: OVERLAY_TIMINGS,
      ...(opts.storageTimings ? { storageTimings: opts.storageTimings } : {}),
      control: true,
      hostedUsers: new FileHostedUsers(opts.dataDir),
      standbyGrants: new FileHostedUsers(opts.dataDir, 'standby'),
      mail: {
        imapPort: opts.imapPort,
        smtpPort: opts.smtpPort,
        mxPort: opts.mxPort,
        serverName: files.trust.org,
        smarthost: opts.smarthost,
        ...(opts.tls ? { tls: opts.tls } : {}),
        ...(opts.fromPolicy ? { fromPolicy: opts.fromPolicy } : {}),
        ...(opts.submissionRate ? { submissionRate: opts.submissionRate } : {}),
      },
      gatewayUser: opts.gatewayUser,
      gateway: opts.gateway,
      inspect: inspector?.inspect,
    },
  );
  observeWrite = (writeMs) =>
    node.metrics.observe('post_store_write_ms', 'Local store write transactions: from the call until committed and on disk (queueing included)', writeMs);
  node.start();
  // The node's view for the lab dashboard, on subjects.inspect(ring, node) (actors/inspection.ts).
  const inspection = new InspectionPublisher({ transport, clock: wallClock, log, node, store: node.store });
  inspection.start();
  // /state: the node's status with its whole actor tree (status().actors names only the supervisor's children).
  // CalDAV (issue 16) on the same port: the node's login path and login guard, each user's own calendars.
  const caldav = new CalDavHttp({
    loginGuard: () => node.mail.loginGuard,
    login: (username, password) => node.mailbox.logins.login(username, password),
    hostedCalendars: (address) => node.users.users.get(address)?.calendarLogs(),
    hostedAddressBooks: (address) => node.users.users.get(address)?.addressBookLogs(),
    appFor: (user) => node.users.appFor(user),
    // Scheduling waits for answers (free-busy) on the context that receives the user's notifications here.
    schedulingFor: (user) => lazyScheduling(() => node.users.receiving(user).calendarScheduling()),
    random: new CryptoRandom(),
    log: log.child({ actor: 'caldav' }),
    metrics: node.metrics,
  });
  const http = await startHttpServer(
    { state: () => ({ ...node.status(), actorTree: actorTree(node) }), metrics: () => node.metrics.render(), applications: [caldav] },
    { port: opts.httpPort ?? 8025, ...(opts.tls ? { tls: opts.tls } : {}) },
  );
  // XMPP (issue 17): the node's login path and guard, each user's conversation store and roster logs.
  const xmpp = opts.xmppPort === undefined ? undefined : await startNodeXmpp(node, opts.xmppPort, files.trust.org, log, opts.tls);
  log.info('node.started', { nodeId: node.id, org: files.trust.org, nats: opts.natsUrls, http: http.port, ...(xmpp ? { xmpp: xmpp.port } : {}) });
  let was = '';
  node.router.stateChanges$.subscribe((s) => {
    if (s === 'ready' && was !== 'ready') log.info('node.ready', { nodeId: node.id });
    was = s;
  });

  let stopping = false;
  const stop = async (code: number, why: string) => {
    if (stopping) return;
    stopping = true;
    log.info('node.stopping', { why });
    const force = setTimeout(() => process.exit(code || 1), NODE_STOP_GRACE_MS);
    force.unref();
    try {
      await http.close();
      caldav.close();
      await xmpp?.close();
      await inspection.stop();
      await node.stop();
      await blockCache.close();
      await globalTransport?.close();
      inspector?.stop();
    } finally {
      process.exit(code);
    }
  };
  process.on('SIGTERM', () => void stop(0, 'SIGTERM'));
  process.on('SIGINT', () => void stop(0, 'SIGINT'));
  node.failed$.subscribe((e) => void stop(2, `supervisor escalated: ${e.message}`));
  node.router.stateChanges$.subscribe((s) => {
    if (s === 'failed') void stop(3, `router failed: ${node.router.status().failure?.reason ?? 'unknown'}`);
  });
  return node;
}

/** The XMPP listener on the loopback address (as IMAP's), with the node's login path and its users' application contexts. */
function startNodeXmpp(node: PostNode, port: number, domain: string, log: Log, tls: NodeProcessOptions['tls']): Promise<XmppServer> {
  return startXmppServer({
    port,
    ...(tls ? { tls } : {}),
    domain,
    loginGuard: () => node.mail.loginGuard,
    login: (username, password) => node.mailbox.logins.login(username, password),
    // A user hosted elsewhere is delivered for here while logged in (as IMAP does: DESIGN 5).
    imAppFor: (record) => node.users.receiving(record.user),
    lookup: (address) => node.users.directory.lookup(address),
    hostedScram: (address) => node.mailbox.logins.hostedScram(address),
    clock: wallClock,
    random: new CryptoRandom(),
    log: log.child({ actor: 'xmpp' }),
    metrics: node.metrics,
  });
}

function required<T>(value: T | undefined, why: string): T {
  if (value === undefined) throw new Error(why);
  return value;
}

// ---- the XState inspector ----------------------------------------------------------------------------

/** Inspection events held while the inspector is unreachable (the newest are kept). */
const INSPECT_BUFFER_EVENTS_MAX = 1000;
/** Reconnect delay after the inspector closed the connection (its adapter retries errors itself, every 5 s). */
const INSPECT_RECONNECT_MS = 5000;
/** How deep contexts and events are copied for the inspector; below that the package's serializer decides. */
const INSPECT_REDACT_DEPTH_MAX = 8;
/** Live actors remembered for re-announcing; beyond this, finished ones are forgotten first. */
const INSPECT_LIVE_ACTORS_MAX = 10_000;

interface NodeInspector {
  readonly inspect: (event: InspectionEvent) => void;
  stop(): void;
}

/**
 * The node never waits for the inspector: events are buffered (bounded) until it connects; an
 * unreachable inspector is logged once per outage and retried in the background. Byte arrays (keys,
 * payloads) go out as their length only.
 */
function connectInspector(url: string, log: Log): NodeInspector {
  const inspector = createWebSocketInspector({
    url,
    autoStart: false,
    maxDeferredEvents: INSPECT_BUFFER_EVENTS_MAX,
    sanitizeContext: (context) => redactBytes(context),
    sanitizeEvent: (event) => redactBytes(event),
  });
  let stopped = false;
  let reported = false;
  let reconnect: ReturnType<typeof setTimeout> | undefined;
  // The buffer keeps only the newest events: on every connection, announce the actors alive now, so an
  // inspector that comes late still learns the actor tree.
  const live = new Map<string, AnyActorRef>();
  const forgetFinished = () => {
    for (const [id, ref] of live) if (ref.getSnapshot().status !== 'active') live.delete(id);
  };
  const announceLive = () => {
    forgetFinished();
    for (const ref of live.values()) {
      const s = ref.getSnapshot() as { status: 'active'; context?: unknown; value?: unknown };
      inspector.actor(ref, { status: s.status, context: s.context, value: s.value });
    }
  };
  const watched = watchSockets(inspector.adapter, {
    open: () => {
      reported = false;
      log.info('inspect.connected', { url });
      setTimeout(announceLive, 0); // after the adapter's own open handler has marked the socket open
    },
    failed: (error) => {
      if (reported || stopped) return;
      reported = true;
      log.warn('inspect.unavailable', { url, error, note: 'the node runs on; it retries in the background' });
    },
    closedByPeer: () => {
      if (stopped) return;
      if (!reported) log.warn('inspect.unavailable', { url, error: 'the inspector closed the connection', note: 'retrying in the background' });
      reported = true;
      reconnect = setTimeout(() => stopped || inspector.start(), INSPECT_RECONNECT_MS);
      reconnect.unref();
    },
  });
  inspector.start();
  log.info('inspect.started', { url, status: watched ? 'connecting' : 'unknown' });
  return {
    inspect: (event) => {
      if (event.type !== '@xstate.actor' && event.type !== '@xstate.event' && event.type !== '@xstate.snapshot') return;
      if (event.type === '@xstate.actor') {
        if (live.size >= INSPECT_LIVE_ACTORS_MAX) forgetFinished();
        if (live.size < INSPECT_LIVE_ACTORS_MAX) live.set(event.actorRef.sessionId, event.actorRef as AnyActorRef);
      } else if (event.type === '@xstate.snapshot' && event.snapshot.status !== 'active') live.delete(event.actorRef.sessionId);
      // The package serialises a snapshot before sanitizeContext sees it: redact its context first.
      const e = event.type === '@xstate.snapshot' ? { ...event, snapshot: { ...event.snapshot, context: redactBytes((event.snapshot as { context?: unknown }).context) } } : event;
      inspector.inspect.next?.(e as InspectionEvent);
    },
    stop: () => {
      stopped = true;
      if (reconnect) clearTimeout(reconnect);
      inspector.stop();
    },
  };
}

/**
 * The WebSocket adapter of @statelyai/inspect 0.7 keeps its socket in `ws` and reports nothing: watch
 * each socket it opens, to log the inspector's reachability and to reconnect after a clean close (the
 * adapter retries only after errors). Returns false if the adapter is not shaped as expected.
 */
function watchSockets(adapter: object, on: { open(): void; failed(error: string): void; closedByPeer(): void }): boolean {
  const field = Object.getOwnPropertyDescriptor(adapter, 'ws');
  if (!field || !field.configurable) return false;
  let socket: unknown = field.value;
  Object.defineProperty(adapter, 'ws', {
    configurable: true,
    enumerable: true,
    get: () => socket,
    set: (next: unknown) => {
      socket = next;
      const ws = next as { addEventListener?: (type: string, listener: (e: { message?: string }) => void) => void };
      if (typeof ws?.addEventListener !== 'function') return;
      let opened = false;
      let errored = false;
      ws.addEventListener('open', () => {
        opened = true;
        on.open();
      });
      ws.addEventListener('error', (e) => {
        errored = true;
        on.failed(e.message ?? 'connection failed');
      });
      ws.addEventListener('close', () => {
        if (opened && !errored) on.closedByPeer();
      });
    },
  });
  return true;
}

/** A copy with every byte array replaced by its length (secrets and payloads stay in the node). */
function redactBytes<T>(value: T, depth = 0): T {
  if (value instanceof Uint8Array) return `<${value.byteLength} bytes>` as T;
  if (value === null || typeof value !== 'object' || depth >= INSPECT_REDACT_DEPTH_MAX) return value;
  if (Array.isArray(value)) return value.map((v) => redactBytes(v, depth + 1)) as T;
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), redactBytes(v, depth + 1)])) as T;
  if (value instanceof Set) return [...value].map((v) => redactBytes(v, depth + 1)) as T;
  const proto = Object.getPrototypeOf(value);
  // Actor logic travels in events (RECEIVE spawns a child): its name, not its whole definition.
  if (typeof (value as { transition?: unknown }).transition === 'function' && typeof (value as { getInitialSnapshot?: unknown }).getInitialSnapshot === 'function') {
    return `<actor logic ${(value as { id?: string }).id ?? ''}>` as T;
  }
  if (proto !== Object.prototype && proto !== null) return value; // actor refs, errors: the package serialises them
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactBytes(v, depth + 1)])) as T;
}
