// The folder log's model: how operations change a folder (deterministically, so every device computes
// the same UIDs and modseqs) and how a change is undone when a compare-and-swap is lost.
//
// - insert: a new key gets uid = uidNext++, modseq = ++highestModseq; a key already present (or
//   remembered as expunged) changes nothing.
// - flags: each message whose flag set really changes takes its own new modseq; with unchangedSince,
//   messages modified after it are reported failed and left alone (CONDSTORE).
// - expunge: removes the present UIDs (only those flagged \Deleted when asked), all under one new
//   modseq, remembering them as tombstones (bounded; the oldest are forgotten).
// - flags and expunge made for a UID epoch other than the folder's change nothing (their UIDs may
//   name other messages now).
// - reserveUids, renumber and an insert's own uid: a fork's merge (recover, below) keeping the lost
//   branch's UIDs where the winner never gave them out, or moving the folder to a new UID epoch (a
//   new, greater UIDVALIDITY) where a UID would otherwise name two messages.
import { FOLDER_EXPUNGED_RETAINED_MAX, FOLDER_MESSAGES_MAX, FOLDER_OP_UIDS_MAX } from '../../protocol/limits';
import type { Applied, ForkBase, LogModel } from '../log/logModel';
import { applyFlagUpdate, DELETED, hasFlag, normaliseFlags, SEEN, sameFlagSet } from './flags';
import { decodeFolderState, decodeFolderSummary, encodeFolderState, encodeFolderSummary } from './folderCodec';
import { decodeFolderOp, encodeFolderOp, type FlagChange, type FolderChangeRecord, type FolderOp } from './folderOps';
import { copyFolderState, emptyFolderState, type FolderMessage, type FolderState, type FolderSummary, reorder, summarizeFolder, type Tombstone } from './folderState';

const unseenDelta = (flags: readonly string[]) => (hasFlag(flags, SEEN) ? 0 : 1);
const sortedUnique = (uids: readonly number[]) => [...new Set(uids)].sort((a, b) => a - b);

function applyInsert(state: FolderState, op: Extract<FolderOp, { type: 'insert' }>): Applied<FolderChangeRecord> {
  const prevHighestModseq = state.highestModseq;
  const prevUidNext = state.uidNext;
  const known = state.byKey.get(op.key);
  if (known !== undefined) {
    const message = state.messages.get(known);
    return { effective: false, change: { type: 'insert', outcome: message ? 'duplicate' : 'expunged', ...(message ? { message } : {}), prevUidNext, prevHighestModseq } };
  }
  if (state.messages.size >= FOLDER_MESSAGES_MAX) return { effective: false, change: { type: 'insert', outcome: 'full', prevUidNext, prevHighestModseq } };
  // A merge's carried message keeps its UID when its branch's numbering still holds (reserveUids kept it free).
  const own = op.uid !== undefined && op.uidEpoch === state.uidEpoch && !state.messages.has(op.uid);
  const uid = own ? op.uid! : state.uidNext;
  // Only a carried UID can fall below a message already there (a reserved range is above them all, so
  // not in practice); finding the last one costs a pass over the folder, so only then.
  const outOfOrder = own && uid < state.uidNext && [...state.messages.keys()].some((known) => known > uid);
  state.uidNext = Math.max(state.uidNext, uid + 1);
  const message: FolderMessage = {
    uid,
    ref: op.ref,
    flags: normaliseFlags(op.flags),
    internalDateMs: op.internalDateMs,
    sizeOctets: op.sizeOctets,
    modseq: ++state.highestModseq,
    key: op.key,
  };
  state.messages.set(message.uid, message);
  if (outOfOrder) reorder(state);
  state.byKey.set(message.key, message.uid);
  state.unseen += unseenDelta(message.flags);
  return { effective: true, change: { type: 'insert', outcome: 'added', message, prevUidNext, prevHighestModseq } };
}

/** reserveUids and renumber (see folderOps.ts): the folder keeps a lost branch's UIDs or moves to a new UID epoch. */
function applyUids(state: FolderState, op: Extract<FolderOp, { type: 'reserveUids' | 'renumber' }>): Applied<FolderChangeRecord> {
  const prevUidNext = state.uidNext;
  const prevUidEpoch = state.uidEpoch;
  if (op.type === 'reserveUids' && state.uidEpoch === op.uidEpoch && state.uidNext <= op.uidFrom) state.uidNext = op.uidNext;
  else {
    const pastEpoch = op.type === 'renumber' ? op.pastEpoch : op.uidEpoch;
    if (state.uidEpoch <= pastEpoch) state.uidEpoch = pastEpoch + 1;
  }
  const effective = state.uidNext !== prevUidNext || state.uidEpoch !== prevUidEpoch;
  return { effective, change: { type: 'uids', prevUidNext, prevUidEpoch, uidEpoch: state.uidEpoch, prevHighestModseq: state.highestModseq } };
}

