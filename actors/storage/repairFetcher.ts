// Repair's pull side on the network (DESIGN 3): performs the requests storage/repair.ts's queue
// decides, verifies every block that comes back (its hash; the lease and inserter were signed by the
// holder that offered it, and checked when the offer arrived) and stores a fetched batch in one
// durable write. A bad block in a batch is refused alone and counted; the good ones are kept.
import type { LocalStore } from '../../infra/store/port';
import type { Clock, Log } from '../../infra/ports';
import { ErrorCodes } from '../../protocol/errors';
import {
  REPAIR_BATCH_BYTES_MAX,
  REPAIR_FETCHES_AWAITING_MAX,
  REPAIR_FETCHES_IN_FLIGHT_MAX,
  REPAIR_FETCHES_PER_SOURCE_MAX,
  REPAIR_QUEUE_BLOCKS_MAX,
  STORAGE_BATCH_IDS_MAX,
  type StorageTimings,
} from '../../protocol/limits';
import { BlocksData, BlocksGet, type OfferedBlock } from '../../protocol/storage';
import { type FetchOutcome, type FetchRequest, RepairQueue } from '../../storage/repair';
import { acceptBlocks, type BlockArrival } from '../../storage/replicaStore';
import type { Metrics } from '../metrics';
import type { Peers } from './peers';

export interface RepairFetcherDeps {
  readonly store: () => LocalStore;
  readonly peers: Peers;
  readonly clock: Clock;
  readonly log: Log;
  readonly metrics: Metrics;
  readonly timings: StorageTimings;
  readonly quotaBytes: number;
  /** The latest lease a copy may be kept under now (the replica's lease cap). */
  readonly leaseCapAtMs: () => number;
}

export class RepairFetcher {
  private readonly queue: RepairQueue;
  /** Bumped by stop(): answers to requests sent before are ignored. */
  private generation = 0;
  /** Since the queue last filled: what was fetched (logged once it drains again). */
  private episode: { startedAtMs: number; blocks: number; bytes: number; refused: number; dropped: number } | undefined;

  constructor(private readonly deps: RepairFetcherDeps) {
    this.queue = new RepairQueue({
      queueMax: REPAIR_QUEUE_BLOCKS_MAX,
      perSourceMax: REPAIR_FETCHES_PER_SOURCE_MAX,
      awaitingMax: REPAIR_FETCHES_AWAITING_MAX,
      inFlightMax: REPAIR_FETCHES_IN_FLIGHT_MAX,
      batchIdsMax: STORAGE_BATCH_IDS_MAX,
      batchBytesMax: REPAIR_BATCH_BYTES_MAX,
      attemptsMax: deps.timings.attemptsMax,
    });
    deps.metrics.gauge('post_storage_repair_queued', 'Blocks offered to this replica and not yet fetched', () => this.queue.size);
  }

  /** `source` (a verified offer's signer) holds `blocks`, which this node lacks; returns how many are queued. */
  offer(source: string, blocks: readonly OfferedBlock[]): number {
    const queued = this.queue.offer(source, blocks);
    if (queued > 0) this.episode ??= { startedAtMs: this.deps.clock.now(), blocks: 0, bytes: 0, refused: 0, dropped: 0 };
    this.pump();
    return queued;
  }

  /** Blocks waiting or being fetched. */
  get queued(): number {
    return this.queue.size;
  }

  /** Drop the queue (the replica manager stops or restarts); holders offer again at their next pass. */
  stop(): void {
    this.queue.clear();
    this.generation++;
  }

  private pump(): void {
    for (const request of this.queue.start()) void this.fetch(request, this.generation);
  }

