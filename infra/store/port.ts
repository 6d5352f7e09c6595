// The local store port: one node's durable database of the blocks and signed objects it is a replica
// for. Adapters: infra/store/lmdb.ts (real nodes) and infra/store/memory.ts (the simulator's disk);
// test/compliance/store.ts is the contract both pass.
//
// Contract, for every adapter:
// - Ids are 32-byte ids as 64 lowercase hex chars; `insertedBy` is a user or node id in the same form.
//   A malformed id, a block over BLOCK_BYTES_MAX or a use after close() is a programmer error (throws).
// - Every write resolves only once it is durable: it survives the process being killed right after.
// - The store keeps bytes exactly as given and verifies nothing (it cannot tell a block from garbage);
//   the replica manager verifies before storing and readers verify after fetching.
// - Blocks are immutable: a put of an id already stored keeps the stored bytes and its first inserter,
//   and only extends the lease. Leases only ever grow (max of old and new expiry).
// - Signed objects: one current version per object id, replaced only through compareAndPutObject,
//   which is atomic: of two puts expecting the same current version, exactly one wins. The caller
//   decides what may replace what (storage/signedObject.ts decidePut) and retries on a lost race.
// - Ranges are arcs of the id circle, [lo, hi) clockwise; lo === hi is the whole circle. Scans return
//   entries in circle order from lo (so a wrapping range lists lo..ff.. then 00..<hi) and page with
//   `afterId` (the last id of the previous page).
// - Byte accounting: a block's bytes are charged to its first inserter until the block is deleted or
//   collected (content shared by several users is paid for once, by the first).
// - Inbox drops (DESIGN 5): a drop (dropId) is a set of entries (entryId), each written once by one
//   sender and kept exactly as given (at most DROP_ENTRY_BYTES_MAX bytes). A put of an entry already
//   stored keeps its bytes and meta (idempotent: replicas and retries put the same entry many times).
//   deleteDropEntry removes an entry and leaves a tombstone until tombstoneUntilMs (tombstones only
//   ever grow, like leases), even for an entry this replica never had; a put of a tombstoned entry is
//   refused in the same atomic step that checks, so repair cannot bring back what the recipient took.
//   The store has no clock: a tombstone stands until deleteExpiredTombstones collects it. Entry counts
//   per drop and per (drop, sender) are kept as counters, so countDrop costs one read.
// - Drops take part in repair like blocks and objects: scanDrops pages through the drops of an arc by
//   dropId, dropDigest summarises one drop, rangeDigest summarises all drop entries of an arc.

export interface BlockMeta {
  /** The block may be collected once the clock reaches this (ms since the epoch). */
  readonly expiresAtMs: number;
  /** Hex id of the user or node the block's bytes are charged to (its first inserter). */
  readonly insertedBy: string;
  /** Bytes stored: the block's (ciphertext) length. */
  readonly sizeBytes: number;
}

export interface BlockEntry extends BlockMeta {
  readonly id: string;
}

export interface StoredBlock {
  readonly bytes: Uint8Array;
  readonly meta: BlockMeta;
}

/** One block of a putBlocks call. */
export interface BlockWrite {
  readonly id: string;
  readonly bytes: Uint8Array;
  readonly lease: { readonly expiresAtMs: number; readonly insertedBy: string };
}

export interface PutBlockResult {
  /** False when the block was already stored (its lease may have been extended). */
  readonly created: boolean;
  readonly meta: BlockMeta;
}

/** One version of a signed object, as the store keeps it (it never decodes `bytes`). */
export interface ObjectVersion {
  readonly seq: number;
  /** 32 bytes identifying this version (storage/signedObject.ts versionHash). */
  readonly hash: Uint8Array;
  /** The encoded signed object. */
  readonly bytes: Uint8Array;
}

/** What compareAndPutObject expects to find: the version the caller read (seq and hash). */
export type VersionStamp = Pick<ObjectVersion, 'seq' | 'hash'>;

export type CompareAndPutResult =
  | { readonly swapped: true }
  | { readonly swapped: false; /** What is stored now: decide again against it. */ readonly current: ObjectVersion | undefined };

export interface ObjectEntry {
  readonly id: string;
  readonly seq: number;
  readonly hash: Uint8Array;
  readonly sizeBytes: number;
}

