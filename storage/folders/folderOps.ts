// Operations of a folder log (intents: evaluated against the state when applied in log order) and the
// changes they make. Wire forms are small msgpack arrays:
//   insert   [1, key, ref (74 bytes), flags, internalDateMs, sizeOctets (, uid, uidEpoch)]
//   flags    [2, uids, mode (0 add, 1 remove, 2 replace), flags, unchangedSince | null (, uidEpoch)]
//   expunge  [3, uids, onlyDeleted (, uidEpoch)]
//   reserveUids [4, uidEpoch, uidFrom, uidNext]
//   renumber [5, pastEpoch]
// Idempotent and keyed: an insert by its key, flag updates and expunges by UID. The last two, and an
// insert's own uid, are written only by a fork's merge (folderModel's recover): they keep the lost
// branch's UIDs when the winner never gave them out, or else move the folder to a new UIDVALIDITY.
import { BLOCK_REF_BYTES } from '../blocks';
import { FLAG_CHARS_MAX, FOLDER_OP_UIDS_MAX, INSERT_KEY_CHARS_MAX, MESSAGE_FLAGS_MAX } from '../../protocol/limits';
import type { FlagMode } from './flags';
import type { FolderMessage, Tombstone } from './folderState';

export type FolderOp =
  | {
      readonly type: 'insert';
      readonly key: string;
      readonly ref: Uint8Array;
      readonly flags: readonly string[];
      readonly internalDateMs: number;
      readonly sizeOctets: number;
      /**
       * A fork's merge carrying a message under the UID its branch gave it: taken when the folder is
       * still in `uidEpoch` and no message holds it (the reserveUids before it kept it free); otherwise
       * the message takes the next UID, like any other insert.
       */
      readonly uid?: number;
      readonly uidEpoch?: number;
    }
  /**
   * Flags and expunges name messages by UID; with `uidEpoch` (a client's command: the numbering its
   * UIDs are in), they change nothing once the folder is in another UID epoch, where those UIDs may
   * name other messages (a fork's merge renumbered it before a retried or queued command applied).
   */
  | { readonly type: 'flags'; readonly uids: readonly number[]; readonly mode: FlagMode; readonly flags: readonly string[]; readonly unchangedSince?: number; readonly uidEpoch?: number }
  /** Remove the named messages; with onlyDeleted, only those flagged \Deleted when the op applies. */
  | { readonly type: 'expunge'; readonly uids: readonly number[]; readonly onlyDeleted: boolean; readonly uidEpoch?: number }
  /**
   * A fork's lost branch numbered UIDs [uidFrom, uidNext) under `uidEpoch` that the winner had not given
   * out when the merge was planned (uidFrom was its uidNext). If the folder is still in that epoch and
   * its uidNext is still at most uidFrom, uidNext moves to uidNext (the carried inserts that follow take
   * their own UIDs in the range); otherwise something took one of them meanwhile, and the folder moves
   * to epoch uidEpoch + 1 (a new UIDVALIDITY).
   */
  | { readonly type: 'reserveUids'; readonly uidEpoch: number; readonly uidFrom: number; readonly uidNext: number }
  /** A UID the lost branch of a fork showed names another message in the winner: the folder moves past epoch `pastEpoch` (a new UIDVALIDITY). */
  | { readonly type: 'renumber'; readonly pastEpoch: number };

export interface FlagChange {
  readonly uid: number;
  readonly flags: readonly string[];
  readonly modseq: number;
  readonly prevFlags: readonly string[];
  readonly prevModseq: number;
}

export type FolderChangeRecord =
  | {
      readonly type: 'insert';
      /** added: a new message; duplicate: the key is already in the folder (message = that one);
       *  expunged: the key was inserted and expunged before; full: FOLDER_MESSAGES_MAX reached. */
      readonly outcome: 'added' | 'duplicate' | 'expunged' | 'full';
      readonly message?: FolderMessage;
      readonly prevUidNext: number;
      readonly prevHighestModseq: number;
    }
  /** reserveUids and renumber: the counters before (effective when either changed). */
  | { readonly type: 'uids'; readonly prevUidNext: number; readonly prevUidEpoch: number; readonly uidEpoch: number; readonly prevHighestModseq: number }
  | { readonly type: 'flags'; readonly changed: readonly FlagChange[]; readonly failed: readonly number[]; readonly prevHighestModseq: number }
  | {
      readonly type: 'expunge';
      readonly removed: readonly FolderMessage[];
      readonly modseq: number;
      /** Tombstones forgotten to keep the bound (restored by a revert). */
      readonly dropped: readonly Tombstone[];
      readonly prevForgottenThroughModseq: number;
      readonly prevHighestModseq: number;
    };

