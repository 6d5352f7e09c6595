// The replica manager actor (DESIGN section 3): serves this node's share of the ring's storage as a
// replica, gives the other actors the StorageApi (a client per inserting member), and keeps every
// object on its k closest live nodes: repair when the leaf set changes, anti-entropy with the
// neighbours, lease collection and scrubbing, scheduled by replicaManager.machine one pass at a time.
import type { Subscription } from 'rxjs';
import type { ActorRefFrom } from 'xstate';
import type { RingTrust } from '../../crypto/certificates';
import type { StorageSigner } from '../../crypto/insertAuth';
import type { LocalStore } from '../../infra/store/port';
import { type Clock, type Log, publishQuietly, type Transport } from '../../infra/ports';
import { type PassName, replicaManagerMachine } from '../../machines/replicaManager.machine';
import { kClosest } from '../../overlay/id';
import { type Arc, arcsAround, type GainedArc, gainedArcs, sharedArcs } from '../../overlay/placement';
import { ErrorCodes, PostError } from '../../protocol/errors';
import { ANTI_ENTROPY_PASSES_PER_SWEEP, LEAF_SET_SIZE, QUOTA_BYTES_PER_MEMBER, REPAIR_ARCS_MAX, STORAGE_BATCH_IDS_MAX, STORAGE_TIMINGS, type StorageTimings } from '../../protocol/limits';
import { Has, HasReply, LOCATE_APP, LocateReply, ObjectData, ObjectGet } from '../../protocol/storage';
import { versionHash } from '../../storage/signedObject';
import type { Metrics } from '../metrics';
import type { MembershipChange } from '../router';
import type { RouterApi } from '../routerHandle';
import { antiEntropyPass, type PassDeps, pullPass, refetchBlock, refetchObject, repairDrops, repairLeftWork, type RepairReport, repairPass, gcPass, scrubPass } from './passes';
import { Peers } from './peers';
import { RepairFetcher } from './repairFetcher';
import { ReplicaHandlers } from './replicaHandlers';
import { StorageClient } from './storageClient';

export interface ReplicaManagerDeps {
  readonly transport: Transport;
  readonly clock: Clock;
  readonly log: Log;
  readonly metrics: Metrics;
  readonly router: RouterApi;
  readonly trust: RingTrust;
  readonly store: LocalStore;
  /** This node as an inserting member (repair pushes, operator requests). */
  readonly nodeSigner: StorageSigner;
  readonly replicationFactor: number;
  readonly convergenceSecret: Uint8Array;
  readonly timings?: StorageTimings;
  readonly quotaBytes?: number;
}

type ManagerRef = ActorRefFrom<typeof replicaManagerMachine>;

export class ReplicaManagerService {
  readonly timings: StorageTimings;
  /** This node's own storage client. */
  readonly storage: StorageClient;
  readonly peers: Peers;
  private readonly handlers: ReplicaHandlers;
  /** Repair's pull side: fetches what holders offered and this node lacks. */
  private readonly fetcher: RepairFetcher;
  private readonly passDeps: PassDeps;
  private readonly log: Log;
  private ref: ManagerRef | undefined;
  private membership: Subscription | undefined;
  private readonly scrubCursor: { afterId?: string } = {};
  /** Where keys may have changed replicas since the last repair pass began (the first pass looks everywhere). */
  private changedArcs: Arc[] | 'all' = 'all';
  /** Arcs this node became a replica of since the last pull began, with their live holders (the next pull lists them). */
  private gained: GainedArc[] = [];
  /**
   * Where a repair left work (offers to confirm, replicas that did not answer, hand-overs waiting): the
   * next anti-entropy pass repairs there again ('all': it sweeps every key held). Until the first
   * repair over every key, everything.
   */
  private unsettled: Arc[] | 'all' = 'all';
  /** Anti-entropy passes since the last sweep (ANTI_ENTROPY_PASSES_PER_SWEEP). */
  private passesSinceSweep = 0;
  private repairsEnded = 0;
  private totalsCache = { objects: 0, bytes: 0 };

