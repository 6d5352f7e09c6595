// The composition root of one node: picks nothing itself (adapters come in), wires the services in a
// tsyringe container, and runs them as children of one XState supervisor:
//
//   node supervisor (one-for-one, bounded restart intensity, then escalate)
//   ├── transport        connecting / connected / reconnecting / closed
//   ├── store            opening / open / failed
//   ├── router           joining / ready (heartbeat ∥ leafSet) / failed
//   ├── replicaManager   repair ∥ antiEntropy ∥ gc ∥ scrub (sessions: one actor per write and read)
//   ├── notifier         one inbox actor per hosted user: pull ∥ delivery
//   ├── logWriter        one actor per user, and under it one logAppend actor per open log
//   ├── mailGateway      the IMAP and SMTP listeners (one session actor per connection)
//   └── globalRouter     on a gateway node: its membership of the global ring
//
// Children start in this order and stop in reverse. Each (re)start of the store, router,
// replicaManager, notifier and mailGateway children runs a fresh service object built by the child's
// factory (actors/supervised.ts); the other actors reach them through handles that always mean the
// running one (RouterHandle, Notifier, StoreBinding, PostNode's getters), so nothing a crashed child
// held in memory outlives it.
import 'reflect-metadata';
import { Subject, type Subscription } from 'rxjs';
import { container as rootContainer, type DependencyContainer, instanceCachingFactory } from 'tsyringe';
import { type Actor, type AnyActorRef, createActor, type InspectionEvent } from 'xstate';
import { type RingTrust, verifyNodeCertificateSync } from '../crypto/certificates';
import { type Clock, type Log, publishQuietly, type Random, type Transport } from '../infra/ports';
import { type ChildSpec, EscalationError, supervisorMachine } from '../machines/supervisor.machine';
import { childOf } from '../machines/host';
import { transportMachine } from '../machines/transport.machine';
import type { NodeCertificate, UserCertificate } from '../protocol/identity';
import type { Envelope } from '../protocol/notify';
import { MAIL_QUOTA_BYTES_PER_USER_DEFAULT, type OverlayTimings, STORAGE_TIMINGS } from '../protocol/limits';
import type { BlockCache } from '../infra/store/blockCache';
import type { LocalStore } from '../infra/store/port';
import type { StorageTimings } from '../protocol/limits';
import { ControlService } from './control';
import { ReplicaManagerService } from './storage/replicaManager';
import { Peers } from './storage/peers';
import { StorageClient } from './storage/storageClient';
import { StoreBinding } from './localStore';
import { RouterHandle } from './routerHandle';
import { Supervised } from './supervised';
import type { HostedUserStore } from '../infra/files/hostedUsers';
import type { KdfLimits } from '../crypto/keystore';
import type { StorageSigner } from '../crypto/insertAuth';
import { PostMailbox } from './mail/postMailbox';
import { DropHandlers } from './notify/dropHandlers';
import { Notifier, NotifierService } from './notify/notifier';
import { TransportHeadWatch } from './users/natsHeadWatch';
import { Directory, UserHost } from './users/userHost';
import { StandbyHost } from './users/standbyHost';
import { LoginCache } from './users/logins';
import { LogWriterHost } from './users/logWriterHost';
import { MailGatewayService, type MailGatewayDeps, type MailGatewayOptions } from './mail/mailGateway';
import { metricsObserver } from './mail/mailMetrics';
import { PostSubmission } from './mail/postSubmission';
import { Federation } from './federation/federation';
import { FederatedStorage } from './federation/federatedStorage';
import { GatewayService } from './federation/gateway';
import { ErrorCodes, PostError } from '../protocol/errors';
import { GLOBAL_RING_ID, subjects } from '../protocol/subjects';
import { LocalLoopTransport } from '../infra/localLoop';
import type { CrashableActor } from '../protocol/control';
import type { UnlockedUser } from '../storage/users/unlockedUser';
import { normaliseAddress } from '../storage/users/userErrors';
import { userIdOf } from '../crypto/hash';
import { Metrics } from './metrics';
import { RouterService } from './router';

