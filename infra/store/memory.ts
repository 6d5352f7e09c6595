// The simulator's disk: a LocalStore in memory, deterministic (no clock, no randomness, ordered scans),
// with fault injection. A MemoryDisk outlives the MemoryStore opened on it, as a real disk outlives a
// process: a simulated node that restarts opens a new MemoryStore on the same disk and finds its data.
//
// Faults: `corrupt(id)` flips bytes of a stored block (or object) in place, as bit rot would;
// `loseDisk()` wipes the disk and fails the open store (every call rejects with STORE_FAILED), as a
// dead disk would; the node's next store on that disk starts empty.
//
// Writes complete synchronously inside each call (no await between read and write), which is what
// makes compareAndPutObject atomic and every acknowledged write "durable" here. Bytes are copied in
// and out, so callers can neither alter stored data nor see it change, as with a real database.
import { PostError } from '../../protocol/errors';
import type {
  BlockEntry,
  BlockMeta,
  CompareAndPutResult,
  IdRange,
  LocalStore,
  ObjectEntry,
  ObjectVersion,
  PutBlockResult,
  RangeDigest,
  ScanOptions,
  StoredBlock,
  StoreTotals,
  VersionStamp,
} from './port';
import {
  assertBlockBytes,
  assertId,
  assertRange,
  assertTimeMs,
  assertVersion,
  gcLimit,
  inPiece,
  linearPieces,
  scanLimit,
  XorDigest,
} from './range';

interface BlockRecord {
  bytes: Uint8Array;
  meta: BlockMeta;
}

/** Keys kept sorted lazily: re-sorted on the first scan after a change (simulated stores are small). */
class SortedKeys<V> {
  readonly map = new Map<string, V>();
  private sorted: string[] | undefined = [];

  set(key: string, value: V): void {
    if (!this.map.has(key)) this.sorted = undefined;
    this.map.set(key, value);
  }

  delete(key: string): boolean {
    const had = this.map.delete(key);
    if (had) this.sorted = undefined;
    return had;
  }

  keys(): string[] {
    this.sorted ??= [...this.map.keys()].sort();
    return this.sorted;
  }

  clear(): void {
    this.map.clear();
    this.sorted = [];
  }
}

export class MemoryDisk {
  readonly blocks = new SortedKeys<BlockRecord>();
  readonly objects = new SortedKeys<ObjectVersion>();
  readonly usage = new Map<string, number>();
  /** Bumped by loseDisk(): a store opened on an earlier generation has lost its disk. */
  generation = 0;

  wipe(): void {
    this.blocks.clear();
    this.objects.clear();
    this.usage.clear();
    this.generation++;
  }
}

const copy = (b: Uint8Array): Uint8Array => new Uint8Array(b);
const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/** First index in sorted `keys` whose key is in piece `p` (binary search on the lower bound). */
function lowerBound(keys: string[], p: { from?: string; after?: string }): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const k = keys[mid]!;
    const below = p.from !== undefined ? k < p.from : p.after !== undefined ? k <= p.after : false;
    if (below) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class MemoryStore implements LocalStore {
  private closed = false;
  private readonly generation: number;

  constructor(readonly disk: MemoryDisk = new MemoryDisk()) {
    this.generation = disk.generation;
  }

  // ---- fault injection ----

  /** Flip the middle byte of a stored block (or, failing that, object); false if neither is stored. */
  corrupt(id: string): boolean {
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
    assertId(id);
    assertBlockBytes(bytes);
    assertTimeMs(lease.expiresAtMs, 'expiresAtMs');
    assertId(lease.insertedBy, 'insertedBy');
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

  async rangeDigest(range: IdRange): Promise<{ blocks: RangeDigest; objects: RangeDigest }> {
    this.ready();
    const blocks = new XorDigest();
    for (const id of this.idsIn(this.disk.blocks, range, Infinity)) blocks.add(Buffer.from(id, 'hex'));
    const objects = new XorDigest();
    for (const id of this.idsIn(this.disk.objects, range, Infinity)) objects.add(Buffer.from(id, 'hex'), this.disk.objects.map.get(id)!.hash);
    return { blocks: blocks.result(), objects: objects.result() };
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
    return { blocks: this.disk.blocks.map.size, blockBytes, objects: this.disk.objects.map.size, objectBytes };
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
    return this.idsIn(keys, range, scanLimit(opts.limit), opts.afterId);
  }

  private idsIn<V>(keys: SortedKeys<V>, range: IdRange, limit: number, afterId?: string): string[] {
    assertRange(range);
    const sorted = keys.keys();
    const out: string[] = [];
    for (const piece of linearPieces(range, afterId)) {
      for (let i = lowerBound(sorted, piece); i < sorted.length && out.length < limit; i++) {
        if (!inPiece(sorted[i]!, piece)) break;
        out.push(sorted[i]!);
      }
    }
    return out;
  }
}
