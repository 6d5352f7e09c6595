// Reading a log and verifying everything on the way (DESIGN 4, 9): the head must be the owner's (object
// id, owner key, signature), no older than what this reader saw (high-water marks), open under the log
// key, and have consistent counters; entries must hash to their ids, open under the log key, and chain
// (index, predecessor, op range) exactly as the head says; the replayed state must reproduce the
// head's counters. Anything else is refused with a PostError (logError) naming the log and the part at fault.
//
// Cost of opening: one getObject, the snapshot's pieces, and the entries since the snapshot (fewer
// than LOG_SNAPSHOT_ENTRIES_MAX), fetched in parallel.
import { logError } from '../../protocol/errors';
import { canonicalBytes } from '../../protocol/frame';
import { LOG_ENTRY_FETCHES_IN_FLIGHT_MAX, LOG_CATCH_UP_ENTRIES_MAX } from '../../protocol/limits';
import type { StorageApi } from '../api';
import { checkSignedObject, type SignedObject } from '../signedObject';
import type { HeadMarks } from './headMarks';
import type { LogAddress } from './logAddress';
import { fetchLogBlock } from './logBlocks';
import { contentDecoder, decodeEntry, stateDecoder, decodeHeadBody, entryAd, entryOpCountOf, FormatError, type LogEntryBody, type LogHeadBody, openHeadPayload } from './logFormat';
import type { ForkBase, LogModel } from './logModel';
import { readSnapshot, windowed } from './snapshot';

export interface VerifiedHead {
  readonly object: SignedObject;
  readonly body: LogHeadBody;
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));

/** Verify a head version of the log at `address` (and record it in `marks`); throws logError(). */
export function verifyHead(address: LogAddress, object: SignedObject, kind: string, marks?: HeadMarks): VerifiedHead {
  const forged = (why: string) => logError('LOG_FORGED', address.name, `head of log ${address.name} refused: ${why}`);
  if (object.objectId !== address.objectId) throw forged(`it is object ${String(object.objectId).slice(0, 16)}, not ${address.objectId.slice(0, 16)}`);
  if (!(object.owner instanceof Uint8Array) || !sameBytes(object.owner, address.owner)) throw forged("it is signed by another key than the owner's");
  if (object.name !== address.objectName) throw forged(`it is named "${String(object.name).slice(0, 64)}"`);
  const check = checkSignedObject(object);
  if (!check.ok) throw forged(check.message);
  const mark = marks?.check(object);
  if (mark && !mark.ok) throw logError(mark.code, address.name, mark.message);
  const plain = openHeadPayload(address, object.payload);
  if (!plain) throw forged('its body does not open under the log key');
  let body: LogHeadBody;
  try {
    body = decodeHeadBody(plain);
  } catch (e) {
    if (e instanceof FormatError) throw logError('LOG_CORRUPT', address.name, `head of log ${address.name} seq ${object.seq}: ${e.message}`);
    throw e;
  }
  if (body.model !== kind || body.name !== address.name) {
    throw logError('LOG_CORRUPT', address.name, `head of log ${address.name} describes a ${body.model} log named ${body.name}`);
  }
  marks?.record(object);
  return { object, body };
}

/** The newest verified head, or undefined for a log never written. */
export async function readHead(storage: StorageApi, address: LogAddress, kind: string, marks?: HeadMarks): Promise<VerifiedHead | undefined> {
  const object = await storage.getObject(address.objectId);
  if (!object) {
    const seen = marks?.get(address.objectId);
    if (seen) throw logError('LOG_ROLLBACK', address.name, `log ${address.name}: no replica has its head, but seq ${seen.seq} was already seen`);
    return undefined;
  }
  return verifyHead(address, object, kind, marks);
}

export async function fetchEntry(storage: StorageApi, address: LogAddress, id: string): Promise<LogEntryBody> {
  const plain = await fetchLogBlock(storage, address, id, 'entry', entryAd(address));
  try {
    return decodeEntry(plain);
  } catch (e) {
    if (e instanceof FormatError) throw logError('LOG_CORRUPT', address.name, `entry ${id.slice(0, 16)} of log ${address.name}: ${e.message}`);
    throw e;
  }
}

