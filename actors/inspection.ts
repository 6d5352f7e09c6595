// The node's inspection publisher (DESIGN sections 7 and 8): every INSPECT_INTERVAL_MS, and at once on
// notable events (router state or leaf-set change, supervisor restart), it publishes the node's view
// on subjects.inspect(ring, node) for the lab dashboard: router state and leaf set, the actor tree
// with each child's state value, restarts, the replica manager's passes, what the local store holds
// (objects, bytes, inbox-drop entries), hosted users, mail endpoints and replica health.
//
// Cheap by construction: one frame of ~1-2 KB a second; events are coalesced (INSPECT_EVENT_GAP_MS);
// the replica-health check runs only after a repair ends (in an anti-entropy pass only when digests
// differed: when they agree nothing moved), at most every INSPECT_HEALTH_MIN_INTERVAL_MS, over at most
// INSPECT_HEALTH_IDS_MAX local objects.
//
// Replica health: the replica manager's repair pass does not report what it could not confirm, so
// after each pass this publisher asks the k replicas of every object held here (one batched Has per
// replica, no data moves) and counts the objects fewer than k replicas confirm.
import type { Subscription } from 'rxjs';
import type { AnyActorRef } from 'xstate';
import type { LocalStore, StoreTotals } from '../infra/store/port';
import { ErrorCodes, PostError } from '../protocol/errors';
import { type Clock, type Log, publishQuietly, type TimerHandle, type Transport } from '../infra/ports';
import { type ActorNode, InspectFrame, type InspectReason, type InspectView } from '../protocol/inspect';
import {
  INSPECT_ACTOR_DEPTH_MAX,
  INSPECT_ACTORS_JSON_CHARS_MAX,
  INSPECT_ACTORS_PER_LEVEL_MAX,
  INSPECT_EVENT_GAP_MS,
  INSPECT_HEALTH_IDS_MAX,
  INSPECT_HEALTH_MIN_INTERVAL_MS,
  INSPECT_INTERVAL_MS,
  INSPECT_RECENT_RESTARTS_MAX,
  INSPECT_USERS_LISTED_MAX,
  REPAIR_TRANSFERS_IN_FLIGHT_MAX,
  STORAGE_BATCH_IDS_MAX,
} from '../protocol/limits';
import { Has, HasReply } from '../protocol/storage';
import { subjects } from '../protocol/subjects';
import type { PostNode } from './node';

export interface InspectionDeps {
  readonly transport: Transport;
  readonly clock: Clock;
  readonly log: Log;
  readonly node: PostNode;
  /** The node's local store: totals (drop entries) and the ids the health check covers. */
  readonly store: LocalStore;
  readonly intervalMs?: number;
}

type Health = NonNullable<InspectView['health']>;
type RestartEvent = InspectView['recentRestarts'][number];

const WHOLE_CIRCLE = { lo: '0'.repeat(64), hi: '0'.repeat(64) };

export class InspectionPublisher {
  private readonly intervalMs: number;
  private readonly log: Log;
  private readonly subscriptions: Subscription[] = [];
  private readonly recentRestarts: RestartEvent[] = [];
  private timer: TimerHandle | undefined;
  private eventTimer: TimerHandle | undefined;
  private pendingReason: InspectReason | undefined;
  private lastSentMs = 0;
  private seq = 0;
  private running = false;
  private routerState = '';
  private health: Health | undefined;
  private healthRunning = false;
  private healthDue = false;
  private healthAtMs = -Infinity;
  private passesSeen = -1;
  /** What the store held when last read: shown while it is unavailable (failed, reopening). */
  private lastTotals: StoreTotals = { blocks: 0, blockBytes: 0, objects: 0, objectBytes: 0, dropEntries: 0, dropBytes: 0 };