export const Tokens = {
  Transport: Symbol('Transport'),
  Clock: Symbol('Clock'),
  Random: Symbol('Random'),
  Log: Symbol('Log'),
  Identity: Symbol('Identity'),
  Options: Symbol('Options'),
  Store: Symbol('Store'),
  RouterChild: Symbol('RouterChild'),
  ReplicaManagerChild: Symbol('ReplicaManagerChild'),
  NotifierChild: Symbol('NotifierChild'),
  MailGatewayChild: Symbol('MailGatewayChild'),
  GlobalRouterChild: Symbol('GlobalRouterChild'),
} as const;

/** The node supervisor's children that fault injection may crash (tests; the control protocol offers CRASHABLE_ACTORS). */
export type SupervisedChild = CrashableActor | 'store' | 'replicaManager' | 'mailGateway' | 'globalRouter';

export interface NodeAdapters {
  readonly transport: Transport;
  /**
   * A gateway's connection to the global ring, when the deployment keeps the global ring apart from
   * the organisations (its own NATS account); the node's transport otherwise (the simulator). Whoever
   * connected it closes it after stop().
   */
  readonly globalTransport?: Transport;
  readonly clock: Clock;
  readonly random: Random;
  readonly log: Log;
  /** The node's local database, already open (LMDB on disk; the simulator's memory disk). */
  readonly store: LocalStore;
  /**
   * Open the database again, for a restarted store actor (LMDB: a fresh environment on the same
   * directory). Absent (the simulator's memory disk), a restart keeps the same handle.
   */
  readonly reopenStore?: () => LocalStore | Promise<LocalStore>;
  /**
   * Copies of the ring blocks this node's users read and write (infra/store/blockCache.ts), so their
   * sessions read this disk before the ring; absent, every read goes to the replicas. Whoever opened
   * it closes it after stop().
   */
  readonly blockCache?: BlockCache;
}

export interface NodeIdentity {
  readonly cert: NodeCertificate;
  readonly signingSecretKey: Uint8Array;
  readonly trust: RingTrust;
  readonly convergenceSecret: Uint8Array;
  readonly replicationFactor: number;
  /** The organisation's per-user mail storage limit (IMAP QUOTA); the default of protocol/limits when absent. */
  readonly mailQuotaBytesPerUser?: number;
  /** The organisations this ring federates with (their CA keys and rings): configuration. */
  readonly federated?: readonly RingTrust[];
}

export interface NodeOptions {
  readonly timings?: OverlayTimings;
  readonly storageTimings?: StorageTimings;
  /** Per-member quota on each replica (tests use small ones). */
  readonly quotaBytes?: number;
  readonly leafHalf?: number;
  /** Receives every actor transition of this node (the XState inspector, the dashboard, tests). */
  readonly inspect?: (event: InspectionEvent) => void;
  /** Serve operator requests on the control subject (real nodes: yes; large simulations: no). */
  readonly control?: boolean;
  /** Where hosted users' sealed credentials are kept (the node's data folder; memory in the simulator). */
  readonly hostedUsers: HostedUserStore;
  /** Where the grants of the users this node is a standby host for are kept (sealed to its key). */
  readonly standbyGrants: HostedUserStore;
  /** Argon2id limits for keystores created or opened here (cheap ones in the simulator). */
  readonly kdf?: KdfLimits;
  /** Fault injection for scenarios: a notification delivered but not yet acknowledged when the node dies. */
  readonly faults?: { crashBeforeReceipt?: () => boolean };
  /** The mail gateway's listeners (none in simulations). */
  readonly mail?: MailGatewayOptions;
  /** On an MX node: the hosted user inbound Internet mail is stored and notified under. */
  readonly gatewayUser?: string;
  /** A gateway node: also a member of the global ring, carrying requests between organisations. */
  readonly gateway?: boolean;
  /** How long a failed local store answers UNAVAILABLE before the supervisor reopens it (STORE_FAILED_HOLD_MS). */
  readonly storeFailedHoldMs?: number;
}

export interface RestartReport {
  readonly child: string;
  readonly error: string;
  readonly recent: number;
}

