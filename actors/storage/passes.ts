// The replica manager's housekeeping passes (scheduled one at a time by replicaManager.machine):
//
// - pull: at once on a leaf-set change, a node that became a replica of an arc asks the holders still
//   live there to list their keys (signed pages: offers like a repair's), and fetches in bulk what it
//   lacks (repairFetcher.ts), before any holder's repair pass offers them (those come after their
//   debounce, and stay the safety net for whatever a pull missed).
// - repair: every key held here goes to the k nodes that should hold it by the current leaf set:
//   blocks are offered (signed lists of ids and leases) and each replica fetches what it lacks in
//   bulk (repairFetcher.ts), once however many holders offered it; signed objects are pushed. A key
//   this node should no longer hold is deleted once all k of its replicas confirmed a verified copy
//   (hand-over: nothing is deleted on a guess; a copy still being fetched is confirmed next pass).
// - anti-entropy: compare range digests with each of the k - 1 nodes clockwise over the arcs whose
//   keys both replicate (so every two replicas of a key are compared by one of them); on a mismatch,
//   list the neighbour's side (signed pages, offers like a repair's) and fetch what is missing here;
//   then a repair pass over the arcs that differed, and over those where the last repairs left work
//   (offers to confirm, a replica that did not answer, hand-overs waiting), offers what is missing
//   there and on the other replicas. A repair pass over every key held (a sweep) costs requests in
//   proportion to the keys held, so it runs only when a repair over every key left work, and every
//   ANTI_ENTROPY_PASSES_PER_SWEEP passes as the safety net; the inbox drops (a few pending entries)
//   are repaired on every pass.
// - gc: collect blocks whose lease ended.
// - scrub: re-verify a bounded batch of local copies; a corrupt copy is dropped and fetched again.
import { type InsertAuthValue, signOffer, type StorageSigner } from '../../crypto/insertAuth';
import type { BlockEntry, IdRange, LocalStore, ObjectEntry, StoredDropEntry } from '../../infra/store/port';
import { chunks } from '../../infra/chunks';
import type { Clock, Log } from '../../infra/ports';
import type { GainedArc } from '../../overlay/placement';
import { ErrorCodes } from '../../protocol/errors';
import type { BodyOf } from '../../protocol/frame';
import { DROP_LIST_ENTRIES_MAX, DROP_PAGE_BYTES_MAX, NOTIFY_PULL_PAGE_MAX, REPAIR_PULL_PAGES_MAX, REPAIR_TRANSFERS_IN_FLIGHT_MAX, SCRUB_BLOCKS_PER_PASS, STORAGE_BATCH_IDS_MAX, type StorageTimings } from '../../protocol/limits';
import { BlockOffer, BlockOfferReply, Digest, DigestReply, Has, HasReply, ObjectData, ObjectGet, type OfferedBlock, Scan, ScanReply } from '../../protocol/storage';
import { decodeEnvelope, DropHas, DropHasReply, DropPutReply, DropSync, type Envelope } from '../../protocol/notify';
import { offerDigest } from '../../storage/repair';
import { applyBlockPut, applyObjectPut, getVerifiedBlock, getVerifiedObject } from '../../storage/replicaStore';
import { checkSignedObject } from '../../storage/signedObject';
import type { Metrics } from '../metrics';
import type { PeerReply, Peers } from './peers';
import type { OfferAnswer } from './replicaHandlers';
import type { StorageClient } from './storageClient';

export interface PassDeps {
  readonly self: string;
  /** This node as a member: signs its repair offers. */
  readonly signer: StorageSigner;
  /** Take an offer of blocks as if it had arrived from its signer (anti-entropy pages are offers). */
  readonly takeOffer: (offer: { blocks: readonly OfferedBlock[]; verify: boolean; auth?: InsertAuthValue }, wanted?: (id: string) => boolean) => Promise<OfferAnswer>;
  readonly store: () => LocalStore;
  readonly peers: Peers;
  readonly clock: Clock;
  readonly log: Log;
  readonly metrics: Metrics;
  readonly timings: StorageTimings;
  readonly replicationFactor: number;
  /** This node's own storage client (node identity): pushes and fetches during repair. */
  readonly client: StorageClient;
  /** The k replicas of an id, nearest first: from the leaf set when it knows them, else asked of the root. */
  readonly replicasOf: (id: string) => Promise<string[]>;
  /**
   * The k - 1 nodes clockwise of this one, each with the parts of the circle whose keys both replicate
   * (overlay/placement.ts sharedArcs): what anti-entropy compares with them.
   */
  readonly antiEntropyArcs: () => readonly { neighbour: string; arcs: readonly IdRange[] }[];
}

