// The LocalStore on LMDB (lmdb-js): one environment in a directory, with separate databases so that
// scans never read block bodies:
//
//   blocks      id (32 bytes)              -> block bytes, exactly as given
//   block-meta  id                         -> expiresAtMs u64 | sizeBytes u32 | insertedBy (32 bytes)
//   block-exp   expiresAtMs u64 | id       -> (empty)  lease index: garbage collection is a range scan
//   objects     id                         -> seq u64 | hash (32 bytes) | encoded signed object
//   usage       insertedBy (32 bytes)      -> charged bytes u64
//   counters    "totals"                   -> the StoreTotals, as u64s
//   drop-*      inbox drops: entries, per-drop and per-sender counts, tombstones (lmdbDrops.ts)
//
// Keys are raw big-endian bytes, so LMDB's order is the id circle's order. Every write is one LMDB
// transaction over all databases (atomic: counters and indexes never disagree with the data), and a
// write resolves only after its commit is synced to disk, so it is durable when
// acknowledged. Compare-and-put reads and writes inside the same write transaction, which LMDB
// serialises, so of two concurrent puts expecting one version exactly one wins.
import { mkdirSync } from 'node:fs';
import { type Database, open, type RootDatabase } from 'lmdb';
import { PostError } from '../../protocol/errors';
import { readUint64, writeUint64 } from './uint64';
import { LmdbDropTables } from './lmdbDrops';
import { bounds, key } from './lmdbKeys';
import type {
  BlockEntry,
  BlockMeta,
  BlockWrite,
  CompareAndPutResult,
  DropListOptions,
  DropSummary,
  DropTombstone,
  IdRange,
  LocalStore,
  ObjectEntry,
  ObjectVersion,
  PutBlockResult,
  PutDropEntryResult,
  RangeDigest,
  RangeDigests,
  ScanOptions,
  StoredBlock,
  StoredDropEntry,
  StoreTotals,
  VersionStamp,
} from './port';
import { blocksWithin } from './port';
import {
  assertBlockWrite,
  assertDropEntry,
  assertDropEntryPut,
  assertId,
  assertRange,
  assertTimeMs,
  assertVersion,
  dropListLimit,
  gcLimit,
  linearPieces,
  scanLimit,
  XorDigest,
} from './range';

type Bin = Database<Buffer, Buffer>;

/**
 * lmdb-js rejects a failed commit with a generic error whose `commitError` (a promise) holds the cause:
 * the cause, and whether it was the commit that failed (always an operating failure).
 */
async function commitCause(e: unknown): Promise<{ cause: unknown; commit: boolean }> {
  const pending = (e as { commitError?: Promise<unknown> } | null)?.commitError;
  if (!pending) return { cause: e, commit: false };
  return { cause: await pending.then(() => e, (cause: unknown) => cause), commit: true };
}

/**
 * The operating failure `e` is, as a PostError STORE_FAILED; undefined for anything else (a bug). LMDB
 * reports errno values (EIO, ENOSPC, EACCES...) as numbers or names, and its own as MDB_* codes.
 */
function storeFailure(what: string, e: unknown, commit = false): PostError | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  const operating = commit || typeof code === 'number' || (typeof code === 'string' && /^(MDB_|E[A-Z0-9]+$)/.test(code));
  if (!operating) return undefined;
  const failure = new PostError('STORE_FAILED', `${what}: ${(e as Error).message} (${String(code)})`);
  failure.cause = e;
  return failure;
}

const META_BYTES = 8 + 4 + 32;
const OBJECT_HEADER_BYTES = 8 + 32;
const EMPTY = Buffer.alloc(0);
const TOTALS_KEY = Buffer.from('totals');
/** Counters in the totals record, in order; a record written before drops existed holds only the first 4. */
const COUNTER_FIELDS = ['blocks', 'blockBytes', 'objects', 'objectBytes', 'dropEntries', 'dropBytes'] as const;

function encodeMeta(m: BlockMeta): Buffer {
  const out = Buffer.alloc(META_BYTES);
  writeUint64(out, 0, m.expiresAtMs);
  out.writeUInt32BE(m.sizeBytes, 8);
  out.write(m.insertedBy, 12, 'hex');
  return out;
}

