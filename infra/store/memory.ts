// The simulator's disk: a LocalStore in memory, deterministic (no clock, no randomness, ordered scans),
// with fault injection. A MemoryDisk outlives the MemoryStore opened on it, as a real disk outlives a
// process: a simulated node that restarts opens a new MemoryStore on the same disk and finds its data.
//
// Faults: `corrupt(id)` flips bytes of a stored block (or object, or with an entry id the entry of drop
// `id`) in place, as bit rot would;
// `loseDisk()` wipes the disk and fails the open store (every call rejects with STORE_FAILED), as a
// dead disk would; the node's next store on that disk starts empty.
//
// Writes complete synchronously inside each call (no await between read and write), which is what
// makes compareAndPutObject atomic and every acknowledged write "durable" here. Bytes are copied in
// and out, so callers can neither alter stored data nor see it change, as with a real database.
import { PostError } from '../../protocol/errors';
import { blocksWithin } from './port';
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
import { MemoryDropTable } from './memoryDrops';
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
  scanLimit,
  XorDigest,
} from './range';
import { keysInRange, SortedKeys } from './sortedKeys';

interface BlockRecord {
  bytes: Uint8Array;
  meta: BlockMeta;
}

export class MemoryDisk {
  readonly blocks = new SortedKeys<BlockRecord>();
  readonly objects = new SortedKeys<ObjectVersion>();
  readonly usage = new Map<string, number>();
  readonly drops = new MemoryDropTable();
  /** Bumped by loseDisk(): a store opened on an earlier generation has lost its disk. */
  generation = 0;

  wipe(): void {
    this.blocks.clear();
    this.objects.clear();
    this.usage.clear();
    this.drops.clear();
    this.generation++;
  }
}

const copy = (b: Uint8Array): Uint8Array => new Uint8Array(b);
const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

export class MemoryStore implements LocalStore {
  private closed = false;
  private readonly generation: number;

  constructor(readonly disk: MemoryDisk = new MemoryDisk()) {
    this.generation = disk.generation;
  }

  // ---- fault injection ----

  /**
   * Flip the middle byte of a stored block (or, failing that, object); false if neither is stored.
   * With `entryId`: of the entry `entryId` of drop `id` instead (false if that entry is not stored).
   */
  corrupt(id: string, entryId?: string): boolean {
    if (entryId !== undefined) return this.disk.drops.corrupt(id, entryId);
    const target = this.disk.blocks.map.get(id)?.bytes ?? this.disk.objects.map.get(id)?.bytes;
    if (!target || target.length === 0) return false;
    target[target.length >> 1]! ^= 0xff;
    return true;
  }

  /** The disk dies: its data is gone and this store fails every call from now on. */
  loseDisk(): void {
    this.disk.wipe();
  }

  // ---- blocks ----

  async putBlock(id: string, bytes: Uint8Array, lease: { expiresAtMs: number; insertedBy: string }): Promise<PutBlockResult> {
    this.ready();
    assertBlockWrite({ id, bytes, lease });
    return this.storeBlock({ id, bytes, lease });
  }

  async putBlocks(blocks: readonly BlockWrite[]): Promise<PutBlockResult[]> {
    this.ready();
    blocks.forEach(assertBlockWrite);
    return blocks.map((b) => this.storeBlock(b));
  }

  private storeBlock({ id, bytes, lease }: BlockWrite): PutBlockResult {
    const existing = this.disk.blocks.map.get(id);
    if (existing) {
      existing.meta = { ...existing.meta, expiresAtMs: Math.max(existing.meta.expiresAtMs, lease.expiresAtMs) };
      return { created: false, meta: existing.meta };
    }
    const meta: BlockMeta = { expiresAtMs: lease.expiresAtMs, insertedBy: lease.insertedBy, sizeBytes: bytes.length };
    this.disk.blocks.set(id, { bytes: copy(bytes), meta });
    this.charge(lease.insertedBy, bytes.length);
    return { created: true, meta };
  }

  async getBlock(id: string): Promise<StoredBlock | undefined> {
    this.ready();
    assertId(id);
    const r = this.disk.blocks.map.get(id);
    return r && { bytes: copy(r.bytes), meta: r.meta };
  }

  async readBlocks<T>(ids: readonly string[], bytesMax: number, use: (blocks: readonly { id: string; bytes?: Uint8Array }[]) => T): Promise<T> {
    this.ready();
    ids.forEach((id) => assertId(id));
    const blocks = blocksWithin(ids, bytesMax, (id) => this.disk.blocks.map.get(id)?.bytes.length).map(({ id, size }) => (size === undefined ? { id } : { id, bytes: this.disk.blocks.map.get(id)!.bytes }));
    return use(blocks);
  }

