// The encrypted parts of a log and their layouts. A log is:
//
//   head    signed object `log:<name>` (owner, object id, seq, prev hash, signature in clear: what
//           replicas check) whose payload is sealWithKey(logKey, body, AD = "log-head" || objectId):
//     body = [1, model, name, opCount, entryCount, lastEntry, tail, snapshot, pending, summary]
//       opCount     operations in the whole log (entries + pending)
//       entryCount  entry blocks written so far
//       lastEntry   id of the newest entry block (null before the first)
//       tail        [[entry id, first op index], ...] entries since the snapshot, oldest first
//       snapshot    null | [block ids, opCount, entryCount, lastEntry, bytes]: the state after entry
//                   `entryCount - 1`, sealed in pieces (snapshot.ts)
//       pending     operations not yet flushed into an entry (each its own msgpack bytes)
//       summary     the model's counters (UIDNEXT, HIGHESTMODSEQ, ...)
//   entry   a block sealWithKey(logKey, [1, index, prev entry id | null, first op index, ops],
//           AD = "log-entry" || objectId): entries form a hash chain back from `lastEntry`.
//
// Decoding is strict and checks the counters against each other, so a reader never acts on a body
// whose pointers disagree (LOG_CORRUPT names what disagrees).
import { Decoder } from '@msgpack/msgpack';
import { SealDomain } from '../../crypto/domains';
import { openWithKey, sealWithKey } from '../../crypto/secretbox';
import type { Random } from '../../infra/ports';
import { canonicalBytes } from '../../protocol/frame';
import { LOG_BLOCK_PLAINTEXT_BYTES_MAX, LOG_PENDING_OPS_MAX, LOG_STATE_LIST_ITEMS_MAX, LOG_SNAPSHOT_BLOCKS_MAX, LOG_SNAPSHOT_ENTRIES_MAX, OBJECT_PAYLOAD_BYTES_MAX } from '../../protocol/limits';
import type { LogAddress } from './logAddress';

const FORMAT = 1;

export interface TailEntry {
  readonly id: string;
  /** Index (in the whole log) of the entry's first operation. */
  readonly firstOp: number;
}

export interface SnapshotRef {
  /** Ids of the sealed pieces, in order. */
  readonly blocks: readonly string[];
  /** Operations (and entries) the snapshot covers: everything up to and including `lastEntry`. */
  readonly opCount: number;
  readonly entryCount: number;
  readonly lastEntry: string | null;
  /** Plaintext bytes of the encoded state. */
  readonly bytes: number;
}

export interface LogHeadBody {
  readonly model: string;
  readonly name: string;
  readonly opCount: number;
  readonly entryCount: number;
  readonly lastEntry: string | null;
  readonly tail: readonly TailEntry[];
  readonly snapshot: SnapshotRef | null;
  readonly pending: readonly Uint8Array[];
  /** The model's summary, as its encoder produced it. */
  readonly summary: unknown;
}

export interface LogEntryBody {
  readonly index: number;
  readonly prev: string | null;
  readonly firstOp: number;
  readonly ops: readonly Uint8Array[];
}

/** Index of the first operation not in an entry (the first pending one). */
export const entryOpCountOf = (body: LogHeadBody): number => body.opCount - body.pending.length;

export const emptyHeadBody = (model: string, name: string, summary: unknown): LogHeadBody => ({
  model,
  name,
  opCount: 0,
  entryCount: 0,
  lastEntry: null,
  tail: [],
  snapshot: null,
  pending: [],
  summary,
});

// ---- associated data -----------------------------------------------------------------------------

const objectIdBytes = (address: LogAddress) => Buffer.from(address.objectId, 'hex');
export const headAd = (address: LogAddress): Buffer => Buffer.concat([Buffer.from(SealDomain.logHead), objectIdBytes(address)]);
export const entryAd = (address: LogAddress): Buffer => Buffer.concat([Buffer.from(SealDomain.logEntry), objectIdBytes(address)]);
export const snapshotAd = (address: LogAddress, opCount: number, index: number, count: number): Buffer =>
  Buffer.concat([Buffer.from(SealDomain.logSnapshot), objectIdBytes(address), canonicalBytes([opCount, index, count])]);

// ---- decoding helpers ----------------------------------------------------------------------------

export class FormatError extends Error {}

