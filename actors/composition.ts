// The node's composition root, in registration groups (one per supervised child or service family),
// over one tsyringe child container per node.
//
// What DI is used for here, deliberately:
// - one child container per node: the simulator runs hundreds of nodes in one process, and each
//   node's singletons (its transport, store, metrics, services) live in its own container;
// - typed tokens: a `Token<T>` resolves to a T, so wiring a service to the wrong thing is a compile
//   error (tsyringe's own symbols resolve to whatever the caller says);
// - lazy singletons (instanceCachingFactory): each group asks the container for what it needs, in
//   any order; the groups share nothing else, so each reads on its own.
// What it is not used for: constructor injection with decorators. Services take one typed,
// named-field dependencies object (js-libp2p's "components" style), which a test builds by hand and
// the compiler checks field by field; `@inject(TOKEN)` on every constructor parameter (esbuild emits
// no type metadata, STACK.md) would put the container's tokens into every service and trade named
// fields for positions, for no gain. Only this file (and PostNode's constructor) talks to the container.
import { type DependencyContainer, instanceCachingFactory } from 'tsyringe';
import { type RingTrust, verifyNodeCertificateSync } from '../crypto/certificates';
import { userIdOf } from '../crypto/hash';
import type { StorageSigner } from '../crypto/insertAuth';
import { signatureCounts } from '../crypto/sign';
import { type Clock, type Log, publishQuietly, type Random, type Transport } from '../infra/ports';
import { LocalLoopTransport } from '../infra/localLoop';
import { ErrorCodes, PostError } from '../protocol/errors';
import type { UserCertificate } from '../protocol/identity';
import { MAIL_QUOTA_BYTES_PER_USER_DEFAULT, STORAGE_TIMINGS, type StorageTimings } from '../protocol/limits';
import type { Envelope } from '../protocol/notify';
import { GLOBAL_RING_ID, subjects } from '../protocol/subjects';
import type { UnlockedUser } from '../storage/users/unlockedUser';
import { normaliseAddress } from '../storage/users/userErrors';
import { ControlService } from './control';
import { FederatedStorage } from './federation/federatedStorage';
import { Federation } from './federation/federation';
import { GatewayService } from './federation/gateway';
import { StoreBinding } from './localStore';
import { MailGatewayService, type MailGatewayDeps } from './mail/mailGateway';
import { metricsObserver } from './mail/mailMetrics';
import { PostMailbox } from './mail/postMailbox';
import { PostSubmission } from './mail/postSubmission';
import { Metrics } from './metrics';
import { registerProcessMetrics } from './processMetrics';
import type { NodeAdapters, NodeIdentity, NodeOptions, PostNode } from './node';
import { DropHandlers } from './notify/dropHandlers';
import { Notifier, type NotifierDeps, NotifierService } from './notify/notifier';
import { RouterService, type RouterDeps } from './router';
import { RouterHandle } from './routerHandle';
import { Peers } from './storage/peers';
import { ReplicaManagerService } from './storage/replicaManager';
import { StorageClient } from './storage/storageClient';
import { Supervised } from './supervised';
import { LoginCache } from './users/logins';
import { LogWriterHost } from './users/logWriterHost';
import { TransportHeadWatch } from './users/natsHeadWatch';
import { StandbyHost } from './users/standbyHost';
import { Directory, UserHost } from './users/userHost';

/** A token that resolves to a T (tsyringe's symbols are untyped). */
export type Token<T> = symbol & { readonly __resolves?: T };
const token = <T>(name: string) => Symbol(name) as Token<T>;

export const Tokens = {
  Adapters: token<NodeAdapters>('Adapters'),
  Transport: token<Transport>('Transport'),
  Clock: token<Clock>('Clock'),
  Random: token<Random>('Random'),
  Log: token<Log>('Log'),
  Identity: token<NodeIdentity>('Identity'),
  Options: token<NodeOptions>('Options'),
  StorageTimings: token<StorageTimings>('StorageTimings'),
  Peers: token<Peers>('Peers'),
  /** The ring's storage as this node (its certificate and key) writes and reads it. */
  NodeStorage: token<StorageClient>('NodeStorage'),
  /** The ring's storage as a user writes and reads it, federated organisations included. */
  StorageFor: token<(user: UnlockedUser) => FederatedStorage>('StorageFor'),
  RouterChild: token<Supervised<RouterService>>('RouterChild'),
  ReplicaManagerChild: token<Supervised<ReplicaManagerService>>('ReplicaManagerChild'),
  NotifierChild: token<Supervised<NotifierService>>('NotifierChild'),
  MailGatewayChild: token<Supervised<MailGatewayService>>('MailGatewayChild'),
  GlobalRouterChild: token<Supervised<RouterService>>('GlobalRouterChild'),
} as const;