function applyFlags(state: FolderState, op: Extract<FolderOp, { type: 'flags' }>): Applied<FolderChangeRecord> {
  const prevHighestModseq = state.highestModseq;
  const changed: FlagChange[] = [];
  const failed: number[] = [];
  if (op.uidEpoch !== undefined && op.uidEpoch !== state.uidEpoch) return { effective: false, change: { type: 'flags', changed, failed, prevHighestModseq } };
  for (const uid of sortedUnique(op.uids)) {
    const m = state.messages.get(uid);
    if (!m) continue;
    if (op.unchangedSince !== undefined && m.modseq > op.unchangedSince) {
      failed.push(uid);
      continue;
    }
    const flags = applyFlagUpdate(m.flags, op.mode, op.flags);
    if (sameFlagSet(flags, m.flags)) continue;
    const modseq = ++state.highestModseq;
    state.messages.set(uid, { ...m, flags, modseq });
    state.unseen += unseenDelta(flags) - unseenDelta(m.flags);
    changed.push({ uid, flags, modseq, prevFlags: m.flags, prevModseq: m.modseq });
  }
  return { effective: changed.length > 0, change: { type: 'flags', changed, failed, prevHighestModseq } };
}

function applyExpunge(state: FolderState, op: Extract<FolderOp, { type: 'expunge' }>): Applied<FolderChangeRecord> {
  const prevHighestModseq = state.highestModseq;
  const prevForgottenThroughModseq = state.forgottenThroughModseq;
  const removed: FolderMessage[] = [];
  const renumbered = op.uidEpoch !== undefined && op.uidEpoch !== state.uidEpoch; // its UIDs are another numbering's
  for (const uid of renumbered ? [] : sortedUnique(op.uids)) {
    const m = state.messages.get(uid);
    if (m && (!op.onlyDeleted || hasFlag(m.flags, DELETED))) removed.push(m);
  }
  if (removed.length === 0) return { effective: false, change: { type: 'expunge', removed, modseq: 0, dropped: [], prevForgottenThroughModseq, prevHighestModseq } };
  const modseq = ++state.highestModseq;
  for (const m of removed) {
    state.messages.delete(m.uid);
    state.unseen -= unseenDelta(m.flags);
    state.tombstones.push({ uid: m.uid, modseq, key: m.key });
  }
  const dropped: Tombstone[] = [];
  if (state.tombstones.length > FOLDER_EXPUNGED_RETAINED_MAX) {
    dropped.push(...state.tombstones.splice(0, state.tombstones.length - FOLDER_EXPUNGED_RETAINED_MAX));
    for (const t of dropped) {
      if (state.byKey.get(t.key) === t.uid) state.byKey.delete(t.key);
      state.forgottenThroughModseq = Math.max(state.forgottenThroughModseq, t.modseq);
    }
  }
  return { effective: true, change: { type: 'expunge', removed, modseq, dropped, prevForgottenThroughModseq, prevHighestModseq } };
}

function revert(state: FolderState, change: FolderChangeRecord): void {
  switch (change.type) {
    case 'insert': {
      const m = change.message!;
      state.messages.delete(m.uid);
      state.byKey.delete(m.key);
      state.unseen -= unseenDelta(m.flags);
      state.uidNext = change.prevUidNext;
      break;
    }
    case 'uids':
      state.uidNext = change.prevUidNext;
      state.uidEpoch = change.prevUidEpoch;
      break;
    case 'flags':
      for (let i = change.changed.length - 1; i >= 0; i--) {
        const c = change.changed[i]!;
        const m = state.messages.get(c.uid)!;
        state.messages.set(c.uid, { ...m, flags: c.prevFlags, modseq: c.prevModseq });
        state.unseen += unseenDelta(c.prevFlags) - unseenDelta(c.flags);
      }
      break;
    case 'expunge': {
      for (const t of change.dropped) if (!state.byKey.has(t.key)) state.byKey.set(t.key, t.uid);
      state.tombstones = [...change.dropped, ...state.tombstones.slice(0, state.tombstones.length - change.removed.length)];
      state.forgottenThroughModseq = change.prevForgottenThroughModseq;
      const last = [...state.messages.keys()].at(-1) ?? 0;
      for (const m of change.removed) {
        state.messages.set(m.uid, m);
        state.unseen += unseenDelta(m.flags);
      }
      if (change.removed[0]!.uid < last) reorder(state);
      break;
    }
  }
  state.highestModseq = change.prevHighestModseq;
}