  constructor(private readonly deps: ReplicaManagerDeps) {
    this.timings = deps.timings ?? STORAGE_TIMINGS;
    this.log = deps.log.child({ actor: 'replicaManager' });
    this.peers = new Peers(deps.transport, deps.trust.ringId, deps.clock);
    this.storage = this.client(deps.nodeSigner);
    this.handlers = new ReplicaHandlers({
      store: () => deps.store,
      trust: deps.trust,
      clock: deps.clock,
      log: this.log,
      metrics: deps.metrics,
      quotaBytes: deps.quotaBytes,
      publish: (subject, bytes) => publishQuietly(deps.transport, subject, bytes, this.log, { handOver: true }),
      signer: deps.nodeSigner,
      fetchOffered: (source, blocks) => this.fetcher.offer(source, blocks),
      // A bug serving a request: the actor fails as it would in its own code, and is restarted.
      onBug: () => this.ref?.send({ type: 'CRASH' }),
      onCorrupt: (id, kind) =>
        void (kind === 'block' ? refetchBlock(this.passDeps, id) : refetchObject(this.passDeps, id)).catch((e: Error) =>
          this.log.warn('storage.corrupt.unrepaired', { id, error: e.message }),
        ),
    });
    this.fetcher = new RepairFetcher({
      store: () => deps.store,
      peers: this.peers,
      clock: deps.clock,
      log: this.log,
      metrics: deps.metrics,
      timings: this.timings,
      quotaBytes: deps.quotaBytes ?? QUOTA_BYTES_PER_MEMBER,
      leaseCapAtMs: () => this.handlers.leaseCapAtMs(),
    });
    this.passDeps = {
      self: deps.router.self,
      signer: deps.nodeSigner,
      takeOffer: (offer, wanted) => this.handlers.takeOffer(offer, wanted),
      store: () => deps.store,
      peers: this.peers,
      clock: deps.clock,
      log: this.log,
      metrics: deps.metrics,
      timings: this.timings,
      replicationFactor: deps.replicationFactor,
      client: this.storage,
      replicasOf: (id) => this.locate(id, 0),
      antiEntropyArcs: () => {
        const k = deps.replicationFactor;
        const clockwise = deps.router.snapshot?.context.leafSet.cw.slice(0, Math.max(1, k - 1)) ?? [];
        return clockwise.map((neighbour) => ({ neighbour, arcs: sharedArcs(deps.router.self, neighbour, deps.router.leafSet(), k) })).filter((p) => p.arcs.length > 0);
      },
    };
    deps.router.registerFrames('storage.', (frame, msg) => this.handlers.handle(frame, msg));
    deps.router.registerApp(LOCATE_APP, async ({ key, body }) => {
      const want = Math.max(1, Math.min(body[0] ?? deps.replicationFactor, LEAF_SET_SIZE + 1));
      return LocateReply.encode({ nodes: kClosest([deps.router.self, ...deps.router.leafSet()], key, want) });
    });
    deps.metrics.gauge('post_storage_objects', 'Blocks and signed objects held by this node', () => this.totalsCache.objects);
    deps.metrics.gauge('post_storage_bytes', 'Bytes of blocks and signed objects held by this node', () => this.totalsCache.bytes);
  }

  // ---- lifecycle (driven by the supervisor) ----------------------------------------------------

  logic() {
    return replicaManagerMachine.provide({ actions: { runPass: (_, p) => void this.run(p.pass) } });
  }

  get input() {
    return { timings: this.timings };
  }

  attach(ref: ManagerRef): void {
    this.ref = ref;
    this.changedArcs = 'all';
    this.gained = [];
    this.membership?.unsubscribe();
    this.membership = this.deps.router.membership$.subscribe((change) => {
      this.noteChange(change);
      this.send({ type: 'LEAFSET_CHANGED' });
    });
    void this.refreshTotals().catch((e: Error) => this.log.warn('storage.totals.failed', { error: e.message }));
  }