export class PostNode {
  readonly id: string;
  /** The running router, whichever object the supervisor started last. */
  readonly router: RouterHandle;
  /** Sending, and the users registered to receive; the running notifier service serves them. */
  readonly notifier: Notifier;
  readonly logWriters: LogWriterHost;
  readonly users: UserHost;
  /** The users this node stands in for when their home node is gone (issue 13). */
  readonly standby: StandbyHost;
  readonly mailbox: PostMailbox;
  /** The local database as the actors use it (UNAVAILABLE while the store actor is not open). */
  readonly store: StoreBinding;
  /** On a gateway node: its membership of the global ring and the requests it carries. */
  readonly gateway: GatewayService | undefined;
  readonly restarts$ = new Subject<RestartReport>();
  readonly metrics: Metrics;
  /** Emits once if the supervisor escalates (a child crashed beyond its restart intensity). */
  readonly failed$ = new Subject<Error>();
  private supervisor: Actor<typeof supervisorMachine> | undefined;
  private readonly subscriptions: Subscription[] = [];
  private readonly log: Log;
  private readonly control: ControlService | undefined;
  private readonly routerChild: Supervised<RouterService>;
  private readonly replicaChild: Supervised<ReplicaManagerService>;
  private readonly notifierChild: Supervised<NotifierService>;
  private readonly mailChild: Supervised<MailGatewayService>;
  private readonly globalChild: Supervised<RouterService> | undefined;

  constructor(private readonly c: DependencyContainer) {
    const identity = c.resolve<NodeIdentity>(Tokens.Identity);
    this.id = identity.cert.nodeId;
    this.metrics = c.resolve(Metrics);
    this.store = c.resolve(StoreBinding);
    this.routerChild = c.resolve(Tokens.RouterChild);
    this.router = c.resolve(RouterHandle);
    this.replicaChild = c.resolve(Tokens.ReplicaManagerChild);
    this.notifierChild = c.resolve(Tokens.NotifierChild);
    this.notifier = c.resolve(Notifier);
    this.logWriters = c.resolve(LogWriterHost);
    this.users = c.resolve(UserHost);
    this.standby = c.resolve(StandbyHost);
    this.mailbox = c.resolve(PostMailbox);
    this.mailChild = c.resolve(Tokens.MailGatewayChild);
    this.gateway = c.resolve<NodeOptions>(Tokens.Options).gateway ? c.resolve(GatewayService) : undefined;
    this.globalChild = this.gateway ? c.resolve(Tokens.GlobalRouterChild) : undefined;
    this.log = c.resolve<Log>(Tokens.Log);
    const options = c.resolve<NodeOptions>(Tokens.Options);
    this.control = options.control ? c.resolve(ControlService) : undefined;
  }

  private get transport(): Transport {
    return this.c.resolve<Transport>(Tokens.Transport);
  }

  /** The running replica manager (a fresh object after each restart). */
  get replicas(): ReplicaManagerService {
    return this.replicaChild.current;
  }

  /** The running mail gateway (a fresh object after each restart). */
  get mail(): MailGatewayService {
    return this.mailChild.current;
  }

  /** The running service object of a supervised child: a restart builds a new one (tests compare them). */
  service(child: 'router' | 'replicaManager' | 'notifier' | 'mailGateway'): object {
    return { router: this.routerChild, replicaManager: this.replicaChild, notifier: this.notifierChild, mailGateway: this.mailChild }[child].current as object;
  }