const WHOLE_CIRCLE = { lo: '0'.repeat(64), hi: '0'.repeat(64) };

/** Run `tasks` with at most `limit` in flight. */
async function inParallel<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}


export interface RepairReport {
  readonly checked: number;
  /** Blocks offered to replicas that lacked them (they fetch them). */
  readonly offered: number;
  /** Signed objects pushed to replicas that lacked them. */
  readonly pushed: number;
  readonly handedOver: number;
  /** Keys this node no longer replicates, kept until all their replicas confirm a copy (a later pass). */
  readonly awaitingHandOver: number;
  readonly unreachable: number;
  readonly dropEntriesPushed?: number;
}

/**
 * A repair pass left work for a later one: a replica lacked keys (offered, pushed: confirmed only by
 * the next pass), did not answer, or a hand-over waits for confirmations.
 */
export const repairLeftWork = (r: RepairReport): boolean => r.offered > 0 || r.pushed > 0 || r.unreachable > 0 || r.awaitingHandOver > 0;

/**
 * Inbox drops: every entry held here goes to the drop's other replicas (they keep what they lack and
 * refuse what is tombstoned); a drop this node no longer replicates is emptied once its replicas
 * confirmed every entry (present or taken).
 */
export async function repairDrops(d: PassDeps, arcs: readonly IdRange[] = [WHOLE_CIRCLE]): Promise<{ pushed: number; handedOver: number }> {
  const store = d.store();
  let pushed = 0;
  let handedOver = 0;
  const drops = [];
  for (const range of arcs)
    for (let afterId: string | undefined; ; ) {
      const page = await store.scanDrops(range, { afterId, limit: STORAGE_BATCH_IDS_MAX });
      drops.push(...page);
      if (page.length < STORAGE_BATCH_IDS_MAX) break;
      afterId = page[page.length - 1]!.dropId;
    }
  await inParallel(drops, REPAIR_TRANSFERS_IN_FLIGHT_MAX, async ({ dropId }) => {
    let desired: string[];
    try {
      desired = await d.replicasOf(dropId);
    } catch {
      return;
    }
    const entries: StoredDropEntry[] = [];
    for (let afterEntryId: string | undefined; ; ) {
      const page = await store.listDrop(dropId, { afterEntryId });
      entries.push(...page);
      if (page.length === 0 || page.length < DROP_LIST_ENTRIES_MAX) break;
      afterEntryId = page[page.length - 1]!.entryId;
    }
    if (entries.length === 0) return;
    let confirmedEverywhere = true;
    for (const node of desired) {
      if (node === d.self) continue;
      const missing: typeof entries = [];
      for (const batch of chunks(entries, STORAGE_BATCH_IDS_MAX)) {
        const r = await d.peers.request(node, DropHas, { dropId, entryIds: batch.map((e) => e.entryId) }, DropHasReply, d.timings.requestTimeoutMs);
        if (!r.ok) {
          confirmedEverywhere = false;
          continue;
        }
        batch.forEach((e, i) => !r.body.present[i] && missing.push(e));
      }
      // Push what it lacks, a page of at most NOTIFY_PULL_PAGE_MAX entries and DROP_PAGE_BYTES_MAX at a
      // time (a longer page is refused whole by the receiver's decoder).
      let page: { entryId: string; envelope: Envelope }[] = [];
      let bytes = 0;
      const flush = async () => {
        if (!page.length) return;
        const r = await d.peers.request(node, DropSync, { dropId, entries: page }, DropPutReply, d.timings.requestTimeoutMs);
        if (r.ok && r.body.ok) pushed += page.length;
        else confirmedEverywhere = false;
        page = [];
        bytes = 0;
      };
      for (const e of missing) {
        const decoded = decodeEnvelope(e.bytes);
        if (!decoded.ok) continue;
        if (bytes + e.bytes.length > DROP_PAGE_BYTES_MAX || page.length === NOTIFY_PULL_PAGE_MAX) await flush();
        page.push({ entryId: e.entryId, envelope: decoded.envelope });
        bytes += e.bytes.length;
      }
      await flush();
    }
    if (!desired.includes(d.self) && confirmedEverywhere) {
      // Handed over: an already-expired tombstone, collected at once, so a later return is not refused.
      for (const e of entries) await store.deleteDropEntry(dropId, e.entryId, { tombstoneUntilMs: 0 });
      await store.deleteExpiredTombstones(Math.floor(d.clock.now()));
      handedOver += entries.length;
    }
  });
  if (pushed) d.metrics.inc('post_notify_repair_pushed_total', 'Drop entries pushed to replicas that lacked them', undefined, pushed);
  return { pushed, handedOver };
}

