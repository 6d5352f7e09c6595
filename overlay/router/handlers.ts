// Pastry protocol logic, pure: each handler takes the router context and one event and returns the
// next context plus the effects to perform. No clock, no randomness, no I/O.
//
// Ordering duties: a joiner becomes ready (joinable, routes for others) only after every live member
// of its leaf set acknowledged its announcement; a node is added to a leaf set only on direct evidence
// that it is alive (it announced, replied, or heartbeated) and, for second-hand candidates, only after
// a probe answered with a verified certificate (the actor verifies before the event reaches us).
// Every `from` an event carries is the node that authenticated the frame (actors/overlayChannel.ts).
import {
  Announce,
  AnnounceAck,
  Heartbeat,
  Hello,
  JoinAck,
  JoinReply,
  JoinRequest,
  LeafSetReply,
  LeafSetRequest,
  type RouteMessage,
} from '../../protocol/overlay';
import { ErrorCodes, type ErrorCode } from '../../protocol/errors';
import { ANNOUNCE_ROUNDS_MAX, DEAD_NODES_MAX, JOIN_ATTEMPTS_MAX, ROUTE_HOPS_MAX, ROUTE_QUEUE_MAX, ROUTE_RETRIES_MAX, ROUTE_SAME_HOP_ATTEMPTS_MAX, ROUTING_ROWS } from '../../protocol/limits';
import { type NodeId, sharedPrefixLength } from '../id';
import * as LS from '../leafSet';
import * as RT from '../routingTable';
import { nextHop } from '../route';
import { out, type PendingForward, type RouterContext, type RouterEffect, type Step, ticks } from './state';

/** Accumulates one step: the context as it changes, and the effects in order. */
class StepBuilder {
  readonly effects: RouterEffect[] = [];
  private readonly before: LS.LeafSet;
  constructor(public ctx: RouterContext) {
    this.before = ctx.leafSet;
  }
  set(patch: Partial<RouterContext>): this {
    this.ctx = { ...this.ctx, ...patch };
    return this;
  }
  emit(e: RouterEffect): this {
    this.effects.push(e);
    return this;
  }
  /** Change the leaf set, keeping liveness records for exactly its members (new ones count as heard now). */
  setLeafSet(leafSet: LS.LeafSet): this {
    if (leafSet === this.ctx.leafSet) return this;
    const lastHeard: Record<NodeId, number> = {};
    for (const m of LS.members(leafSet)) lastHeard[m] = this.ctx.lastHeard[m] ?? this.ctx.tick;
    return this.set({ leafSet, lastHeard });
  }
  log(level: 'debug' | 'info' | 'warn' | 'error', event: string, fields?: Record<string, unknown>): this {
    return this.emit({ type: 'log', level, event, fields });
  }
  /** Finish, announcing leaf-set membership changes made during the step. */
  done(): Step {
    if (this.ctx.leafSet !== this.before) {
      const before = LS.members(this.before);
      const after = LS.members(this.ctx.leafSet);
      const added = after.filter((x) => !before.includes(x));
      const removed = before.filter((x) => !after.includes(x));
      if (added.length || removed.length) this.effects.push({ type: 'membership', added, removed });
    }
    return { context: this.ctx, effects: this.effects };
  }
}

const self = (c: RouterContext) => c.config.self;
const half = (c: RouterContext) => c.config.leafHalf;
const t = (c: RouterContext) => c.config.timings;

// ---- learning about nodes ------------------------------------------------------------------------

/** A node proved alive by direct contact: routing table, and leaf set if it belongs there. */
function learnLive(b: StepBuilder, id: NodeId): void {
  if (id === self(b.ctx)) return;
  const { ctx } = b;
  const dead = ctx.dead[id] !== undefined ? omit(ctx.dead, id) : ctx.dead;
  const probing = ctx.probing[id] !== undefined ? omit(ctx.probing, id) : ctx.probing;
  b.set({ dead, probing, table: RT.addAll(ctx.table, [id]) });
  if (LS.has(ctx.leafSet, id)) b.set({ lastHeard: { ...ctx.lastHeard, [id]: ctx.tick } });
  else if (LS.wouldAccept(ctx.leafSet, id, half(ctx))) b.setLeafSet(LS.add(ctx.leafSet, [id], half(ctx)));
}

