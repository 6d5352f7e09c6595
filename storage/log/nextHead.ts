// The next head body after appending operations (the original's coalesced log, DESIGN 4):
// - small appends stay in the head's pending batch: one signed head write, no block;
// - once the batch would exceed LOG_PENDING_OPS_MAX operations or LOG_PENDING_BYTES_MAX bytes, all of
//   it is flushed as entry blocks (as few as fit LOG_BLOCK_PLAINTEXT_BYTES_MAX), each naming its
//   predecessor, and the head points at the newest;
// - once a snapshot is due (snapshotDue: the tail has cost the head writes since the last snapshot as
//   many bytes as the state, or LOG_SNAPSHOT_ENTRIES_MAX entries follow it), the state (which, right
//   after a flush, is exactly the state after the newest entry) is written as a new snapshot and the
//   tail restarts.
// Blocks are put before the head that names them, so a stored head never points at a missing block.
import { blockIdOf } from '../../crypto/convergent';
import type { Random } from '../../infra/ports';
import { LOG_BLOCK_PLAINTEXT_BYTES_MAX, LOG_PENDING_BYTES_MAX, LOG_PENDING_OPS_MAX, LOG_ENTRY_PUTS_IN_FLIGHT_MAX, LOG_SNAPSHOT_ENTRIES_MAX } from '../../protocol/limits';
import type { PutOptions, StorageApi } from '../api';
import type { LogAddress } from './logAddress';
import { ENTRY_OVERHEAD_BYTES, entryOpCountOf, type LogHeadBody, OP_FRAMING_BYTES, sealEntry, TAIL_ENTRY_BYTES, type TailEntry } from './logFormat';
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
 * Whether a head whose tail holds `tailEntries` entries after a flush, covering `tailOps` operations,
 * should start over from a snapshot. Every head write carries the whole tail (TAIL_ENTRY_BYTES an entry,
 * signed, sealed, sent to and stored by every replica); a snapshot writes the state once and empties
 * the tail. Due once the tail bytes the writes since the last snapshot have carried (about
 * TAIL_ENTRY_BYTES * tailOps * (tailEntries - 1) / 2: an entry's operations each carried the entries
 * before it) reach the state's size, `stateBytes` (the last snapshot's, as the estimate; 0 for a log
 * without one, which snapshots at its first flush), which balances the two costs per operation; and at
 * LOG_SNAPSHOT_ENTRIES_MAX entries whatever the state. A folder of 100 messages (about 13 KB of state)
 * snapshots every 5 entries of 50 operations, one of 10,000 every 37, one of 100,000 every 115: its
 * heads carry at most that many tail entries instead of up to LOG_SNAPSHOT_ENTRIES_MAX (10 KB; issue 11:
 * a mailbox written for a few minutes had 7 KB heads, and a STORE cost twice what it costs on a fresh one).
 */
export function snapshotDue(tailEntries: number, tailOps: number, stateBytes: number): boolean {
  return tailEntries >= LOG_SNAPSHOT_ENTRIES_MAX || (TAIL_ENTRY_BYTES * tailOps * (tailEntries - 1)) / 2 >= stateBytes;
}

/** snapshotDue for the head after a flush that leaves `tailEntries` entries and `opCount` operations in entries. */
const snapshotDueAt = (base: LogHeadBody, tailEntries: number, opCount: number) => snapshotDue(tailEntries, opCount - (base.snapshot?.opCount ?? 0), base.snapshot?.bytes ?? 0);

/**
 * What the next head after `ops` will need, known before anything is stored: whether the pending batch
 * is flushed into entries, and whether a snapshot of the state after `ops` is due (the writer then
 * encodes the state while it has it: see LogWriter.round).
 */
export function planNextHead(base: LogHeadBody, ops: readonly Uint8Array[]): { readonly flush: boolean; readonly snapshotDue: boolean } {
  const pending = [...base.pending, ...ops];
  if (fitsPending(pending)) return { flush: false, snapshotDue: false };
  return { flush: true, snapshotDue: snapshotDueAt(base, base.tail.length + cutEntries(pending).length, base.opCount + ops.length) };
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
  if (!snapshotDueAt(base, tail.length, opCount)) {
    return { ...base, ...position, tail, pending: [], summary: args.summary };
  }
  if (!args.stateBytes) throw new Error('nextHeadBody: a snapshot is due but the state was not given (planNextHead)');
  const snapshot = await writeSnapshot({ storage, address, stateBytes: args.stateBytes, position, random, ...(args.putOptions ? { putOptions: args.putOptions } : {}) });
  return { ...base, ...position, tail: [], snapshot, pending: [], summary: args.summary };
}
