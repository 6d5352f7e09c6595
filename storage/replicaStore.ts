// What a replica does with a put or a read against its local store: verify first, then store, with
// the signed-object acceptance rule applied atomically (decide against what is stored, then
// compare-and-put; if another put got in between, decide again against the new version).
//
//   const d = await applyObjectPut(store, incoming, msg.replacesSeq);   // d.accept, or d.code + d.current
//   const r = await applyBlockPut(store, id, bytes, { expiresAtMs, insertedBy });
import { matchesBlockId } from '../crypto/convergent';
import type { BlockMeta, BlockWrite, LocalStore, PutBlockResult } from '../infra/store/port';
import { ErrorCodes, type Result, err, ok } from '../protocol/errors';
import { BLOCK_BYTES_MAX, STORE_CAS_ATTEMPTS_MAX } from '../protocol/limits';
import { checkSignedObject, decidePut, type ObjectCheck, type PutDecision, type SignedObject, versionHash } from './signedObject';
import { decodeSignedObject, storedVersionOf } from './signedObjectCodec';

/** Store a block only if its bytes hash to its id (DESIGN 3: replicas verify before storing). */
export async function applyBlockPut(
  store: LocalStore,
  id: string,
  bytes: Uint8Array,
  lease: { expiresAtMs: number; insertedBy: string },
): Promise<Result<PutBlockResult>> {
  if (bytes.length > BLOCK_BYTES_MAX) return err(ErrorCodes.DATA_TOO_LARGE, `block ${id} of ${bytes.length} bytes exceeds ${BLOCK_BYTES_MAX}`);
  if (!matchesBlockId(Buffer.from(id, 'hex'), bytes)) return err(ErrorCodes.BLOCK_CORRUPT, `block ${id}: its bytes do not hash to its id; refused`);
  return ok(await store.putBlock(id, bytes, lease));
}

/** A block arriving at a replica, with the lease and inserter it is to be kept under. */
export interface BlockArrival {
  readonly id: string;
  readonly bytes: Uint8Array;
  readonly expiresAtMs: number;
  readonly insertedBy: string;
}

export type ArrivalOutcome = Result<{ created: boolean }>;

/**
 * Take blocks as a replica (DESIGN 3): each must hash to its id and, if new here, fit its inserter's
 * quota; its lease is capped at `leaseCapAtMs`. The good ones are stored in one durable write, a bad
 * one is refused alone. Outcomes in the order of `arrivals`.
 */
export async function acceptBlocks(
  store: LocalStore,
  arrivals: readonly BlockArrival[],
  opts: { quotaBytes: number; leaseCapAtMs: number },
): Promise<ArrivalOutcome[]> {
  const outcomes: ArrivalOutcome[] = new Array(arrivals.length);
  const writes: BlockWrite[] = [];
  const written: number[] = [];
  /** Bytes charged to each inserter here, counting the new blocks of this batch so far. */
  const charged = new Map<string, number>();
  for (const [i, a] of arrivals.entries()) {
    const what = `block ${a.id.slice(0, 16)}`;
    if (a.bytes.length > BLOCK_BYTES_MAX) {
      outcomes[i] = err(ErrorCodes.DATA_TOO_LARGE, `${what} of ${a.bytes.length} bytes exceeds ${BLOCK_BYTES_MAX}`);
      continue;
    }
    if (!matchesBlockId(Buffer.from(a.id, 'hex'), a.bytes)) {
      outcomes[i] = err(ErrorCodes.BLOCK_CORRUPT, `${what}: its bytes do not hash to its id; refused`);
      continue;
    }
    if (!(await store.hasBlock(a.id))) {
      const used = charged.get(a.insertedBy) ?? (await store.bytesUsedBy(a.insertedBy));
      if (used + a.bytes.length > opts.quotaBytes) {
        outcomes[i] = err(
          ErrorCodes.QUOTA_EXCEEDED,
          `${what}: ${a.insertedBy.slice(0, 12)} would use ${used + a.bytes.length} bytes here, over its quota of ${opts.quotaBytes}`,
        );
        continue;
      }
      charged.set(a.insertedBy, used + a.bytes.length);
    }
    writes.push({ id: a.id, bytes: a.bytes, lease: { expiresAtMs: Math.min(a.expiresAtMs, opts.leaseCapAtMs), insertedBy: a.insertedBy } });
    written.push(i);
  }
  const results = await store.putBlocks(writes);
  results.forEach((r, j) => (outcomes[written[j]!] = ok({ created: r.created })));
  return outcomes;
}

export type LocalBlock = { status: 'ok'; bytes: Uint8Array; meta: BlockMeta } | { status: 'missing' } | { status: 'corrupt'; meta: BlockMeta };

/** A block from the local store, verified: a corrupt copy (bit rot) is reported, never served. */
export async function getVerifiedBlock(store: LocalStore, id: string): Promise<LocalBlock> {
  const block = await store.getBlock(id);
  if (!block) return { status: 'missing' };
  if (!matchesBlockId(Buffer.from(id, 'hex'), block.bytes)) return { status: 'corrupt', meta: block.meta };
  return { status: 'ok', ...block };
}

/** The stored version of an object if it still decodes and verifies; a damaged copy counts as absent. */
export async function getVerifiedObject(store: LocalStore, objectId: string): Promise<SignedObject | undefined> {
  return (await readStored(store, objectId)).object;
}