/** Nodes heard of second-hand: routing table now; leaf set only after a probe answers. */
function learnHearsay(b: StepBuilder, ids: readonly NodeId[]): void {
  const fresh = ids.filter((id) => id !== self(b.ctx) && b.ctx.dead[id] === undefined);
  b.set({ table: RT.addAll(b.ctx.table, fresh) });
  for (const id of fresh) if (LS.wouldAccept(b.ctx.leafSet, id, half(b.ctx))) probe(b, id);
}

function probe(b: StepBuilder, id: NodeId): void {
  if (b.ctx.probing[id] !== undefined || id === self(b.ctx)) return;
  b.set({ probing: { ...b.ctx.probing, [id]: b.ctx.tick } });
  b.emit({ type: 'request', to: id, frame: out(LeafSetRequest, { from: self(b.ctx) }), tag: 'probe', timeoutMs: t(b.ctx).hopAckTimeoutMs * 2 });
}

/** Remove a node we believe dead, and start repairing the leaf set around the gap. */
function declareDead(b: StepBuilder, id: NodeId, why: string): void {
  const { ctx } = b;
  const wasMember = LS.has(ctx.leafSet, id);
  const dead = boundedDead({ ...ctx.dead, [id]: ctx.tick });
  b.set({ table: RT.removeNode(ctx.table, id), dead }).setLeafSet(LS.remove(ctx.leafSet, id));
  if (!wasMember) return;
  b.log('warn', 'overlay.member.dead', { member: id, why });
  repairLeafSet(b);
}

/** Ask the farthest remaining member on each side for its leaf set; its neighbours fill our gaps. */
function repairLeafSet(b: StepBuilder): void {
  const ls = b.ctx.leafSet;
  const askers = new Set<NodeId>();
  if (ls.cw.length) askers.add(ls.cw[ls.cw.length - 1]!);
  if (ls.ccw.length) askers.add(ls.ccw[ls.ccw.length - 1]!);
  if (askers.size === 0) for (const id of RT.allEntries(b.ctx.table).slice(0, 4)) askers.add(id);
  for (const id of askers) probe(b, id);
}

// ---- joining ------------------------------------------------------------------------------------

export function startJoin(ctx: RouterContext): Step {
  const b = new StepBuilder(ctx);
  b.set({ joinAttempts: ctx.joinAttempts + 1 });
  b.log('info', 'overlay.join.start', { attempt: b.ctx.joinAttempts });
  b.emit({ type: 'requestJoin', frame: out(JoinRequest, { cert: ctx.config.cert }), timeoutMs: t(ctx).joinTimeoutMs });
  return b.done();
}

export const canRetryJoin = (ctx: RouterContext): boolean => ctx.joinAttempts < JOIN_ATTEMPTS_MAX;

export function joinGaveUp(ctx: RouterContext): Step {
  const b = new StepBuilder(ctx);
  const reason = `no join reply after ${ctx.joinAttempts} attempts`;
  b.set({ failure: { code: ErrorCodes.JOIN_FAILED, reason } });
  b.log('error', 'overlay.join.failed', { reason });
  return b.done();
}

export function joinRefused(ctx: RouterContext, reason: string): Step {
  const b = new StepBuilder(ctx);
  b.set({ failure: { code: ErrorCodes.CERT_INVALID, reason } });
  b.log('error', 'overlay.join.refused', { reason });
  return b.done();
}

/** The root's answer: install its rows and leaf set, then announce ourselves to the leaf set. */
export function onJoinReply(ctx: RouterContext, body: { root: NodeId; leafSet: NodeId[]; rows: { row: number; nodes: NodeId[] }[] }): Step {
  const b = new StepBuilder(ctx);
  const candidates = [body.root, ...body.leafSet].filter((x) => x !== self(ctx));
  const fromRows = body.rows.flatMap((r) => r.nodes);
  b.set({ table: RT.addAll(RT.addAll(ctx.table, fromRows), candidates) }).setLeafSet(LS.fromCandidates(self(ctx), candidates, half(ctx)));
  b.log('info', 'overlay.join.reply', { root: body.root, leafSet: LS.members(b.ctx.leafSet).length });
  announceTo(b, LS.members(b.ctx.leafSet));
  return b.done();
}

