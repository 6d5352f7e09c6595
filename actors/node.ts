// One node: picks nothing itself (adapters come in); createNode wires its services in a tsyringe child
// container (the registration groups of actors/composition.ts), and PostNode runs them as children of
// one XState supervisor:
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
import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import { type Actor, type AnyActorRef, createActor, type InspectionEvent } from 'xstate';
import type { RingTrust } from '../crypto/certificates';
import type { KdfLimits } from '../crypto/keystore';
import type { HostedUserStore } from '../infra/files/hostedUsers';
import type { Clock, Log, Random, Transport } from '../infra/ports';
import type { BlockCache } from '../infra/store/blockCache';
import type { LocalStore } from '../infra/store/port';
import { type ChildSpec, EscalationError, supervisorMachine } from '../machines/supervisor.machine';
import { transportMachine } from '../machines/transport.machine';
import type { CrashableActor } from '../protocol/control';
import type { NodeCertificate } from '../protocol/identity';
import type { OverlayTimings, StorageTimings } from '../protocol/limits';
import {
  get,
  registerAdapters,
  registerControl,
  registerGateway,
  registerMailGateway,
  registerNotifier,
  registerRouter,
  registerStorage,
  registerUsers,
  Tokens,
} from './composition';
import { ControlService } from './control';
import { GatewayService } from './federation/gateway';
import { StoreBinding } from './localStore';
import type { MailGatewayOptions, MailGatewayService } from './mail/mailGateway';
import { PostMailbox } from './mail/postMailbox';
import { Metrics } from './metrics';
import { Notifier, type NotifierService } from './notify/notifier';
import type { RouterService } from './router';
import { RouterHandle } from './routerHandle';
import type { ReplicaManagerService } from './storage/replicaManager';
import type { Supervised } from './supervised';
import { LogWriterHost } from './users/logWriterHost';
import { StandbyHost } from './users/standbyHost';
import { UserHost } from './users/userHost';


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
    const identity = get(c, Tokens.Identity);
    this.id = identity.cert.nodeId;
    this.metrics = get(c, Metrics);
    this.store = get(c, StoreBinding);
    this.routerChild = get(c, Tokens.RouterChild);
    this.router = get(c, RouterHandle);
    this.replicaChild = get(c, Tokens.ReplicaManagerChild);
    this.notifierChild = get(c, Tokens.NotifierChild);
    this.notifier = get(c, Notifier);
    this.logWriters = get(c, LogWriterHost);
    this.users = get(c, UserHost);
    this.standby = get(c, StandbyHost);
    this.mailbox = get(c, PostMailbox);
    this.mailChild = get(c, Tokens.MailGatewayChild);
    this.gateway = get(c, Tokens.Options).gateway ? get(c, GatewayService) : undefined;
    this.globalChild = this.gateway ? get(c, Tokens.GlobalRouterChild) : undefined;
    this.log = get(c, Tokens.Log);
    const options = get(c, Tokens.Options);
    this.control = options.control ? get(c, ControlService) : undefined;
  }

  private get transport(): Transport {
    return get(this.c, Tokens.Transport);
  }

  /** The running replica manager (a fresh object after each restart). */
  get replicas(): ReplicaManagerService {
    return this.replicaChild.current;
  }

  /** The running mail gateway (a fresh object after each restart). */
  get mail(): MailGatewayService {
    return this.mailChild.current;
  }

  /** The actors a supervised child's service runs beside it (the notifier's inboxes), for the actor tree. */
  ownedActors(child: string): Record<string, AnyActorRef> {
    return child === 'notifier' ? this.notifierChild.current.actors() : {};
  }

  /** The running service object of a supervised child: a restart builds a new one (tests compare them). */
  service(child: 'router' | 'replicaManager' | 'notifier' | 'mailGateway'): object {
    return { router: this.routerChild, replicaManager: this.replicaChild, notifier: this.notifierChild, mailGateway: this.mailChild }[child].current as object;
  }

  start(): this {
    const options = get(this.c, Tokens.Options);
    const clock = get(this.c, Tokens.Clock);
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
        // The notifier's inboxes are root actors its service owns: they stop with it (escalation, STOP).
        childStopped: (_, p) => {
          if (p.id === 'notifier') this.notifierChild.stop();
        },
        reportRestart: (_, p) => {
          const error = p.error instanceof Error ? p.error.message : String(p.error);
          this.log.warn('supervisor.restart', { child: p.id, error, recent: p.recent });
          if (p.orphans.length > 0) this.log.error('supervisor.orphans', { child: p.id, left: p.orphans });
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
    const ref = (this.supervisor?.getSnapshot().children as Record<string, AnyActorRef | undefined> | undefined)?.[child];
    if (ref?.getSnapshot().status === 'active') ref.send({ type: 'CRASH' });
  }

  /** Resolves when the router is ready; rejects if it fails or the deadline passes. */
  whenReady(timeoutMs: number): Promise<void> {
    const clock = get(this.c, Tokens.Clock);
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
    const identity = get(this.c, Tokens.Identity);
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

/**
 * Build a node from its adapters and identity: the one place concrete services are chosen, in one
 * tsyringe child container per node (actors/composition.ts says what the container is for).
 */
export function createNode(adapters: NodeAdapters, identity: NodeIdentity, options: NodeOptions): PostNode {
  const c = rootContainer.createChildContainer();
  registerAdapters(c, adapters, identity, options);
  registerRouter(c);
  registerStorage(c);
  registerNotifier(c);
  registerUsers(c);
  registerMailGateway(c);
  registerGateway(c);
  registerControl(c, () => node);
  const node = new PostNode(c);
  return node;
}