  detach(): void {
    this.membership?.unsubscribe();
    this.membership = undefined;
    this.ref = undefined;
    this.fetcher.stop();
  }

  private send(e: Parameters<ManagerRef['send']>[0]): void {
    const ref = this.ref;
    if (ref && ref.getSnapshot().status === 'active') ref.send(e);
  }

  get replicationFactor(): number {
    return this.deps.replicationFactor;
  }

  get snapshot() {
    return this.ref?.getSnapshot();
  }

  // ---- the API for the other actors ------------------------------------------------------------

  /** A StorageApi that inserts as `signer` (a user's node-side actor, or this node). */
  client(signer: StorageSigner): StorageClient {
    return new StorageClient(
      {
        peers: this.peers,
        clock: this.deps.clock,
        timings: this.timings,
        replicationFactor: this.deps.replicationFactor,
        convergenceSecret: this.deps.convergenceSecret,
        locate: (id, extra) => this.locate(id, extra),
        selfId: this.deps.router.self,
        observe: (op, ok, ms) => this.deps.metrics.observe('post_storage_client_ms', 'Replicated reads and writes this node made, by operation and outcome', ms, { op, outcome: ok ? 'ok' : 'failed' }),
      },
      signer,
    );
  }

  /** The k (+ extra) live nodes nearest `id`, nearest first: from the leaf set, or asked of the root. */
  async locate(id: string, extra = 0): Promise<string[]> {
    const want = Math.min(this.deps.replicationFactor + extra, LEAF_SET_SIZE + 1);
    const router = this.deps.router;
    if (router.knowsReplicas(id, want)) return kClosest([router.self, ...router.leafSet()], id, want);
    try {
      const o = await router.route(id, { app: LOCATE_APP, body: new Uint8Array([want]) });
      const r = LocateReply.decode(o.response ?? new Uint8Array());
      if (r.ok) return r.body.nodes;
      throw new PostError(ErrorCodes.BAD_FRAME, r.reason);
    } catch (e) {
      throw new PostError(ErrorCodes.UNAVAILABLE, `cannot find the replicas of ${id.slice(0, 16)}: ${(e as Error).message}`);
    }
  }

  /** The nodes near `id` that hold a verified copy right now (for `post block where`). */
  async where(id: string): Promise<string[]> {
    const candidates = await this.locate(id, LEAF_SET_SIZE);
    const holders: string[] = [];
    await Promise.all(
      candidates.map(async (node) => {
        const r = await this.peers.request(node, Has, { blocks: [id], objects: [id], verify: true }, HasReply, this.timings.requestTimeoutMs);
        if (r.ok && (r.body.blocks[0] || (r.body.objects[0] ?? 0) > 0)) holders.push(node);
      }),
    );
    return kClosest(holders, id, holders.length);
  }