/** The T a token or class stands for, from the node's container. */
export function get<T>(c: DependencyContainer, t: Token<T> | (new (...args: never[]) => T)): T {
  return c.resolve<T>(t as symbol);
}

/**
 * A singleton for code that runs per operation (a storage request, a delivery, a command): resolved on
 * its first use, then held. tsyringe resolves a registration each time it is asked (issue 11: about a
 * microsecond and a few objects each time, several times per IMAP command). Only for tokens registered
 * once per container (provide, value): what they resolve to never changes.
 */
function resolvedOnce<T>(c: DependencyContainer, t: Token<T> | (new (...args: never[]) => T)): () => T {
  let resolved: { value: T } | undefined;
  return () => (resolved ??= { value: get(c, t) }).value;
}

/** Register a lazy singleton: built by `build` the first time something resolves it. */
function provide<T>(c: DependencyContainer, t: Token<T> | (new (...args: never[]) => T), build: (d: DependencyContainer) => T): void {
  c.register<T>(t as symbol, { useFactory: instanceCachingFactory<T>(build) });
}

function value<T>(c: DependencyContainer, t: Token<T> | (new (...args: never[]) => T), v: T): void {
  c.register<T>(t as symbol, { useValue: v });
}

/** What almost every group needs: the node's adapters and identity as registered. */
function base(d: DependencyContainer) {
  return { transport: get(d, Tokens.Transport), clock: get(d, Tokens.Clock), log: get(d, Tokens.Log), identity: get(d, Tokens.Identity), options: get(d, Tokens.Options) };
}

// ---- the adapters, the node's identity and what every service shares ------------------------------

export function registerAdapters(c: DependencyContainer, adapters: NodeAdapters, identity: NodeIdentity, options: NodeOptions): void {
  // Requests to this node's own direct subject (it is one of the replicas it writes to) stay in-process.
  const ownSubject = subjects.node(identity.trust.ringId, identity.cert.nodeId);
  const transport = new LocalLoopTransport(adapters.transport, (subject) => subject === ownSubject, adapters.clock, adapters.log);
  const log = adapters.log.child({ node: identity.cert.nodeId.slice(0, 12) });
  value(c, Tokens.Adapters, adapters);
  value(c, Tokens.Transport, transport);
  value(c, Tokens.Clock, adapters.clock);
  value(c, Tokens.Random, adapters.random);
  value(c, Tokens.Log, log);
  value(c, Tokens.Identity, identity);
  value(c, StoreBinding, new StoreBinding({ store: adapters.store, reopen: adapters.reopenStore, log, holdMs: options.storeFailedHoldMs }));
  value(c, Tokens.Options, options);
  value(c, Metrics, nodeMetrics());
  value(c, LogWriterHost, new LogWriterHost(adapters.log.child({ node: identity.cert.nodeId.slice(0, 12), actor: 'logWriter' })));
  value(c, Tokens.StorageTimings, options.storageTimings ?? STORAGE_TIMINGS);
}

/** A node's metrics registry, with the figures of its process that no actor owns. */
function nodeMetrics(): Metrics {
  const metrics = new Metrics();
  metrics.gauge('post_signatures_verified', 'Ed25519 signatures this process has verified', () => signatureCounts().verified);
  metrics.gauge('post_signatures_known', 'Signatures this process verified by remembering that it made them (no Ed25519 verification)', () => signatureCounts().known);
  registerProcessMetrics(metrics);
  return metrics;
}

// ---- the router child: a fresh RouterService each start (a new epoch for its message ids) ----------

function routerDeps(d: DependencyContainer, transport: Transport, ringId: string, verifyPeer: RouterDeps['verifyPeer'], metrics: Metrics): RouterDeps {
  const { clock, log, identity, options } = base(d);
  return {
    transport,
    clock,
    log,
    ringId,
    verifyPeer,
    cert: identity.cert,
    signingSecretKey: identity.signingSecretKey,
    timings: options.timings,
    leafHalf: options.leafHalf,
    epoch: Buffer.from(get(d, Tokens.Random).bytes(6)).toString('base64url'),
    metrics,
  };
}

