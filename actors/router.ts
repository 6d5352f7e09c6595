// The router actor: binds the pure router machine to the transport. It owns the node's direct
// subscription (and the join/discover subjects while they apply), validates and authenticates every
// incoming frame before it becomes a machine event (actors/overlayChannel.ts: the sender's
// certificate, MAC or signature, freshness), performs the machine's effects, and offers the other
// actors `route`, `replicaSet` and the `membership$` stream. A frame that fails is dropped, counted
// (post_overlay_forged_total) and logged; when it was a request, its requester gets a refusal at once.
import { Subject } from 'rxjs';
import type { ActorRefFrom, SnapshotFrom } from 'xstate';
import type { CertCheck } from '../crypto/certificates';
import { routerMachine, type RouterEvent } from '../machines/router.machine';
import { type Key, kClosest, type NodeId } from '../overlay/id';
import { Metrics } from './metrics';
import { type Opened, OverlayChannel } from './overlayChannel';
import { Refusals } from './refusals';
import * as LS from '../overlay/leafSet';
import { size as tableSize } from '../overlay/routingTable';
import type { OutFrame, RouterConfig, RouterEffect } from '../overlay/router/state';
import { type ErrorCode, errorCodeOf, ErrorCodes, PostError } from '../protocol/errors';
import { type AnyFrame, decodeFrame, type FrameKind, frameHandlers, isKind, on } from '../protocol/frame';
import type { NodeCertificate } from '../protocol/identity';
import { REFUSED_LOG_GAP_MS, OVERLAY_TIMINGS, type OverlayTimings, LEAF_SET_HALF } from '../protocol/limits';
import { FrameRefused } from '../protocol/refusal';
import {
  Announce,
  AnnounceAck,
  Discover,
  Heartbeat,
  Hello,
  HopAck,
  JoinAck,
  JoinReply,
  JoinRequest,
  LeafSetReply,
  LeafSetRequest,
  OverlayAuth,
  type OverlayAuthBody,
  Route,
  type RouteMessage,
  type RoutePayload,
  RouteResult,
  type RouteResultBody,
} from '../protocol/overlay';
import { GLOBAL_RING_ID, JOIN_QUEUE_GROUP, subjects } from '../protocol/subjects';
import { type Clock, type Log, publishQuietly, type Transport, TransportError, type TransportMessage, type TransportSubscription } from '../infra/ports';

export interface MembershipChange {
  readonly added: readonly NodeId[];
  readonly removed: readonly NodeId[];
  readonly leafSet: readonly NodeId[];
}

export interface RouteOutcome {
  readonly key: Key;
  readonly root: NodeId;
  readonly hops: number;
  readonly path: readonly NodeId[];
  readonly response?: Uint8Array;
}

/** An application's handler for payloads routed to this node as the key's root. */
export type AppHandler = (delivery: { key: Key; origin: NodeId; body: Uint8Array }) => Promise<Uint8Array | undefined>;

/** Handler for frames of other actors arriving on the node's direct subject. */
export type FrameHandler = (frame: AnyFrame, msg: TransportMessage) => void;

export interface RouterDeps {
  readonly transport: Transport;
  readonly clock: Clock;
  readonly log: Log;
  /** The ring this router is a member of: its organisation's, or the global ring (gateways). */
  readonly ringId: string;
  /** Is this certificate a member's? (Organisation ring: its CA; global ring: any federated CA.) Synchronous: frames are checked in arrival order. */
  readonly verifyPeer: (cert: NodeCertificate, nowMs: number) => CertCheck;
  readonly cert: NodeCertificate;
  /** The key the certificate certifies: it signs and MACs this node's overlay frames. */
  readonly signingSecretKey: Uint8Array;
  readonly timings?: OverlayTimings;
  readonly leafHalf?: number;
  /** A per-process prefix for message ids, so a restarted router never reuses an id in flight. */
  readonly epoch: string;
  readonly metrics?: Metrics;
}

type RouterRef = ActorRefFrom<typeof routerMachine>;
type RouterSnapshot = SnapshotFrom<typeof routerMachine>;