/**
 * Bring every key held here (in `arcs`, or all) to the nodes that should hold it; hand over what is no
 * longer ours. A page of keys at a time, so that a pass over millions holds one page in memory; a
 * replica that does not answer is skipped for the rest of the pass (the next pass tries it again).
 */
export async function repairPass(d: PassDeps, arcs: readonly IdRange[] = [WHOLE_CIRCLE], opts: { drops: boolean } = { drops: true }): Promise<RepairReport> {
  const store = d.store();
  const report: Tally = { checked: 0, offered: 0, pushed: 0, handedOver: 0, awaitingHandOver: 0, unreachable: 0 };
  const down = new Set<string>();
  for (const range of arcs) {
    for (let afterId: string | undefined; ; ) {
      const page = await store.scanBlocks(range, { afterId, limit: STORAGE_BATCH_IDS_MAX });
      await repairBlocks(d, page, down, report);
      if (page.length < STORAGE_BATCH_IDS_MAX) break;
      afterId = page[page.length - 1]!.id;
    }
    for (let afterId: string | undefined; ; ) {
      const page = await store.scanObjects(range, { afterId, limit: STORAGE_BATCH_IDS_MAX });
      await repairObjects(d, page, down, report);
      if (page.length < STORAGE_BATCH_IDS_MAX) break;
      afterId = page[page.length - 1]!.id;
    }
  }
  const drops = opts.drops ? await repairDrops(d, arcs) : { pushed: 0 };
  if (report.offered) d.metrics.inc('post_storage_repair_offered_total', 'Blocks offered to replicas that lacked them (they fetch them)', undefined, report.offered);
  if (report.pushed) d.metrics.inc('post_storage_repair_pushed_total', 'Signed objects pushed to replicas that lacked them', undefined, report.pushed);
  if (report.handedOver) d.metrics.inc('post_storage_handed_over_total', 'Local copies dropped after their new replicas confirmed them', undefined, report.handedOver);
  return { ...report, dropEntriesPushed: drops.pushed };
}

type Tally = { -readonly [K in Exclude<keyof RepairReport, 'dropEntriesPushed'>]: number };

/** Where each key of a page should live: per replica (not this node) the keys it should hold. */
async function placePage<T extends { id: string }>(d: PassDeps, page: readonly T[]) {
  const wants = new Map<string, T[]>();
  const desiredOf = new Map<string, string[]>();
  for (const e of page) {
    let desired: string[];
    try {
      desired = await d.replicasOf(e.id);
    } catch {
      continue; // the root cannot be reached now: try again next pass
    }
    desiredOf.set(e.id, desired);
    for (const node of desired) {
      if (node === d.self) continue;
      const list = wants.get(node);
      if (list) list.push(e);
      else wants.set(node, [e]);
    }
  }
  return { wants, desiredOf };
}

/** Keys of a page this node no longer replicates, once every one of their replicas confirmed them; the others are counted as awaiting. */
function handOverPage(d: PassDeps, desiredOf: ReadonlyMap<string, readonly string[]>, confirmed: ReadonlyMap<string, ReadonlySet<string>>, report: Tally): string[] {
  const leaving = [...desiredOf].filter(([, desired]) => !desired.includes(d.self));
  const ready = leaving.filter(([id, desired]) => desired.every((n) => confirmed.get(id)?.has(n))).map(([id]) => id);
  report.awaitingHandOver += leaving.length - ready.length;
  return ready;
}

