// The storage service as the other actors see it (log writer, notifier, mail gateway, the CLI):
// the port the replica manager implements over the ring, and storage/memory/storage.ts implements in
// memory for tests. Everything a caller gets back has been verified (block hashes, AEAD, signatures).
//
// Durability: a put resolves once a majority of the object's k replicas stored it durably; the rest
// is completed in the background. Errors are PostError values with stable codes (protocol/errors.ts):
// TIMEOUT / UNAVAILABLE (retry later), BLOCK_MISSING, BLOCK_CORRUPT (no replica had a good copy),
// NOT_AUTHORISED (not a member of this ring), QUOTA_EXCEEDED, DATA_TOO_LARGE.
import type { ErrorCode } from '../protocol/errors';
import type { BlockRef, DataSource, MailSegment } from './blocks';
import type { SignedObject } from './signedObject';

export interface PutOptions {
  /** How long the blocks live unless refreshed (default STORAGE_LEASE_MS). */
  readonly leaseMs?: number;
}

export type ObjectPutResult =
  | { readonly ok: true }
  /**
   * CAS_MISMATCH: the stored version is not the one `replacesSeq` named; `current` is the newest
   * verified version a majority holds (re-read, re-apply, retry). SEQ_NOT_NEWER / FORK / BAD_SIGNATURE /
   * BAD_OBJECT_ID: the put itself was wrong. `mayHold`: not every replica refused it (one stored it, or
   * its answer was lost or came after the put was decided), so the version may still be on a replica and
   * become history when another writer builds on it; absent, no replica holds it.
   */
  | { readonly ok: false; readonly code: ErrorCode; readonly message: string; readonly current?: SignedObject; readonly mayHold?: true };

export interface StorageApi {
  /** Store data convergently (chunked under manifests as needed); resolves with its root reference. */
  putData(data: DataSource, opts?: PutOptions): Promise<BlockRef>;
  /**
   * Store a message by parts (storage/mailLayout.ts): each `part` segment a convergent datum of its own,
   * the rest inline in a layout block; resolves with the layout's 'mail' reference, which getData and
   * readData read back whole. Without a `part` segment: exactly putData of the bytes (one datum).
   */
  putMail(segments: readonly MailSegment[], opts?: PutOptions): Promise<BlockRef>;
  /** The reference putMail would give these segments, storing nothing (the blocks are convergent). */
  mailRefOf(segments: readonly MailSegment[]): Promise<BlockRef>;
  /** Read data by reference (of any kind: a mail layout gives the whole message); every block verified. */
  getData(ref: BlockRef, opts?: { maxBytes?: number }): Promise<Buffer>;
  /** The same as a stream of plaintext pieces (bounded memory for large data). */
  readData(ref: BlockRef): AsyncGenerator<Buffer>;

  /** Store one already-encrypted block (e.g. a log entry sealed with a log key); resolves with its id. */
  putBlock(bytes: Uint8Array, opts?: PutOptions): Promise<string>;
  /** A block by id, hash-verified (BLOCK_MISSING when no replica has a good copy). */
  getBlock(id: string): Promise<Uint8Array>;

  /** Put a version of a signed object, replacing version `replacesSeq` (0: create). */
  putObject(object: SignedObject, replacesSeq: number): Promise<ObjectPutResult>;
  /** The newest verified version, or undefined when no replica has the object. */
  getObject(objectId: string): Promise<SignedObject | undefined>;
  /**
   * Every distinct verified version the object's replicas hold, newest first (two at one sequence: a
   * fork, in the order readers pick them). Where a writer looks for a fork to settle.
   */
  getObjectVersions?(objectId: string): Promise<SignedObject[]>;

  /** Extend the leases of blocks still referenced (ids of chunks, manifests and entry blocks). */
  refresh(blockIds: readonly string[], opts?: PutOptions): Promise<void>;
}