/** An arc of the id circle: [lo, hi) clockwise; lo === hi means the whole circle. */
export interface IdRange {
  readonly lo: string;
  readonly hi: string;
}

export interface ScanOptions {
  /** Continue after this id (the last of the previous page), in circle order from the range's lo. */
  readonly afterId?: string;
  /** Entries to return, at most STORE_SCAN_ENTRIES_MAX (the default). */
  readonly limit?: number;
}

/** Summary of a range's content: equal digests mean (all but surely) equal content. */
export interface RangeDigest {
  readonly count: number;
  /** XOR of the block ids (blocks), of id XOR version hash (objects), of dropId XOR entryId (drop entries), 64 hex chars. */
  readonly xor: string;
}

/** rangeDigest's summary of an arc, one digest per kind of stored data. */
export interface RangeDigests {
  readonly blocks: RangeDigest;
  readonly objects: RangeDigest;
  /** Entries of the drops whose dropId is in the arc: XOR of dropId XOR entryId over them. */
  readonly drops: RangeDigest;
}

export interface StoreTotals {
  readonly blocks: number;
  readonly blockBytes: number;
  readonly objects: number;
  readonly objectBytes: number;
  /** Entries over all inbox drops held here, and their bytes. */
  readonly dropEntries: number;
  readonly dropBytes: number;
}

/** What a drop entry carries besides its bytes. */
export interface DropEntryMeta {
  /** Hex id of the sender the entry counts against (per-sender limits). */
  readonly sender: string;
  /** When this replica first stored the entry (ms since the epoch, the caller's clock). */
  readonly receivedAtMs: number;
  readonly sizeBytes: number;
}

/** One stored drop entry: a sealed notification, exactly as the sender's replica put it. */
export interface StoredDropEntry extends DropEntryMeta {
  readonly entryId: string;
  readonly bytes: Uint8Array;
}

export interface PutDropEntryResult {
  /** False when the entry was already stored (kept as it was) or is tombstoned (not stored). */
  readonly created: boolean;
  /** The recipient already took this entry: it was not stored. */
  readonly tombstoned: boolean;
}

export interface DropListOptions {
  /** Continue after this entry id (the last of the previous page). */
  readonly afterEntryId?: string;
  /** Entries to return, at most DROP_LIST_ENTRIES_MAX (the default): a page holds their bytes. */
  readonly limit?: number;
}

/** A drop held here, as scanDrops lists it. */
export interface DropSummary {
  readonly dropId: string;
  /** Entries stored (tombstones not counted); always at least 1. */
  readonly entries: number;
}

/** A tombstone collected by deleteExpiredTombstones. */
export interface DropTombstone {
  readonly dropId: string;
  readonly entryId: string;
  readonly untilMs: number;
}

/**
 * The blocks of `ids` a bulk read serves (LocalStore.readBlocks), in order: each with its size, or
 * without when the store does not have it, stopping before the first whose size would take the total
 * past `bytesMax`.
 */
export function blocksWithin(ids: readonly string[], bytesMax: number, sizeOf: (id: string) => number | undefined): { id: string; size?: number }[] {
  const picked: { id: string; size?: number }[] = [];
  let total = 0;
  for (const id of ids) {
    const size = sizeOf(id);
    if (size === undefined) {
      picked.push({ id });
      continue;
    }
    if (total + size > bytesMax) break;
    total += size;
    picked.push({ id, size });
  }
  return picked;
}