  start(): this {
    const options = this.c.resolve<NodeOptions>(Tokens.Options);
    const clock = this.c.resolve<Clock>(Tokens.Clock);
    // A child's logic() builds its fresh service (a restart) before the supervisor spawns it; attach
    // binds that service to the actor right after.
    // The supervisor spawns each child by id from its spec: the ref it reports is of that child's
    // machine, which the spec's logic() built (the one cast from the untyped ref is here).
    const refOf = <S extends { attach(ref: never): void }>(ref: AnyActorRef) => ref as Parameters<S['attach']>[0];
    const attach: Record<string, (ref: AnyActorRef) => void> = {
      transport: (ref) => this.bindTransport(ref),
      store: (ref) => this.store.attach(refOf<typeof this.store>(ref)),
      router: (ref) => this.routerChild.current.attach(refOf<RouterService>(ref)),
      replicaManager: (ref) => this.replicaChild.current.attach(refOf<ReplicaManagerService>(ref)),
      notifier: (ref) => this.notifierChild.current.attach(refOf<NotifierService>(ref)),
      logWriter: (ref) => this.logWriters.attach(ref),
      mailGateway: (ref) => this.mailChild.current.attach(refOf<typeof this.mailChild.current>(ref)),
      globalRouter: (ref) => this.gateway?.globalRouter.current.attach(refOf<RouterService>(ref)),
    };
    const started = <S>(child: Supervised<S>, adopt?: (service: S) => void): S => {
      const service = child.start();
      adopt?.(service);
      return service;
    };
    const children: ChildSpec[] = [
      { id: 'transport', logic: () => transportMachine },
      { id: 'store', logic: () => this.store.logic(), input: this.store.input },
      { id: 'router', logic: () => started(this.routerChild, (r) => this.router.adopt(r)).logic(), input: this.routerChild.current.input },
      { id: 'replicaManager', logic: () => started(this.replicaChild).logic(), input: this.replicaChild.current.input },
      { id: 'notifier', logic: () => started(this.notifierChild, (n) => this.notifier.adopt(n)).logic() },
      { id: 'logWriter', logic: () => this.logWriters.logic() },
      { id: 'mailGateway', logic: () => started(this.mailChild).logic() },
      ...(this.gateway
        ? [{ id: 'globalRouter', logic: () => started(this.globalChild!, (r) => this.gateway!.globalRouter.adopt(r)).logic(), input: this.gateway.globalRouter.current.input }]
        : []),
    ];
    const machine = supervisorMachine.provide({
      actions: {
        childStarted: (_, p) => attach[p.id]?.(p.ref),
        reportRestart: (_, p) => {
          const error = p.error instanceof Error ? p.error.message : String(p.error);
          this.log.warn('supervisor.restart', { child: p.id, error, recent: p.recent });
          this.restarts$.next({ child: p.id, error, recent: p.recent });
          this.metrics.inc('post_supervisor_restarts_total', 'Child actors restarted by the node supervisor', { child: p.id });
        },
        reportEscalation: (_, p) => this.log.error('supervisor.escalate', { child: p.id, error: String((p.error as Error)?.message ?? p.error) }),
      },
    });
    this.supervisor = createActor(machine, { input: { children }, clock, inspect: options.inspect, systemId: 'node' });
    const fail = (e: Error) => {
      this.log.error('node.failed', { error: e.message });
      this.failed$.next(e);
    };
    this.supervisor.subscribe({
      error: (e) => fail(e as Error),
      complete: () => {
        const escalation = this.supervisor?.getSnapshot().output?.escalation;
        if (escalation) fail(new EscalationError(escalation.child, new Error(escalation.error)));
      },
    });
    this.supervisor.start();
    this.control?.start();
    this.gateway?.start();
    void this.users.start().catch((e: Error) => this.log.error('user.host.failed', { error: e.message }));
    void this.standby.start().catch((e: Error) => this.log.error('standby.failed', { error: e.message }));
    return this;
  }

  private bindTransport(ref: AnyActorRef): void {
    this.subscriptions.push(this.transport.status$.subscribe((status) => ref.send({ type: 'STATUS', status })));
  }

  /** The supervisor's live snapshot: its children and their states. */
  get supervisorSnapshot() {
    return this.supervisor?.getSnapshot();
  }

  /**
   * Fault injection: `child` fails as a programming error would (the router at its next effect, the
   * others at once), and the supervisor restarts it.
   */
  injectCrash(child: SupervisedChild): void {
    if (child === 'router') return this.router.injectCrash();
    if (child === 'globalRouter') return this.gateway?.globalRouter.injectCrash();
    const ref = childOf(this.supervisor, child);
    if (ref?.getSnapshot().status === 'active') ref.send({ type: 'CRASH' });
  }

  /** Resolves when the router is ready; rejects if it fails or the deadline passes. */
  whenReady(timeoutMs: number): Promise<void> {
    const clock = this.c.resolve<Clock>(Tokens.Clock);
    return new Promise((resolve, reject) => {
      const check = () => {
        const s = this.router.state;
        if (s === 'ready') return done(() => resolve());
        if (s === 'failed') return done(() => reject(new Error(this.router.status().failure?.reason ?? 'router failed')));
      };
      const sub = this.router.stateChanges$.subscribe(check);
      const timer = clock.setTimeout(() => done(() => reject(new Error(`node ${this.id.slice(0, 12)} not ready after ${timeoutMs} ms`))), timeoutMs);
      const done = (f: () => void) => {
        sub.unsubscribe();
        clock.clearTimeout(timer);
        f();
      };
      check();
    });
  }