  constructor(private readonly deps: InspectionDeps) {
    this.intervalMs = deps.intervalMs ?? INSPECT_INTERVAL_MS;
    this.log = deps.log.child({ actor: 'inspection' });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const { node } = this.deps;
    this.routerState = node.router.state;
    this.subscriptions.push(
      node.router.stateChanges$.subscribe((s) => {
        if (s === this.routerState) return;
        this.routerState = s;
        this.soon('router');
      }),
      node.router.membership$.subscribe(() => this.soon('router')),
      node.restarts$.subscribe((r) => {
        this.recentRestarts.push({ child: r.child, error: r.error.slice(0, 512), atMs: Math.floor(this.deps.clock.now()), recent: r.recent });
        if (this.recentRestarts.length > INSPECT_RECENT_RESTARTS_MAX) this.recentRestarts.shift();
        this.soon('restart');
      }),
    );
    this.soon('start');
    this.schedule();
  }

  /** Publish a last frame (the dashboard shows the node stopped, not silent) and stop. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const s of this.subscriptions.splice(0)) s.unsubscribe();
    this.deps.clock.clearTimeout(this.timer);
    this.deps.clock.clearTimeout(this.eventTimer);
    await this.publish('stopping').catch(() => {});
  }

  /** The node's current view, as the next frame would carry it. */
  async view(reason: InspectReason, seq = this.seq): Promise<InspectView> {
    const { node, store, clock } = this.deps;
    const status = node.status();
    // A failed store is exactly what the operator must see: the view goes out with its last totals.
    const totals = (this.lastTotals = await store.totals().catch((e: unknown) => {
      if (e instanceof PostError && e.code === ErrorCodes.UNAVAILABLE) return this.lastTotals;
      throw e;
    }));
    const manager = node.replicas.snapshot?.context;
    const hosted = status.users.hosted;
    return {
      nodeId: node.id,
      org: status.org,
      ringId: status.ringId,
      seq,
      sentAtMs: Math.floor(clock.now()),
      intervalMs: this.intervalMs,
      reason,
      router: { state: status.state, leafSet: status.leafSet, routingTableEntries: status.routingTableEntries, failure: status.failure?.reason },
      actorsJson: actorsJson(node),
      restarts: { ...status.restarts },
      recentRestarts: [...this.recentRestarts],
      passes: { ...(manager?.passes ?? {}) },
      passFailures: { ...(manager?.failures ?? {}) },
      storage: { objects: totals.blocks + totals.objects, bytes: totals.blockBytes + totals.objectBytes, dropEntries: totals.dropEntries, dropBytes: totals.dropBytes },
      health: this.health,
      replicationFactor: node.replicas.replicationFactor,
      users: { hosted: hosted.length, unlocking: status.users.unlocking.length, listed: hosted.slice(0, INSPECT_USERS_LISTED_MAX) },
      mail: status.mail,
    };
  }

  // ---- publishing ----------------------------------------------------------------------------------

  private schedule(): void {
    if (!this.running) return;
    this.timer = this.deps.clock.setTimeout(() => {
      this.tick();
      this.schedule();
    }, this.intervalMs);
  }

  private tick(): void {
    this.noteRepairPasses();
    if (this.deps.clock.now() - this.lastSentMs >= this.intervalMs / 2) void this.publish('interval');
  }

  /** A notable event: publish now, or as soon as INSPECT_EVENT_GAP_MS has passed since the last frame. */
  private soon(reason: InspectReason): void {
    if (!this.running) return;
    if (this.pendingReason === undefined || this.pendingReason === 'router') this.pendingReason = reason;
    if (this.eventTimer !== undefined) return;
    const waitMs = Math.max(0, this.lastSentMs + INSPECT_EVENT_GAP_MS - this.deps.clock.now());
    this.eventTimer = this.deps.clock.setTimeout(() => {
      this.eventTimer = undefined;
      const r = this.pendingReason ?? 'interval';
      this.pendingReason = undefined;
      if (this.running) void this.publish(r);
    }, waitMs);
  }

