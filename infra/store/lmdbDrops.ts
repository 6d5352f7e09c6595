// Inbox drops on LMDB, in five databases of the store's environment (infra/store/lmdb.ts):
//
//   drop-entries   dropId | entryId                -> receivedAtMs u64 | sender (32 bytes) | entry bytes
//   drop-counts    dropId                          -> entries u64   one key per drop held: scanDrops walks it
//   drop-senders   dropId | sender                 -> entries u64   per-sender limits in one read
//   drop-tombs     dropId | entryId                -> untilMs u64
//   drop-tomb-exp  untilMs u64 | dropId | entryId  -> (empty)       tombstone collection is a range scan
//
// The write methods run only inside LmdbStore's write transactions (one per call), so an entry, its
// counters and its tombstone change together: a put checks the tombstone and stores in the same
// transaction, and after a crash the counters agree with the entries. Read methods run in one
// synchronous turn, so each sees one snapshot.
import type { Database } from 'lmdb';
import type { DropSummary, DropTombstone, IdRange, PutDropEntryResult, RangeDigest, StoredDropEntry } from './port';
import { bounds, key, pairKey, prefixEnd, uint64 } from './lmdbKeys';
import { linearPieces, XorDigest } from './range';
import { readUint64 } from './uint64';

type Bin = Database<Buffer, Buffer>;

/** receivedAtMs u64 | sender (32 bytes), then the entry's bytes. */
const ENTRY_HEADER_BYTES = 8 + 32;
const EMPTY = Buffer.alloc(0);

export interface DropTotalsDelta {
  dropEntries: number;
  dropBytes: number;
}

function encodeEntry(bytes: Uint8Array, meta: { sender: string; receivedAtMs: number }): Buffer {
  const out = Buffer.alloc(ENTRY_HEADER_BYTES + bytes.length);
  uint64(meta.receivedAtMs).copy(out, 0);
  out.write(meta.sender, 8, 'hex');
  out.set(bytes, ENTRY_HEADER_BYTES);
  return out;
}

const decodeEntry = (entryId: string, b: Buffer): StoredDropEntry => ({
  entryId,
  bytes: Buffer.from(b.subarray(ENTRY_HEADER_BYTES)),
  sender: b.toString('hex', 8, ENTRY_HEADER_BYTES),
  receivedAtMs: readUint64(b, 0),
  sizeBytes: b.length - ENTRY_HEADER_BYTES,
});

const tombExpiryKey = (untilMs: number, dropId: string, entryId: string) => Buffer.concat([uint64(untilMs), pairKey(dropId, entryId)]);

export class LmdbDropTables {
  private readonly entries: Bin;
  private readonly counts: Bin;
  private readonly senders: Bin;
  private readonly tombs: Bin;
  private readonly tombExpiry: Bin;

  constructor(
    db: (name: string) => Bin,
    /** Adds to the store's totals, in the same transaction. */
    private readonly count: (delta: DropTotalsDelta) => void,
  ) {
    this.entries = db('drop-entries');
    this.counts = db('drop-counts');
    this.senders = db('drop-senders');
    this.tombs = db('drop-tombs');
    this.tombExpiry = db('drop-tomb-exp');
  }

  // ---- writes: inside a write transaction ----

  put(dropId: string, entryId: string, bytes: Uint8Array, meta: { sender: string; receivedAtMs: number }): PutDropEntryResult {
    const k = pairKey(dropId, entryId);
    if (this.tombs.doesExist(k)) return { created: false, tombstoned: true };
    if (this.entries.doesExist(k)) return { created: false, tombstoned: false };
    this.entries.putSync(k, encodeEntry(bytes, meta));
    bump(this.counts, key(dropId), 1);
    bump(this.senders, pairKey(dropId, meta.sender), 1);
    this.count({ dropEntries: 1, dropBytes: bytes.length });
    return { created: true, tombstoned: false };
  }