  /**
   * A read-only audit of what this node holds (scenario checkers, operators): blocks and objects of
   * which fewer than k of their replicas hold a verified copy, and objects whose replicas hold two
   * different versions under one sequence number (a fork).
   */
  async audit(): Promise<{ underReplicated: string[]; forks: string[]; pendingDrops: string[] }> {
    const store = this.deps.store;
    const k = this.deps.replicationFactor;
    const all = { lo: '0'.repeat(64), hi: '0'.repeat(64) };
    const underReplicated: string[] = [];
    const forks: string[] = [];
    for (let afterId: string | undefined; ; ) {
      const page = await store.scanBlocks(all, { afterId, limit: STORAGE_BATCH_IDS_MAX });
      for (const b of page) {
        const replicas = await this.locate(b.id, 0);
        let held = 0;
        for (const node of replicas.slice(0, k)) {
          const r = await this.peers.request(node, Has, { blocks: [b.id], objects: [], verify: true }, HasReply, this.timings.requestTimeoutMs);
          if (r.ok && r.body.blocks[0]) held++;
        }
        if (held < k) underReplicated.push(b.id);
      }
      if (page.length < STORAGE_BATCH_IDS_MAX) break;
      afterId = page[page.length - 1]!.id;
    }
    for (let afterId: string | undefined; ; ) {
      const page = await store.scanObjects(all, { afterId, limit: STORAGE_BATCH_IDS_MAX });
      for (const o of page) {
        const versions = new Map<number, Set<string>>();
        let name = '';
        let held = 0;
        for (const node of (await this.locate(o.id, 0)).slice(0, k)) {
          const r = await this.peers.request(node, ObjectGet, { objectId: o.id }, ObjectData, this.timings.requestTimeoutMs);
          if (!r.ok || !r.body.found || !r.body.object) continue;
          held++;
          const v = r.body.object;
          name = v.name;
          const set = versions.get(v.seq) ?? new Set<string>();
          set.add(versionHash(v).toString('hex'));
          versions.set(v.seq, set);
        }
        if (held < k) underReplicated.push(o.id);
        for (const [seq, hashes] of versions) if (hashes.size > 1) forks.push(`object ${o.id.slice(0, 16)} (${name}) has ${hashes.size} versions at seq ${seq}`);
      }
      if (page.length < STORAGE_BATCH_IDS_MAX) break;
      afterId = page[page.length - 1]!.id;
    }
    // Notifications not yet delivered: after a run's heal, what a lost mail may still be waiting in.
    const pendingDrops: string[] = [];
    for (let afterId: string | undefined; ; ) {
      const page = await store.scanDrops(all, { afterId, limit: STORAGE_BATCH_IDS_MAX });
      for (const d of page) {
        const rank = (await this.locate(d.dropId, 0)).slice(0, k).indexOf(this.deps.router.self);
        pendingDrops.push(`drop ${d.dropId.slice(0, 16)}: ${d.entries} pending on ${this.deps.router.self.slice(0, 12)} (${rank < 0 ? 'not one of its replicas' : `replica ${rank + 1} of ${k}`})`);
      }
      if (page.length < STORAGE_BATCH_IDS_MAX) break;
      afterId = page[page.length - 1]!.dropId;
    }
    return { underReplicated, forks, pendingDrops };
  }

  /** Objects and bytes held here (refreshed after every pass). */
  totals(): { objects: number; bytes: number } {
    return this.totalsCache;
  }

  async refreshTotals(): Promise<{ objects: number; bytes: number }> {
    const t = await this.deps.store.totals();
    this.totalsCache = { objects: t.blocks + t.objects, bytes: t.blockBytes + t.objectBytes };
    return this.totalsCache;
  }

  // ---- passes ------------------------------------------------------------------------------------

  private async run(pass: PassName): Promise<void> {
    const started = this.deps.clock.now();
    try {
      const result = await this.runPass(pass);
      this.deps.metrics.observe('post_storage_pass_ms', `Duration of storage housekeeping passes`, this.deps.clock.now() - started);
      // A repair pass, or a pull that found arcs, follows a membership change: worth an operator's eye
      // (what moved, and how long it took).
      const level = pass === 'repair' || (pass === 'pull' && typeof result === 'object' && result !== null && 'arcs' in result) ? 'info' : 'debug';
      this.log[level]('storage.pass', { pass, ms: Math.round(this.deps.clock.now() - started), ...(typeof result === 'object' ? result : { result }) });
      await this.refreshTotals();
      this.send({ type: 'PASS_DONE', pass });
    } catch (e) {
      this.log.warn('storage.pass.failed', { pass, error: (e as Error).message });
      this.send({ type: 'PASS_FAILED', pass, error: (e as Error).message });
    }
  }

  /**
   * The arcs where a membership change may have moved replicas (around each node that left or joined),
   * for the next repair pass; and the arcs this node became a replica of as nodes left, with their live
   * holders, for the next pull (arcs gained beyond the bound are left to the holders' repair offers).
   */
  private noteChange(change: MembershipChange): void {
    const after = change.leafSet;
    const before = [...after.filter((n) => !change.added.includes(n)), ...change.removed];
    const k = this.deps.replicationFactor;
    const self = this.deps.router.self;
    if (change.removed.length > 0) this.gained = [...this.gained, ...gainedArcs(self, before, after, k)].slice(0, REPAIR_ARCS_MAX);
    if (this.changedArcs === 'all') return;
    const arcs = [...this.changedArcs, ...arcsAround(self, before, change.removed, k), ...arcsAround(self, after, change.added, k)];
    this.changedArcs = arcs.length > REPAIR_ARCS_MAX || arcs.some((a) => a.lo === a.hi) ? 'all' : arcs;
  }