  private async publish(reason: InspectReason): Promise<void> {
    this.lastSentMs = this.deps.clock.now();
    // Numbered when asked for, so frames built concurrently (a tick and an event) keep their order.
    const seq = this.seq++;
    let view: InspectView;
    try {
      view = await this.view(reason, seq);
    } catch (e) {
      // The store closed under us (shutdown) or a snapshot was mid-change: the next tick tries again.
      this.log.debug('inspect.view.failed', { error: (e as Error).message });
      return;
    }
    publishQuietly(this.deps.transport, subjects.inspect(view.ringId, view.nodeId), InspectFrame.encode(view), this.log);
  }

  // ---- replica health ------------------------------------------------------------------------------

  /** A repair ended (alone, or in an anti-entropy pass whose digests differed), or one failed, since the last look: check again. */
  private noteRepairPasses(): void {
    const replicas = this.deps.node.replicas;
    const ctx = replicas.snapshot?.context;
    if (ctx) {
      const ended = replicas.repairsDone + ctx.failures.repair + ctx.failures.antiEntropy;
      if (ended !== this.passesSeen) {
        this.passesSeen = ended;
        if (ended > 0) this.healthDue = true;
      }
    }
    const now = this.deps.clock.now();
    if (!this.healthDue || this.healthRunning || now - this.healthAtMs < INSPECT_HEALTH_MIN_INTERVAL_MS) return;
    if (this.deps.node.router.state !== 'ready') return;
    this.healthDue = false;
    this.healthRunning = true;
    this.healthAtMs = now;
    void this.checkHealth()
      .then((h) => (this.health = h))
      .catch((e: Error) => this.log.debug('inspect.health.failed', { error: e.message }))
      .finally(() => (this.healthRunning = false));
  }

  /** Ask the k replicas of each object held here whether they hold it; count those short of k. */
  async checkHealth(): Promise<Health> {
    const { node, store, clock } = this.deps;
    const k = node.replicas.replicationFactor;
    const held: { id: string; seq?: number }[] = [];
    let partial = false;
    for (const scan of [
      (afterId?: string) => store.scanBlocks(WHOLE_CIRCLE, { afterId, limit: STORAGE_BATCH_IDS_MAX }),
      (afterId?: string) => store.scanObjects(WHOLE_CIRCLE, { afterId, limit: STORAGE_BATCH_IDS_MAX }),
    ] as const) {
      for (let afterId: string | undefined; ; ) {
        const page: { id: string; seq?: number }[] = await scan(afterId);
        held.push(...page.map((e) => ({ id: e.id, seq: e.seq })));
        if (held.length >= INSPECT_HEALTH_IDS_MAX) {
          partial = true;
          break;
        }
        if (page.length < STORAGE_BATCH_IDS_MAX) break;
        afterId = page[page.length - 1]!.id;
      }
      if (partial) break;
    }
    const ids = held.slice(0, INSPECT_HEALTH_IDS_MAX);
    const confirmed = new Map<string, number>();
    const asks = new Map<string, { blocks: string[]; objects: { id: string; seq: number }[] }>();
    const ask = (peer: string) => asks.get(peer) ?? (asks.set(peer, { blocks: [], objects: [] }), asks.get(peer)!);
    await inParallel(ids, REPAIR_TRANSFERS_IN_FLIGHT_MAX, async (e) => {
      let desired: string[];
      try {
        desired = await node.replicas.locate(e.id, 0);
      } catch {
        return; // its replicas cannot be found now: not confirmed
      }
      confirmed.set(e.id, desired.includes(node.id) ? 1 : 0);
      for (const peer of desired) {
        if (peer === node.id) continue;
        if (e.seq === undefined) ask(peer).blocks.push(e.id);
        else ask(peer).objects.push({ id: e.id, seq: e.seq });
      }
    });
    let unreachable = 0;
    const timeoutMs = node.replicas.timings.requestTimeoutMs;
    await inParallel([...asks], REPAIR_TRANSFERS_IN_FLIGHT_MAX, async ([peer, want]) => {
      for (let i = 0; i < Math.max(want.blocks.length, want.objects.length); i += STORAGE_BATCH_IDS_MAX) {
        const blocks = want.blocks.slice(i, i + STORAGE_BATCH_IDS_MAX);
        const objects = want.objects.slice(i, i + STORAGE_BATCH_IDS_MAX);
        const r = await node.replicas.peers.request(peer, Has, { blocks, objects: objects.map((o) => o.id), verify: false }, HasReply, timeoutMs);
        if (!r.ok) return void unreachable++;
        blocks.forEach((id, j) => r.body.blocks[j] && confirmed.set(id, (confirmed.get(id) ?? 0) + 1));
        objects.forEach((o, j) => (r.body.objects[j] ?? 0) >= o.seq && confirmed.set(o.id, (confirmed.get(o.id) ?? 0) + 1));
      }
    });
    const underReplicated = ids.filter((e) => (confirmed.get(e.id) ?? 0) < k).length;
    return { checked: ids.length, underReplicated, unreachable, partial, checkedAtMs: Math.floor(clock.now()) };
  }
}