function announceTo(b: StepBuilder, ids: readonly NodeId[]): void {
  const pending = { ...b.ctx.announcing };
  for (const id of ids) {
    if (pending[id] || id === self(b.ctx)) continue;
    pending[id] = true;
    b.emit({ type: 'request', to: id, frame: out(Announce, { cert: b.ctx.config.cert }), tag: 'announce', timeoutMs: t(b.ctx).announceTimeoutMs });
  }
  b.set({ announcing: pending });
}

export const announceComplete = (ctx: RouterContext): boolean => Object.keys(ctx.announcing).length === 0;

/** A member acknowledged our announcement; its leaf set may show nodes nearer to us than we knew. */
export function onAnnounceAck(ctx: RouterContext, body: { from: NodeId; accepted: boolean; reason?: string; leafSet: NodeId[] }): Step {
  const b = new StepBuilder(ctx);
  b.set({ announcing: omit(ctx.announcing, body.from) });
  if (!body.accepted) {
    b.set({ failure: { code: ErrorCodes.CERT_INVALID, reason: body.reason ?? 'announcement refused' } });
    b.log('error', 'overlay.announce.refused', { by: body.from, reason: body.reason });
    return b.done();
  }
  learnLive(b, body.from);
  const nearer = body.leafSet.filter((id) => id !== self(ctx) && !LS.has(b.ctx.leafSet, id) && LS.wouldAccept(b.ctx.leafSet, id, half(ctx)));
  b.set({ table: RT.addAll(b.ctx.table, body.leafSet.filter((x) => x !== self(ctx))) });
  if (nearer.length && ctx.announceRounds < ANNOUNCE_ROUNDS_MAX) {
    b.set({ announceRounds: ctx.announceRounds + 1 }).setLeafSet(LS.add(b.ctx.leafSet, nearer, half(ctx)));
    announceTo(b, nearer.filter((id) => LS.has(b.ctx.leafSet, id)));
  }
  return b.done();
}

/** A member did not acknowledge: count it as gone, so readiness does not wait on the dead. */
export function onAnnounceFailed(ctx: RouterContext, to: NodeId): Step {
  const b = new StepBuilder(ctx);
  b.set({ announcing: omit(ctx.announcing, to) });
  declareDead(b, to, 'no answer to announce');
  return b.done();
}

/** Joining is over: open for joins, tell routing-table members we exist, route what was held. */
export function becomeReady(ctx: RouterContext, alone: boolean): Step {
  const b = new StepBuilder(ctx);
  b.set({ announcing: {}, lastHeard: Object.fromEntries(LS.members(ctx.leafSet).map((m) => [m, ctx.tick])) });
  b.log('info', 'overlay.ready', { alone, leafSet: LS.members(ctx.leafSet).length, table: RT.size(ctx.table) });
  for (const id of RT.allEntries(ctx.table)) if (!LS.has(ctx.leafSet, id)) b.emit({ type: 'send', to: id, frame: out(Hello, { from: self(ctx) }) });
  const held = ctx.held;
  b.set({ held: [] });
  for (const msg of held) routeStep(b, msg, []);
  // Membership is announced as one change on becoming ready.
  const step = b.done();
  const members = LS.members(step.context.leafSet);
  return { context: step.context, effects: [...step.effects.filter((e) => e.type !== 'membership'), { type: 'membership', added: members, removed: [] }] };
}

// ---- incoming requests from other nodes -----------------------------------------------------------

/** A verified node asks to join through us: route a join message towards its id. */
export function onJoinRequest(ctx: RouterContext, joiner: NodeId, replyTo: string, msgId: string): Step {
  const b = new StepBuilder(ctx);
  b.emit({ type: 'reply', replyTo, to: joiner, frame: out(JoinAck, { accepted: true }) });
  routeStep(b, { msgId, key: joiner, origin: self(ctx), path: [self(ctx)], payload: { type: 'join', joiner, rows: [] } }, []);
  return b.done();
}

export function onAnnounce(ctx: RouterContext, from: NodeId, replyTo: string): Step {
  const b = new StepBuilder(ctx);
  learnLive(b, from);
  b.log('debug', 'overlay.announce.accepted', { from, member: LS.has(b.ctx.leafSet, from) });
  b.emit({
    type: 'reply',
    replyTo,
    to: from,
    frame: out(AnnounceAck, { from: self(ctx), accepted: true, leafSet: [...LS.members(b.ctx.leafSet)] }),
  });
  return b.done();
}