/** Fetch entries by id, LOG_ENTRY_FETCHES_IN_FLIGHT_MAX at a time; results in order. */
const fetchEntries = (storage: StorageApi, address: LogAddress, ids: readonly string[]): Promise<LogEntryBody[]> =>
  windowed(ids.length, LOG_ENTRY_FETCHES_IN_FLIGHT_MAX, (i) => fetchEntry(storage, address, ids[i]!));

/** Check that `entries` are tail[from..] of `body` exactly: index, predecessor, first op and op count. */
function checkTailChain(address: LogAddress, body: LogHeadBody, from: number, entries: readonly LogEntryBody[]): void {
  const base = body.snapshot;
  const entryOps = entryOpCountOf(body);
  entries.forEach((entry, k) => {
    const i = from + k;
    const t = body.tail[i]!;
    const prev = i === 0 ? (base?.lastEntry ?? null) : body.tail[i - 1]!.id;
    const index = (base?.entryCount ?? 0) + i;
    const end = body.tail[i + 1]?.firstOp ?? entryOps;
    const bad = (why: string) => logError('LOG_CORRUPT', address.name, `entry ${t.id.slice(0, 16)} of log ${address.name}: ${why}`);
    if (entry.index !== index) throw bad(`its index is ${entry.index}, the head puts it at ${index}`);
    if (entry.prev !== prev) throw bad('it does not chain to its predecessor (broken hash chain)');
    if (entry.firstOp !== t.firstOp || entry.firstOp + entry.ops.length !== end) throw bad(`it holds ops ${entry.firstOp}..${entry.firstOp + entry.ops.length}, the head says ${t.firstOp}..${end}`);
  });
}

export function decodeOp<S, Op, C, Sum>(address: LogAddress, model: LogModel<S, Op, C, Sum>, bytes: Uint8Array, index: number): Op {
  try {
    return model.decodeOp(contentDecoder.decode(bytes));
  } catch (e) {
    throw logError('LOG_CORRUPT', address.name, `operation ${index} of log ${address.name} is malformed: ${(e as Error).message.slice(0, 200)}`);
  }
}

function decodeSnapshotState<S, Op, C, Sum>(address: LogAddress, model: LogModel<S, Op, C, Sum>, snapshotBytes: Uint8Array | undefined): S {
  if (!snapshotBytes) return model.initial();
  try {
    return model.decodeState(stateDecoder.decode(snapshotBytes));
  } catch (e) {
    throw logError('LOG_CORRUPT', address.name, `snapshot of log ${address.name} does not decode: ${(e as Error).message.slice(0, 200)}`);
  }
}

/** The state a head describes: snapshot, then the tail's entries, then the pending operations. */
export async function loadState<S, Op, C, Sum>(storage: StorageApi, address: LogAddress, model: LogModel<S, Op, C, Sum>, body: LogHeadBody): Promise<S> {
  const [snapshotBytes, entries] = await Promise.all([
    body.snapshot ? readSnapshot(storage, address, body.snapshot) : undefined,
    fetchEntries(
      storage,
      address,
      body.tail.map((t) => t.id),
    ),
  ]);
  const state = decodeSnapshotState(address, model, snapshotBytes);
  checkTailChain(address, body, 0, entries);
  let index = body.snapshot?.opCount ?? 0;
  for (const entry of entries) for (const bytes of entry.ops) model.apply(state, decodeOp(address, model, bytes, index++));
  for (const bytes of body.pending) model.apply(state, decodeOp(address, model, bytes, index++));
  if (!sameSummary(model, state, body)) {
    throw logError('LOG_CORRUPT', address.name, `log ${address.name}: the replayed state does not match the head's counters`);
  }
  return state;
}

/** Does the state reproduce the counters the head carries? (Catches a replay that went wrong.) */
export function sameSummary<S, Op, C, Sum>(model: LogModel<S, Op, C, Sum>, state: S, body: LogHeadBody): boolean {
  return sameBytes(canonicalBytes(model.encodeSummary(model.summarize(state))), canonicalBytes(body.summary));
}