/**
 * Flags (system flags and keywords alike) the lost branch of a fork changed, carried into the winner
 * three-way: per message present at the fork point and still in both branches, each flag the lost
 * branch added or removed relative to the fork point is added or removed in the winner, unless the
 * winner's own operations since the fork changed that flag of that message (then the winner's value
 * stands, even if it changed it back). So \Seen marked on one side and \Flagged on the other both
 * stand. A message inserted on both sides after the fork (one notification delivered by both writers)
 * has no fork-point flags to compare with: the winner's stand.
 */
function carriedFlags(lost: FolderState, winner: FolderState, fork: ForkBase<FolderState, FolderOp>): FolderOp[] {
  const touched = flagsChangedBy(fork.ancestor, fork.winnerOps);
  const byChange = new Map<string, { mode: 'add' | 'remove'; flag: string; uids: number[] }>();
  const carry = (mode: 'add' | 'remove', flag: string, uid: number) => {
    const id = `${mode} ${flag.toLowerCase()}`;
    const group = byChange.get(id) ?? { mode, flag, uids: [] };
    group.uids.push(uid);
    byChange.set(id, group);
  };
  for (const base of fork.ancestor.messages.values()) {
    const mine = lost.messages.get(base.uid);
    const theirs = winner.messages.get(base.uid);
    if (!mine || !theirs || mine.key !== base.key || theirs.key !== base.key) continue;
    const untouched = (flag: string) => !touched.get(base.uid)?.has(flag.toLowerCase());
    for (const flag of mine.flags) if (!hasFlag(base.flags, flag) && untouched(flag) && !hasFlag(theirs.flags, flag)) carry('add', flag, base.uid);
    for (const flag of base.flags) if (!hasFlag(mine.flags, flag) && untouched(flag) && hasFlag(theirs.flags, flag)) carry('remove', flag, base.uid);
  }
  const ops: FolderOp[] = [];
  for (const { mode, flag, uids } of byChange.values()) {
    for (let i = 0; i < uids.length; i += FOLDER_OP_UIDS_MAX) ops.push({ type: 'flags', uids: uids.slice(i, i + FOLDER_OP_UIDS_MAX), mode, flags: [flag] });
  }
  return ops;
}

/** UID -> the flags (lower case) that `ops`, replayed on a copy of `start`, changed. */
function flagsChangedBy(start: FolderState, ops: readonly FolderOp[]): Map<number, Set<string>> {
  const state = copyFolderState(start);
  const touched = new Map<number, Set<string>>();
  for (const op of ops) {
    const applied = folderModel.apply(state, op);
    if (!applied.effective || applied.change.type !== 'flags') continue;
    for (const c of applied.change.changed) {
      const set = touched.get(c.uid) ?? new Set<string>();
      for (const f of c.flags) if (!hasFlag(c.prevFlags, f)) set.add(f.toLowerCase());
      for (const f of c.prevFlags) if (!hasFlag(c.flags, f)) set.add(f.toLowerCase());
      touched.set(c.uid, set);
    }
  }
  return touched;
}

/** UID -> insert key of what `state` numbered from `fromUid` on: its messages and remembered expunges. */
function numbering(state: FolderState, fromUid: number): Map<number, string> {
  const byUid = new Map<number, string>();
  for (const t of state.tombstones) if (t.uid >= fromUid) byUid.set(t.uid, t.key);
  for (const m of state.messages.values()) if (m.uid >= fromUid) byUid.set(m.uid, m.key);
  return byUid;
}

/**
 * Whether the two branches' numberings since the fork disagree, so that after the merge some UID under
 * the folder's UIDVALIDITY would name a message other than the one a session of one branch was shown
 * by it (RFC 3501 2.3.1.1: never, for the life of a UIDVALIDITY). They agree when every UID either
 * gave out names the same message in both, a message has one UID in both, and what only one branch
 * numbered lies at or above the other's UIDNEXT (the other's sessions see it as new, with UIDs that
 * still ascend). Without the fork point, everything both hold is compared: a UID one side gave out and
 * the other forgot (an old expunge) counts as a disagreement.
 */
