// The next head body after appending operations (the original's coalesced log, DESIGN 4):
// - small appends stay in the head's pending batch: one signed head write, no block;
// - once the batch would exceed LOG_PENDING_OPS_MAX operations or LOG_PENDING_BYTES_MAX bytes, all of
//   it is flushed as entry blocks (as few as fit LOG_BLOCK_PLAINTEXT_BYTES_MAX), each naming its
//   predecessor, and the head points at the newest;
// - once LOG_SNAPSHOT_EVERY_ENTRIES entries follow the snapshot, the state (which, right after a flush,
//   is exactly the state after the newest entry) is written as a new snapshot and the tail restarts.
// Blocks are put before the head that names them, so a stored head never points at a missing block.
import { blockIdOf } from '../../crypto/convergent';
import type { Random } from '../../infra/ports';
import { LOG_BLOCK_PLAINTEXT_BYTES_MAX, LOG_PENDING_BYTES_MAX, LOG_PENDING_OPS_MAX, LOG_ENTRY_PUTS_IN_FLIGHT_MAX, LOG_SNAPSHOT_EVERY_ENTRIES } from '../../protocol/limits';
import type { PutOptions, StorageApi } from '../api';
import type { LogAddress } from './logAddress';
import { ENTRY_OVERHEAD_BYTES, entryOpCountOf, type LogHeadBody, OP_FRAMING_BYTES, sealEntry, type TailEntry } from './logFormat';
import { writeSnapshot } from './snapshot';

/** Largest encoded operation: one must fit an entry on its own. */
export const OP_BYTES_MAX = LOG_BLOCK_PLAINTEXT_BYTES_MAX - ENTRY_OVERHEAD_BYTES - OP_FRAMING_BYTES;

export interface NextHeadArgs {
  readonly storage: StorageApi;
  readonly address: LogAddress;
  readonly random: Random;
  readonly base: LogHeadBody;
  /** The new operations, encoded, in order. */
  readonly ops: readonly Uint8Array[];
  /** The model's summary of the state after them (encoded). */
  readonly summary: unknown;
  /** The encoded state after them: given when planNextHead says a snapshot is due. */
  readonly stateBytes?: Uint8Array;
  readonly putOptions?: PutOptions;
}

const bytesOf = (ops: readonly Uint8Array[]) => ops.reduce((n, op) => n + op.length + OP_FRAMING_BYTES, 0);

/** Group ops into entries that each fit one block. */
function cutEntries(ops: readonly Uint8Array[]): Uint8Array[][] {
  const budget = LOG_BLOCK_PLAINTEXT_BYTES_MAX - ENTRY_OVERHEAD_BYTES;
  const entries: Uint8Array[][] = [];
  let current: Uint8Array[] = [];
  let used = 0;
  for (const op of ops) {
    const size = op.length + OP_FRAMING_BYTES;
    if (current.length > 0 && used + size > budget) {
      entries.push(current);
      current = [];
      used = 0;
    }
    current.push(op);
    used += size;
  }
  if (current.length > 0) entries.push(current);
  return entries;
}

const fitsPending = (pending: readonly Uint8Array[]) => pending.length <= LOG_PENDING_OPS_MAX && bytesOf(pending) <= LOG_PENDING_BYTES_MAX;

/**
 * What the next head after `ops` will need, known before anything is stored: whether the pending batch
 * is flushed into entries, and whether a snapshot of the state after `ops` is due (the writer then
 * encodes the state while it has it: see LogWriter.round).
 */
export function planNextHead(base: LogHeadBody, ops: readonly Uint8Array[]): { readonly flush: boolean; readonly snapshotDue: boolean } {
  const pending = [...base.pending, ...ops];
  if (fitsPending(pending)) return { flush: false, snapshotDue: false };
  return { flush: true, snapshotDue: base.tail.length + cutEntries(pending).length >= LOG_SNAPSHOT_EVERY_ENTRIES };
}

export async function nextHeadBody(args: NextHeadArgs): Promise<LogHeadBody> {
  const { storage, address, random, base, ops } = args;
  const pending = [...base.pending, ...ops];
  const opCount = base.opCount + ops.length;
  if (fitsPending(pending)) {
    return { ...base, opCount, pending, summary: args.summary };
  }
  // Flush the whole batch: seal every entry first (ids are hashes, so the chain is known before any put).
  let firstOp = entryOpCountOf(base);
  let prev = base.lastEntry;
  let index = base.entryCount;
  const sealed: { id: string; bytes: Uint8Array }[] = [];
  const tail: TailEntry[] = [...base.tail];
  for (const entryOps of cutEntries(pending)) {
    const bytes = sealEntry(address, { index, prev, firstOp, ops: entryOps }, random);
    const id = blockIdOf(bytes).toString('hex');
    sealed.push({ id, bytes });
    tail.push({ id, firstOp });
    prev = id;
    index++;
    firstOp += entryOps.length;
  }
  for (let i = 0; i < sealed.length; i += LOG_ENTRY_PUTS_IN_FLIGHT_MAX) {
    await Promise.all(
      sealed.slice(i, i + LOG_ENTRY_PUTS_IN_FLIGHT_MAX).map(async ({ id, bytes }) => {
        const stored = await storage.putBlock(bytes, args.putOptions);
        if (stored !== id) throw new Error(`storage stored log entry ${id} as ${stored}`);
      }),
    );
  }
  const position = { opCount, entryCount: index, lastEntry: prev };
  if (tail.length < LOG_SNAPSHOT_EVERY_ENTRIES) {
    return { ...base, ...position, tail, pending: [], summary: args.summary };
  }
  if (!args.stateBytes) throw new Error('nextHeadBody: a snapshot is due but the state was not given (planNextHead)');
  const snapshot = await writeSnapshot({ storage, address, stateBytes: args.stateBytes, position, random, ...(args.putOptions ? { putOptions: args.putOptions } : {}) });
  return { ...base, ...position, tail: [], snapshot, pending: [], summary: args.summary };
}