export function registerRouter(c: DependencyContainer): void {
  provide(c, Tokens.RouterChild, (d) => {
    const { transport, identity } = base(d);
    const verifyPeer: RouterDeps['verifyPeer'] = (cert, nowMs) => verifyNodeCertificateSync(cert, identity.trust, nowMs);
    return new Supervised<RouterService>('router', {
      build: () => new RouterService(routerDeps(d, transport, identity.trust.ringId, verifyPeer, get(d, Metrics))),
      retire: (old) => old.retire(),
    });
  });
  provide(c, RouterHandle, (d) => new RouterHandle(get(d, Tokens.RouterChild).current));
}

// ---- the replicaManager child, and the ring's storage as the other services use it ----------------

export function registerStorage(c: DependencyContainer): void {
  provide(c, Tokens.ReplicaManagerChild, (d) => {
    const { transport, clock, log, identity, options } = base(d);
    return new Supervised<ReplicaManagerService>('replicaManager', {
      // Fresh handlers, passes and subscriptions each start.
      build: () =>
        new ReplicaManagerService({
          transport,
          clock,
          log,
          metrics: get(d, Metrics),
          router: get(d, RouterHandle),
          trust: identity.trust,
          store: get(d, StoreBinding),
          nodeSigner: nodeSigner(identity),
          replicationFactor: identity.replicationFactor,
          convergenceSecret: identity.convergenceSecret,
          timings: options.storageTimings,
          quotaBytes: options.quotaBytes,
        }),
      retire: (old) => old.detach(),
    });
  });
  const { transport, identity, clock } = base(c);
  value(c, Tokens.Peers, new Peers(transport, identity.trust.ringId, clock));
  // A client holds no state, and finds replicas through whichever replica manager runs.
  value(c, Tokens.NodeStorage, storageClient(c, nodeSigner(identity)));
  value(c, Tokens.StorageFor, (user: UnlockedUser) => new FederatedStorage(storageClient(c, userSigner(user)), get(c, Federation)));
  // The organisations this ring federates with: their rings, reached through the gateways.
  value(c, Federation, new Federation({ transport, log: get(c, Tokens.Adapters).log, own: identity.trust, federated: identity.federated ?? [] }));
}

function storageClient(d: DependencyContainer, signer: StorageSigner): StorageClient {
  const { clock, identity } = base(d);
  const { blockCache } = get(d, Tokens.Adapters);
  const store = get(d, StoreBinding);
  const metrics = get(d, Metrics);
  const replicaManager = resolvedOnce(d, Tokens.ReplicaManagerChild);
  const deps = {
    peers: get(d, Tokens.Peers),
    clock,
    timings: get(d, Tokens.StorageTimings),
    replicationFactor: identity.replicationFactor,
    convergenceSecret: identity.convergenceSecret,
    locate: (id: string, extra: number) => replicaManager().current.locate(id, extra),
    selfId: identity.cert.nodeId,
    ...(blockCache ? { blockCache } : {}),
    readOwnBlock: async (id: string) => (await store.getBlock(id))?.bytes,
    observe: (op: string, ok: boolean, ms: number) =>
      metrics.observe('post_storage_client_ms', 'Replicated reads and writes this node made, by operation and outcome', ms, { op, outcome: ok ? 'ok' : 'failed' }),
  };
  return new StorageClient(deps, signer);
}

// ---- the notifier child: fresh inboxes (subscriptions, queues) and drop handlers each start --------

export function registerNotifier(c: DependencyContainer): void {
  provide(c, Notifier, (d) => new Notifier(notifierDeps(d)));
  provide(c, Tokens.NotifierChild, (d) => {
    const { transport, clock, log, identity } = base(d);
    const federation = get(d, Federation);
    const router = get(d, RouterHandle);
    return new Supervised<NotifierService>('notifier', {
      build: () => {
        // The replica side of inbox drops belongs to the notifier: a fresh one with each start.
        const service = new NotifierService(notifierDeps(d));
        const drops = new DropHandlers({
          store: resolvedOnce(d, StoreBinding),
          trusted: () => federation.trusted(),
          ringId: identity.trust.ringId,
          clock,
          log,
          metrics: get(d, Metrics),
          publish: (subject, bytes) => publishQuietly(transport, subject, bytes, log, { handOver: true }),
          onBug: () => service.crash(),
        });
        router.registerFrames('notify.', (frame, msg) => drops.handle(frame, msg));
        return service;
      },
      retire: (old) => old.retire(),
    });
  });
}

