// The folder log's model: how operations change a folder (deterministically, so every device computes
// the same UIDs and modseqs) and how a change is undone when a compare-and-swap is lost.
//
// - insert: a new key gets uid = uidNext++, modseq = ++highestModseq; a key already present (or
//   remembered as expunged) changes nothing.
// - flags: each message whose flag set really changes takes its own new modseq; with unchangedSince,
//   messages modified after it are reported failed and left alone (CONDSTORE).
// - expunge: removes the present UIDs (only those flagged \Deleted when asked), all under one new
//   modseq, remembering them as tombstones (bounded; the oldest are forgotten).
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
  const known = state.byKey.get(op.key);
  if (known !== undefined) {
    const message = state.messages.get(known);
    return { effective: false, change: { type: 'insert', outcome: message ? 'duplicate' : 'expunged', ...(message ? { message } : {}), prevHighestModseq } };
  }
  if (state.messages.size >= FOLDER_MESSAGES_MAX) return { effective: false, change: { type: 'insert', outcome: 'full', prevHighestModseq } };
  const message: FolderMessage = {
    uid: state.uidNext++,
    ref: op.ref,
    flags: normaliseFlags(op.flags),
    internalDateMs: op.internalDateMs,
    sizeOctets: op.sizeOctets,
    modseq: ++state.highestModseq,
    key: op.key,
  };
  state.messages.set(message.uid, message);
  state.byKey.set(message.key, message.uid);
  state.unseen += unseenDelta(message.flags);
  return { effective: true, change: { type: 'insert', outcome: 'added', message, prevHighestModseq } };
}

function applyFlags(state: FolderState, op: Extract<FolderOp, { type: 'flags' }>): Applied<FolderChangeRecord> {
  const prevHighestModseq = state.highestModseq;
  const changed: FlagChange[] = [];
  const failed: number[] = [];
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
  for (const uid of sortedUnique(op.uids)) {
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
      state.uidNext = m.uid;
      break;
    }
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

/**
 * A fork's lost branch carried into the winner (LogModel.recover): the messages the winner never saw
 * (in INBOX, mail delivered on the losing side of a partition) are inserted again with the flags they
 * had, flags the lost branch changed and the winner did not are changed in the winner too (three-way,
 * per flag, against the fork point: carriedFlags; without `fork` the winner's flags stand), and the
 * messages the lost branch expunged and the winner still shows are expunged.
 */
function recover(lost: FolderState, winner: FolderState, fork?: ForkBase<FolderState, FolderOp>): FolderOp[] {
  const ops: FolderOp[] = [];
  for (const m of lost.messages.values()) {
    if (!winner.byKey.has(m.key)) ops.push({ type: 'insert', key: m.key, ref: m.ref, flags: m.flags, internalDateMs: m.internalDateMs, sizeOctets: m.sizeOctets });
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
    return applyExpunge(state, op);
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