function numberingsDisagree(lost: FolderState, winner: FolderState, fork?: ForkBase<FolderState, FolderOp>): boolean {
  const fromUid = fork ? fork.ancestor.uidNext : 1;
  const mine = numbering(lost, fromUid);
  const theirs = numbering(winner, fromUid);
  const onlyOneSide = (own: Map<number, string>, other: Map<number, string>, otherState: FolderState) => {
    for (const [uid, key] of own) {
      const there = other.get(uid);
      if (there !== undefined) {
        if (there !== key) return true;
        continue;
      }
      if (uid < otherState.uidNext) return true;
      const otherUid = otherState.byKey.get(key);
      if (otherUid !== undefined && otherUid !== uid) return true;
    }
    return false;
  };
  return onlyOneSide(mine, theirs, winner) || onlyOneSide(theirs, mine, lost);
}

/**
 * A fork's lost branch carried into the winner (LogModel.recover): the messages the winner never saw
 * (in INBOX, mail delivered on the losing side of a partition) are inserted again with the flags they
 * had, flags the lost branch changed and the winner did not are changed in the winner too (three-way,
 * per flag, against the fork point: carriedFlags; without `fork` the winner's flags stand), and the
 * messages the lost branch expunged and the winner still shows are expunged.
 *
 * UIDs: when the two numberings agree (numberingsDisagree), the carried messages keep the UIDs their
 * branch gave them, reserved first (reserveUids: uidNext moves past everything the lost branch gave
 * out), and no session of either side sees a UID change. When they disagree, or the lost branch was
 * already in a later UID epoch than the winner, the folder moves to a new epoch (renumber: a new,
 * greater UIDVALIDITY, and clients resynchronise the folder) and the carried messages take the next
 * UIDs. A winner in a later epoch than the lost branch already has another UIDVALIDITY: the carried
 * messages simply take the next UIDs.
 */
function recover(lost: FolderState, winner: FolderState, fork?: ForkBase<FolderState, FolderOp>): FolderOp[] {
  const ops: FolderOp[] = [];
  const carried = [...lost.messages.values()].filter((m) => !winner.byKey.has(m.key));
  const keepUids = lost.uidEpoch === winner.uidEpoch && !numberingsDisagree(lost, winner, fork);
  if (keepUids && lost.uidNext > winner.uidNext) ops.push({ type: 'reserveUids', uidEpoch: winner.uidEpoch, uidFrom: winner.uidNext, uidNext: lost.uidNext });
  else if (!keepUids && lost.uidEpoch >= winner.uidEpoch) ops.push({ type: 'renumber', pastEpoch: lost.uidEpoch });
  for (const m of carried) {
    const insert: FolderOp = { type: 'insert', key: m.key, ref: m.ref, flags: m.flags, internalDateMs: m.internalDateMs, sizeOctets: m.sizeOctets };
    ops.push(keepUids ? { ...insert, uid: m.uid, uidEpoch: winner.uidEpoch } : insert);
  }
  if (fork) ops.push(...carriedFlags(lost, winner, fork));
  const gone: number[] = [];
  for (const t of lost.tombstones) {
    const uid = winner.byKey.get(t.key);
    if (uid !== undefined && winner.messages.has(uid)) gone.push(uid);
  }
  for (let i = 0; i < gone.length; i += FOLDER_OP_UIDS_MAX) ops.push({ type: 'expunge', uids: gone.slice(i, i + FOLDER_OP_UIDS_MAX), onlyDeleted: false });
  return ops;
}

export const FOLDER_LOG_KIND = 'folder';

export const folderModel: LogModel<FolderState, FolderOp, FolderChangeRecord, FolderSummary> = {
  kind: FOLDER_LOG_KIND,
  initial: emptyFolderState,
  apply(state, op) {
    if (op.type === 'insert') return applyInsert(state, op);
    if (op.type === 'flags') return applyFlags(state, op);
    if (op.type === 'expunge') return applyExpunge(state, op);
    return applyUids(state, op);
  },
  revert,
  recover,
  summarize: summarizeFolder,
  encodeOp: encodeFolderOp,
  decodeOp: decodeFolderOp,
  encodeState: encodeFolderState,
  decodeState: decodeFolderState,
  encodeSummary: encodeFolderSummary,
  decodeSummary: decodeFolderSummary,
};