/** Frames with no single receiver (join and discover subjects): signed, never MACed. */
const BROADCAST_KINDS: ReadonlySet<string> = new Set([JoinRequest.kind, Discover.kind]);

/** The node a frame says it comes from: it must be the node that authenticated it. */
const claimedSender = frameHandlers<[], NodeId | undefined>(
  [
    on(Heartbeat, (body) => body.from),
    on(Hello, (body) => body.from),
    on(LeafSetRequest, (body) => body.from),
    on(AnnounceAck, (body) => body.from),
    on(HopAck, (body) => body.from),
    on(JoinRequest, (body) => body.cert.nodeId),
    on(Announce, (body) => body.cert.nodeId),
    on(Discover, (body) => body.cert.nodeId),
    on(LeafSetReply, (body) => body.cert.nodeId),
    on(Route, (body) => body.path[body.path.length - 1]),
    on(RouteResult, (body) => body.root),
    on(JoinReply, (body) => body.root),
  ],
  () => undefined,
);

export class RouterService {
  readonly self: NodeId;
  readonly membership$ = new Subject<MembershipChange>();
  /** Emits the router's state name whenever its snapshot changes. */
  readonly stateChanges$ = new Subject<string>();
  private crashNext = false;
  private ref: RouterRef | undefined;
  private direct: TransportSubscription | undefined;
  private join: TransportSubscription | undefined;
  private discover: TransportSubscription | undefined;
  private readonly pending = new Map<string, { resolve: (o: RouteOutcome) => void; reject: (e: Error) => void; timer: unknown; startMs: number }>();
  private readonly metrics: Metrics;
  private readonly apps = new Map<string, AppHandler>();
  private readonly frameHandlers = new Map<string, FrameHandler>();
  /** What an authenticated frame on this node's subject becomes: one handler per kind, its body typed. */
  private readonly authenticated = frameHandlers<[NodeId, TransportMessage], void>(
    [
      on(JoinRequest, (_, from, msg) => void (msg.reply && this.send({ type: 'JOIN_REQUEST', joiner: from, replyTo: msg.reply, msgId: this.nextMsgId() }))),
      on(Announce, (_, from, msg) => void (msg.reply && this.send({ type: 'ANNOUNCE', from, replyTo: msg.reply }))),
      on(Discover, (_, from) => this.send({ type: 'DISCOVER', from })),
      on(Heartbeat, (body, from) => this.send({ type: 'HEARTBEAT', from, echo: body.echo === true })),
      on(LeafSetRequest, (_, from, msg) => void (msg.reply && this.send({ type: 'LEAFSET_REQUEST', from, replyTo: msg.reply }))),
      on(Hello, (_, from) => this.send({ type: 'HELLO', from })),
      on(Route, (body, from, msg) => {
        // Acknowledge receipt at once: the previous hop only needs to know we have it.
        if (msg.reply) this.publish(msg.reply, { kind: HopAck, body: { from: this.self } }, from);
        this.send({ type: 'ROUTE_IN', msg: body });
      }),
      on(JoinReply, (body) => this.send({ type: 'JOIN_REPLY', root: body.root, leafSet: body.leafSet, rows: body.rows })),
      on(RouteResult, (body) => this.settleRoute(body)),
    ],
    (frame, _from, msg) => this.refuse(msg, ErrorCodes.BAD_FRAME, `${frame.kind} is not sent to a node's subject`),
  );
  private readonly channel: OverlayChannel;
  private readonly refusals: Refusals;
  private seq = 0;
  private readonly log: Log;
  private readonly config: RouterConfig;