function notifierDeps(d: DependencyContainer): NotifierDeps {
  const { transport, clock, log, identity, options } = base(d);
  const federation = get(d, Federation);
  const replicaManager = resolvedOnce(d, Tokens.ReplicaManagerChild);
  return {
    transport,
    peers: get(d, Tokens.Peers),
    clock,
    random: get(d, Tokens.Random),
    log,
    metrics: get(d, Metrics),
    ringId: identity.trust.ringId,
    trusted: () => federation.trusted(),
    replicationFactor: identity.replicationFactor,
    timings: get(d, Tokens.StorageTimings),
    locate: (id: string, extra: number) => replicaManager().current.locate(id, extra),
    faults: options.faults,
    inspect: options.inspect,
    foreignDropPut: async (recipient: UserCertificate, dropId: string, envelope: Envelope) => {
      const ring = federation.ringOf(recipient.ringId);
      if (!ring) throw new PostError(ErrorCodes.NOT_AUTHORISED, `${recipient.address}: ${recipient.org} is not federated with ${identity.trust.org}`);
      await federation.dropPut(ring, dropId, envelope);
    },
  };
}

// ---- hosted users, their mailboxes and logins, and the users this node stands in for -------------

export function registerUsers(c: DependencyContainer): void {
  provide(c, LoginCache, (d) => new LoginCache({ storage: get(d, Tokens.NodeStorage), trust: base(d).identity.trust, clock: base(d).clock, random: get(d, Tokens.Random) }));
  provide(c, PostMailbox, (d) => {
    const { transport, clock, log, identity } = base(d);
    const userHost = resolvedOnce(d, UserHost); // built after the mailbox (it needs it)
    return new PostMailbox({
      logins: get(d, LoginCache),
      storage: get(d, Tokens.NodeStorage),
      storageFor: get(d, Tokens.StorageFor),
      trust: identity.trust,
      clock,
      random: get(d, Tokens.Random),
      headWatch: new TransportHeadWatch(transport, identity.trust.ringId, log),
      logRegistry: get(d, LogWriterHost),
      log: log.child({ actor: 'mailGateway' }),
      mailQuotaBytes: identity.mailQuotaBytesPerUser ?? MAIL_QUOTA_BYTES_PER_USER_DEFAULT,
      // A user active here but hosted elsewhere gets their mail delivered here too (issue 13).
      hosts: (address) => userHost().users.has(address),
      presence: { opened: (user) => userHost().visit(user), released: (address) => userHost().leave(address) },
    });
  });
  provide(c, UserHost, (d) => {
    const { transport, clock, log, identity, options } = base(d);
    const router = get(d, RouterHandle);
    const mailbox = get(d, PostMailbox);
    const nodeStorage = get(d, Tokens.NodeStorage);
    return new UserHost({
      nodeSigningSecretKey: identity.signingSecretKey,
      trust: identity.trust,
      clock,
      random: get(d, Tokens.Random),
      log,
      store: options.hostedUsers,
      notifier: get(d, Notifier),
      nodeStorage,
      storageFor: get(d, Tokens.StorageFor),
      headWatch: new TransportHeadWatch(transport, identity.trust.ringId, log),
      mailbox: () => mailbox,
      logRegistry: get(d, LogWriterHost),
      ringReady: () => router.state === 'ready',
      refreshIntervalMs: get(d, Tokens.StorageTimings).refreshIntervalMs,
      directory: new Directory({ storage: nodeStorage, trust: identity.trust, clock, federation: get(d, Federation) }),
    });
  });
  provide(c, StandbyHost, (d) => {
    const { clock, log, identity, options } = base(d);
    const router = get(d, RouterHandle);
    return new StandbyHost({
      nodeId: identity.cert.nodeId,
      nodeSigningSecretKey: identity.signingSecretKey,
      trust: identity.trust,
      clock,
      log,
      store: options.standbyGrants,
      nodeStorage: get(d, Tokens.NodeStorage),
      overlay: { ready: () => router.state === 'ready', leafSet: () => router.leafSet(), covers: (id) => router.knowsReplicas(id, 1), changes$: router.stateChanges$ },
      heartbeatIntervalMs: router.current.input.timings.heartbeatIntervalMs,
      users: get(d, UserHost),
      mailbox: get(d, PostMailbox),
    });
  });
}

// ---- the mailGateway child: fresh listeners each start; the login guard and rate outlive it --------