/**
 * The operations with index >= `fromOp` (encoded), for a reader at `fromOp` to catch up to `body`:
 * the pending ones, the tail's entries as needed, and, when the reader is behind the snapshot, entries
 * walked back from it (at most LOG_CATCH_UP_ENTRIES_MAX). Undefined when the reader is too far behind:
 * it should load the snapshot instead.
 */
export async function collectOpsSince(storage: StorageApi, address: LogAddress, body: LogHeadBody, fromOp: number): Promise<Uint8Array[] | undefined> {
  const entryOps = entryOpCountOf(body);
  if (fromOp >= entryOps) return body.pending.slice(fromOp - entryOps);
  const tailStart = body.tail[0]?.firstOp ?? entryOps;
  const older: LogEntryBody[] = [];
  if (fromOp < tailStart) {
    const snapshot = body.snapshot;
    if (!snapshot || snapshot.lastEntry === null) throw logError('LOG_CORRUPT', address.name, `log ${address.name}: ops before ${tailStart} are in no entry`);
    let id: string | null = snapshot.lastEntry;
    let index = snapshot.entryCount - 1;
    let end = snapshot.opCount;
    while (id !== null) {
      if (older.length >= LOG_CATCH_UP_ENTRIES_MAX) return undefined;
      const entry = await fetchEntry(storage, address, id);
      if (entry.index !== index || entry.firstOp + entry.ops.length !== end) {
        throw logError('LOG_CORRUPT', address.name, `entry ${id.slice(0, 16)} of log ${address.name} is not where the chain puts it`);
      }
      older.unshift(entry);
      if (entry.firstOp <= fromOp) break;
      id = entry.prev;
      index--;
      end = entry.firstOp;
    }
    if (older[0]!.firstOp > fromOp) throw logError('LOG_CORRUPT', address.name, `log ${address.name}: the chain ends before op ${fromOp}`);
  }
  // Tail entries that end after fromOp.
  let from = 0;
  while (from < body.tail.length && (body.tail[from + 1]?.firstOp ?? entryOps) <= fromOp) from++;
  const tailEntries = await fetchEntries(
    storage,
    address,
    body.tail.slice(from).map((t) => t.id),
  );
  checkTailChain(address, body, from, tailEntries);
  const entries = [...older, ...tailEntries];
  const ops: Uint8Array[] = [];
  for (const entry of entries) entry.ops.forEach((op, k) => entry.firstOp + k >= fromOp && ops.push(op));
  return [...ops, ...body.pending];
}

/** Id of entry `index` (< body.entryCount) in body's chain when the head names it (the tail or the snapshot's last entry). */
function namedEntryId(body: LogHeadBody, index: number): string | undefined {
  const baseCount = body.snapshot?.entryCount ?? 0;
  if (index >= baseCount) return body.tail[index - baseCount]?.id;
  return index === baseCount - 1 ? (body.snapshot!.lastEntry ?? undefined) : undefined;
}

/** Id of entry `index` (< body.entryCount), walking back from the snapshot; undefined when more than LOG_CATCH_UP_ENTRIES_MAX entries back. */
async function walkToEntry(storage: StorageApi, address: LogAddress, body: LogHeadBody, index: number): Promise<string | undefined> {
  let id = body.snapshot!.lastEntry;
  let at = body.snapshot!.entryCount - 1;
  for (let steps = 0; id !== null; steps++) {
    if (at === index) return id;
    if (steps >= LOG_CATCH_UP_ENTRIES_MAX) return undefined;
    const entry = await fetchEntry(storage, address, id);
    if (entry.index !== at) throw logError('LOG_CORRUPT', address.name, `entry ${id.slice(0, 16)} of log ${address.name} is not where the chain puts it`);
    id = entry.prev;
    at--;
  }
  throw logError('LOG_CORRUPT', address.name, `log ${address.name}: the chain ends before entry ${index}`);
}