/**
 * Heartbeats are one-way: leaf sets are symmetric when correct (B is among A's L/2 nearest on one
 * side exactly when A is among B's on the other), so each member hears from the other anyway. A
 * heartbeat from a non-member means the two views differ: probe it if it belongs here, else answer
 * with a heartbeat so it does not take us for dead while its leaf set is being corrected.
 */
export function onHeartbeat(ctx: RouterContext, from: NodeId): Step {
  const b = new StepBuilder(ctx);
  if (!LS.has(ctx.leafSet, from) && !LS.wouldAccept(ctx.leafSet, from, half(ctx)))
    b.emit({ type: 'send', to: from, frame: out(Heartbeat, { from: self(ctx), echo: true }) });
  heardFrom(b, from);
  return b.done();
}

/** An answer to our heartbeat: liveness only (never answered again, so echoes cannot ping-pong). */
export function onHeartbeatEcho(ctx: RouterContext, from: NodeId): Step {
  const b = new StepBuilder(ctx);
  heardFrom(b, from);
  return b.done();
}

/** Direct contact from `from`: refresh its liveness, and probe it if it belongs in our leaf set. */
function heardFrom(b: StepBuilder, from: NodeId): void {
  if (LS.has(b.ctx.leafSet, from)) {
    if (b.ctx.lastHeard[from] !== b.ctx.tick) b.set({ lastHeard: { ...b.ctx.lastHeard, [from]: b.ctx.tick } });
  } else if (LS.wouldAccept(b.ctx.leafSet, from, half(b.ctx))) probe(b, from);
  else if (b.ctx.dead[from] === undefined && RT.entry(b.ctx.table, ...slot(b.ctx, from)) === undefined) b.set({ table: RT.addAll(b.ctx.table, [from]) });
}

function slot(ctx: RouterContext, id: NodeId): [number, number] {
  const s = RT.slotOf(self(ctx), id);
  return s ? [s.row, s.col] : [0, 0];
}

export function onLeafSetRequest(ctx: RouterContext, from: NodeId, replyTo: string, isReady: boolean): Step {
  const b = new StepBuilder(ctx);
  b.emit({
    type: 'reply',
    replyTo,
    to: from,
    frame: out(LeafSetReply, { cert: ctx.config.cert, leafSet: LS.members(ctx.leafSet), ready: isReady }),
  });
  heardFrom(b, from);
  return b.done();
}

export function onHello(ctx: RouterContext, from: NodeId): Step {
  const b = new StepBuilder(ctx);
  if (ctx.dead[from] === undefined) b.set({ table: RT.addAll(ctx.table, [from]) });
  return b.done();
}

/** Another lone node: introduce ourselves, so the two rings become one. */
export function onDiscover(ctx: RouterContext, from: NodeId): Step {
  const b = new StepBuilder(ctx);
  if (from !== self(ctx) && LS.members(ctx.leafSet).length === 0) {
    b.log('info', 'overlay.discover.merge', { with: from });
    b.emit({ type: 'request', to: from, frame: out(Announce, { cert: ctx.config.cert }), tag: 'announce', timeoutMs: t(ctx).announceTimeoutMs });
  }
  return b.done();
}

// ---- replies to our requests ----------------------------------------------------------------------

/** A probed node answered with a verified certificate: it is alive; its leaf set is hearsay. */
export function onLeafSetReply(ctx: RouterContext, from: NodeId, body: { leafSet: NodeId[]; ready: boolean }): Step {
  const b = new StepBuilder(ctx);
  b.set({ probing: omit(ctx.probing, from) });
  if (body.ready) learnLive(b, from);
  learnHearsay(b, body.leafSet);
  return b.done();
}

export function onProbeFailed(ctx: RouterContext, to: NodeId): Step {
  const b = new StepBuilder(ctx);
  b.set({ probing: omit(ctx.probing, to) });
  return b.done();
}

/** An announce made after discovery (not while joining) was acknowledged. */
export function onLateAnnounceAck(ctx: RouterContext, body: { from: NodeId; accepted: boolean; leafSet: NodeId[] }): Step {
  const b = new StepBuilder(ctx);
  if (body.accepted) {
    learnLive(b, body.from);
    learnHearsay(b, body.leafSet);
  }
  return b.done();
}