  constructor(private readonly deps: RouterDeps) {
    this.self = deps.cert.nodeId;
    this.log = deps.log.child({ actor: deps.ringId === GLOBAL_RING_ID ? 'globalRouter' : 'router' });
    this.config = { self: this.self, cert: deps.cert, timings: deps.timings ?? OVERLAY_TIMINGS, leafHalf: deps.leafHalf ?? LEAF_SET_HALF };
    this.metrics = deps.metrics ?? new Metrics();
    this.refusals = new Refusals(
      { log: this.log, clock: deps.clock, metrics: this.metrics, gapMs: REFUSED_LOG_GAP_MS },
      { name: 'post_overlay_forged_total', help: 'Overlay frames dropped as unauthenticated, forged or replayed', event: 'overlay.forged' },
    );
    this.channel = new OverlayChannel({ ringId: deps.ringId, cert: deps.cert, signingSecretKey: deps.signingSecretKey, clock: deps.clock, verifyPeer: deps.verifyPeer });
    this.metrics.gauge('post_overlay_leafset_members', 'Members in this node\'s leaf set', () => this.leafSet().length);
    this.metrics.gauge('post_overlay_routing_table_entries', 'Entries in this node\'s routing table', () => this.status().routingTableEntries);
  }

  // ---- lifecycle (driven by the supervisor) ----------------------------------------------------

  /** A fresh router machine with this binding's effects: the supervisor spawns it, and again on restart. */
  logic() {
    return routerMachine.provide({ actions: { effect: (_, effect) => this.perform(effect) } });
  }

  get cert(): NodeCertificate {
    return this.deps.cert;
  }

  get input(): RouterConfig {
    return this.config;
  }

  attach(ref: RouterRef): void {
    this.detachSubscriptions();
    this.ref = ref;
    this.direct = this.deps.transport.subscribe(subjects.node(this.deps.ringId, this.self), (m) => this.ingress(m));
    ref.subscribe({
      next: (s) => {
        if (this.ref !== ref) return;
        this.syncSubscriptions(s);
        this.stateChanges$.next(this.state);
      },
      // A crashed router actor is not a failed router: the supervisor restarts it (and attaches the new
      // one here), or escalates, which fails the node. Reporting 'failed' would stop the node process.
      error: () => undefined,
    });
    this.syncSubscriptions(ref.getSnapshot());
  }

  /** Fault injection: the next effect throws, as a programming error would; the supervisor restarts us. */
  injectCrash(): void {
    this.crashNext = true;
  }

  detach(): void {
    this.detachSubscriptions();
    this.ref = undefined;
  }

  /**
   * The supervisor replaced this router with a fresh one: stop listening, and fail the routes still
   * waiting here at once (their results would come to the new router, which never sent them).
   */
  retire(): void {
    this.detach();
    for (const [msgId, p] of this.pending) {
      this.deps.clock.clearTimeout(p.timer);
      p.reject(new PostError(ErrorCodes.NOT_READY, 'the router restarted while this route was in flight; try again'));
      this.pending.delete(msgId);
    }
    this.membership$.complete();
    this.stateChanges$.complete();
  }

  private detachSubscriptions(): void {
    for (const s of [this.direct, this.join, this.discover]) s?.unsubscribe();
    this.direct = this.join = this.discover = undefined;
  }

  /** Join and discover subscriptions follow the machine's state: joinable when ready, discoverable when alone. */
  private syncSubscriptions(s: RouterSnapshot): void {
    if (this.ref === undefined || s.status !== 'active') {
      this.join?.unsubscribe();
      this.discover?.unsubscribe();
      this.join = this.discover = undefined;
      return;
    }
    const ready = s.matches('ready');
    const alone = ready && LS.members(s.context.leafSet).length === 0;
    const ring = this.deps.ringId;
    if (ready && !this.join) this.join = this.deps.transport.subscribe(subjects.join(ring), (m) => this.ingress(m), { queue: JOIN_QUEUE_GROUP });
    if (!ready && this.join) (this.join.unsubscribe(), (this.join = undefined));
    if (alone && !this.discover) this.discover = this.deps.transport.subscribe(subjects.discover(ring), (m) => this.ingress(m));
    if (!alone && this.discover) (this.discover.unsubscribe(), (this.discover = undefined));
  }

  // ---- the API other actors use -----------------------------------------------------------------

  get snapshot(): RouterSnapshot | undefined {
    return this.ref?.getSnapshot();
  }