function decodeMeta(b: Buffer): BlockMeta {
  return { expiresAtMs: readUint64(b, 0), sizeBytes: b.readUInt32BE(8), insertedBy: b.toString('hex', 12, 44) };
}

function expiryKey(expiresAtMs: number, id: string): Buffer {
  const out = Buffer.alloc(8 + 32);
  writeUint64(out, 0, expiresAtMs);
  out.write(id, 8, 'hex');
  return out;
}

function encodeObject(v: ObjectVersion): Buffer {
  const out = Buffer.alloc(OBJECT_HEADER_BYTES + v.bytes.length);
  writeUint64(out, 0, v.seq);
  out.set(v.hash, 8);
  out.set(v.bytes, OBJECT_HEADER_BYTES);
  return out;
}

const decodeObject = (b: Buffer): ObjectVersion => ({
  seq: readUint64(b, 0),
  hash: Buffer.from(b.subarray(8, OBJECT_HEADER_BYTES)),
  bytes: Buffer.from(b.subarray(OBJECT_HEADER_BYTES)),
});

/** Totals kept as u64 counters, updated in the same transaction as the data they count. */
type Counters = { -readonly [K in keyof StoreTotals]: number };

export interface LmdbStoreOptions {
  /** Initial map size in bytes; lmdb-js grows it as needed. */
  mapSizeBytes?: number;
}

/** Told of each write transaction: from the call until it is committed and on disk (queueing included). */
export type StoreWriteObserver = (writeMs: number) => void;

export class LmdbStore implements LocalStore {
  private closed = false;
  private writeObserver: StoreWriteObserver | undefined;
  /** A commit failed (disk full, EIO): the environment is only good for reading and closing. */
  private commitFailed = false;
  private readonly blocks: Bin;
  private readonly meta: Bin;
  private readonly expiry: Bin;
  private readonly objects: Bin;
  private readonly usage: Bin;
  private readonly counters: Bin;
  private readonly drops: LmdbDropTables;

  private constructor(private readonly env: RootDatabase<Buffer, Buffer>) {
    const db = (name: string): Bin => env.openDB<Buffer, Buffer>({ name, keyEncoding: 'binary', encoding: 'binary' });
    this.blocks = db('blocks');
    this.meta = db('block-meta');
    this.expiry = db('block-exp');
    this.objects = db('objects');
    this.usage = db('usage');
    this.counters = db('counters');
    this.drops = new LmdbDropTables(db, (delta) => this.count(delta));
  }

  /**
   * Open (creating if needed) the store in directory `dir`. A directory or database that cannot be
   * opened (no permission, read-only, no space, damaged) throws a PostError STORE_FAILED.
   */
  /** Times every write from now on (the node's /metrics: post_store_write_ms). */
  observeWrites(observer: StoreWriteObserver): void {
    this.writeObserver = observer;
  }

  static open(dir: string, opts: LmdbStoreOptions = {}): LmdbStore {
    try {
      mkdirSync(dir, { recursive: true });
      const env = open<Buffer, Buffer>({
        path: dir,
        maxDbs: 16,
        // lmdb-js's event-turn batching leaves an internal promise of its own without a handler: a
        // failed commit (disk full, EIO) then rejects it unhandled, which kills the process. Our writes
        // are explicit transactions, so the batching buys nothing here (measured: same puts/s at 32 in
        // flight).
        eventTurnBatching: false,
        keyEncoding: 'binary',
        encoding: 'binary',
        // Durability is not negotiable: keep LMDB's syncs on (no noSync / noMetaSync). Each commit is
        // synced on lmdb-js's write thread before it resolves (no overlappingSync, lmdb-js's default on
        // Linux, which resolves the commit first and the flush later from another thread): one wake-up
        // of the event loop per commit instead of two, and a write waits for its own commit only.
        overlappingSync: false,
        ...(opts.mapSizeBytes ? { mapSize: opts.mapSizeBytes } : {}),
      });
      return new LmdbStore(env);
    } catch (e) {
      throw storeFailure(`cannot open the local store in ${dir}`, e) ?? e;
    }
  }