// ---- periodic work ------------------------------------------------------------------------------

/**
 * One heartbeat period: heartbeat every leaf-set member, declare dead those silent for the suspicion
 * timeout, exchange leaf sets with the nearest neighbours now and then, probe the recently dead
 * (partitions heal), and forget the long dead.
 */
export function onTick(ctx: RouterContext): Step {
  const tick = ctx.tick + 1;
  const b = new StepBuilder({ ...ctx, tick });
  const tm = t(ctx);
  const suspicion = ticks(tm.suspicionTimeoutMs, tm);
  for (const m of LS.members(b.ctx.leafSet)) {
    const heard = b.ctx.lastHeard[m] ?? tick;
    if (tick - heard > suspicion) declareDead(b, m, `silent for ${tick - heard} heartbeats`);
  }
  for (const m of LS.members(b.ctx.leafSet)) b.emit({ type: 'send', to: m, frame: out(Heartbeat, { from: self(ctx) }) });
  // Probes unanswered for a suspicion period are abandoned (their failure event may have been lost).
  const stale = Object.entries(b.ctx.probing).filter(([, at]) => tick - at > suspicion);
  if (stale.length) b.set({ probing: omit(b.ctx.probing, ...stale.map(([id]) => id)) });
  // Leaf-set exchange with the nearest neighbour on each side catches joins whose announce we missed.
  const exchangeEvery = ticks(tm.suspicionTimeoutMs, tm);
  if (tick % exchangeEvery === 0) {
    const ls = b.ctx.leafSet;
    for (const id of new Set([ls.cw[0], ls.ccw[0]])) if (id) probe(b, id);
  }
  const deadProbeEvery = ticks(tm.deadProbeIntervalMs, tm);
  const forgetAfter = ticks(tm.deadForgetMs, tm);
  const forgotten = Object.entries(b.ctx.dead).filter(([, at]) => tick - at > forgetAfter).map(([id]) => id);
  if (forgotten.length) b.set({ dead: omit(b.ctx.dead, ...forgotten) });
  if (tick % deadProbeEvery === 0) {
    // Only the dead that would belong to our leaf set matter for healing; a few at a time.
    const candidates = Object.keys(b.ctx.dead).filter((id) => LS.wouldAccept(b.ctx.leafSet, id, half(ctx)));
    for (const id of candidates.slice(0, 4)) probe(b, id);
  }
  if (LS.members(b.ctx.leafSet).length === 0 && tick % ticks(tm.discoverIntervalMs, tm) === 0) b.emit({ type: 'publishDiscover' });
  return b.done();
}

// ---- routing ------------------------------------------------------------------------------------

/** A routed message from another node (already acknowledged by the actor). */
export function onRouteIn(ctx: RouterContext, msg: RouteMessage, isReady: boolean): Step {
  const b = new StepBuilder(ctx);
  const arrived = { ...msg, path: [...msg.path, self(ctx)] };
  const prev = msg.path[msg.path.length - 1];
  if (prev) heardFrom(b, prev);
  learnHearsay(b, msg.path.filter((x) => x !== prev));
  if (!isReady) {
    if (ctx.held.length >= ROUTE_QUEUE_MAX) {
      b.emit({ type: 'routeFailed', msg: arrived, code: ErrorCodes.QUEUE_FULL, reason: 'node is joining and its queue is full' });
    } else b.set({ held: [...b.ctx.held, arrived] });
    return b.done();
  }
  routeStep(b, arrived, []);
  return b.done();
}

/** A message this node originates (probe or application payload). */
export function onRouteLocal(ctx: RouterContext, msg: RouteMessage, isReady: boolean): Step {
  const b = new StepBuilder(ctx);
  if (!isReady) {
    if (ctx.held.length >= ROUTE_QUEUE_MAX) b.emit({ type: 'routeFailed', msg, code: ErrorCodes.NOT_READY, reason: 'node is still joining' });
    else b.set({ held: [...ctx.held, msg] });
    return b.done();
  }
  routeStep(b, msg, []);
  return b.done();
}