/**
 * The stored version. `verify: 'signature'` (what a replica serves) checks it as a reader would;
 * `verify: 'hash'` (deciding a put) checks only that it is the version whose hash was recorded when it
 * was verified and stored, which catches a damaged copy for a fraction of the cost of Ed25519.
 */
async function readStored(store: LocalStore, objectId: string, verify: 'signature' | 'hash' = 'signature') {
  const version = await store.getObject(objectId);
  if (!version) return { version, object: undefined };
  const decoded = decodeSignedObject(version.bytes);
  const intact = decoded.ok && decoded.value.objectId === objectId && (verify === 'signature' ? checkSignedObject(decoded.value).ok : versionHash(decoded.value).equals(Buffer.from(version.hash)));
  return { version, object: intact ? decoded.value : undefined };
}

/** A version this replica stored, or is storing: its stamp (what compare-and-put checks) and the object, verified when it came in. */
export interface RememberedVersion {
  readonly seq: number;
  readonly hash: Uint8Array;
  readonly object: SignedObject;
  /** Memory it keeps alive. */
  readonly bytes: number;
}

/**
 * The versions this replica last stored (or is committing) through applyObjectPut, newest use last, at
 * most `bytesMax` of them. A log head is put again and again at the same replicas (every STORE, APPEND,
 * EXPUNGE): with the version it stored last remembered, the next put is decided without reading,
 * decoding and hashing the stored copy (issue 11: a tenth of a replica's CPU per put). It is a hint,
 * never trusted alone: the compare-and-put that follows checks that exactly this version is the stored
 * one when it runs, and any refusal is decided again against the store (another path, a repair put or a
 * delete, may have changed it meanwhile; a compare-and-put still in flight may yet fail).
 */
export class StoredObjectMemo {
  private readonly versions = new Map<string, RememberedVersion>();
  private bytes = 0;

  constructor(private readonly bytesMax: number) {}

  get(objectId: string): RememberedVersion | undefined {
    return this.versions.get(objectId);
  }

  remember(objectId: string, version: RememberedVersion): void {
    this.forget(objectId);
    if (version.bytes > this.bytesMax) return;
    this.versions.set(objectId, version);
    this.bytes += version.bytes;
    for (const [id, oldest] of this.versions) {
      if (this.bytes <= this.bytesMax) break;
      this.versions.delete(id);
      this.bytes -= oldest.bytes;
    }
  }

  /** Forget the version remembered for `objectId`; with `only`, only if that is the one remembered. */
  forget(objectId: string, only?: RememberedVersion): void {
    const known = this.versions.get(objectId);
    if (!known || (only && known !== only)) return;
    this.versions.delete(objectId);
    this.bytes -= known.bytes;
  }

  get size(): number {
    return this.versions.size;
  }
}

/**
 * Apply a put of a signed object: decidePut against the stored version, then an atomic
 * compare-and-put; on a lost race, decide again (at most STORE_CAS_ATTEMPTS_MAX rounds). The incoming
 * version is verified once (`checked`, when the caller has verified it already), however many rounds
 * it takes. `replacesSeq` is the writer's compare-and-swap (undefined for repair between replicas).
 *
 * With `memo`, a round decides against the version this replica remembers storing, or about to store:
 * a version is remembered when its compare-and-put is issued, not when it commits. A writer sends its
 * next head once a majority has taken this one, so at the slowest replica the next put often arrives
 * while this one is still being committed; decided against it, its compare-and-put queues behind this
 * one's (lmdb-js runs them in order) instead of losing to it, being read, verified and decided again,
 * and taken as a repair. A compare-and-put that fails forgets what it remembered (see StoredObjectMemo).
 */
export async function applyObjectPut(
  store: LocalStore,
  incoming: SignedObject,
  replacesSeq: number | undefined,
  memo?: StoredObjectMemo,
  checked: ObjectCheck = checkSignedObject(incoming),
): Promise<PutDecision> {
  const id = incoming.objectId;
  let known = memo?.get(id);
  for (let attempt = 0; attempt < STORE_CAS_ATTEMPTS_MAX + (known ? 1 : 0); attempt++) {
    const { version, object } = known ? { version: known, object: known.object } : await readStored(store, id, 'hash');
    const decision = decidePut(object, incoming, replacesSeq, checked);
    if (!decision.accept) {
      if (!known) return decision;
      // Refused against the remembered version: decide again against what the store holds.
      memo?.forget(id, known);
      known = undefined;
      continue;
    }
    const next = storedVersionOf(incoming);
    // Counted by the buffer it keeps alive: the version's bytes may be a view into a larger frame.
    const storing: RememberedVersion = { seq: next.seq, hash: next.hash, object: incoming, bytes: Math.max(next.bytes.length, next.bytes.buffer.byteLength) };
    memo?.remember(id, storing);
    let swapped = false;
    try {
      swapped = (await store.compareAndPutObject(id, version && { seq: version.seq, hash: version.hash }, next)).swapped;
    } finally {
      if (!swapped) memo?.forget(id, storing); // lost, or the store failed: it is not the stored version
    }
    if (swapped) return decision;
    known = undefined;
  }
  const current = await getVerifiedObject(store, incoming.objectId);
  return {
    accept: false,
    code: ErrorCodes.CAS_MISMATCH,
    message: `object ${incoming.objectId.slice(0, 16)}: other puts kept winning (${STORE_CAS_ATTEMPTS_MAX} rounds): re-read and retry`,
    ...(current ? { current } : {}),
  };
}