  // ---- blocks ----

  async putBlock(id: string, bytes: Uint8Array, lease: { expiresAtMs: number; insertedBy: string }): Promise<PutBlockResult> {
    this.ready();
    assertBlockWrite({ id, bytes, lease });
    return this.write(() => this.storeBlock({ id, bytes, lease }));
  }

  async putBlocks(blocks: readonly BlockWrite[]): Promise<PutBlockResult[]> {
    this.ready();
    blocks.forEach(assertBlockWrite);
    if (blocks.length === 0) return [];
    return this.write(() => blocks.map((b) => this.storeBlock(b)));
  }

  async getBlock(id: string): Promise<StoredBlock | undefined> {
    this.ready();
    assertId(id);
    // Both reads run in one synchronous turn, so they see the same read snapshot.
    const meta = this.readMeta(id);
    const bytes = this.blocks.getBinary(key(id));
    return meta && bytes ? { bytes, meta } : undefined;
  }

  async readBlocks<T>(ids: readonly string[], bytesMax: number, use: (blocks: readonly { id: string; bytes?: Uint8Array }[]) => T): Promise<T> {
    this.ready();
    ids.forEach((id) => assertId(id));
    // One synchronous turn: every read sees the same snapshot. Which blocks fit is decided from their
    // metadata; the last one is read into lmdb-js's reused buffer (no allocation of its own), the
    // others copied out (that buffer holds one value at a time). A repair batch of 1 MiB blocks is one.
    const picked = blocksWithin(ids, bytesMax, (id) => this.readMeta(id)?.sizeBytes);
    let last = -1;
    picked.forEach((p, i) => p.size !== undefined && (last = i));
    const blocks = picked.map(({ id, size }, i) => {
      if (size === undefined) return { id };
      const bytes = i === last ? this.peekBlock(id) : this.blocks.getBinary(key(id));
      return bytes ? { id, bytes } : { id };
    });
    return use(blocks);
  }

  /** A block's bytes in lmdb-js's reused read buffer: valid until the next read. */
  private peekBlock(id: string): Uint8Array | undefined {
    const b = this.blocks.getBinaryFast(key(id));
    // lmdb-js gives its reused buffer with `length` set to this value's size: a view of exactly that.
    return b && b.subarray(0, b.length);
  }

  async hasBlock(id: string): Promise<boolean> {
    this.ready();
    assertId(id);
    return this.meta.doesExist(key(id));
  }

  async blockMeta(id: string): Promise<BlockMeta | undefined> {
    this.ready();
    assertId(id);
    return this.readMeta(id);
  }

  async deleteBlock(id: string): Promise<BlockEntry | undefined> {
    this.ready();
    assertId(id);
    return this.write(() => this.removeBlock(id));
  }

  async extendLease(id: string, expiresAtMs: number): Promise<BlockMeta | undefined> {
    this.ready();
    assertId(id);
    assertTimeMs(expiresAtMs, 'expiresAtMs');
    return this.write(() => {
      const existing = this.readMeta(id);
      return existing && this.setExpiry(id, existing, expiresAtMs);
    });
  }

  async deleteExpired(nowMs: number, opts: { limit?: number } = {}): Promise<BlockEntry[]> {
    this.ready();
    assertTimeMs(nowMs, 'nowMs');
    const limit = gcLimit(opts.limit);
    const end = Buffer.alloc(8);
    writeUint64(end, 0, nowMs + 1);
    return this.write(() => {
      // Ids first, then deletions: never mutate a database while a cursor walks it.
      const ids = [...this.expiry.getKeys({ end, limit }).map((k) => Buffer.from(k).toString('hex', 8, 40))];
      return ids.map((id) => this.removeBlock(id)!);
    });
  }