  private async fetch(request: FetchRequest, generation: number): Promise<void> {
    let outcomes: Map<string, FetchOutcome>;
    try {
      outcomes = await this.transfer(request, generation);
    } catch (e) {
      // The store failed or closed under us: every block of the request counts as lost.
      this.deps.log.warn('storage.repair.fetch_failed', { from: request.source, blocks: request.ids.length, error: (e as Error).message });
      outcomes = new Map();
    }
    if (generation !== this.generation) return;
    const before = this.queue.dropped;
    this.queue.settle(request.requestId, outcomes);
    const dropped = this.queue.dropped - before;
    if (dropped) {
      this.deps.metrics.inc('post_storage_repair_dropped_total', 'Offered blocks given up on after failed fetches (offered again later)', undefined, dropped);
      if (this.episode) this.episode.dropped += dropped;
    }
    this.pump();
    if (this.queue.size === 0 && this.episode) {
      const { startedAtMs, ...fetched } = this.episode;
      this.episode = undefined;
      this.deps.log.info('storage.repair.fetched', { ...fetched, ms: Math.round(this.deps.clock.now() - startedAtMs) });
    }
  }

  /** One bulk fetch: ask, verify, store in one write; the outcome of each block asked for. */
  private async transfer(request: FetchRequest, generation: number): Promise<Map<string, FetchOutcome>> {
    const { store: storeOf, peers, timings, metrics, log } = this.deps;
    const store = storeOf();
    const outcomes = new Map<string, FetchOutcome>();
    const ids: string[] = [];
    for (const id of request.ids) {
      if (await store.hasBlock(id)) outcomes.set(id, 'stored');
      else ids.push(id);
    }
    if (ids.length === 0) return outcomes;
    const askedAt = performance.now();
    const r = await peers.request(request.source, BlocksGet, { ids }, BlocksData, timings.bulkRequestTimeoutMs);
    if (generation === this.generation) {
      // Ask this source for more while this batch is verified and stored.
      this.queue.received(request.requestId);
      this.pump();
    }
    const storingAt = performance.now();
    metrics.observe('post_storage_repair_fetch_ms', 'Bulk repair fetches: waiting for the source, and verifying and storing a batch', storingAt - askedAt, { stage: 'transfer' });
    if (!r.ok) {
      log.debug('storage.repair.fetch_lost', { from: request.source, blocks: ids.length, code: r.code });
      return outcomes;
    }
    const asked = new Set(ids);
    const arrivals: BlockArrival[] = [];
    for (const b of r.body.blocks) {
      const offered = this.queue.offered(b.id);
      if (!asked.has(b.id) || !offered) continue;
      if (!b.block) outcomes.set(b.id, 'missing');
      else arrivals.push({ id: b.id, bytes: b.block, expiresAtMs: offered.expiresAtMs, insertedBy: offered.insertedBy });
    }
    const results = await acceptBlocks(store, arrivals, { quotaBytes: this.deps.quotaBytes, leaseCapAtMs: this.deps.leaseCapAtMs() });
    metrics.observe('post_storage_repair_fetch_ms', 'Bulk repair fetches: waiting for the source, and verifying and storing a batch', performance.now() - storingAt, { stage: 'store' });
    let created = 0;
    let bytes = 0;
    results.forEach((result, i) => {
      const a = arrivals[i]!;
      if (result.ok) {
        outcomes.set(a.id, 'stored');
        if (result.value.created) {
          created++;
          bytes += a.bytes.length;
        }
        return;
      }
      outcomes.set(a.id, result.code === ErrorCodes.BLOCK_CORRUPT ? 'corrupt' : 'refused');
      if (this.episode) this.episode.refused++;
      metrics.inc('post_storage_refused_total', 'Storage requests refused by this replica', { code: result.code });
      log.warn('storage.repair.refused', { block: a.id, from: request.source, code: result.code, message: result.message });
    });
    if (created && this.episode) {
      this.episode.blocks += created;
      this.episode.bytes += bytes;
    }
    if (created) {
      metrics.inc('post_storage_blocks_stored_total', 'Blocks this replica stored', undefined, created);
      metrics.inc('post_storage_repair_fetched_total', 'Blocks this replica fetched from holders during repair', undefined, created);
      metrics.inc('post_storage_repair_fetched_bytes_total', 'Bytes of blocks this replica fetched from holders during repair', undefined, bytes);
    }
    return outcomes;
  }
}