/** Offer a page of blocks to the replicas that should hold them (verified copies asked of, for a hand-over). */
async function repairBlocks(d: PassDeps, page: readonly BlockEntry[], down: Set<string>, report: Tally): Promise<void> {
  report.checked += page.length;
  const { wants, desiredOf } = await placePage(d, page);
  const confirmed = new Map<string, Set<string>>();
  await inParallel([...wants].filter(([node]) => !down.has(node)), REPAIR_TRANSFERS_IN_FLIGHT_MAX, async ([node, entries]) => {
    const leaving = entries.filter((e) => !desiredOf.get(e.id)!.includes(d.self));
    const staying = entries.filter((e) => desiredOf.get(e.id)!.includes(d.self));
    for (const [batch, verify] of [[staying, false], [leaving, true]] as const) {
      if (batch.length === 0 || down.has(node)) continue;
      const blocks = batch.map((e) => ({ id: e.id, expiresAtMs: e.expiresAtMs, insertedBy: e.insertedBy, sizeBytes: e.sizeBytes }));
      const auth = await signOffer(d.signer, offerDigest(blocks));
      const r = await d.peers.request(node, BlockOffer, { blocks, verify, auth }, BlockOfferReply, d.timings.requestTimeoutMs);
      if (!r.ok || !r.body.ok || !r.body.held) {
        if (r.ok) d.log.warn('storage.repair.offer_refused', { to: node, code: r.body.code, message: r.body.message });
        down.add(node);
        report.unreachable++;
        continue;
      }
      const held = r.body.held;
      batch.forEach((e, i) => (held[i] ? addTo(confirmed, e.id, node) : report.offered++));
    }
  });
  for (const id of handOverPage(d, desiredOf, confirmed, report)) {
    await d.store().deleteBlock(id);
    report.handedOver++;
  }
}

/** Ask the replicas that should hold a page of signed objects which they lack (or hold older), and push those. */
async function repairObjects(d: PassDeps, page: readonly ObjectEntry[], down: Set<string>, report: Tally): Promise<void> {
  report.checked += page.length;
  const { wants, desiredOf } = await placePage(d, page);
  const confirmed = new Map<string, Set<string>>();
  const pushes: { node: string; id: string }[] = [];
  await inParallel([...wants].filter(([node]) => !down.has(node)), REPAIR_TRANSFERS_IN_FLIGHT_MAX, async ([node, entries]) => {
    const r = await d.peers.request(node, Has, { blocks: [], objects: entries.map((e) => e.id), verify: false }, HasReply, d.timings.requestTimeoutMs);
    if (!r.ok) {
      down.add(node);
      report.unreachable++;
      return;
    }
    entries.forEach((e, i) => ((r.body.objects[i] ?? 0) >= e.seq ? addTo(confirmed, e.id, node) : pushes.push({ node, id: e.id })));
  });
  await inParallel(pushes, REPAIR_TRANSFERS_IN_FLIGHT_MAX, async ({ node, id }) => {
    const o = await getVerifiedObject(d.store(), id);
    if (!o) return;
    const r = await d.client.putObjectTo(o, undefined, [node]);
    if (r.ok || r.code === ErrorCodes.SEQ_NOT_NEWER) {
      addTo(confirmed, id, node);
      report.pushed++;
    }
  });
  for (const id of handOverPage(d, desiredOf, confirmed, report)) {
    await d.store().deleteObject(id);
    report.handedOver++;
  }
}

function addTo(confirmed: Map<string, Set<string>>, id: string, node: string): void {
  const nodes = confirmed.get(id);
  if (nodes) nodes.add(node);
  else confirmed.set(id, new Set([node]));
}

export interface PullReport {
  /** Arcs this node became a replica of. */
  readonly arcs: number;
  /** Blocks the holders listed there (each holder lists its own: a block is counted once per holder). */
  readonly listed: number;
  /** Of them, blocks queued for fetching (this node lacked them and replicates them). */
  readonly queued: number;
  /** Signed objects fetched (missing or older here). */
  readonly fetched: number;
  /** Holders that did not answer or refused. */
  readonly unreachable: number;
}

/**
 * A new replica's side of repair: every live holder of each gained arc lists its blocks there, a page
 * at a time (each page a signed offer), and this node queues those it lacks and `replicates` (by its
 * view now): every holder is a source, so the fetches spread over them. Signed objects are listed by
 * the first holder that answers, and the missing or older ones fetched and verified.
 */