  /**
   * Fault injection (scenarios on the real lab): flip bytes of up to `count` stored blocks in place,
   * as disk rot would, leaving their metadata intact. Returns the ids corrupted. Safe while a node
   * process has the same store open (LMDB serialises writers across processes).
   */
  async corruptBlocks(count: number): Promise<string[]> {
    this.ready();
    return this.write(() => {
      const ids = [...this.blocks.getKeys({ limit: count })].map((k) => Buffer.from(k).toString('hex'));
      for (const id of ids) {
        const bytes = Buffer.from(this.blocks.getBinary(key(id))!);
        bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0xff;
        this.blocks.putSync(key(id), bytes);
      }
      return ids;
    });
  }

  // ---- signed objects ----

  async getObject(id: string): Promise<ObjectVersion | undefined> {
    this.ready();
    assertId(id);
    const b = this.objects.getBinary(key(id));
    return b && decodeObject(b);
  }

  async compareAndPutObject(id: string, expected: VersionStamp | undefined, next: ObjectVersion): Promise<CompareAndPutResult> {
    this.ready();
    assertId(id);
    if (expected) assertVersion(expected);
    assertVersion(next);
    return this.write((): CompareAndPutResult => {
      const stored = this.objects.getBinary(key(id));
      const current = stored && decodeObject(stored);
      const matches =
        expected === undefined
          ? current === undefined
          : current !== undefined && current.seq === expected.seq && Buffer.from(current.hash).equals(Buffer.from(expected.hash));
      if (!matches) return { swapped: false, current };
      const encoded = encodeObject(next);
      this.objects.putSync(key(id), encoded);
      this.count(current ? { objectBytes: next.bytes.length - current.bytes.length } : { objects: 1, objectBytes: next.bytes.length });
      return { swapped: true };
    });
  }

  async deleteObject(id: string): Promise<boolean> {
    this.ready();
    assertId(id);
    return this.write(() => {
      const stored = this.objects.getBinary(key(id));
      if (!stored) return false;
      this.objects.removeSync(key(id));
      this.count({ objects: -1, objectBytes: -(stored.length - OBJECT_HEADER_BYTES) });
      return true;
    });
  }

  // ---- inbox drops ----

  async putDropEntry(dropId: string, entryId: string, bytes: Uint8Array, meta: { sender: string; receivedAtMs: number }): Promise<PutDropEntryResult> {
    this.ready();
    assertDropEntryPut(dropId, entryId, bytes, meta);
    // The tombstone check and the write share one transaction: a concurrent delete cannot slip between.
    return this.write(() => this.drops.put(dropId, entryId, bytes, meta));
  }

  async getDropEntry(dropId: string, entryId: string): Promise<StoredDropEntry | undefined> {
    this.ready();
    assertDropEntry(dropId, entryId);
    return this.drops.get(dropId, entryId);
  }

  async listDrop(dropId: string, opts: DropListOptions = {}): Promise<StoredDropEntry[]> {
    this.ready();
    assertId(dropId, 'dropId');
    if (opts.afterEntryId !== undefined) assertId(opts.afterEntryId, 'afterEntryId');
    return this.drops.list(dropId, dropListLimit(opts.limit), opts.afterEntryId);
  }

  async countDrop(dropId: string, opts: { sender?: string } = {}): Promise<number> {
    this.ready();
    assertId(dropId, 'dropId');
    if (opts.sender !== undefined) assertId(opts.sender, 'sender');
    return this.drops.countOf(dropId, opts.sender);
  }

  async deleteDropEntry(dropId: string, entryId: string, opts: { tombstoneUntilMs: number }): Promise<boolean> {
    this.ready();
    assertDropEntry(dropId, entryId);
    assertTimeMs(opts.tombstoneUntilMs, 'tombstoneUntilMs');
    return this.write(() => this.drops.remove(dropId, entryId, opts.tombstoneUntilMs));
  }

  async deleteDropEntries(dropId: string, entryIds: readonly string[], opts: { tombstoneUntilMs: number }): Promise<boolean[]> {
    this.ready();
    for (const entryId of entryIds) assertDropEntry(dropId, entryId);
    assertTimeMs(opts.tombstoneUntilMs, 'tombstoneUntilMs');
    if (entryIds.length === 0) return [];
    return this.write(() => entryIds.map((entryId) => this.drops.remove(dropId, entryId, opts.tombstoneUntilMs)));
  }

