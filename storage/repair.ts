// Repair's pull side, pure (DESIGN 3; issue 13 item 5). After a leaf-set change every holder offers
// its blocks to the nodes that should hold them too (BlockOffer); a replica queues what it lacks and
// fetches it in bulk (BlocksGet), each block once however many holders offered it, from whichever of
// them has room, several requests in flight per source and a bounded number overall. The queue only
// decides what to ask of whom; the fetcher (actors/storage/repairFetcher.ts) performs the requests,
// verifies and stores what comes back, and reports per block:
//
//   offered ──▶ queued ──start()──▶ fetching ──stored / refused──▶ done
//                  ▲                    │
//                  └──missing / corrupt (that source is dropped) / lost (kept)──┘  at most attemptsMax,
//                                                                                  while a source is left
//
// A request holds one of its source's perSourceMax slots, and one of awaitingMax overall (answers on
// their way share this node's connection with its heartbeats), until its answer arrives (received),
// so the next request goes out while the batch is verified and stored; it counts against inFlightMax
// (memory: a batch a request) until it is settled.
//
// Invariants (check(), run by the tests after every step): a block is in at most one request; the
// requests awaiting an answer per source and overall, and all requests, stay within their limits; a request asks
// for at most batchIdsMax blocks and, unless it is a single block, at most batchBytesMax of offered sizes.
import { blake2b } from '../crypto/hash';
import type { OfferedBlock } from '../protocol/storage';
import { writeUint64 } from './uint64';

/** Bytes per block in the offer digest: id | expiresAtMs u64 | insertedBy | sizeBytes u32. */
const OFFER_ENTRY_BYTES = 32 + 8 + 32 + 4;

/** What an offer's signature covers: its blocks' fields in a fixed layout, in order, hashed. */
export function offerDigest(blocks: readonly OfferedBlock[]): Uint8Array {
  const out = Buffer.alloc(blocks.length * OFFER_ENTRY_BYTES);
  blocks.forEach((b, i) => {
    const at = i * OFFER_ENTRY_BYTES;
    out.write(b.id, at, 'hex');
    writeUint64(out, at + 32, b.expiresAtMs);
    out.write(b.insertedBy, at + 40, 'hex');
    out.writeUInt32BE(b.sizeBytes, at + 72);
  });
  return blake2b(out);
}

export interface RepairQueueLimits {
  /** Blocks remembered until fetched; further offers are not queued. */
  readonly queueMax: number;
  /** Requests awaiting their answer from one source. */
  readonly perSourceMax: number;
  /** Requests awaiting their answer, over all sources: bounds the bytes on their way to this node. */
  readonly awaitingMax: number;
  /** Requests not yet settled (awaiting, or their batch being verified and stored): bounds memory. */
  readonly inFlightMax: number;
  readonly batchIdsMax: number;
  readonly batchBytesMax: number;
  /** Failed fetches of one block (from any source) before it is dropped (its holders offer it again). */
  readonly attemptsMax: number;
}

export interface FetchRequest {
  readonly requestId: number;
  readonly source: string;
  readonly ids: readonly string[];
}

interface Pending extends FetchRequest {
  /** The answer arrived: the source's slot is free again. */
  received: boolean;
}

/**
 * What became of one block of a request. stored: here now. refused: this replica will not take it
 * (quota, size): not retried. missing / corrupt: this source cannot give it: its other sources are
 * tried. lost: no answer for it (timeout, left out of a full reply): tried again.
 */
export type FetchOutcome = 'stored' | 'refused' | 'missing' | 'corrupt' | 'lost';

interface Wanted {
  readonly block: OfferedBlock;
  /** Holders that offered it and have not failed to give it. */
  sources: string[];
  attempts: number;
  fetching: boolean;
}

/** A source's offered ids in offer order; may hold ids since fetched or retried (skipped when taken). */
interface SourceQueue {
  ids: string[];
  head: number;
}

export class RepairQueue {
  private readonly wanted = new Map<string, Wanted>();
  private readonly bySource = new Map<string, SourceQueue>();
  private readonly busy = new Map<string, number>();
  private readonly requests = new Map<number, Pending>();
  /** Requests whose answer has not arrived. */
  private awaiting = 0;
  private nextRequestId = 1;
  /** Blocks given up on (attempts spent or no source left) since the queue was made. */
  dropped = 0;

  constructor(private readonly limits: RepairQueueLimits) {}

  /** Blocks waiting or being fetched. */
  get size(): number {
    return this.wanted.size;
  }

  get inFlight(): number {
    return this.requests.size;
  }

  /** The offered lease and inserter of a block waiting or being fetched. */
  offered(id: string): OfferedBlock | undefined {
    return this.wanted.get(id)?.block;
  }

  /** `source` holds `blocks`, which this replica lacks: queue them. Returns how many are queued now. */
  offer(source: string, blocks: readonly OfferedBlock[]): number {
    let queued = 0;
    for (const block of blocks) {
      const w = this.wanted.get(block.id);
      if (w) {
        if (!w.sources.includes(source)) {
          w.sources.push(source);
          if (!w.fetching) this.enqueue(source, block.id);
        }
        queued++;
      } else if (this.wanted.size < this.limits.queueMax) {
        this.wanted.set(block.id, { block, sources: [source], attempts: 0, fetching: false });
        this.enqueue(source, block.id);
        queued++;
      }
    }
    return queued;
  }