  /** Remove the entry (true if it was stored) and keep its tombstone until max(stored, untilMs). */
  remove(dropId: string, entryId: string, untilMs: number): boolean {
    const k = pairKey(dropId, entryId);
    const stored = this.entries.getBinary(k);
    if (stored) {
      this.entries.removeSync(k);
      bump(this.counts, key(dropId), -1);
      bump(this.senders, pairKey(dropId, stored.toString('hex', 8, ENTRY_HEADER_BYTES)), -1);
      this.count({ dropEntries: -1, dropBytes: -(stored.length - ENTRY_HEADER_BYTES) });
    }
    const tomb = this.tombs.getBinary(k);
    const previousMs = tomb ? readUint64(tomb, 0) : undefined;
    if (previousMs === undefined || untilMs > previousMs) {
      if (previousMs !== undefined) this.tombExpiry.removeSync(tombExpiryKey(previousMs, dropId, entryId));
      this.tombs.putSync(k, uint64(untilMs));
      this.tombExpiry.putSync(tombExpiryKey(untilMs, dropId, entryId), EMPTY);
    }
    return stored !== undefined;
  }

  expireTombstones(nowMs: number, limit: number): DropTombstone[] {
    // Keys first, then deletions: never mutate a database while a cursor walks it.
    const ended = [...this.tombExpiry.getKeys({ end: prefixEnd(uint64(nowMs)), limit }).map((k) => Buffer.from(k))];
    return ended.map((k) => {
      const t = { dropId: k.toString('hex', 8, 40), entryId: k.toString('hex', 40, 72), untilMs: readUint64(k, 0) };
      this.tombExpiry.removeSync(k);
      this.tombs.removeSync(pairKey(t.dropId, t.entryId));
      return t;
    });
  }

  // ---- reads ----

  get(dropId: string, entryId: string): StoredDropEntry | undefined {
    const b = this.entries.getBinary(pairKey(dropId, entryId));
    return b && decodeEntry(entryId, b);
  }

  list(dropId: string, limit: number, afterEntryId?: string): StoredDropEntry[] {
    const start = afterEntryId === undefined ? { start: key(dropId) } : { start: pairKey(dropId, afterEntryId), exclusiveStart: true };
    const out: StoredDropEntry[] = [];
    for (const { key: k, value } of this.entries.getRange({ ...start, end: prefixEnd(key(dropId)), limit })) {
      out.push(decodeEntry(Buffer.from(k).toString('hex', 32, 64), value));
    }
    return out;
  }

  countOf(dropId: string, sender?: string): number {
    const b = sender === undefined ? this.counts.getBinary(key(dropId)) : this.senders.getBinary(pairKey(dropId, sender));
    return b ? readUint64(b, 0) : 0;
  }

  hasTombstone(dropId: string, entryId: string): boolean {
    return this.tombs.doesExist(pairKey(dropId, entryId));
  }

  scan(range: IdRange, limit: number, afterId?: string): DropSummary[] {
    const out: DropSummary[] = [];
    for (const piece of linearPieces(range, afterId)) {
      for (const { key: k, value } of this.counts.getRange({ ...bounds(piece), limit: limit - out.length })) {
        out.push({ dropId: Buffer.from(k).toString('hex'), entries: readUint64(value, 0) });
      }
      if (out.length >= limit) break;
    }
    return out;
  }

  digest(dropId: string): RangeDigest {
    const d = new XorDigest();
    for (const k of this.entries.getKeys({ start: key(dropId), end: prefixEnd(key(dropId)) })) d.add(k.subarray(32, 64));
    return d.result();
  }

  /** Entries of the drops in the arc: 64-byte keys dropId | entryId bound by 32-byte ids land exactly by dropId. */
  rangeDigest(range: IdRange): RangeDigest {
    const d = new XorDigest();
    for (const piece of linearPieces(range)) {
      for (const k of this.entries.getKeys(bounds(piece))) d.add(k.subarray(0, 32), k.subarray(32, 64));
    }
    return d.result();
  }
}

/** A u64 counter: add `delta`, removing the key at zero (so only drops with entries have one). */
function bump(db: Bin, k: Buffer, delta: number): void {
  const b = db.getBinary(k);
  const value = (b ? readUint64(b, 0) : 0) + delta;
  if (value <= 0) db.removeSync(k);
  else db.putSync(k, uint64(value));
}