  /** Is this node one of the k replicas of `id` by its view now (a pull fetches only those)? */
  private replicates(id: string): boolean {
    const k = this.deps.replicationFactor;
    const router = this.deps.router;
    return router.knowsReplicas(id, k) && router.replicaSet(id, k).includes(router.self);
  }

  /** Repair passes that ended, on a leaf-set change or in anti-entropy (a sweep, or the arcs that differed). */
  get repairsDone(): number {
    return this.repairsEnded;
  }

  /** A repair pass over `arcs` ('all': every key held). Where it left work or failed, the next anti-entropy pass repairs again; one over every key that left none settles everything. */
  private async repairArcs(arcs: readonly Arc[] | 'all', opts?: { drops: boolean }): Promise<RepairReport> {
    let report: RepairReport;
    try {
      report = await repairPass(this.passDeps, arcs === 'all' ? undefined : arcs, opts);
    } catch (e) {
      this.unsettle(arcs);
      throw e;
    }
    this.repairsEnded++;
    if (repairLeftWork(report)) this.unsettle(arcs);
    else if (arcs === 'all') this.unsettled = [];
    return report;
  }

  private unsettle(arcs: readonly Arc[] | 'all'): void {
    if (arcs === 'all' || this.unsettled === 'all') this.unsettled = 'all';
    else {
      const more = [...this.unsettled, ...arcs];
      this.unsettled = more.length > REPAIR_ARCS_MAX ? 'all' : more;
    }
  }

  private async runPass(pass: PassName): Promise<unknown> {
    if (this.deps.router.state !== 'ready') return { skipped: 'router not ready' };
    switch (pass) {
      case 'pull': {
        const gained = this.gained;
        this.gained = [];
        if (gained.length === 0) return { skipped: 'no arcs gained' };
        return pullPass(this.passDeps, gained, (id) => this.replicates(id));
      }
      case 'repair': {
        const arcs = this.changedArcs;
        this.changedArcs = [];
        try {
          return { arcs: arcs === 'all' ? 'all' : arcs.length, ...(await this.repairArcs(arcs)) };
        } catch (e) {
          this.changedArcs = 'all'; // look everywhere next time
          throw e;
        }
      }
      case 'antiEntropy': {
        const { mismatched, ...ae } = await antiEntropyPass(this.passDeps);
        this.passesSinceSweep++;
        if (this.unsettled !== 'all' && this.passesSinceSweep < ANTI_ENTROPY_PASSES_PER_SWEEP) {
          // Repair where digests differed and where the last repairs left work; nothing when all agree.
          // The inbox drops (a few pending entries) on every pass, all of them once.
          const arcs = [...this.unsettled, ...mismatched];
          this.unsettled = [];
          const repair = arcs.length > 0 ? await this.repairArcs(arcs, { drops: false }) : undefined;
          const drops = await repairDrops(this.passDeps);
          return { ...ae, mismatched: mismatched.length, sweep: false, ...repair, dropEntriesPushed: drops.pushed };
        }
        this.deps.metrics.inc('post_storage_sweeps_total', 'Anti-entropy passes that offered every key held to its replicas, by why', { reason: this.unsettled === 'all' ? 'left_work' : 'periodic' });
        this.passesSinceSweep = 0;
        return { ...ae, mismatched: mismatched.length, sweep: true, ...(await this.repairArcs('all')) };
      }
      case 'gc':
        return gcPass(this.passDeps);
      case 'scrub':
        return scrubPass(this.passDeps, this.scrubCursor);
    }
  }
}