  async hasTombstone(dropId: string, entryId: string): Promise<boolean> {
    this.ready();
    assertDropEntry(dropId, entryId);
    return this.drops.hasTombstone(dropId, entryId);
  }

  async deleteExpiredTombstones(nowMs: number, opts: { limit?: number } = {}): Promise<DropTombstone[]> {
    this.ready();
    assertTimeMs(nowMs, 'nowMs');
    const limit = gcLimit(opts.limit);
    return this.write(() => this.drops.expireTombstones(nowMs, limit));
  }

  // ---- ranges ----

  async scanBlocks(range: IdRange, opts: ScanOptions = {}): Promise<BlockEntry[]> {
    this.ready();
    assertRange(range);
    const limit = scanLimit(opts.limit);
    const out: BlockEntry[] = [];
    for (const piece of linearPieces(range, opts.afterId)) {
      for (const { key: k, value } of this.meta.getRange({ ...bounds(piece), limit: limit - out.length })) {
        out.push({ id: Buffer.from(k).toString('hex'), ...decodeMeta(value) });
      }
      if (out.length >= limit) break;
    }
    return out;
  }

  async scanObjects(range: IdRange, opts: ScanOptions = {}): Promise<ObjectEntry[]> {
    this.ready();
    assertRange(range);
    const limit = scanLimit(opts.limit);
    const out: ObjectEntry[] = [];
    for (const piece of linearPieces(range, opts.afterId)) {
      for (const { key: k, value } of this.objects.getRange({ ...bounds(piece), limit: limit - out.length })) {
        out.push({
          id: Buffer.from(k).toString('hex'),
          seq: readUint64(value, 0),
          hash: Buffer.from(value.subarray(8, OBJECT_HEADER_BYTES)),
          sizeBytes: value.length - OBJECT_HEADER_BYTES,
        });
      }
      if (out.length >= limit) break;
    }
    return out;
  }

  async scanDrops(range: IdRange, opts: ScanOptions = {}): Promise<DropSummary[]> {
    this.ready();
    assertRange(range);
    return this.drops.scan(range, scanLimit(opts.limit), opts.afterId);
  }

  async dropDigest(dropId: string): Promise<RangeDigest> {
    this.ready();
    assertId(dropId, 'dropId');
    return this.drops.digest(dropId);
  }

  async rangeDigest(range: IdRange): Promise<RangeDigests> {
    this.ready();
    assertRange(range);
    const blocks = new XorDigest();
    const objects = new XorDigest();
    for (const piece of linearPieces(range)) {
      for (const k of this.meta.getKeys(bounds(piece))) blocks.add(k);
      for (const { key: k, value } of this.objects.getRange(bounds(piece))) objects.add(k, value.subarray(8, OBJECT_HEADER_BYTES));
    }
    return { blocks: blocks.result(), objects: objects.result(), drops: this.drops.rangeDigest(range) };
  }

  // ---- accounting ----

  async bytesUsedBy(insertedBy: string): Promise<number> {
    this.ready();
    assertId(insertedBy, 'insertedBy');
    const b = this.usage.getBinary(key(insertedBy));
    return b ? readUint64(b, 0) : 0;
  }

  async totals(): Promise<StoreTotals> {
    this.ready();
    return this.readCounters();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // After a failed commit lmdb-js never settles its flush promise, and close() waits for it forever:
    // start the close and return (nothing is left to flush; reopening the directory works meanwhile).
    if (this.commitFailed) return void this.env.close();
    await this.env.flushed;
    await this.env.close();
  }

  // ---- internals: everything below runs inside a write transaction unless it only reads ----

  private ready(): void {
    if (this.closed) throw new PostError('STORE_CLOSED', 'the local store was used after close()');
  }