  get state(): 'joining' | 'ready' | 'failed' | 'stopped' {
    const s = this.snapshot;
    if (!s || s.status === 'stopped') return 'stopped';
    if (s.matches('failed')) return 'failed';
    return s.matches('ready') ? 'ready' : 'joining';
  }

  leafSet(): NodeId[] {
    const s = this.snapshot;
    return s ? [...LS.members(s.context.leafSet)] : [];
  }

  /** Are the k nodes closest to `key` all known to this node (so its replica set is known here)? */
  knowsReplicas(key: Key, k: number): boolean {
    const s = this.snapshot;
    return s !== undefined && s.matches('ready') && LS.knowsReplicas(s.context.leafSet, key, k, this.config.leafHalf);
  }

  /** The k live nodes closest to key that this node knows of (exact when key is within the leaf set). */
  replicaSet(key: Key, k: number): NodeId[] {
    return kClosest([this.self, ...this.leafSet()], key, k);
  }

  registerApp(app: string, handler: AppHandler): void {
    this.apps.set(app, handler);
  }

  /** Frames whose kind starts with `prefix` (e.g. "storage.") go to `handler`. */
  registerFrames(prefix: string, handler: FrameHandler): void {
    this.frameHandlers.set(prefix, handler);
  }

  /** Route to the key's root: a probe (no payload) or an application payload whose handler answers. */
  route(key: Key, opts: { app?: string; body?: Uint8Array; timeoutMs?: number } = {}): Promise<RouteOutcome> {
    const ref = this.ref;
    if (!ref) return Promise.reject(new PostError(ErrorCodes.NOT_READY, 'router is not running'));
    const msgId = `${this.deps.epoch}-${(this.seq++).toString(36)}`;
    const payload: RoutePayload = opts.app ? { type: 'app', app: opts.app, body: opts.body ?? new Uint8Array() } : { type: 'probe' };
    const timeoutMs = opts.timeoutMs ?? this.config.timings.routeTimeoutMs;
    return new Promise<RouteOutcome>((resolve, reject) => {
      const timer = this.deps.clock.setTimeout(() => {
        this.pending.delete(msgId);
        reject(new PostError(ErrorCodes.TIMEOUT, `no route result for ${key.slice(0, 12)} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(msgId, { resolve, reject, timer, startMs: this.deps.clock.now() });
      this.send({ type: 'ROUTE', msg: { msgId, key, origin: this.self, path: [this.self], payload } });
    });
  }

  status() {
    const s = this.snapshot;
    return {
      state: this.state,
      leafSet: this.leafSet(),
      routingTableEntries: s ? tableSize(s.context.table) : 0,
      failure: s?.context.failure,
    };
  }

  // ---- ingress: validate, authenticate, then hand to the machine ---------------------------------

  private ingress(msg: TransportMessage): void {
    const decoded = decodeFrame(msg.data);
    if (!decoded.ok) return this.refuse(msg, ErrorCodes.BAD_FRAME, decoded.reason);
    const frame = decoded.frame;
    if (!isKind(frame, OverlayAuth)) {
      for (const [prefix, handler] of this.frameHandlers) if (frame.kind.startsWith(prefix)) return handler(frame, msg);
      if (frame.kind.startsWith('overlay.')) return this.forged(msg, { reason: 'unsigned', detail: `a bare ${frame.kind}`, code: ErrorCodes.UNSIGNED });
      return this.refuse(msg, ErrorCodes.BAD_FRAME, `no handler for ${frame.kind}`);
    }
    const opened = this.open(frame.body, msg);
    if (!opened) return;
    const { from, frame: inner } = opened;
    this.authenticated(inner, from, msg);
  }

  /**
   * Authenticate an envelope that arrived on one of our subjects: the frame inside, and the node that
   * sent it, or undefined when it was refused (counted, logged and, for a request, answered).
   */
  private open(env: OverlayAuthBody, msg: TransportMessage): { from: NodeId; frame: AnyFrame } | undefined {
    const opened = this.channel.open(env);
    if (!opened.ok) {
      this.refused(opened, msg);
      return undefined;
    }
    if (claimedSender(opened.frame) !== opened.from) {
      this.forged(msg, { reason: 'wrong_sender', detail: `a ${opened.frame.kind} of another node inside node ${opened.from.slice(0, 12)}'s envelope`, code: ErrorCodes.NOT_AUTHORISED });
      return undefined;
    }
    if (opened.to === undefined && !BROADCAST_KINDS.has(opened.frame.kind)) {
      this.forged(msg, { reason: 'misaddressed', detail: `a ${opened.frame.kind} addressed to nobody`, code: ErrorCodes.NOT_AUTHORISED });
      return undefined;
    }
    return opened;
  }

  /** A refused envelope: a node that proved its key but is not a member is told why; anything else is a forgery. */
  private refused(opened: Extract<Opened, { ok: false }>, msg: TransportMessage): void {
    if (opened.reason === 'echo') return;
    const presented = opened.presented;
    if (!presented) return this.forged(msg, opened);
    const peer = presented.cert.nodeId;
    this.log.warn('overlay.peer.refused', { peer, code: opened.code, reason: opened.detail });
    this.metrics.inc('post_overlay_peers_refused_total', 'Nodes refused because their certificate is not a member\'s');
    if (!msg.reply) return;
    if (presented.frame.kind === JoinRequest.kind) return this.publishBare(msg.reply, { kind: JoinAck, body: { accepted: false, reason: opened.detail } });
    if (presented.frame.kind === Announce.kind)
      return this.publish(msg.reply, { kind: AnnounceAck, body: { from: this.self, accepted: false, reason: opened.detail, leafSet: [] } }, peer);
    this.publishBare(msg.reply, { kind: FrameRefused, body: { code: opened.code, reason: opened.detail } });
  }

  /** Drop a frame that is not what it claims: count it, log it (a flood is summarised), answer a request with a refusal. */
  private forged(msg: TransportMessage, why: { reason: string; detail: string; code: ErrorCode }): void {
    this.refusals.note(why.reason, { detail: why.detail, subject: msg.subject });
    // A replayed or stale request is a copy of one already answered (or never valid): a refusal could
    // overtake the real answer to a duplicated request, so a copy gets none.
    if (msg.reply && why.reason !== 'replayed' && why.reason !== 'stale') this.publishBare(msg.reply, { kind: FrameRefused, body: { code: why.code, reason: why.detail } });
  }

  /** A frame that failed validation: logged, and refused at once when it was a request. */
  private refuse(msg: TransportMessage, code: ErrorCode, reason: string): void {
    this.log.warn('frame.dropped', { subject: msg.subject, reason });
    if (msg.reply) this.publishBare(msg.reply, { kind: FrameRefused, body: { code, reason } });
  }

  /** Events for the machine; dropped once it has stopped (a late reply after a restart or shutdown). */
  private send(e: RouterEvent): void {
    const ref = this.ref;
    if (ref && ref.getSnapshot().status === 'active') ref.send(e);
  }

  private nextMsgId(): string {
    return `${this.deps.epoch}-${(this.seq++).toString(36)}`;
  }

  /** Authenticate the answer to a request we sent to `to`: its frame, or why it is not one. */
  private openReply(bytes: Uint8Array, to: NodeId): { ok: true; frame: AnyFrame } | { ok: false; code: ErrorCode } {
    const r = decodeFrame(bytes);
    if (!r.ok) {
      this.log.warn('frame.dropped', { from: to, reason: r.reason });
      return { ok: false, code: ErrorCodes.BAD_FRAME };
    }
    if (isKind(r.frame, FrameRefused)) {
      const body = r.frame.body;
      this.log.warn('overlay.request.refused', { by: to, code: body.code, reason: body.reason });
      return { ok: false, code: errorCodeOf(body.code, ErrorCodes.ROUTE_FAILED) };
    }
    const reply = { subject: `a reply from ${to.slice(0, 12)}`, data: bytes };
    if (!isKind(r.frame, OverlayAuth)) {
      this.forged(reply, { reason: 'unsigned', detail: `a bare ${r.frame.kind} in reply`, code: ErrorCodes.UNSIGNED });
      return { ok: false, code: ErrorCodes.UNSIGNED };
    }
    const opened = this.open(r.frame.body, reply);
    if (!opened) return { ok: false, code: ErrorCodes.NOT_AUTHORISED };
    if (opened.from !== to) {
      this.forged(reply, { reason: 'wrong_sender', detail: `node ${opened.from.slice(0, 12)} answered a request to ${to.slice(0, 12)}`, code: ErrorCodes.NOT_AUTHORISED });
      return { ok: false, code: ErrorCodes.NOT_AUTHORISED };
    }
    return { ok: true, frame: opened.frame };
  }

  // ---- effects ----------------------------------------------------------------------------------

  private perform(effect: RouterEffect): void {
    if (this.crashNext) {
      this.crashNext = false;
      throw new Error('injected crash (fault injection)');
    }
    const ring = this.deps.ringId;
    switch (effect.type) {
      case 'send':
        return this.publish(subjects.node(ring, effect.to), effect.frame, effect.to);
      case 'reply':
        // A join's acknowledgement is the one frame left bare: a joiner refused for its certificate
        // cannot verify the member that refuses it, and must still learn why.
        if (effect.frame.kind === JoinAck) return this.publishBare(effect.replyTo, effect.frame);
        return this.publish(effect.replyTo, effect.frame, effect.to);
      case 'request':
        return void this.request(effect);
      case 'forward':
        this.metrics.inc('post_overlay_forwards_total', 'Routed messages forwarded to a next hop');
        return void this.forward(effect);
      case 'requestJoin':
        return void this.requestJoin(effect.frame, effect.timeoutMs);
      case 'deliver':
        this.metrics.inc('post_overlay_delivered_total', 'Routed messages for which this node was the root');
        return void this.deliver(effect.msg);
      case 'routeFailed':
        return this.sendResult(effect.msg, { error: `${effect.code}: ${effect.reason}` });
      case 'membership':
        if (effect.removed.length) this.metrics.inc('post_overlay_members_removed_total', 'Leaf-set members removed (dead or displaced)', undefined, effect.removed.length);
        return this.membership$.next({ added: effect.added, removed: effect.removed, leafSet: this.leafSetAfter(effect) });
      case 'publishDiscover':
        return this.publish(subjects.discover(ring), { kind: Discover, body: { cert: this.deps.cert } }, undefined);
      case 'log':
        return this.log[effect.level](effect.event, effect.fields);
    }
  }

  /** The leaf set after a membership change (the snapshot may not include the step being performed). */
  private leafSetAfter(change: { added: readonly NodeId[]; removed: readonly NodeId[] }): NodeId[] {
    const now = new Set(this.leafSet());
    for (const a of change.added) now.add(a);
    for (const r of change.removed) now.delete(r);
    return [...now];
  }

  /** Publish a frame inside this node's envelope, for `to` (MACed or signed) or for anyone (signed). */
  private publish(subject: string, frame: OutFrame, to: NodeId | undefined): void {
    publishQuietly(this.deps.transport, subject, this.channel.seal(frame, to), this.log);
  }

  private publishBare(subject: string, frame: { kind: FrameKind<any>; body: unknown }): void {
    publishQuietly(this.deps.transport, subject, frame.kind.encode(frame.body), this.log);
  }

  private async request(effect: Extract<RouterEffect, { type: 'request' }>): Promise<void> {
    const send = (e: RouterEvent) => this.send(e);
    const { to, tag } = effect;
    const failed = (code: ErrorCode) => {
      if (tag === 'announce') send({ type: 'ANNOUNCE_FAILED', to });
      else if (tag === 'probe') send({ type: 'PROBE_FAILED', to });
    };
    let bytes: Uint8Array;
    try {
      bytes = await this.deps.transport.request(subjects.node(this.deps.ringId, to), this.channel.seal(effect.frame, to), { timeoutMs: effect.timeoutMs });
    } catch (e) {
      return failed(e instanceof TransportError ? e.code : ErrorCodes.CLOSED);
    }
    const r = this.openReply(bytes, to);
    if (!r.ok) return failed(r.code);
    const frame = r.frame;
    if (tag === 'announce' && isKind(frame, AnnounceAck)) return void send({ type: 'ANNOUNCE_ACK', ...frame.body, from: to });
    if (tag === 'probe' && isKind(frame, LeafSetReply)) return void send({ type: 'LEAFSET_REPLY', from: to, leafSet: frame.body.leafSet, ready: frame.body.ready });
    this.log.warn('frame.dropped', { from: to, reason: `unexpected ${r.frame.kind} in reply to ${tag}` });
    failed(ErrorCodes.BAD_FRAME);
  }

  /** A hop: the next node acknowledges receipt; without that, the machine picks another route. */
  private async forward(effect: Extract<RouterEffect, { type: 'forward' }>): Promise<void> {
    const { to, pending } = effect;
    let code: ErrorCode = ErrorCodes.BAD_FRAME;
    try {
      const bytes = await this.deps.transport.request(subjects.node(this.deps.ringId, to), this.channel.seal({ kind: Route, body: pending.msg }, to), { timeoutMs: effect.timeoutMs });
      const r = this.openReply(bytes, to);
      if (r.ok && r.frame.kind === HopAck.kind) return;
      if (!r.ok) code = r.code;
    } catch (e) {
      code = e instanceof TransportError ? e.code : ErrorCodes.CLOSED;
    }
    this.metrics.inc('post_overlay_hop_failures_total', 'Next hops that did not acknowledge a forward', { code });
    this.send({ type: 'FORWARD_FAILED', pending, to, code });
  }

  private async requestJoin(frame: OutFrame, timeoutMs: number): Promise<void> {
    const send = (e: RouterEvent) => this.send(e);
    try {
      const bytes = await this.deps.transport.request(subjects.join(this.deps.ringId), this.channel.seal(frame, undefined), { timeoutMs });
      const r = JoinAck.decode(bytes);
      if (!r.ok) return void send({ type: 'JOIN_UNANSWERED' });
      send({ type: 'JOIN_ACK', accepted: r.body.accepted, reason: r.body.reason });
    } catch (e) {
      if (e instanceof TransportError && e.code === 'NO_RESPONDERS') send({ type: 'JOIN_NO_RESPONDERS' });
      else send({ type: 'JOIN_UNANSWERED' });
    }
  }

  /** This node is the key's root: answer a probe, or hand an application payload to its handler. */
  private async deliver(msg: RouteMessage): Promise<void> {
    if (msg.payload.type !== 'app') return this.sendResult(msg, {});
    const handler = this.apps.get(msg.payload.app);
    if (!handler) return this.sendResult(msg, { error: `no application ${msg.payload.app} on this node` });
    try {
      const response = await handler({ key: msg.key, origin: msg.origin, body: msg.payload.body });
      this.sendResult(msg, { response });
    } catch (e) {
      this.sendResult(msg, { error: (e as Error).message });
    }
  }

  private sendResult(msg: RouteMessage, r: { response?: Uint8Array; error?: string }): void {
    const body: RouteResultBody = { msgId: msg.msgId, key: msg.key, root: this.self, path: msg.path, ...r };
    if (msg.origin === this.self) return this.settleRoute(body);
    this.publish(subjects.node(this.deps.ringId, msg.origin), { kind: RouteResult, body }, msg.origin);
  }

  private settleRoute(r: RouteResultBody): void {
    const p = this.pending.get(r.msgId);
    if (!p) return;
    this.pending.delete(r.msgId);
    this.deps.clock.clearTimeout(p.timer);
    this.metrics.observe('post_overlay_route_latency_ms', 'Time from route() to the root\'s result', this.deps.clock.now() - p.startMs);
    if (r.error) {
      this.metrics.inc('post_overlay_route_failures_total', 'Routes that failed');
      p.reject(new PostError(ErrorCodes.ROUTE_FAILED, r.error));
    } else p.resolve({ key: r.key, root: r.root, hops: r.path.length - 1, path: r.path, response: r.response });
  }
}
