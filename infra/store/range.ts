// Arcs of the id circle as linear key ranges, and the argument checks every store adapter shares.
// Ids are fixed-length lowercase hex, so string order is numeric order and a wrapping arc [lo, hi)
// with lo >= hi is two linear ranges: [lo, end of the space) then [start of the space, hi).
import { BLOCK_BYTES_MAX, DROP_ENTRY_BYTES_MAX, DROP_LIST_ENTRIES_MAX, STORE_GC_BATCH_MAX, STORE_SCAN_ENTRIES_MAX } from '../../protocol/limits';
import type { BlockWrite, IdRange } from './port';

/** One linear piece of an arc: ids > after (or >= from), and < to (no `to`: up to the end of the space). */
export interface LinearRange {
  readonly from?: string;
  readonly after?: string;
  readonly to?: string;
}

const ID_HEX = /^[0-9a-f]{64}$/;

export function assertId(id: string, what = 'id'): void {
  if (typeof id !== 'string' || !ID_HEX.test(id)) throw new RangeError(`${what} must be 64 lowercase hex chars, got ${JSON.stringify(id)?.slice(0, 80)}`);
}

export function assertRange(range: IdRange): void {
  assertId(range.lo, 'range.lo');
  assertId(range.hi, 'range.hi');
}

/** Is `id` on the arc? */
export function inRange(id: string, range: IdRange): boolean {
  const { lo, hi } = range;
  if (lo < hi) return id >= lo && id < hi;
  return id >= lo || id < hi; // wrapping arc, or the whole circle when lo === hi
}

/** The arc as linear pieces in circle order from lo, starting strictly after `afterId` when given. */
export function linearPieces(range: IdRange, afterId?: string): LinearRange[] {
  const { lo, hi } = range;
  const pieces: LinearRange[] = lo < hi ? [{ from: lo, to: hi }] : [{ from: lo }, { to: hi }];
  if (afterId === undefined) return pieces;
  assertId(afterId, 'afterId');
  if (!inRange(afterId, range)) throw new RangeError(`afterId ${afterId.slice(0, 16)} is not in the scanned range`);
  // The piece holding afterId continues after it; earlier pieces are done.
  const at = pieces.findIndex((p) => (p.from === undefined || afterId >= p.from) && (p.to === undefined || afterId < p.to));
  return [{ after: afterId, ...(pieces[at]!.to !== undefined ? { to: pieces[at]!.to } : {}) }, ...pieces.slice(at + 1)];
}

export const inPiece = (id: string, p: LinearRange): boolean =>
  (p.from === undefined || id >= p.from) && (p.after === undefined || id > p.after) && (p.to === undefined || id < p.to);

export function scanLimit(limit: number | undefined): number {
  if (limit === undefined) return STORE_SCAN_ENTRIES_MAX;
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`scan limit must be a positive integer, got ${limit}`);
  return Math.min(limit, STORE_SCAN_ENTRIES_MAX);
}

export function gcLimit(limit: number | undefined): number {
  if (limit === undefined) return STORE_GC_BATCH_MAX;
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`gc limit must be a positive integer, got ${limit}`);
  return Math.min(limit, STORE_GC_BATCH_MAX);
}

export function assertTimeMs(ms: number, what: string): void {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new RangeError(`${what} must be a non-negative integer of ms, got ${ms}`);
}

export function assertBlockBytes(bytes: Uint8Array): void {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('block bytes must be a Uint8Array');
  if (bytes.length > BLOCK_BYTES_MAX) throw new RangeError(`block of ${bytes.length} bytes exceeds ${BLOCK_BYTES_MAX}`);
}

/** A putBlock's arguments: id, bytes within BLOCK_BYTES_MAX, a lease time and an inserter id. */
export function assertBlockWrite(b: BlockWrite): void {
  assertId(b.id);
  assertBlockBytes(b.bytes);
  assertTimeMs(b.lease.expiresAtMs, 'expiresAtMs');
  assertId(b.lease.insertedBy, 'insertedBy');
}

export function assertDropEntryBytes(bytes: Uint8Array): void {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('drop entry bytes must be a Uint8Array');
  if (bytes.length > DROP_ENTRY_BYTES_MAX) throw new RangeError(`drop entry of ${bytes.length} bytes exceeds ${DROP_ENTRY_BYTES_MAX}`);
}

export function assertDropEntry(dropId: string, entryId: string): void {
  assertId(dropId, 'dropId');
  assertId(entryId, 'entryId');
}

/** What every store checks before putDropEntry. */
export function assertDropEntryPut(dropId: string, entryId: string, bytes: Uint8Array, meta: { sender: string; receivedAtMs: number }): void {
  assertDropEntry(dropId, entryId);
  assertDropEntryBytes(bytes);
  assertId(meta.sender, 'sender');
  assertTimeMs(meta.receivedAtMs, 'receivedAtMs');
}

export function dropListLimit(limit: number | undefined): number {
  if (limit === undefined) return DROP_LIST_ENTRIES_MAX;
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`drop list limit must be a positive integer, got ${limit}`);
  return Math.min(limit, DROP_LIST_ENTRIES_MAX);
}

export function assertVersion(v: { seq: number; hash: Uint8Array; bytes?: Uint8Array }): void {
  if (!Number.isSafeInteger(v.seq) || v.seq < 0) throw new RangeError(`object seq must be a uint, got ${v.seq}`);
  if (!(v.hash instanceof Uint8Array) || v.hash.length !== 32) throw new RangeError('object version hash must be 32 bytes');
  if (v.bytes !== undefined && !(v.bytes instanceof Uint8Array)) throw new TypeError('object bytes must be a Uint8Array');
}

/** Running XOR of 32-byte values, for range digests. */
export class XorDigest {
  private readonly acc = Buffer.alloc(32);
  count = 0;

  add(value: Uint8Array, mask?: Uint8Array): void {
    for (let i = 0; i < 32; i++) this.acc[i]! ^= value[i]! ^ (mask ? mask[i]! : 0);
    this.count++;
  }

  result(): { count: number; xor: string } {
    return { count: this.count, xor: this.acc.toString('hex') };
  }
}
