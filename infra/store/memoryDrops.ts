// Inbox drops on the simulator's disk: entries per drop with their per-sender counts, and tombstones.
// The table is plain data on the MemoryDisk, so a node restarted on the same disk finds it. Argument
// checks and the store's lifecycle (closed, disk lost) are MemoryStore's; every method here completes
// synchronously, which is what makes "check the tombstone, then store" atomic.
import type { DropSummary, DropTombstone, IdRange, PutDropEntryResult, RangeDigest, StoredDropEntry } from './port';
import { XorDigest } from './range';
import { keysInRange, lowerBound, SortedKeys } from './sortedKeys';

interface DropEntryRecord {
  readonly bytes: Uint8Array;
  readonly sender: string;
  readonly receivedAtMs: number;
}

interface MemoryDrop {
  readonly entries: SortedKeys<DropEntryRecord>;
  /** Entries per sender, kept with the entries (the LMDB adapter keeps the same counters). */
  readonly senders: Map<string, number>;
}

const copy = (b: Uint8Array): Uint8Array => new Uint8Array(b);
const tombstoneKey = (dropId: string, entryId: string) => dropId + entryId;
const hexBytes = (id: string) => Buffer.from(id, 'hex');

function stored(entryId: string, r: DropEntryRecord): StoredDropEntry {
  return { entryId, bytes: copy(r.bytes), sender: r.sender, receivedAtMs: r.receivedAtMs, sizeBytes: r.bytes.length };
}

export class MemoryDropTable {
  private readonly drops = new SortedKeys<MemoryDrop>();
  /** dropId + entryId (128 hex chars) -> the tombstone's end (ms). */
  private readonly tombstones = new Map<string, number>();

  put(dropId: string, entryId: string, bytes: Uint8Array, meta: { sender: string; receivedAtMs: number }): PutDropEntryResult {
    if (this.tombstones.has(tombstoneKey(dropId, entryId))) return { created: false, tombstoned: true };
    const drop = this.drops.map.get(dropId) ?? { entries: new SortedKeys<DropEntryRecord>(), senders: new Map<string, number>() };
    if (drop.entries.map.has(entryId)) return { created: false, tombstoned: false };
    drop.entries.set(entryId, { bytes: copy(bytes), sender: meta.sender, receivedAtMs: meta.receivedAtMs });
    drop.senders.set(meta.sender, (drop.senders.get(meta.sender) ?? 0) + 1);
    this.drops.set(dropId, drop);
    return { created: true, tombstoned: false };
  }

  get(dropId: string, entryId: string): StoredDropEntry | undefined {
    const r = this.drops.map.get(dropId)?.entries.map.get(entryId);
    return r && stored(entryId, r);
  }

  list(dropId: string, limit: number, afterEntryId?: string): StoredDropEntry[] {
    const entries = this.drops.map.get(dropId)?.entries;
    if (!entries) return [];
    const ids = entries.keys();
    const start = afterEntryId === undefined ? 0 : lowerBound(ids, { after: afterEntryId });
    return ids.slice(start, start + limit).map((id) => stored(id, entries.map.get(id)!));
  }

  count(dropId: string, sender?: string): number {
    const drop = this.drops.map.get(dropId);
    if (!drop) return 0;
    return sender === undefined ? drop.entries.map.size : (drop.senders.get(sender) ?? 0);
  }

  /** Remove the entry (true if it was stored) and keep its tombstone until max(stored, untilMs). */
  delete(dropId: string, entryId: string, untilMs: number): boolean {
    const tk = tombstoneKey(dropId, entryId);
    this.tombstones.set(tk, Math.max(this.tombstones.get(tk) ?? 0, untilMs));
    const drop = this.drops.map.get(dropId);
    const r = drop?.entries.map.get(entryId);
    if (!drop || !r) return false;
    drop.entries.delete(entryId);
    const left = drop.senders.get(r.sender)! - 1;
    if (left === 0) drop.senders.delete(r.sender);
    else drop.senders.set(r.sender, left);
    if (drop.entries.map.size === 0) this.drops.delete(dropId);
    return true;
  }

  hasTombstone(dropId: string, entryId: string): boolean {
    return this.tombstones.has(tombstoneKey(dropId, entryId));
  }

  deleteExpiredTombstones(nowMs: number, limit: number): DropTombstone[] {
    const expired = [...this.tombstones]
      .filter(([, untilMs]) => untilMs <= nowMs)
      .sort(([ka, a], [kb, b]) => a - b || (ka < kb ? -1 : 1))
      .slice(0, limit);
    return expired.map(([k, untilMs]) => {
      this.tombstones.delete(k);
      return { dropId: k.slice(0, 64), entryId: k.slice(64), untilMs };
    });
  }

  scan(range: IdRange, limit: number, afterId?: string): DropSummary[] {
    return keysInRange(this.drops, range, limit, afterId).map((dropId) => ({ dropId, entries: this.drops.map.get(dropId)!.entries.map.size }));
  }

  digest(dropId: string): RangeDigest {
    const d = new XorDigest();
    for (const entryId of this.drops.map.get(dropId)?.entries.keys() ?? []) d.add(hexBytes(entryId));
    return d.result();
  }

  rangeDigest(range: IdRange): RangeDigest {
    const d = new XorDigest();
    for (const dropId of keysInRange(this.drops, range, Infinity)) {
      const mask = hexBytes(dropId);
      for (const entryId of this.drops.map.get(dropId)!.entries.keys()) d.add(hexBytes(entryId), mask);
    }
    return d.result();
  }

  totals(): { dropEntries: number; dropBytes: number } {
    let dropEntries = 0;
    let dropBytes = 0;
    for (const drop of this.drops.map.values()) {
      dropEntries += drop.entries.map.size;
      for (const r of drop.entries.map.values()) dropBytes += r.bytes.length;
    }
    return { dropEntries, dropBytes };
  }

  /** Fault injection: flip the middle byte of a stored entry in place; false if none (or empty). */
  corrupt(dropId: string, entryId: string): boolean {
    const bytes = this.drops.map.get(dropId)?.entries.map.get(entryId)?.bytes;
    if (!bytes || bytes.length === 0) return false;
    bytes[bytes.length >> 1]! ^= 0xff;
    return true;
  }

  clear(): void {
    this.drops.clear();
    this.tombstones.clear();
  }
}