// ---- the actor tree --------------------------------------------------------------------------------

/** The supervisor and its children (and theirs) down to `depth` levels, at most INSPECT_ACTORS_PER_LEVEL_MAX per level: the node's /state. */
export function actorTree(node: PostNode, depth = INSPECT_ACTOR_DEPTH_MAX): ActorNode {
  const snap = node.supervisorSnapshot;
  return {
    id: 'node',
    status: snap?.status ?? 'stopped',
    value: snap?.value,
    ...describeChildren((snap?.children ?? {}) as Record<string, AnyActorRef | undefined>, depth, (id) => node.ownedActors(id)),
  };
}

/** The actor tree as JSON for an inspect frame: shallower until it fits the frame. */
export function actorsJson(node: PostNode): string {
  for (let depth = INSPECT_ACTOR_DEPTH_MAX; depth >= 1; depth--) {
    const json = JSON.stringify(actorTree(node, depth));
    if (json.length <= INSPECT_ACTORS_JSON_CHARS_MAX) return json;
  }
  return JSON.stringify({ id: 'node', status: node.supervisorSnapshot?.status ?? 'stopped', value: 'tree too large to publish' });
}

/** `owned`: the root actors a supervised child's service runs beside it (the notifier's inboxes), shown under it. */
function describeChildren(
  children: Record<string, AnyActorRef | undefined>,
  depth: number,
  owned: (id: string) => Record<string, AnyActorRef> = () => ({}),
): { children?: ActorNode[]; more?: number } {
  const entries = Object.entries(children).filter((e): e is [string, AnyActorRef] => e[1] !== undefined);
  if (entries.length === 0) return {};
  if (depth <= 0) return { more: entries.length };
  const shown = entries.slice(0, INSPECT_ACTORS_PER_LEVEL_MAX).map(([id, ref]) => describeActor(id, ref, depth - 1, owned(id)));
  return { children: shown, ...(entries.length > shown.length ? { more: entries.length - shown.length } : {}) };
}

function describeActor(id: string, ref: AnyActorRef, depth: number, owned: Record<string, AnyActorRef> = {}): ActorNode {
  /** What inspection reads of any actor's snapshot (machines have all three; other logic may lack some). */
  let s: { status?: unknown; value?: unknown; children?: Record<string, AnyActorRef> } | undefined;
  try {
    s = ref.getSnapshot();
  } catch {
    return { id, status: 'unknown' };
  }
  const children = { ...(s?.children ?? {}), ...owned };
  return { id, status: String(s?.status ?? 'unknown'), ...(s?.value !== undefined ? { value: s.value } : {}), ...describeChildren(children, depth) };
}

/** Run `task` over `items` with at most `limit` in flight. */
async function inParallel<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
