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
// Children start in this order and stop in reverse.
import 'reflect-metadata';
import { Subject, type Subscription } from 'rxjs';
import { container as rootContainer, type DependencyContainer, instanceCachingFactory } from 'tsyringe';
import { type Actor, type AnyActorRef, createActor, type InspectionEvent } from 'xstate';
import { type RingTrust, verifyNodeCertificateSync } from '../crypto/certificates';
import { type Clock, type Log, publishQuietly, type Random, type Transport } from '../infra/ports';
import { type ChildSpec, EscalationError, supervisorMachine } from '../machines/supervisor.machine';
import { childOf } from '../machines/host';
import { transportMachine } from '../machines/transport.machine';
import type { NodeCertificate } from '../protocol/identity';
import { MAIL_QUOTA_BYTES_PER_USER_DEFAULT, type OverlayTimings } from '../protocol/limits';
import type { LocalStore } from '../infra/store/port';
import { storeMachine } from '../machines/store.machine';
import type { StorageTimings } from '../protocol/limits';
import { ControlService } from './control';
import { ReplicaManagerService } from './storage/replicaManager';
import { type HostedUserStore, MemoryHostedUsers } from '../infra/files/hostedUsers';
import type { KdfLimits } from '../crypto/keystore';
import type { StorageSigner } from '../crypto/insertAuth';
import { PostMailbox } from './mail/postMailbox';
import { DropHandlers } from './notify/dropHandlers';
import { Notifier } from './notify/notifier';
import { TransportHeadWatch } from './users/natsHeadWatch';
import { Directory, UserHost } from './users/userHost';
import { StandbyHost } from './users/standbyHost';
import { LoginCache } from './users/logins';
import { LogWriterHost } from './users/logWriterHost';
import { MailGatewayService, type MailGatewayOptions } from './mail/mailGateway';
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
} as const;

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
  readonly hostedUsers?: HostedUserStore;
  /** Where the grants of the users this node is a standby host for are kept (sealed to its key). */
  readonly standbyGrants?: HostedUserStore;
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
}

export interface RestartReport {
  readonly child: string;
  readonly error: string;
  readonly recent: number;
}

export class PostNode {
  readonly id: string;
  readonly router: RouterService;
  readonly replicas: ReplicaManagerService;
  readonly notifier: Notifier;
  readonly logWriters: LogWriterHost;
  readonly users: UserHost;
  /** The users this node stands in for when their home node is gone (issue 13). */
  readonly standby: StandbyHost;
  readonly mailbox: PostMailbox;
  readonly mail: MailGatewayService;
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

  constructor(private readonly c: DependencyContainer) {
    const identity = c.resolve<NodeIdentity>(Tokens.Identity);
    this.id = identity.cert.nodeId;
    this.metrics = c.resolve(Metrics);
    this.router = c.resolve(RouterService);
    this.replicas = c.resolve(ReplicaManagerService);
    this.notifier = c.resolve(Notifier);
    this.logWriters = c.resolve(LogWriterHost);
    this.users = c.resolve(UserHost);
    this.standby = c.resolve(StandbyHost);
    this.mailbox = c.resolve(PostMailbox);
    this.mail = c.resolve(MailGatewayService);
    this.gateway = c.resolve<NodeOptions>(Tokens.Options).gateway ? c.resolve(GatewayService) : undefined;
    this.log = c.resolve<Log>(Tokens.Log);
    const options = c.resolve<NodeOptions>(Tokens.Options);
    this.control = options.control ? c.resolve(ControlService) : undefined;
  }

  private get transport(): Transport {
    return this.c.resolve<Transport>(Tokens.Transport);
  }