  status() {
    const identity = this.c.resolve<NodeIdentity>(Tokens.Identity);
    const snap = this.supervisor?.getSnapshot();
    return {
      id: this.id,
      org: identity.trust.org,
      ringId: identity.trust.ringId,
      replicationFactor: identity.replicationFactor,
      ...this.router.status(),
      store: { state: this.store.state },
      actors: snap ? Object.fromEntries(Object.entries(snap.children).map(([id, ref]) => [id, describeState(ref as AnyActorRef)])) : {},
      restarts: snap?.context.restartsTotal ?? {},
      ...this.replicas.totals(),
      signingKey: Buffer.from(identity.cert.signingKey).toString('hex'),
      users: this.users.status(),
      standby: this.standby.status(),
      logs: this.logWriters.openLogs(),
      mail: this.mail.endpoints(),
      ...(this.gateway ? { global: { state: this.gateway.globalRouter.state, leafSet: this.gateway.globalRouter.leafSet() } } : {}),
    };
  }

  /** Stop children in reverse start order, then close the adapters. */
  async stop(): Promise<void> {
    this.control?.stop();
    this.gateway?.stop();
    this.gateway?.globalRouter.current.detach();
    await this.mail.close();
    this.mailbox.close();
    this.standby.stop();
    this.users.stop();
    this.replicas.detach();
    if (this.supervisor?.getSnapshot().status === 'active') this.supervisor.send({ type: 'STOP' });
    this.router.current.detach();
    for (const s of this.subscriptions.splice(0)) s.unsubscribe();
    await this.transport.close();
    await this.store.close();
  }
}

function describeState(ref: AnyActorRef | undefined): unknown {
  const s = ref?.getSnapshot();
  return s ? { status: s.status, value: s.value } : undefined;
}