/**
 * How `newer` relates to `older` (two heads of one log): `extends` when older's history is a prefix of
 * newer's, with the operations that follow it; `forked` when the two went apart (a partition healed
 * after both sides wrote: the writer that learns it merges, DESIGN 4); `too-far` when telling would
 * walk more than LOG_CATCH_UP_ENTRIES_MAX entries. Entries are hash-chained, so the same entry at
 * older's last entry index means the same entries before it; older's pending operations must then
 * follow byte for byte. With `walk: false`, an older head whose last entry newer's head does not name
 * is `too-far` rather than walked to.
 */
export type Continuation = { readonly kind: 'extends'; readonly ops: Uint8Array[] } | { readonly kind: 'forked' } | { readonly kind: 'too-far' };

export async function continuation(storage: StorageApi, address: LogAddress, newer: LogHeadBody, older: LogHeadBody, opts: { walk: boolean } = { walk: true }): Promise<Continuation> {
  if (newer.opCount < older.opCount || newer.entryCount < older.entryCount) return { kind: 'forked' };
  if (older.entryCount > 0) {
    // Usually named in newer's head (no fetch, no wait: a catch-up is on every notice's path).
    const named = namedEntryId(newer, older.entryCount - 1);
    if (named === undefined && !opts.walk) return { kind: 'too-far' };
    const id = named ?? (await walkToEntry(storage, address, newer, older.entryCount - 1));
    if (id === undefined) return { kind: 'too-far' };
    if (id !== older.lastEntry) return { kind: 'forked' };
  }
  const ops = await collectOpsSince(storage, address, newer, entryOpCountOf(older));
  if (!ops) return { kind: 'too-far' };
  if (!older.pending.every((op, k) => sameBytes(op, ops[k]!))) return { kind: 'forked' };
  return { kind: 'extends', ops: ops.slice(older.pending.length) };
}

/** Id of entry `index` in body's chain: named in its head or walked back to; undefined when it has no such entry or it is too far back. */
async function entryIdAt(storage: StorageApi, address: LogAddress, body: LogHeadBody, index: number): Promise<string | undefined> {
  if (index >= body.entryCount) return undefined;
  return namedEntryId(body, index) ?? (body.snapshot ? walkToEntry(storage, address, body, index) : undefined);
}

/**
 * Where two branches of a forked log went apart (LogModel.recover's `fork`): the state after the last
 * operation both hold, and `winner`'s operations since. Rebuilt from the older of the two snapshots
 * (or the empty log) when the other branch holds the same entries up to it, then both branches'
 * operations since, compared byte for byte. Undefined when that is out of reach: the fork lies
 * before both snapshots, or more than LOG_CATCH_UP_ENTRIES_MAX entries back.
 */
export async function forkBase<S, Op, C, Sum>(
  storage: StorageApi,
  address: LogAddress,
  model: LogModel<S, Op, C, Sum>,
  lost: LogHeadBody,
  winner: LogHeadBody,
): Promise<ForkBase<S, Op> | undefined> {
  const [base, other] = (lost.snapshot?.opCount ?? 0) <= (winner.snapshot?.opCount ?? 0) ? [lost, winner] : [winner, lost];
  const snapshot = base.snapshot;
  if (snapshot && snapshot.entryCount > 0 && (await entryIdAt(storage, address, other, snapshot.entryCount - 1)) !== snapshot.lastEntry) return undefined;
  const from = snapshot?.opCount ?? 0;
  const [lostOps, winnerOps, snapshotBytes] = await Promise.all([
    collectOpsSince(storage, address, lost, from),
    collectOpsSince(storage, address, winner, from),
    snapshot ? readSnapshot(storage, address, snapshot) : undefined,
  ]);
  if (!lostOps || !winnerOps) return undefined;
  let shared = 0;
  while (shared < lostOps.length && shared < winnerOps.length && sameBytes(lostOps[shared]!, winnerOps[shared]!)) shared++;
  const ancestor = decodeSnapshotState(address, model, snapshotBytes);
  for (let k = 0; k < shared; k++) model.apply(ancestor, decodeOp(address, model, winnerOps[k]!, from + k));
  return { ancestor, winnerOps: winnerOps.slice(shared).map((bytes, k) => decodeOp(address, model, bytes, from + shared + k)) };
}