  /** The requests to send now: a batch from each source with room, in turn, until the limits are reached. */
  start(): FetchRequest[] {
    const started: FetchRequest[] = [];
    const room = () => this.requests.size < this.limits.inFlightMax && this.awaiting < this.limits.awaitingMax;
    for (let progress = true; progress && room(); ) {
      progress = false;
      for (const source of [...this.bySource.keys()]) {
        if (!room()) break;
        if ((this.busy.get(source) ?? 0) >= this.limits.perSourceMax) continue;
        const ids = this.take(source);
        if (ids.length === 0) continue;
        const request = { requestId: this.nextRequestId++, source, ids };
        this.requests.set(request.requestId, { ...request, received: false });
        this.busy.set(source, (this.busy.get(source) ?? 0) + 1);
        this.awaiting++;
        started.push(request);
        progress = true;
      }
    }
    return started;
  }

  /** A request's answer (or its failure) arrived: its source may be asked again while the batch is stored. */
  received(requestId: number): void {
    const request = this.requests.get(requestId);
    if (!request || request.received) return;
    request.received = true;
    this.awaiting--;
    const busy = (this.busy.get(request.source) ?? 1) - 1;
    if (busy > 0) this.busy.set(request.source, busy);
    else this.busy.delete(request.source);
  }

  /** A request is done: the outcome of each of its blocks (a block not named was lost). */
  settle(requestId: number, outcomes: ReadonlyMap<string, FetchOutcome>): void {
    const request = this.requests.get(requestId);
    if (!request) return; // cleared meanwhile
    this.received(requestId);
    this.requests.delete(requestId);
    for (const id of request.ids) {
      const w = this.wanted.get(id);
      if (!w) continue;
      const outcome = outcomes.get(id) ?? 'lost';
      if (outcome === 'stored' || outcome === 'refused') {
        this.wanted.delete(id);
        continue;
      }
      w.fetching = false;
      w.attempts++;
      if (outcome !== 'lost') w.sources = w.sources.filter((s) => s !== request.source);
      if (w.attempts >= this.limits.attemptsMax || w.sources.length === 0) {
        this.wanted.delete(id);
        this.dropped++;
      } else for (const s of w.sources) this.enqueue(s, id);
    }
  }

  /** A request got no answer at all. */
  fail(requestId: number): void {
    this.settle(requestId, new Map());
  }

  /** Forget everything (the replica manager stops); answers to requests in flight are then ignored. */
  clear(): void {
    this.wanted.clear();
    this.bySource.clear();
    this.busy.clear();
    this.requests.clear();
    this.awaiting = 0;
  }

  /** Invariant violations (none when the queue is sound). */
  check(): string[] {
    const violations: string[] = [];
    const inRequests = new Map<string, number>();
    const perSource = new Map<string, number>();
    for (const r of this.requests.values()) {
      if (!r.received) perSource.set(r.source, (perSource.get(r.source) ?? 0) + 1);
      if (r.ids.length === 0 || r.ids.length > this.limits.batchIdsMax) violations.push(`request ${r.requestId} asks for ${r.ids.length} blocks`);
      const bytes = r.ids.reduce((sum, id) => sum + (this.wanted.get(id)?.block.sizeBytes ?? 0), 0);
      if (r.ids.length > 1 && bytes > this.limits.batchBytesMax) violations.push(`request ${r.requestId} asks for ${bytes} bytes`);
      for (const id of r.ids) inRequests.set(id, (inRequests.get(id) ?? 0) + 1);
    }
    for (const [id, n] of inRequests) if (n > 1) violations.push(`block ${id.slice(0, 8)} is in ${n} requests`);
    for (const [id, w] of this.wanted) if (w.fetching !== inRequests.has(id)) violations.push(`block ${id.slice(0, 8)} fetching=${w.fetching} but in ${inRequests.get(id) ?? 0} requests`);
    for (const s of new Set([...perSource.keys(), ...this.busy.keys()])) {
      const n = perSource.get(s) ?? 0;
      if (n > this.limits.perSourceMax) violations.push(`${n} requests in flight to ${s.slice(0, 8)}`);
      if (n !== (this.busy.get(s) ?? 0)) violations.push(`busy count of ${s.slice(0, 8)} is ${this.busy.get(s)}, not ${n}`);
    }
    const awaiting = [...this.requests.values()].filter((r) => !r.received).length;
    if (awaiting !== this.awaiting) violations.push(`awaiting count is ${this.awaiting}, not ${awaiting}`);
    if (awaiting > this.limits.awaitingMax) violations.push(`${awaiting} requests awaiting their answer`);
    if (this.requests.size > this.limits.inFlightMax) violations.push(`${this.requests.size} requests in flight`);
    if (this.wanted.size > this.limits.queueMax) violations.push(`${this.wanted.size} blocks queued`);
    return violations;
  }

  private enqueue(source: string, id: string): void {
    let q = this.bySource.get(source);
    if (!q) this.bySource.set(source, (q = { ids: [], head: 0 }));
    q.ids.push(id);
  }

  /** The next batch to ask of `source`: ids it offered that are still wanted and not being fetched. */
  private take(source: string): string[] {
    const q = this.bySource.get(source)!;
    const ids: string[] = [];
    let bytes = 0;
    while (q.head < q.ids.length && ids.length < this.limits.batchIdsMax) {
      const id = q.ids[q.head]!;
      const w = this.wanted.get(id);
      if (!w || w.fetching || !w.sources.includes(source)) {
        q.head++;
        continue;
      }
      if (ids.length > 0 && bytes + w.block.sizeBytes > this.limits.batchBytesMax) break;
      q.head++;
      w.fetching = true;
      ids.push(id);
      bytes += w.block.sizeBytes;
    }
    if (q.head >= q.ids.length) this.bySource.delete(source);
    else if (q.head > 1024 && q.head * 2 > q.ids.length) {
      q.ids = q.ids.slice(q.head);
      q.head = 0;
    }
    return ids;
  }
}