/** Build a node from its adapters and identity: the one place concrete services are chosen. */
export function createNode(adapters: NodeAdapters, identity: NodeIdentity, options: NodeOptions): PostNode {
  const c = rootContainer.createChildContainer();
  // Requests to this node's own direct subject (it is one of the replicas it writes to) stay in-process.
  const ownSubject = subjects.node(identity.trust.ringId, identity.cert.nodeId);
  const transport = new LocalLoopTransport(adapters.transport, (subject) => subject === ownSubject, adapters.clock, adapters.log);
  c.register(Tokens.Transport, { useValue: transport });
  c.register(Tokens.Clock, { useValue: adapters.clock });
  c.register(Tokens.Random, { useValue: adapters.random });
  const log = adapters.log.child({ node: identity.cert.nodeId.slice(0, 12) });
  c.register(Tokens.Log, { useValue: log });
  c.register(Tokens.Identity, { useValue: identity });
  const store = new StoreBinding({ store: adapters.store, reopen: adapters.reopenStore, log, holdMs: options.storeFailedHoldMs });
  c.register(StoreBinding, { useValue: store });
  c.register(Tokens.Store, { useValue: store });
  c.register(Tokens.Options, { useValue: options });
  const metrics = new Metrics();
  c.register(Metrics, { useValue: metrics });
  c.register(LogWriterHost, { useValue: new LogWriterHost(adapters.log.child({ node: identity.cert.nodeId.slice(0, 12), actor: 'logWriter' })) });
  const storageTimings = options.storageTimings ?? STORAGE_TIMINGS;

  // ---- the router child: a fresh RouterService each start (a new epoch for its message ids) ----
  c.register(Tokens.RouterChild, {
    useFactory: instanceCachingFactory(
      (d) =>
        new Supervised<RouterService>('router', {
          build: () =>
            new RouterService({
              transport,
              clock: adapters.clock,
              log,
              ringId: identity.trust.ringId,
              verifyPeer: (cert, nowMs) => verifyNodeCertificateSync(cert, identity.trust, nowMs),
              cert: identity.cert,
              signingSecretKey: identity.signingSecretKey,
              timings: options.timings,
              leafHalf: options.leafHalf,
              epoch: Buffer.from(adapters.random.bytes(6)).toString('base64url'),
              metrics: d.resolve(Metrics),
            }),
          retire: (old) => old.retire(),
        }),
    ),
  });
  c.register(RouterHandle, { useFactory: instanceCachingFactory((d) => new RouterHandle(d.resolve<Supervised<RouterService>>(Tokens.RouterChild).current)) });

  // ---- the replicaManager child: fresh handlers, passes and subscriptions each start ----
  c.register(Tokens.ReplicaManagerChild, {
    useFactory: instanceCachingFactory(
      (d) =>
        new Supervised<ReplicaManagerService>('replicaManager', {
          build: () =>
            new ReplicaManagerService({
              transport,
              clock: adapters.clock,
              log,
              metrics: d.resolve(Metrics),
              router: d.resolve(RouterHandle),
              trust: identity.trust,
              store,
              nodeSigner: nodeSigner(identity),
              replicationFactor: identity.replicationFactor,
              convergenceSecret: identity.convergenceSecret,
              timings: options.storageTimings,
              quotaBytes: options.quotaBytes,
            }),
          retire: (old) => old.detach(),
        }),
    ),
  });
  const replicas = () => c.resolve<Supervised<ReplicaManagerService>>(Tokens.ReplicaManagerChild).current;
  // The ring's storage as the other actors use it: a client holds no state, and finds replicas through
  // whichever replica manager runs.
  const peers = new Peers(transport, identity.trust.ringId);
  const clientFor = (signer: StorageSigner) =>
    new StorageClient(
      {
        peers,
        clock: adapters.clock,
        timings: storageTimings,
        replicationFactor: identity.replicationFactor,
        convergenceSecret: identity.convergenceSecret,
        locate: (id, extra) => replicas().locate(id, extra),
        selfId: identity.cert.nodeId,
        ...(adapters.blockCache ? { blockCache: adapters.blockCache } : {}),
        readOwnBlock: async (id) => (await store.getBlock(id))?.bytes,
        observe: (op, ok, ms) => metrics.observe('post_storage_client_ms', 'Replicated reads and writes this node made, by operation and outcome', ms, { op, outcome: ok ? 'ok' : 'failed' }),
      },
      signer,
    );
  const nodeStorage = clientFor(nodeSigner(identity));
  const storageFor = (user: UnlockedUser) => new FederatedStorage(clientFor(userSigner(user)), c.resolve(Federation));

  c.register(Federation, {
    useValue: new Federation({ transport, log: adapters.log, own: identity.trust, federated: identity.federated ?? [] }),
  });

  // ---- the notifier child: fresh inboxes (subscriptions, queues) and drop handlers each start ----
  const notifierDeps = (federation: Federation) => ({
    transport,
    peers,
    clock: adapters.clock,
    random: adapters.random,
    log,
    metrics,
    ringId: identity.trust.ringId,
    trusted: () => federation.trusted(),
    replicationFactor: identity.replicationFactor,
    timings: storageTimings,
    locate: (id: string, extra: number) => replicas().locate(id, extra),
    faults: options.faults,
    foreignDropPut: async (recipient: UserCertificate, dropId: string, envelope: Envelope) => {
      const ring = federation.ringOf(recipient.ringId);
      if (!ring) throw new PostError(ErrorCodes.NOT_AUTHORISED, `${recipient.address}: ${recipient.org} is not federated with ${identity.trust.org}`);
      await federation.dropPut(ring, dropId, envelope);
    },
  });
  c.register(Notifier, {
    useFactory: instanceCachingFactory((d) => {
      const federation = d.resolve(Federation);
      return new Notifier(notifierDeps(federation));
    }),
  });
  c.register(Tokens.NotifierChild, {
    useFactory: instanceCachingFactory((d) => {
      const federation = d.resolve(Federation);
      const router = d.resolve(RouterHandle);
      return new Supervised<NotifierService>('notifier', {
        build: () => {
          // The replica side of inbox drops belongs to the notifier: a fresh one with each start.
          const service = new NotifierService(notifierDeps(federation));
          const drops = new DropHandlers({
            store: () => store,
            trusted: () => federation.trusted(),
            ringId: identity.trust.ringId,
            clock: adapters.clock,
            log,
            metrics,
            publish: (subject, bytes) => publishQuietly(transport, subject, bytes, log),
            onBug: () => service.crash(),
          });
          router.registerFrames('notify.', (frame, msg) => drops.handle(frame, msg));
          return service;
        },
        retire: (old) => old.retire(),
      });
    }),
  });
  c.register(LoginCache, {
    useFactory: instanceCachingFactory(() => new LoginCache({ storage: nodeStorage, trust: identity.trust, clock: adapters.clock, random: adapters.random })),
  });
  c.register(PostMailbox, {
    useFactory: instanceCachingFactory((d) => {
      return new PostMailbox({
        logins: d.resolve(LoginCache),
        storage: nodeStorage,
        storageFor,
        trust: identity.trust,
        clock: adapters.clock,
        random: adapters.random,
        headWatch: new TransportHeadWatch(transport, identity.trust.ringId, d.resolve<Log>(Tokens.Log)),
        logRegistry: d.resolve(LogWriterHost),
        log: d.resolve<Log>(Tokens.Log).child({ actor: 'mailGateway' }),
        mailQuotaBytes: identity.mailQuotaBytesPerUser ?? MAIL_QUOTA_BYTES_PER_USER_DEFAULT,
        // A user active here but hosted elsewhere gets their mail delivered here too (issue 13).
        hosts: (address) => d.resolve(UserHost).users.has(address),
        presence: { opened: (user) => d.resolve(UserHost).visit(user), released: (address) => d.resolve(UserHost).leave(address) },
      });
    }),
  });
  c.register(UserHost, {
    useFactory: instanceCachingFactory((d) => {
      const router = d.resolve(RouterHandle);
      const mailbox = d.resolve(PostMailbox);
      return new UserHost({
        nodeSigningSecretKey: identity.signingSecretKey,
        trust: identity.trust,
        clock: adapters.clock,
        random: adapters.random,
        log: d.resolve<Log>(Tokens.Log),
        store: options.hostedUsers,
        notifier: d.resolve(Notifier),
        nodeStorage,
        storageFor,
        headWatch: new TransportHeadWatch(transport, identity.trust.ringId, d.resolve<Log>(Tokens.Log)),
        mailbox: () => mailbox,
        logRegistry: d.resolve(LogWriterHost),
        ringReady: () => router.state === 'ready',
        refreshIntervalMs: storageTimings.refreshIntervalMs,
        directory: new Directory({ storage: nodeStorage, trust: identity.trust, clock: adapters.clock, federation: d.resolve(Federation) }),
      });
    }),
  });
  c.register(StandbyHost, {
    useFactory: instanceCachingFactory((d) => {
      const router = d.resolve(RouterHandle);
      return new StandbyHost({
        nodeId: identity.cert.nodeId,
        nodeSigningSecretKey: identity.signingSecretKey,
        trust: identity.trust,
        clock: adapters.clock,
        log: d.resolve<Log>(Tokens.Log),
        store: options.standbyGrants,
        nodeStorage,
        overlay: { ready: () => router.state === 'ready', leafSet: () => router.leafSet(), covers: (id) => router.knowsReplicas(id, 1), changes$: router.stateChanges$ },
        heartbeatIntervalMs: router.current.input.timings.heartbeatIntervalMs,
        users: d.resolve(UserHost),
        mailbox: d.resolve(PostMailbox),
      });
    }),
  });

  // ---- the mailGateway child: fresh listeners each start; the login guard and rate outlive it ----
  c.register(Tokens.MailGatewayChild, {
    useFactory: instanceCachingFactory((d) => {
      const users = d.resolve(UserHost);
      const submission = new PostSubmission({
        trust: identity.trust,
        clock: adapters.clock,
        log: d.resolve<Log>(Tokens.Log),
        nodeStorage,
        logins: d.resolve(LoginCache),
        visit: (record) => d.resolve(PostMailbox).visit(record),
        directory: users.directory,
        isFederated: (domain) => d.resolve(Federation).orgOf(domain) !== undefined,
        appFor: (user) => users.appFor(user),
        gatewayUser: options.gatewayUser ? () => users.users.get(options.gatewayUser!.toLowerCase())?.user : undefined,
      });
      const mail = options.mail ?? {};
      const deps: MailGatewayDeps = {
        authenticator: d.resolve(PostMailbox).authenticator,
        submission,
        clock: adapters.clock,
        log: d.resolve<Log>(Tokens.Log),
        metrics: d.resolve(Metrics),
        accountOf: (username) => normaliseAddress(username, identity.trust.org),
        observer: metricsObserver(d.resolve(Metrics)),
      };
      const first = new MailGatewayService(deps, mail);
      let closing: Promise<void> | undefined;
      return new Supervised<MailGatewayService>('mailGateway', {
        // The login guard and submission rate are security bounds, not the gateway's working state: a
        // client that could crash the gateway must not reset its own throttle by doing so.
        build: () =>
          closing === undefined
            ? first
            : new MailGatewayService({ ...deps, loginGuard: first.loginGuard, senderRate: first.senderRate, predecessorClosed: closing }, mail),
        retire: (old) => {
          closing = old.close('Server restarting; reconnect in a moment');
        },
      });
    }),
  });
  // ---- on a gateway, the globalRouter child: the same node id in the global ring, whose members are
  // the gateways of every federated organisation; a fresh RouterService each start ----
  const globalTransport = adapters.globalTransport ?? transport;
  c.register(Tokens.GlobalRouterChild, {
    useFactory: instanceCachingFactory((d) => {
      const federation = d.resolve(Federation);
      const trusted = () => federation.trusted();
      const globalMetrics = new Metrics();
      return new Supervised<RouterService>('globalRouter', {
        build: () =>
          new RouterService({
            transport: globalTransport,
            clock: adapters.clock,
            log: d.resolve(Tokens.Log),
            ringId: GLOBAL_RING_ID,
            verifyPeer: (cert, nowMs) => {
              const trust = trusted().find((t) => t.ringId === cert.ringId && t.org === cert.org);
              return trust ? verifyNodeCertificateSync(cert, trust, nowMs) : { ok: false, code: ErrorCodes.WRONG_RING, reason: `${cert.org} is not a federated organisation` };
            },
            cert: identity.cert,
            signingSecretKey: identity.signingSecretKey,
            timings: options.timings,
            leafHalf: options.leafHalf,
            epoch: Buffer.from(adapters.random.bytes(6)).toString('base64url'),
            metrics: globalMetrics,
          }),
        retire: (old) => old.retire(),
      });
    }),
  });
  c.register(GatewayService, {
    useFactory: instanceCachingFactory((d) => {
      const globalRouter = new RouterHandle(d.resolve<Supervised<RouterService>>(Tokens.GlobalRouterChild).current);
      const notifier = d.resolve(Notifier);
      return new GatewayService({
        transport: transport,
        globalTransport,
        log: d.resolve(Tokens.Log),
        metrics: d.resolve(Metrics),
        own: identity.trust,
        federated: () => identity.federated ?? [],
        globalRouter,
        storage: nodeStorage,
        storeEnvelope: (dropId, envelope) => notifier.storeEnvelope(dropId, envelope),
      });
    }),
  });
  c.register(ControlService, {
    useFactory: instanceCachingFactory(
      (d) =>
        new ControlService({
          transport: d.resolve(Tokens.Transport),
          clock: d.resolve(Tokens.Clock),
          log: d.resolve(Tokens.Log),
          trust: identity.trust,
          nodeId: identity.cert.nodeId,
          node: () => node,
          metrics: d.resolve(Metrics),
          nodeSigner: nodeSigner(identity),
        }),
    ),
  });
  const node = new PostNode(c);
  return node;
}

/** This node as an inserting member of the ring. */
function nodeSigner(identity: NodeIdentity): StorageSigner {
  return { member: { type: 'node', cert: identity.cert }, secretKey: identity.signingSecretKey, id: identity.cert.nodeId };
}

/** A user as an inserting member of the ring: its certificate and signing key. */
function userSigner(user: UnlockedUser) {
  return { member: { type: 'user' as const, cert: user.certificate }, secretKey: user.signing.secretKey, id: userIdOf(user.address) };
}