export function registerMailGateway(c: DependencyContainer): void {
  provide(c, Tokens.MailGatewayChild, (d) => {
    const { clock, log, identity, options } = base(d);
    const users = get(d, UserHost);
    const postMailbox = resolvedOnce(d, PostMailbox);
    const federation = resolvedOnce(d, Federation);
    const submission = new PostSubmission({
      trust: identity.trust,
      clock,
      log,
      nodeStorage: get(d, Tokens.NodeStorage),
      logins: get(d, LoginCache),
      visit: (record) => postMailbox().visit(record),
      directory: users.directory,
      isFederated: (domain) => federation().orgOf(domain) !== undefined,
      appFor: (user) => users.appFor(user),
      hostedRecipient: (address) => users.users.get(address.toLowerCase()),
      metrics: get(d, Metrics),
      gatewayUser: options.gatewayUser ? () => users.users.get(options.gatewayUser!.toLowerCase())?.user : undefined,
    });
    const mail = options.mail ?? {};
    const deps: MailGatewayDeps = {
      authenticator: get(d, PostMailbox).authenticator,
      submission,
      clock,
      log,
      metrics: get(d, Metrics),
      accountOf: (username) => normaliseAddress(username, identity.trust.org),
      observer: metricsObserver(get(d, Metrics)),
    };
    const first = new MailGatewayService(deps, mail);
    let closing: Promise<void> | undefined;
    return new Supervised<MailGatewayService>('mailGateway', {
      // The login guard and submission rate are security bounds, not the gateway's working state: a
      // client that could crash the gateway must not reset its own throttle by doing so.
      build: () =>
        closing === undefined ? first : new MailGatewayService({ ...deps, loginGuard: first.loginGuard, senderRate: first.senderRate, predecessorClosed: closing }, mail),
      retire: (old) => {
        closing = old.close('Server restarting; reconnect in a moment');
      },
    });
  });
}

// ---- on a gateway, the globalRouter child: the same node id in the global ring, whose members are
// the gateways of every federated organisation; a fresh RouterService each start ---------------------

export function registerGateway(c: DependencyContainer): void {
  const globalTransport = (d: DependencyContainer) => get(d, Tokens.Adapters).globalTransport ?? get(d, Tokens.Transport);
  provide(c, Tokens.GlobalRouterChild, (d) => {
    const federation = get(d, Federation);
    const globalMetrics = new Metrics();
    const verifyPeer: RouterDeps['verifyPeer'] = (cert, nowMs) => {
      const trust = federation.trusted().find((t: RingTrust) => t.ringId === cert.ringId && t.org === cert.org);
      return trust ? verifyNodeCertificateSync(cert, trust, nowMs) : { ok: false, code: ErrorCodes.WRONG_RING, reason: `${cert.org} is not a federated organisation` };
    };
    return new Supervised<RouterService>('globalRouter', {
      build: () => new RouterService(routerDeps(d, globalTransport(d), GLOBAL_RING_ID, verifyPeer, globalMetrics)),
      retire: (old) => old.retire(),
    });
  });
  provide(c, GatewayService, (d) => {
    const { transport, log, identity } = base(d);
    const notifier = get(d, Notifier);
    return new GatewayService({
      transport,
      globalTransport: globalTransport(d),
      log,
      metrics: get(d, Metrics),
      own: identity.trust,
      federated: () => identity.federated ?? [],
      globalRouter: new RouterHandle(get(d, Tokens.GlobalRouterChild).current),
      storage: get(d, Tokens.NodeStorage),
      storeEnvelope: (dropId, envelope) => notifier.storeEnvelope(dropId, envelope),
    });
  });
}

// ---- operator requests on the control subject -----------------------------------------------------

export function registerControl(c: DependencyContainer, node: () => PostNode): void {
  provide(c, ControlService, (d) => {
    const { transport, clock, log, identity } = base(d);
    return new ControlService({ transport, clock, log, trust: identity.trust, nodeId: identity.cert.nodeId, node, metrics: get(d, Metrics), nodeSigner: nodeSigner(identity) });
  });
}

/** This node as an inserting member of the ring. */
function nodeSigner(identity: NodeIdentity): StorageSigner {
  return { member: { type: 'node', cert: identity.cert }, secretKey: identity.signingSecretKey, id: identity.cert.nodeId };
}

/** A user as an inserting member of the ring: its certificate and signing key. */
function userSigner(user: UnlockedUser) {
  return { member: { type: 'user' as const, cert: user.certificate }, secretKey: user.signing.secretKey, id: userIdOf(user.address) };
}