  async hasBlock(id: string): Promise<boolean> {
    this.ready();
    assertId(id);
    return this.disk.blocks.map.has(id);
  }

  async blockMeta(id: string): Promise<BlockMeta | undefined> {
    this.ready();
    assertId(id);
    return this.disk.blocks.map.get(id)?.meta;
  }

  async deleteBlock(id: string): Promise<BlockEntry | undefined> {
    this.ready();
    assertId(id);
    return this.removeBlock(id);
  }

  async extendLease(id: string, expiresAtMs: number): Promise<BlockMeta | undefined> {
    this.ready();
    assertId(id);
    assertTimeMs(expiresAtMs, 'expiresAtMs');
    const r = this.disk.blocks.map.get(id);
    if (!r) return undefined;
    r.meta = { ...r.meta, expiresAtMs: Math.max(r.meta.expiresAtMs, expiresAtMs) };
    return r.meta;
  }

  async deleteExpired(nowMs: number, opts: { limit?: number } = {}): Promise<BlockEntry[]> {
    this.ready();
    assertTimeMs(nowMs, 'nowMs');
    const limit = gcLimit(opts.limit);
    const expired = this.disk.blocks
      .keys()
      .filter((id) => this.disk.blocks.map.get(id)!.meta.expiresAtMs <= nowMs)
      .map((id) => ({ id, expiresAtMs: this.disk.blocks.map.get(id)!.meta.expiresAtMs }))
      .sort((a, b) => a.expiresAtMs - b.expiresAtMs || (a.id < b.id ? -1 : 1))
      .slice(0, limit);
    return expired.map(({ id }) => this.removeBlock(id)!);
  }

  // ---- signed objects ----

  async getObject(id: string): Promise<ObjectVersion | undefined> {
    this.ready();
    assertId(id);
    const v = this.disk.objects.map.get(id);
    return v && { seq: v.seq, hash: copy(v.hash), bytes: copy(v.bytes) };
  }

  async compareAndPutObject(id: string, expected: VersionStamp | undefined, next: ObjectVersion): Promise<CompareAndPutResult> {
    this.ready();
    assertId(id);
    if (expected) assertVersion(expected);
    assertVersion(next);
    const current = this.disk.objects.map.get(id);
    const matches = expected === undefined ? current === undefined : current !== undefined && current.seq === expected.seq && sameBytes(current.hash, expected.hash);
    if (!matches) return { swapped: false, current: current && { seq: current.seq, hash: copy(current.hash), bytes: copy(current.bytes) } };
    this.disk.objects.set(id, { seq: next.seq, hash: copy(next.hash), bytes: copy(next.bytes) });
    return { swapped: true };
  }

  async deleteObject(id: string): Promise<boolean> {
    this.ready();
    assertId(id);
    return this.disk.objects.delete(id);
  }

  // ---- inbox drops ----

  async putDropEntry(dropId: string, entryId: string, bytes: Uint8Array, meta: { sender: string; receivedAtMs: number }): Promise<PutDropEntryResult> {
    this.ready();
    assertDropEntryPut(dropId, entryId, bytes, meta);
    return this.disk.drops.put(dropId, entryId, bytes, meta);
  }

  async getDropEntry(dropId: string, entryId: string): Promise<StoredDropEntry | undefined> {
    this.ready();
    assertDropEntry(dropId, entryId);
    return this.disk.drops.get(dropId, entryId);
  }

  async listDrop(dropId: string, opts: DropListOptions = {}): Promise<StoredDropEntry[]> {
    this.ready();
    assertId(dropId, 'dropId');
    if (opts.afterEntryId !== undefined) assertId(opts.afterEntryId, 'afterEntryId');
    return this.disk.drops.list(dropId, dropListLimit(opts.limit), opts.afterEntryId);
  }

  async countDrop(dropId: string, opts: { sender?: string } = {}): Promise<number> {
    this.ready();
    assertId(dropId, 'dropId');
    if (opts.sender !== undefined) assertId(opts.sender, 'sender');
    return this.disk.drops.count(dropId, opts.sender);
  }

  async deleteDropEntry(dropId: string, entryId: string, opts: { tombstoneUntilMs: number }): Promise<boolean> {
    this.ready();
    assertDropEntry(dropId, entryId);
    assertTimeMs(opts.tombstoneUntilMs, 'tombstoneUntilMs');
    return this.disk.drops.delete(dropId, entryId, opts.tombstoneUntilMs);
  }