  /**
   * Run `body` in a write transaction; resolve once the commit is on disk. lmdb-js commits the writes
   * queued together in one transaction on its write thread (group commit); each body is a child
   * transaction of it, so a body that throws undoes what it wrote and fails alone (in a plain
   * asynchronous transaction its writes before the throw were committed with the others).
   * Tried and not kept (issue 11): committing on the node's own thread (transactionSync) halves the
   * CPU of a durable put one at a time (336 -> 164 us), but on the lab that commit's page writes wait
   * for the disk's journal behind the other nodes' flushes: the event loop stood still for 12-25% of
   * the time, reads under load slowed by a third, and throughput did not change (mixed load, three
   * alternating runs each: 811 / 592 / 656 against 696 / 612 / 743 commands/s).
   */
  private async write<T>(body: () => T): Promise<T> {
    try {
      const started = performance.now();
      const result = await this.env.childTransaction(body);
      // The commit resolved after its sync (see open): it is on disk; there is no separate flush to wait for.
      this.writeObserver?.(performance.now() - started);
      return result;
    } catch (e) {
      // Disk full, I/O error, a damaged file: the store actor must see its store fail, not a raw error.
      // A bug inside `body` (a TypeError, a failed assertion) is not a store failure: it propagates.
      const { cause, commit } = await commitCause(e);
      if (commit) this.commitFailed = true;
      throw storeFailure('local store write failed', cause, commit) ?? cause;
    }
  }

  private storeBlock({ id, bytes, lease }: BlockWrite): PutBlockResult {
    const existing = this.readMeta(id);
    if (existing) return { created: false, meta: this.setExpiry(id, existing, lease.expiresAtMs) };
    const meta: BlockMeta = { expiresAtMs: lease.expiresAtMs, insertedBy: lease.insertedBy, sizeBytes: bytes.length };
    this.blocks.putSync(key(id), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
    this.meta.putSync(key(id), encodeMeta(meta));
    this.expiry.putSync(expiryKey(meta.expiresAtMs, id), EMPTY);
    this.charge(meta.insertedBy, meta.sizeBytes);
    this.count({ blocks: 1, blockBytes: meta.sizeBytes });
    return { created: true, meta };
  }

  private readMeta(id: string): BlockMeta | undefined {
    const b = this.meta.getBinary(key(id));
    return b && decodeMeta(b);
  }

  private setExpiry(id: string, existing: BlockMeta, expiresAtMs: number): BlockMeta {
    if (expiresAtMs <= existing.expiresAtMs) return existing;
    const meta = { ...existing, expiresAtMs };
    this.expiry.removeSync(expiryKey(existing.expiresAtMs, id));
    this.expiry.putSync(expiryKey(expiresAtMs, id), EMPTY);
    this.meta.putSync(key(id), encodeMeta(meta));
    return meta;
  }

  private removeBlock(id: string): BlockEntry | undefined {
    const meta = this.readMeta(id);
    if (!meta) return undefined;
    this.blocks.removeSync(key(id));
    this.meta.removeSync(key(id));
    this.expiry.removeSync(expiryKey(meta.expiresAtMs, id));
    this.charge(meta.insertedBy, -meta.sizeBytes);
    this.count({ blocks: -1, blockBytes: -meta.sizeBytes });
    return { id, ...meta };
  }

  private charge(insertedBy: string, deltaBytes: number): void {
    const k = key(insertedBy);
    const b = this.usage.getBinary(k);
    const used = (b ? readUint64(b, 0) : 0) + deltaBytes;
    if (used <= 0) {
      this.usage.removeSync(k);
      return;
    }
    const out = Buffer.alloc(8);
    writeUint64(out, 0, used);
    this.usage.putSync(k, out);
  }

  private readCounters(): Counters {
    const b = this.counters.getBinary(TOTALS_KEY);
    const c = {} as Counters;
    COUNTER_FIELDS.forEach((field, i) => (c[field] = b && b.length >= (i + 1) * 8 ? readUint64(b, i * 8) : 0));
    return c;
  }

  private count(delta: Partial<Counters>): void {
    const c = this.readCounters();
    const out = Buffer.alloc(COUNTER_FIELDS.length * 8);
    COUNTER_FIELDS.forEach((field, i) => writeUint64(out, i * 8, c[field] + (delta[field] ?? 0)));
    this.counters.putSync(TOTALS_KEY, out);
  }
}