/**
 * The next hop did not acknowledge. A leaf-set member is asked again a few times first: it may be
 * the key's root, and skipping a live root (its ack was merely lost) would deliver to the wrong node;
 * if it is really dead, failure detection removes it. Any other hop is dropped from the routing table
 * (lazy repair) and the message goes another way.
 */
export function onForwardFailed(ctx: RouterContext, pending: PendingForward, to: NodeId, code: ErrorCode): Step {
  const b = new StepBuilder(ctx);
  if (code === ErrorCodes.TIMEOUT && LS.has(ctx.leafSet, to) && pending.attempt < ROUTE_SAME_HOP_ATTEMPTS_MAX) {
    b.emit({ type: 'forward', to, pending: { ...pending, attempt: pending.attempt + 1 }, timeoutMs: t(ctx).hopAckTimeoutMs });
    return b.done();
  }
  b.set({ table: RT.removeNode(ctx.table, to) });
  b.log('debug', 'overlay.hop.failed', { to, code, msgId: pending.msg.msgId });
  const tried = [...pending.tried, to];
  if (tried.length > ROUTE_RETRIES_MAX) {
    b.emit({ type: 'routeFailed', msg: pending.msg, code: ErrorCodes.ROUTE_FAILED, reason: `${tried.length} next hops did not answer` });
  } else routeStep(b, pending.msg, tried);
  return b.done();
}

/** Route one step: deliver here, or forward to the next hop and wait for its acknowledgement. */
function routeStep(b: StepBuilder, msg: RouteMessage, tried: readonly NodeId[]): void {
  const ctx = b.ctx;
  if (msg.path.length > ROUTE_HOPS_MAX) {
    b.log('warn', 'overlay.route.hops_exceeded', { msgId: msg.msgId, key: msg.key });
    b.emit({ type: 'routeFailed', msg, code: ErrorCodes.HOPS_EXCEEDED, reason: `more than ${ROUTE_HOPS_MAX} hops` });
    return;
  }
  const m = msg.payload.type === 'join' ? withJoinRows(ctx, msg, msg.payload) : msg;
  const exclude = new Set(tried);
  if (m.payload.type === 'join') exclude.add(m.payload.joiner);
  const hop = nextHop(ctx.leafSet, ctx.table, m.key, exclude);
  if (!hop.deliver) {
    b.emit({ type: 'forward', to: hop.to, pending: { msg: m, tried, attempt: 1 }, timeoutMs: t(ctx).hopAckTimeoutMs });
    return;
  }
  if (m.payload.type === 'join') {
    // We are the joiner's root: hand it our leaf set and every row gathered on the way.
    b.log('debug', 'overlay.join.root', { joiner: m.payload.joiner, hops: m.path.length - 1 });
    b.emit({
      type: 'send',
      to: m.payload.joiner,
      frame: out(JoinReply, { root: self(ctx), leafSet: LS.members(ctx.leafSet), rows: m.payload.rows }),
    });
    return;
  }
  b.emit({ type: 'deliver', msg: m });
}

/** Each hop contributes the routing rows the joiner shares with it (Pastry's join). */
function withJoinRows(ctx: RouterContext, msg: RouteMessage, payload: { joiner: NodeId; rows: { row: number; nodes: NodeId[] }[] }): RouteMessage {
  const upTo = Math.min(sharedPrefixLength(self(ctx), payload.joiner), ROUTING_ROWS - 1);
  const have = new Set(payload.rows.map((r) => r.row));
  const rows = [...payload.rows];
  for (let r = 0; r <= upTo; r++) {
    const nodes = RT.rowEntries(ctx.table, r).filter((x) => x !== payload.joiner);
    if (!have.has(r) && nodes.length) rows.push({ row: r, nodes });
  }
  return { ...msg, payload: { type: 'join', joiner: payload.joiner, rows } };
}

// ---- small immutable-record helpers ---------------------------------------------------------------

function omit<T>(rec: Readonly<Record<string, T>>, ...keys: string[]): Record<string, T> {
  const outRec = { ...rec };
  for (const k of keys) delete outRec[k];
  return outRec;
}

function boundedDead(dead: Record<NodeId, number>): Record<NodeId, number> {
  const entries = Object.entries(dead);
  if (entries.length <= DEAD_NODES_MAX) return dead;
  entries.sort((a, b) => b[1] - a[1]);
  return Object.fromEntries(entries.slice(0, DEAD_NODES_MAX));
}
