// What a folder's watchers are told, derived from the log's changes: one event per added message, per
// message whose flags changed, and per expunge, in modseq order. After a reload from a snapshot (the
// reader was far behind), the same events are computed by comparing the two states.
//
// `renumbered`: UIDs a watcher holds may name other messages now (a fork's merge moved the folder to a
// new UID epoch, or a reload replaced the branch the watcher saw by one that numbered differently). A
// session that selected the folder cannot go on (RFC 3501 2.3.1.1: UIDs do not change within a
// session); it must leave and select it again under the new UIDVALIDITY.
import type { FolderChangeRecord } from './folderOps';
import type { FolderMessage, FolderState } from './folderState';

export type FolderEvent =
  | { readonly kind: 'added'; readonly message: FolderMessage }
  | { readonly kind: 'flags'; readonly uid: number; readonly flags: readonly string[]; readonly modseq: number }
  | { readonly kind: 'expunged'; readonly uids: readonly number[]; readonly modseq: number }
  | { readonly kind: 'renumbered' };

export function eventsOfChange(change: FolderChangeRecord): FolderEvent[] {
  switch (change.type) {
    case 'insert':
      return change.outcome === 'added' ? [{ kind: 'added', message: change.message! }] : [];
    case 'flags':
      return change.changed.map((c) => ({ kind: 'flags', uid: c.uid, flags: c.flags, modseq: c.modseq }));
    case 'expunge':
      return change.removed.length > 0 ? [{ kind: 'expunged', uids: change.removed.map((m) => m.uid), modseq: change.modseq }] : [];
    case 'uids':
      return change.uidEpoch !== change.prevUidEpoch ? [{ kind: 'renumbered' }] : [];
  }
}

const modseqOf = (e: Exclude<FolderEvent, { kind: 'renumbered' }>) => (e.kind === 'added' ? e.message.modseq : e.modseq);

/**
 * Whether a watcher who saw `before` cannot be taken to `after` with its UIDs intact: `after` is in
 * another UID epoch, a UID it knows names another message there (given out or expunged), or a message
 * it has not seen sits below the UIDNEXT it knows (UIDs would not ascend for it). A reload on the same
 * branch never does this; a reload onto the winner of a fork can.
 */
function renumberedBetween(before: FolderState, after: FolderState): boolean {
  if (before.uidEpoch !== after.uidEpoch) return true;
  const expungedKey = new Map(after.tombstones.map((t) => [t.uid, t.key]));
  for (const m of before.messages.values()) {
    const key = after.messages.get(m.uid)?.key ?? expungedKey.get(m.uid);
    if (key !== undefined && key !== m.key) return true;
  }
  for (const m of after.messages.values()) if (m.uid < before.uidNext && !before.messages.has(m.uid) && before.byKey.get(m.key) !== m.uid) return true;
  return false;
}

/**
 * Events that take a watcher who saw `before` to `after`. A message `before` holds at or above the
 * UIDNEXT of `after` was never numbered there: it is a lost fork branch's, which the merge carries back
 * (under that UID, or under a new UIDVALIDITY that ends the watcher's view), so it is not reported as
 * expunged; likewise a message the watcher saw expunged is not reported again (the merge expunges it).
 */
export function diffFolderStates(before: FolderState, after: FolderState): FolderEvent[] {
  if (renumberedBetween(before, after)) return [{ kind: 'renumbered' }];
  const events: Exclude<FolderEvent, { kind: 'renumbered' }>[] = [];
  const expungedAt = new Map<number, number[]>();
  const tombstoneModseq = new Map(after.tombstones.map((t) => [t.uid, t.modseq]));
  for (const uid of before.messages.keys()) {
    if (after.messages.has(uid) || uid >= after.uidNext) continue;
    const modseq = tombstoneModseq.get(uid) ?? after.highestModseq;
    expungedAt.set(modseq, [...(expungedAt.get(modseq) ?? []), uid]);
  }
  for (const [modseq, uids] of expungedAt) events.push({ kind: 'expunged', uids, modseq });
  for (const m of after.messages.values()) {
    const old = before.messages.get(m.uid);
    // Below the UIDNEXT the watcher knows: one it saw expunged (a lost branch's expunge, which the merge carries).
    if (!old) {
      if (m.uid >= before.uidNext) events.push({ kind: 'added', message: m });
    }
    else if (old.modseq !== m.modseq) events.push({ kind: 'flags', uid: m.uid, flags: m.flags, modseq: m.modseq });
  }
  return events.sort((a, b) => modseqOf(a) - modseqOf(b));
}