const fail = (what: string): never => {
  throw new FormatError(what);
};
const isUint = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
const uintAt = (x: unknown, what: string): number => (isUint(x) ? x : fail(`${what} is not an unsigned integer`));
const idAt = (x: unknown, what: string): string => (x instanceof Uint8Array && x.length === 32 ? Buffer.from(x).toString('hex') : fail(`${what} is not a 32-byte id`));
const optIdAt = (x: unknown, what: string): string | null => (x === null ? null : idAt(x, what));
const listAt = (x: unknown, max: number, what: string): unknown[] =>
  Array.isArray(x) ? (x.length <= max ? x : fail(`${what} has ${x.length} items, more than ${max}`)) : fail(`${what} is not a list`);
const binsAt = (x: unknown, max: number, what: string): Uint8Array[] =>
  listAt(x, max, what).map((b, i) => (b instanceof Uint8Array ? b : fail(`${what}[${i}] is not bytes`)));
const idBytes = (id: string | null) => (id === null ? null : Buffer.from(id, 'hex'));

const headDecoder = new Decoder({
  maxStrLength: 4096,
  maxBinLength: OBJECT_PAYLOAD_BYTES_MAX,
  maxArrayLength: Math.max(LOG_SNAPSHOT_BLOCKS_MAX, LOG_SNAPSHOT_ENTRIES_MAX, LOG_PENDING_OPS_MAX, 64),
  maxMapLength: 64,
  maxExtLength: 0,
});

/** Decoder for entries and operations: no list can hold more items than a block has bytes. */
export const contentDecoder = new Decoder({
  maxStrLength: LOG_BLOCK_PLAINTEXT_BYTES_MAX,
  maxBinLength: LOG_BLOCK_PLAINTEXT_BYTES_MAX,
  maxArrayLength: LOG_BLOCK_PLAINTEXT_BYTES_MAX,
  maxMapLength: LOG_BLOCK_PLAINTEXT_BYTES_MAX,
  maxExtLength: 0,
});

/** Decoder for a snapshot's state (many blocks long): lists up to LOG_STATE_LIST_ITEMS_MAX. */
export const stateDecoder = new Decoder({
  maxStrLength: LOG_BLOCK_PLAINTEXT_BYTES_MAX,
  maxBinLength: LOG_BLOCK_PLAINTEXT_BYTES_MAX,
  maxArrayLength: LOG_STATE_LIST_ITEMS_MAX,
  maxMapLength: LOG_STATE_LIST_ITEMS_MAX,
  maxExtLength: 0,
});

// ---- head body -----------------------------------------------------------------------------------

export function encodeHeadBody(body: LogHeadBody): Uint8Array {
  const snapshot = body.snapshot && [body.snapshot.blocks.map((id) => Buffer.from(id, 'hex')), body.snapshot.opCount, body.snapshot.entryCount, idBytes(body.snapshot.lastEntry), body.snapshot.bytes];
  return canonicalBytes([
    FORMAT,
    body.model,
    body.name,
    body.opCount,
    body.entryCount,
    idBytes(body.lastEntry),
    body.tail.map((t) => [Buffer.from(t.id, 'hex'), t.firstOp]),
    snapshot,
    body.pending,
    body.summary,
  ]);
}

function decodeSnapshotRef(x: unknown): SnapshotRef | null {
  if (x === null) return null;
  const [blocks, opCount, entryCount, lastEntry, bytes] = listAt(x, 5, 'snapshot');
  return {
    blocks: listAt(blocks, LOG_SNAPSHOT_BLOCKS_MAX, 'snapshot blocks').map((b, i) => idAt(b, `snapshot block ${i}`)),
    opCount: uintAt(opCount, 'snapshot opCount'),
    entryCount: uintAt(entryCount, 'snapshot entryCount'),
    lastEntry: optIdAt(lastEntry, 'snapshot lastEntry'),
    bytes: uintAt(bytes, 'snapshot bytes'),
  };
}