export async function pullPass(d: PassDeps, gained: readonly GainedArc[], replicates: (id: string) => boolean): Promise<PullReport> {
  let listed = 0;
  let queued = 0;
  let fetched = 0;
  let unreachable = 0;
  const asks = gained.flatMap((g) => g.holders.map((holder) => ({ arc: g.arc, holder })));
  const objectsListed = new Set<GainedArc['arc']>();
  await inParallel(asks, REPAIR_TRANSFERS_IN_FLIGHT_MAX, async ({ arc, holder }) => {
    let afterId: string | undefined;
    for (let pages = 0; pages < REPAIR_PULL_PAGES_MAX; pages++) {
      const page = await d.peers.request(holder, Scan, { what: 'blocks', ...arc, afterId, limit: STORAGE_BATCH_IDS_MAX }, ScanReply, d.timings.requestTimeoutMs);
      if (!page.ok) {
        unreachable++;
        return;
      }
      const blocks = page.body.blocks;
      listed += blocks.length;
      if (blocks.length > 0) {
        const taken = await d.takeOffer({ blocks, verify: false, auth: page.body.auth }, replicates);
        if (!taken.ok) {
          d.log.warn('storage.pull.refused', { from: holder, code: taken.code, message: taken.message });
          unreachable++;
          return;
        }
        queued += taken.queued;
      }
      const last = blocks[blocks.length - 1]?.id;
      if (!page.body.more || last === undefined || last === afterId) break;
      afterId = last;
    }
    if (objectsListed.has(arc)) return;
    objectsListed.add(arc);
    afterId = undefined;
    for (let pages = 0; pages < REPAIR_PULL_PAGES_MAX; pages++) {
      const page: PeerReply<BodyOf<typeof ScanReply>> = await d.peers.request(holder, Scan, { what: 'objects', ...arc, afterId, limit: STORAGE_BATCH_IDS_MAX }, ScanReply, d.timings.requestTimeoutMs);
      if (!page.ok) {
        objectsListed.delete(arc); // the next holder lists them
        return;
      }
      const stale: string[] = [];
      for (const o of page.body.objects) if (replicates(o.id) && ((await d.store().getObject(o.id))?.seq ?? 0) < o.seq) stale.push(o.id);
      await inParallel(stale, REPAIR_TRANSFERS_IN_FLIGHT_MAX, async (id) => {
        if (await fetchObjectFrom(d, holder, id)) fetched++;
      });
      const last: string | undefined = page.body.objects[page.body.objects.length - 1]?.id;
      if (!page.body.more || last === undefined || last === afterId) break;
      afterId = last;
    }
  });
  if (queued) d.metrics.inc('post_storage_pull_queued_total', 'Blocks a new replica found missing in arcs it gained and queued for fetching', undefined, queued);
  return { arcs: gained.length, listed, queued, fetched, unreachable };
}

/**
 * Digest the arcs shared with each of the k - 1 nodes clockwise (the keys both replicate); on a mismatch
 * list the neighbour's side of that arc: the blocks missing here are queued for fetching (a listed page
 * is a signed offer), missing or older objects are fetched and verified. What the neighbour lacks, a
 * repair of the arcs that differed (`mismatched`) offers it.
 */
export async function antiEntropyPass(d: PassDeps): Promise<{ fetched: number; queued: number; mismatched: IdRange[] }> {
  const total = { fetched: 0, queued: 0, mismatched: [] as IdRange[] };
  const same = (a: { count: number; xor: string }, b: { count: number; xor: string }) => a.count === b.count && a.xor === b.xor;
  for (const { neighbour, arcs } of d.antiEntropyArcs())
    for (const range of arcs) {
      const theirs = await d.peers.request(neighbour, Digest, range, DigestReply, d.timings.requestTimeoutMs);
      if (!theirs.ok) break;
      const ours = await d.store().rangeDigest(range);
      if (same(ours.blocks, theirs.body.blocks) && same(ours.objects, theirs.body.objects)) continue;
      total.mismatched.push(range);
      d.metrics.inc('post_storage_antientropy_mismatches_total', 'Anti-entropy digests that differed from a neighbour\'s');
      const taken = await takeNeighbourArc(d, neighbour, range);
      total.fetched += taken.fetched;
      total.queued += taken.queued;
    }
  if (total.fetched) d.metrics.inc('post_storage_antientropy_fetched_total', 'Signed objects fetched by anti-entropy', undefined, total.fetched);
  if (total.queued) d.metrics.inc('post_storage_antientropy_queued_total', 'Blocks anti-entropy found missing here and queued for fetching', undefined, total.queued);
  return total;
}