  start(): this {
    const options = this.c.resolve<NodeOptions>(Tokens.Options);
    const clock = this.c.resolve<Clock>(Tokens.Clock);
    const attach: Record<string, (ref: AnyActorRef) => void> = {
      transport: (ref) => this.bindTransport(ref),
      store: (ref) => ref.send({ type: 'OPENED' }),
      router: (ref) => this.router.attach(ref as any),
      replicaManager: (ref) => this.replicas.attach(ref as any),
      notifier: (ref) => this.notifier.attach(ref as any),
      logWriter: (ref) => this.logWriters.attach(ref),
      mailGateway: (ref) => this.mail.attach(ref as any),
      globalRouter: (ref) => this.gateway?.globalRouter.attach(ref as any),
    };
    const children: ChildSpec[] = [
      { id: 'transport', logic: () => transportMachine },
      { id: 'store', logic: () => storeMachine },
      { id: 'router', logic: () => this.router.logic(), input: this.router.input },
      { id: 'replicaManager', logic: () => this.replicas.logic(), input: this.replicas.input },
      { id: 'notifier', logic: () => this.notifier.logic() },
      { id: 'logWriter', logic: () => this.logWriters.logic() },
      { id: 'mailGateway', logic: () => this.mail.logic() },
      ...(this.gateway ? [{ id: 'globalRouter', logic: () => this.gateway!.globalRouter.logic(), input: this.gateway.globalRouter.input }] : []),
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
    this.supervisor = createActor(machine, { input: { children }, clock, inspect: options.inspect, systemId: 'node' } as any);
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
   * notifier and logWriter at once), and the supervisor restarts it.
   */
  injectCrash(child: CrashableActor): void {
    if (child === 'router') return this.router.injectCrash();
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
    this.gateway?.globalRouter.detach();
    await this.mail.close();
    this.mailbox.close();
    this.standby.stop();
    this.users.stop();
    this.replicas.detach();
    if (this.supervisor?.getSnapshot().status === 'active') this.supervisor.send({ type: 'STOP' });
    this.router.detach();
    for (const s of this.subscriptions.splice(0)) s.unsubscribe();
    await this.transport.close();
    await this.c.resolve<LocalStore>(Tokens.Store).close();
  }
}

function describeState(ref: AnyActorRef | undefined): unknown {
  const s = ref?.getSnapshot();
  return s ? { status: s.status, value: s.value } : undefined;
}

/** Build a node from its adapters and identity: the one place concrete services are chosen. */
export function createNode(adapters: NodeAdapters, identity: NodeIdentity, options: NodeOptions = {}): PostNode {
  const c = rootContainer.createChildContainer();
  // Requests to this node's own direct subject (it is one of the replicas it writes to) stay in-process.
  const ownSubject = subjects.node(identity.trust.ringId, identity.cert.nodeId);
  const transport = new LocalLoopTransport(adapters.transport, (subject) => subject === ownSubject, adapters.clock, adapters.log);
  c.register(Tokens.Transport, { useValue: transport });
  c.register(Tokens.Clock, { useValue: adapters.clock });
  c.register(Tokens.Random, { useValue: adapters.random });
  c.register(Tokens.Log, { useValue: adapters.log.child({ node: identity.cert.nodeId.slice(0, 12) }) });
  c.register(Tokens.Identity, { useValue: identity });
  c.register(Tokens.Store, { useValue: adapters.store });
  c.register(Tokens.Options, { useValue: options });
  c.register(Metrics, { useValue: new Metrics() });
  c.register(LogWriterHost, { useValue: new LogWriterHost(adapters.log.child({ node: identity.cert.nodeId.slice(0, 12), actor: 'logWriter' })) });
  c.register(RouterService, {
    useFactory: instanceCachingFactory(
      (d) =>
        new RouterService({
          transport: d.resolve(Tokens.Transport),
          clock: d.resolve(Tokens.Clock),
          log: d.resolve(Tokens.Log),
          ringId: identity.trust.ringId,
          verifyPeer: (cert, nowMs) => verifyNodeCertificateSync(cert, identity.trust, nowMs),
          cert: identity.cert,
          signingSecretKey: identity.signingSecretKey,
          timings: options.timings,
          leafHalf: options.leafHalf,
          epoch: Buffer.from(adapters.random.bytes(6)).toString('base64url'),
          metrics: d.resolve(Metrics),
        }),
    ),
  });
  c.register(ReplicaManagerService, {
    useFactory: instanceCachingFactory(
      (d) =>
        new ReplicaManagerService({
          transport: d.resolve(Tokens.Transport),
          clock: d.resolve(Tokens.Clock),
          log: d.resolve(Tokens.Log),
          metrics: d.resolve(Metrics),
          router: d.resolve(RouterService),
          trust: identity.trust,
          store: d.resolve(Tokens.Store),
          nodeSigner: nodeSigner(identity),
          replicationFactor: identity.replicationFactor,
          convergenceSecret: identity.convergenceSecret,
          timings: options.storageTimings,
          quotaBytes: options.quotaBytes,
        }),
    ),
  });
  c.register(Federation, {
    useValue: new Federation({ transport, log: adapters.log, own: identity.trust, federated: identity.federated ?? [] }),
  });
  c.register(Notifier, {
    useFactory: instanceCachingFactory((d) => {
      const federation = d.resolve(Federation);
      const replicas = d.resolve(ReplicaManagerService);
      const router = d.resolve(RouterService);
      const metrics = d.resolve(Metrics);
      const log = d.resolve<Log>(Tokens.Log);
      const transport = d.resolve<Transport>(Tokens.Transport);
      const drops = new DropHandlers({
        store: () => adapters.store,
        trusted: () => federation.trusted(),
        ringId: identity.trust.ringId,
        clock: adapters.clock,
        log,
        metrics,
        publish: (subject, bytes) => publishQuietly(transport, subject, bytes, log),
      });
      router.registerFrames('notify.', (frame, msg) => drops.handle(frame, msg));
      return new Notifier({
        transport,
        peers: replicas.peers,
        clock: adapters.clock,
        random: adapters.random,
        log,
        metrics,
        ringId: identity.trust.ringId,
        trusted: () => federation.trusted(),
        replicationFactor: identity.replicationFactor,
        timings: replicas.timings,
        locate: (id, extra) => replicas.locate(id, extra),
        faults: options.faults,
        foreignDropPut: async (recipient, dropId, envelope) => {
          const ring = federation.ringOf(recipient.ringId);
          if (!ring) throw new PostError(ErrorCodes.NOT_AUTHORISED, `${recipient.address}: ${recipient.org} is not federated with ${identity.trust.org}`);
          await federation.dropPut(ring, dropId, envelope);
        },
      });
    }),
  });
  c.register(LoginCache, {
    useFactory: instanceCachingFactory((d) => new LoginCache({ storage: d.resolve(ReplicaManagerService).storage, trust: identity.trust, clock: adapters.clock })),
  });
  c.register(PostMailbox, {
    useFactory: instanceCachingFactory((d) => {
      const replicas = d.resolve(ReplicaManagerService);
      return new PostMailbox({
        logins: d.resolve(LoginCache),
        storage: replicas.storage,
        storageFor: (user) => new FederatedStorage(replicas.client(userSigner(user)), d.resolve(Federation)),
        trust: identity.trust,
        clock: adapters.clock,
        random: adapters.random,
        headWatch: new TransportHeadWatch(transport, identity.trust.ringId, d.resolve<Log>(Tokens.Log)),
        logRegistry: d.resolve(LogWriterHost),
        log: d.resolve<Log>(Tokens.Log).child({ actor: 'mailGateway' }),
        mailQuotaBytes: identity.mailQuotaBytesPerUser ?? MAIL_QUOTA_BYTES_PER_USER_DEFAULT,
        // A user active here but hosted elsewhere gets their mail delivered here too (issue 13).
        presence: { opened: (user) => d.resolve(UserHost).visit(user), released: (address) => d.resolve(UserHost).leave(address) },
      });
    }),
  });
  c.register(UserHost, {
    useFactory: instanceCachingFactory((d) => {
      const replicas = d.resolve(ReplicaManagerService);
      const router = d.resolve(RouterService);
      const mailbox = d.resolve(PostMailbox);
      return new UserHost({
        nodeSigningSecretKey: identity.signingSecretKey,
        trust: identity.trust,
        clock: adapters.clock,
        random: adapters.random,
        log: d.resolve<Log>(Tokens.Log),
        store: options.hostedUsers ?? new MemoryHostedUsers(),
        notifier: d.resolve(Notifier),
        nodeStorage: replicas.storage,
        storageFor: (user) => new FederatedStorage(replicas.client(userSigner(user)), d.resolve(Federation)),
        headWatch: new TransportHeadWatch(transport, identity.trust.ringId, d.resolve<Log>(Tokens.Log)),
        mailbox: () => mailbox,
        logRegistry: d.resolve(LogWriterHost),
        ringReady: () => router.state === 'ready',
        refreshIntervalMs: replicas.timings.refreshIntervalMs,
        directory: new Directory({ storage: replicas.storage, trust: identity.trust, clock: adapters.clock, federation: d.resolve(Federation) }),
      });
    }),
  });
  c.register(StandbyHost, {
    useFactory: instanceCachingFactory((d) => {
      const router = d.resolve(RouterService);
      return new StandbyHost({
        nodeId: identity.cert.nodeId,
        nodeSigningSecretKey: identity.signingSecretKey,
        trust: identity.trust,
        clock: adapters.clock,
        log: d.resolve<Log>(Tokens.Log),
        store: options.standbyGrants ?? new MemoryHostedUsers(),
        nodeStorage: d.resolve(ReplicaManagerService).storage,
        overlay: { ready: () => router.state === 'ready', leafSet: () => router.leafSet(), covers: (id) => router.knowsReplicas(id, 1), changes$: router.stateChanges$ },
        heartbeatIntervalMs: router.input.timings.heartbeatIntervalMs,
        users: d.resolve(UserHost),
        mailbox: d.resolve(PostMailbox),
      });
    }),
  });
  c.register(MailGatewayService, {
    useFactory: instanceCachingFactory((d) => {
      const replicas = d.resolve(ReplicaManagerService);
      const users = d.resolve(UserHost);
      const submission = new PostSubmission({
        trust: identity.trust,
        clock: adapters.clock,
        log: d.resolve<Log>(Tokens.Log),
        nodeStorage: replicas.storage,
        logins: d.resolve(LoginCache),
        visit: (record) => d.resolve(PostMailbox).visit(record),
        directory: users.directory,
        isFederated: (domain) => d.resolve(Federation).orgOf(domain) !== undefined,
        appFor: (user) => users.appFor(user),
        gatewayUser: options.gatewayUser ? () => users.users.get(options.gatewayUser!.toLowerCase())?.user : undefined,
      });
      return new MailGatewayService(
        {
          authenticator: d.resolve(PostMailbox).authenticator,
          submission,
          clock: adapters.clock,
          log: d.resolve<Log>(Tokens.Log),
          metrics: d.resolve(Metrics),
          accountOf: (username) => normaliseAddress(username, identity.trust.org),
          observer: metricsObserver(d.resolve(Metrics)),
        },
        options.mail ?? {},
      );
    }),
  });
  c.register(GatewayService, {
    useFactory: instanceCachingFactory((d) => {
      const federation = d.resolve(Federation);
      const trusted = () => federation.trusted();
      // The same node id in the global ring, whose members are the gateways of every federated organisation.
      const globalTransport = adapters.globalTransport ?? transport;
      const globalRouter = new RouterService({
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
        metrics: new Metrics(),
      });
      const replicas = d.resolve(ReplicaManagerService);
      const notifier = d.resolve(Notifier);
      return new GatewayService({
        transport: transport,
        globalTransport,
        log: d.resolve(Tokens.Log),
        metrics: d.resolve(Metrics),
        own: identity.trust,
        federated: () => identity.federated ?? [],
        globalRouter,
        storage: replicas.storage,
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