/** Decode and cross-check a head body; throws FormatError naming the first inconsistency. */
export function decodeHeadBody(bytes: Uint8Array): LogHeadBody {
  let wire: unknown;
  try {
    wire = headDecoder.decode(bytes);
  } catch (e) {
    return fail(`head body is not msgpack (${(e as Error).message.slice(0, 100)})`);
  }
  const fields = listAt(wire, 10, 'head body');
  if (fields.length !== 10 || fields[0] !== FORMAT) fail('head body has an unknown format');
  const [, model, name, opCount, entryCount, lastEntry, tail, snapshot, pending, summary] = fields;
  if (typeof model !== 'string' || typeof name !== 'string') fail('head body model or name is not a string');
  const body: LogHeadBody = {
    model: model as string,
    name: name as string,
    opCount: uintAt(opCount, 'opCount'),
    entryCount: uintAt(entryCount, 'entryCount'),
    lastEntry: optIdAt(lastEntry, 'lastEntry'),
    tail: listAt(tail, LOG_SNAPSHOT_ENTRIES_MAX, 'tail').map((t, i) => {
      const [id, firstOp] = listAt(t, 2, `tail[${i}]`);
      return { id: idAt(id, `tail[${i}] id`), firstOp: uintAt(firstOp, `tail[${i}] firstOp`) };
    }),
    snapshot: decodeSnapshotRef(snapshot),
    pending: binsAt(pending, LOG_PENDING_OPS_MAX, 'pending'),
    summary,
  };
  checkCounters(body);
  return body;
}

/** The head's pointers must agree: entries since the snapshot, op ranges, newest entry. */
function checkCounters(body: LogHeadBody): void {
  const base = body.snapshot ?? { opCount: 0, entryCount: 0, lastEntry: null };
  const entryOps = entryOpCountOf(body);
  if (entryOps < base.opCount) fail(`pending ops (${body.pending.length}) overlap the snapshot`);
  if (body.entryCount !== base.entryCount + body.tail.length) fail(`entryCount ${body.entryCount} is not snapshot + tail`);
  const newest = body.tail.at(-1)?.id ?? base.lastEntry;
  if (body.lastEntry !== newest) fail('lastEntry is not the newest entry of the tail');
  let expected = base.opCount;
  for (const [i, t] of body.tail.entries()) {
    // The first tail entry starts where the snapshot ends; each later one after at least one op.
    if (i === 0 ? t.firstOp !== expected : t.firstOp < expected) fail(`tail[${i}] starts at op ${t.firstOp}, expected ${i === 0 ? '' : 'at least '}${expected}`);
    expected = t.firstOp + 1;
  }
  if (body.tail.length > 0 && entryOps < expected) fail('the last tail entry holds no operation');
  if (body.tail.length === 0 && entryOps !== base.opCount) fail(`ops ${base.opCount}..${entryOps} are in no entry`);
}

export function sealHeadBody(address: LogAddress, body: LogHeadBody, random: Random): Uint8Array {
  return sealWithKey(address.key, encodeHeadBody(body), random, headAd(address));
}

/** The head body, or undefined when the payload does not open under the log key (forged or foreign). */
export function openHeadPayload(address: LogAddress, payload: Uint8Array): Uint8Array | undefined {
  return openWithKey(address.key, payload, headAd(address));
}

// ---- entries -------------------------------------------------------------------------------------

/** Bytes an entry adds around its operations (format, index, prev id, first op, list headers). */
export const ENTRY_OVERHEAD_BYTES = 64;
/** Bytes one tail entry takes in an encoded head at most: [32-byte id, first op] = 1 + 2 + 32 + up to 5. */
export const TAIL_ENTRY_BYTES = 40;
/** Bytes one operation adds inside an entry's list besides its own encoding (a msgpack bin header). */
export const OP_FRAMING_BYTES = 5;

export function sealEntry(address: LogAddress, entry: LogEntryBody, random: Random): Buffer {
  const plain = canonicalBytes([FORMAT, entry.index, idBytes(entry.prev), entry.firstOp, entry.ops]);
  if (plain.length > LOG_BLOCK_PLAINTEXT_BYTES_MAX) throw new RangeError(`log entry of ${plain.length} bytes exceeds ${LOG_BLOCK_PLAINTEXT_BYTES_MAX}`);
  return sealWithKey(address.key, plain, random, entryAd(address));
}

/** Decode an opened entry; throws FormatError. */
export function decodeEntry(plain: Uint8Array): LogEntryBody {
  let wire: unknown;
  try {
    wire = contentDecoder.decode(plain);
  } catch (e) {
    return fail(`entry is not msgpack (${(e as Error).message.slice(0, 100)})`);
  }
  const fields = listAt(wire, 5, 'entry');
  if (fields.length !== 5 || fields[0] !== FORMAT) fail('entry has an unknown format');
  const ops = binsAt(fields[4], LOG_BLOCK_PLAINTEXT_BYTES_MAX, 'entry ops');
  if (ops.length === 0) fail('entry holds no operation');
  return { index: uintAt(fields[1], 'entry index'), prev: optIdAt(fields[2], 'entry prev'), firstOp: uintAt(fields[3], 'entry firstOp'), ops };
}