const MODES: readonly FlagMode[] = ['add', 'remove', 'replace'];

export function encodeFolderOp(op: FolderOp): unknown {
  switch (op.type) {
    case 'insert': {
      const wire = [1, op.key, op.ref, op.flags, op.internalDateMs, op.sizeOctets];
      return op.uid !== undefined ? [...wire, op.uid, op.uidEpoch ?? 0] : wire;
    }
    case 'flags': {
      const wire = [2, op.uids, MODES.indexOf(op.mode), op.flags, op.unchangedSince ?? null];
      return op.uidEpoch !== undefined ? [...wire, op.uidEpoch] : wire;
    }
    case 'expunge':
      return op.uidEpoch !== undefined ? [3, op.uids, op.onlyDeleted, op.uidEpoch] : [3, op.uids, op.onlyDeleted];
    case 'reserveUids':
      return [4, op.uidEpoch, op.uidFrom, op.uidNext];
    case 'renumber':
      return [5, op.pastEpoch];
  }
}

const bad = (what: string): never => {
  throw new Error(`folder operation: ${what}`);
};
export const isUint = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
// Internal dates may precede 1970 (old archives): any safe integer.
const isInt = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x);

export function checkFlags(x: unknown): string[] {
  if (!Array.isArray(x) || x.length > MESSAGE_FLAGS_MAX) return bad('flags are not a bounded list');
  return x.map((f) => (typeof f === 'string' && f.length <= FLAG_CHARS_MAX ? f : bad('a flag is not a bounded string')));
}

function checkUids(x: unknown): number[] {
  if (!Array.isArray(x) || x.length > FOLDER_OP_UIDS_MAX) return bad('uids are not a bounded list');
  return x.map((u) => (isUint(u) && u >= 1 ? u : bad('a uid is not a positive integer')));
}

const epochAt = (x: unknown): number => (isUint(x) ? x : bad('a uid epoch is not an integer'));

export function decodeFolderOp(wire: unknown): FolderOp {
  if (!Array.isArray(wire)) return bad('not a list');
  const [tag] = wire;
  if (tag === 1 && (wire.length === 6 || wire.length === 8)) {
    const [, key, ref, flags, internalDateMs, sizeOctets, uid, uidEpoch] = wire;
    if (typeof key !== 'string' || key.length > INSERT_KEY_CHARS_MAX) return bad('insert key is not a bounded string');
    if (!(ref instanceof Uint8Array) || ref.length !== BLOCK_REF_BYTES) return bad('insert ref is not a block reference');
    if (!isInt(internalDateMs) || !isUint(sizeOctets)) return bad('insert date or size is not an integer');
    const op = { type: 'insert' as const, key, ref, flags: checkFlags(flags), internalDateMs, sizeOctets };
    if (wire.length === 6) return op;
    if (!isUint(uid) || uid < 1 || !isUint(uidEpoch)) return bad('insert uid or epoch is not an integer');
    return { ...op, uid, uidEpoch };
  }
  if (tag === 2 && (wire.length === 5 || wire.length === 6)) {
    const [, uids, mode, flags, unchangedSince, uidEpoch] = wire;
    const m = MODES[mode as number];
    if (!m) return bad('unknown flag mode');
    if (unchangedSince !== null && !isUint(unchangedSince)) return bad('unchangedSince is not an integer');
    const op = { type: 'flags' as const, uids: checkUids(uids), mode: m, flags: checkFlags(flags), ...(unchangedSince === null ? {} : { unchangedSince }) };
    return wire.length === 5 ? op : { ...op, uidEpoch: epochAt(uidEpoch) };
  }
  if (tag === 3 && (wire.length === 3 || wire.length === 4)) {
    const [, uids, onlyDeleted, uidEpoch] = wire;
    if (typeof onlyDeleted !== 'boolean') return bad('onlyDeleted is not a boolean');
    const op = { type: 'expunge' as const, uids: checkUids(uids), onlyDeleted };
    return wire.length === 3 ? op : { ...op, uidEpoch: epochAt(uidEpoch) };
  }
  if (tag === 4 && wire.length === 4) {
    const [, uidEpoch, uidFrom, uidNext] = wire;
    if (!isUint(uidEpoch) || !isUint(uidFrom) || !isUint(uidNext) || uidFrom < 1 || uidNext <= uidFrom) return bad('reserved uids are not a range');
    return { type: 'reserveUids', uidEpoch, uidFrom, uidNext };
  }
  if (tag === 5 && wire.length === 2) {
    const [, pastEpoch] = wire;
    if (!isUint(pastEpoch)) return bad('renumber epoch is not an integer');
    return { type: 'renumber', pastEpoch };
  }
  return bad(`unknown operation ${String(tag)}`);
}