export interface LocalStore {
  // ---- immutable blocks ----
  /** Store a block, or extend the lease of the stored one (bytes and inserter unchanged). */
  putBlock(id: string, bytes: Uint8Array, lease: { expiresAtMs: number; insertedBy: string }): Promise<PutBlockResult>;
  /**
   * Several putBlock in one durable write (one transaction, one flush: repair stores a fetched batch
   * at once); results in order. A block named twice is stored once (the second extends its lease).
   */
  putBlocks(blocks: readonly BlockWrite[]): Promise<PutBlockResult[]>;
  getBlock(id: string): Promise<StoredBlock | undefined>;
  /**
   * Serve blocks without a copy of each of its own (repair's bulk reads): the blocks of `ids` in order
   * (bytes absent: not here), stopping before the first whose bytes would take the total past
   * `bytesMax`, handed to `use`, whose result is returned. The bytes may be views into the store's own
   * buffers, valid only during `use`: it must copy them (encode them into a frame) there, synchronously.
   */
  readBlocks<T>(ids: readonly string[], bytesMax: number, use: (blocks: readonly { id: string; bytes?: Uint8Array }[]) => T): Promise<T>;
  hasBlock(id: string): Promise<boolean>;
  blockMeta(id: string): Promise<BlockMeta | undefined>;
  /** Remove a block (handed over to its new replicas, or found corrupt); returns what was removed. */
  deleteBlock(id: string): Promise<BlockEntry | undefined>;
  /** expiresAtMs := max(stored, given); undefined when the block is not stored. */
  extendLease(id: string, expiresAtMs: number): Promise<BlockMeta | undefined>;
  /** Remove up to `limit` (default STORE_GC_BATCH_MAX) blocks whose lease ended (expiresAtMs <= nowMs), oldest lease first. */
  deleteExpired(nowMs: number, opts?: { limit?: number }): Promise<BlockEntry[]>;

  // ---- signed objects (current version per object id) ----
  getObject(id: string): Promise<ObjectVersion | undefined>;
  /** Atomically: if the stored version matches `expected` (undefined = nothing stored), store `next`. */
  compareAndPutObject(id: string, expected: VersionStamp | undefined, next: ObjectVersion): Promise<CompareAndPutResult>;
  deleteObject(id: string): Promise<boolean>;

  // ---- inbox drops (entries per drop, tombstones for entries taken) ----
  /**
   * Store one entry, atomically unless tombstoned: a tombstoned entry is not stored (tombstoned: true);
   * an entry already stored keeps its bytes and meta (created: false).
   */
  putDropEntry(dropId: string, entryId: string, bytes: Uint8Array, meta: { sender: string; receivedAtMs: number }): Promise<PutDropEntryResult>;
  getDropEntry(dropId: string, entryId: string): Promise<StoredDropEntry | undefined>;
  /** Entries of one drop in entry-id order, with their bytes; page with afterEntryId. */
  listDrop(dropId: string, opts?: DropListOptions): Promise<StoredDropEntry[]>;
  /** Entries stored in the drop, or only those from `sender`: a counter read, cheap. */
  countDrop(dropId: string, opts?: { sender?: string }): Promise<number>;
  /**
   * The recipient took the entry: remove it (true if it was stored) and keep a tombstone until
   * max(stored, tombstoneUntilMs), in one atomic step; a tombstone is kept even for an entry never stored.
   */
  deleteDropEntry(dropId: string, entryId: string, opts: { tombstoneUntilMs: number }): Promise<boolean>;
  /** deleteDropEntry for each of a receipt's entries, all in one atomic, durable write (one flush, not one each). */
  deleteDropEntries(dropId: string, entryIds: readonly string[], opts: { tombstoneUntilMs: number }): Promise<boolean[]>;
  hasTombstone(dropId: string, entryId: string): Promise<boolean>;
  /** Remove up to `limit` (default STORE_GC_BATCH_MAX) tombstones ended by now (untilMs <= nowMs), oldest first. */
  deleteExpiredTombstones(nowMs: number, opts?: { limit?: number }): Promise<DropTombstone[]>;

  // ---- ranges, for repair and anti-entropy ----
  scanBlocks(range: IdRange, opts?: ScanOptions): Promise<BlockEntry[]>;
  scanObjects(range: IdRange, opts?: ScanOptions): Promise<ObjectEntry[]>;
  /** Drops with at least one entry whose dropId is in the arc, in circle order; afterId is a dropId. */
  scanDrops(range: IdRange, opts?: ScanOptions): Promise<DropSummary[]>;
  /** One drop's entries: count and XOR of their entry ids (tombstones not included). */
  dropDigest(dropId: string): Promise<RangeDigest>;
  /** Digests of the blocks, objects and drop entries (by dropId) in the arc. */
  rangeDigest(range: IdRange): Promise<RangeDigests>;

  // ---- accounting ----
  /** Bytes of the blocks charged to this user or node. */
  bytesUsedBy(insertedBy: string): Promise<number>;
  totals(): Promise<StoreTotals>;

  /** Finish pending writes and release the database; later calls throw STORE_CLOSED. */
  close(): Promise<void>;
}
