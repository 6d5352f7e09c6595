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
  /** XOR of the block ids (blocks) or of id XOR version hash (objects), 64 hex chars. */
  readonly xor: string;
}

export interface StoreTotals {
  readonly blocks: number;
  readonly blockBytes: number;
  readonly objects: number;
  readonly objectBytes: number;
}

export interface LocalStore {
  // ---- immutable blocks ----
  /** Store a block, or extend the lease of the stored one (bytes and inserter unchanged). */
  putBlock(id: string, bytes: Uint8Array, lease: { expiresAtMs: number; insertedBy: string }): Promise<PutBlockResult>;
  getBlock(id: string): Promise<StoredBlock | undefined>;
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

  // ---- ranges, for repair and anti-entropy ----
  scanBlocks(range: IdRange, opts?: ScanOptions): Promise<BlockEntry[]>;
  scanObjects(range: IdRange, opts?: ScanOptions): Promise<ObjectEntry[]>;
  rangeDigest(range: IdRange): Promise<{ blocks: RangeDigest; objects: RangeDigest }>;

  // ---- accounting ----
  /** Bytes of the blocks charged to this user or node. */
  bytesUsedBy(insertedBy: string): Promise<number>;
  totals(): Promise<StoreTotals>;

  /** Finish pending writes and release the database; later calls throw STORE_CLOSED. */
  close(): Promise<void>;
}