  async deleteDropEntries(dropId: string, entryIds: readonly string[], opts: { tombstoneUntilMs: number }): Promise<boolean[]> {
    this.ready();
    for (const entryId of entryIds) assertDropEntry(dropId, entryId);
    assertTimeMs(opts.tombstoneUntilMs, 'tombstoneUntilMs');
    return entryIds.map((entryId) => this.disk.drops.delete(dropId, entryId, opts.tombstoneUntilMs));
  }

  async hasTombstone(dropId: string, entryId: string): Promise<boolean> {
    this.ready();
    assertDropEntry(dropId, entryId);
    return this.disk.drops.hasTombstone(dropId, entryId);
  }

  async deleteExpiredTombstones(nowMs: number, opts: { limit?: number } = {}): Promise<DropTombstone[]> {
    this.ready();
    assertTimeMs(nowMs, 'nowMs');
    return this.disk.drops.deleteExpiredTombstones(nowMs, gcLimit(opts.limit));
  }

  // ---- ranges ----

  async scanBlocks(range: IdRange, opts: ScanOptions = {}): Promise<BlockEntry[]> {
    this.ready();
    return this.scan(this.disk.blocks, range, opts).map((id) => ({ id, ...this.disk.blocks.map.get(id)!.meta }));
  }

  async scanObjects(range: IdRange, opts: ScanOptions = {}): Promise<ObjectEntry[]> {
    this.ready();
    return this.scan(this.disk.objects, range, opts).map((id) => {
      const v = this.disk.objects.map.get(id)!;
      return { id, seq: v.seq, hash: copy(v.hash), sizeBytes: v.bytes.length };
    });
  }

  async scanDrops(range: IdRange, opts: ScanOptions = {}): Promise<DropSummary[]> {
    this.ready();
    assertRange(range);
    return this.disk.drops.scan(range, scanLimit(opts.limit), opts.afterId);
  }

  async dropDigest(dropId: string): Promise<RangeDigest> {
    this.ready();
    assertId(dropId, 'dropId');
    return this.disk.drops.digest(dropId);
  }

  async rangeDigest(range: IdRange): Promise<RangeDigests> {
    this.ready();
    const blocks = new XorDigest();
    for (const id of keysInRange(this.disk.blocks, range, Infinity)) blocks.add(Buffer.from(id, 'hex'));
    const objects = new XorDigest();
    for (const id of keysInRange(this.disk.objects, range, Infinity)) objects.add(Buffer.from(id, 'hex'), this.disk.objects.map.get(id)!.hash);
    return { blocks: blocks.result(), objects: objects.result(), drops: this.disk.drops.rangeDigest(range) };
  }

  // ---- accounting ----

  async bytesUsedBy(insertedBy: string): Promise<number> {
    this.ready();
    assertId(insertedBy, 'insertedBy');
    return this.disk.usage.get(insertedBy) ?? 0;
  }

  async totals(): Promise<StoreTotals> {
    this.ready();
    let blockBytes = 0;
    for (const r of this.disk.blocks.map.values()) blockBytes += r.meta.sizeBytes;
    let objectBytes = 0;
    for (const v of this.disk.objects.map.values()) objectBytes += v.bytes.length;
    return { blocks: this.disk.blocks.map.size, blockBytes, objects: this.disk.objects.map.size, objectBytes, ...this.disk.drops.totals() };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  // ---- internals ----

  private ready(): void {
    if (this.closed) throw new PostError('STORE_CLOSED', 'the local store was used after close()');
    if (this.disk.generation !== this.generation) throw new PostError('STORE_FAILED', 'the local store lost its disk: restart the node on a new one');
  }

  private charge(insertedBy: string, deltaBytes: number): void {
    const used = (this.disk.usage.get(insertedBy) ?? 0) + deltaBytes;
    if (used === 0) this.disk.usage.delete(insertedBy);
    else this.disk.usage.set(insertedBy, used);
  }

  private removeBlock(id: string): BlockEntry | undefined {
    const r = this.disk.blocks.map.get(id);
    if (!r) return undefined;
    this.disk.blocks.delete(id);
    this.charge(r.meta.insertedBy, -r.meta.sizeBytes);
    return { id, ...r.meta };
  }

  private scan<V>(keys: SortedKeys<V>, range: IdRange, opts: ScanOptions): string[] {
    return keysInRange(keys, range, scanLimit(opts.limit), opts.afterId);
  }
}