/** List the neighbour's keys of `range`: queue the blocks missing here, fetch the objects missing or older here. */
async function takeNeighbourArc(d: PassDeps, neighbour: string, range: IdRange): Promise<{ fetched: number; queued: number }> {
  let fetched = 0;
  let queued = 0;
  for (const what of ['blocks', 'objects'] as const) {
    for (let afterId: string | undefined; ; ) {
      const page = await d.peers.request(neighbour, Scan, { what, ...range, afterId, limit: STORAGE_BATCH_IDS_MAX }, ScanReply, d.timings.requestTimeoutMs);
      if (!page.ok) break;
      if (page.body.blocks.length > 0) {
        const taken = await d.takeOffer({ blocks: page.body.blocks, verify: false, auth: page.body.auth });
        if (!taken.ok) {
          d.log.warn('storage.antientropy.refused', { from: neighbour, code: taken.code, message: taken.message });
          break;
        }
        queued += taken.queued;
      }
      for (const o of page.body.objects) if (((await d.store().getObject(o.id))?.seq ?? 0) < o.seq && (await fetchObjectFrom(d, neighbour, o.id))) fetched++;
      const ids = what === 'blocks' ? page.body.blocks.map((b) => b.id) : page.body.objects.map((o) => o.id);
      if (!page.body.more || ids.length === 0) break;
      afterId = ids[ids.length - 1];
    }
  }
  return { fetched, queued };
}

async function fetchObjectFrom(d: PassDeps, node: string, id: string): Promise<boolean> {
  const r = await d.peers.request(node, ObjectGet, { objectId: id }, ObjectData, d.timings.requestTimeoutMs);
  if (!r.ok || !r.body.found || !r.body.object || !checkSignedObject(r.body.object).ok) return false;
  return (await applyObjectPut(d.store(), r.body.object, undefined)).accept;
}

/** Collect blocks whose lease has ended, and tombstones past their time. */
export async function gcPass(d: PassDeps): Promise<number> {
  const store = d.store();
  await store.deleteExpiredTombstones(Math.floor(d.clock.now()));
  let collected = 0;
  for (;;) {
    const gone = await store.deleteExpired(Math.floor(d.clock.now()), { limit: STORAGE_BATCH_IDS_MAX });
    collected += gone.length;
    if (gone.length === 0 || gone.length < STORAGE_BATCH_IDS_MAX) break;
  }
  if (collected) {
    d.metrics.inc('post_storage_collected_total', 'Blocks collected after their lease ended', undefined, collected);
    d.log.info('storage.gc', { collected });
  }
  return collected;
}

/** Re-verify the next batch of local copies (the cursor wraps); repair what is corrupt. */
export async function scrubPass(d: PassDeps, cursor: { afterId?: string }): Promise<number> {
  const store = d.store();
  const page = await store.scanBlocks(WHOLE_CIRCLE, { afterId: cursor.afterId, limit: SCRUB_BLOCKS_PER_PASS });
  cursor.afterId = page.length < SCRUB_BLOCKS_PER_PASS ? undefined : page[page.length - 1]!.id;
  let repaired = 0;
  for (const e of page) {
    const local = await getVerifiedBlock(store, e.id);
    if (local.status !== 'corrupt') continue;
    d.log.warn('storage.corrupt', { block: e.id, found: 'by scrub' });
    await store.deleteBlock(e.id);
    if (await refetchBlock(d, e.id, { expiresAtMs: e.expiresAtMs, insertedBy: e.insertedBy })) repaired++;
  }
  return repaired;
}

/** Fetch a good copy of a block from the other replicas and store it here again. */
export async function refetchBlock(d: PassDeps, id: string, lease?: { expiresAtMs: number; insertedBy: string }): Promise<boolean> {
  const bytes = await d.client.fetchBlock(id, [d.self]);
  if (!bytes) {
    d.log.error('storage.corrupt.unrepaired', { block: id, why: 'no other replica has a good copy' });
    return false;
  }
  const r = await applyBlockPut(d.store(), id, bytes, lease ?? { expiresAtMs: Math.floor(d.clock.now() + d.timings.leaseMs), insertedBy: d.self });
  if (r.ok) {
    d.metrics.inc('post_storage_corrupt_repaired_total', 'Corrupt local copies replaced from other replicas');
    d.log.info('storage.corrupt.repaired', { block: id });
  }
  return r.ok;
}

/** Fetch the newest version of an object from the other replicas and store it here again. */
export async function refetchObject(d: PassDeps, id: string): Promise<boolean> {
  const o = await d.client.getObject(id);
  if (!o) return false;
  return (await applyObjectPut(d.store(), o, undefined)).accept;
}
