// What a folder's watchers are told, derived from the log's changes: one event per added message, per
// message whose flags changed, and per expunge, in modseq order. After a reload from a snapshot (the
// reader was far behind), the same events are computed by comparing the two states.
import type { FolderChangeRecord } from './folderOps';
import type { FolderMessage, FolderState } from './folderState';

export type FolderEvent =
  | { readonly kind: 'added'; readonly message: FolderMessage }
  | { readonly kind: 'flags'; readonly uid: number; readonly flags: readonly string[]; readonly modseq: number }
  | { readonly kind: 'expunged'; readonly uids: readonly number[]; readonly modseq: number };

export function eventsOfChange(change: FolderChangeRecord): FolderEvent[] {
  switch (change.type) {
    case 'insert':
      return change.outcome === 'added' ? [{ kind: 'added', message: change.message! }] : [];
    case 'flags':
      return change.changed.map((c) => ({ kind: 'flags', uid: c.uid, flags: c.flags, modseq: c.modseq }));
    case 'expunge':
      return change.removed.length > 0 ? [{ kind: 'expunged', uids: change.removed.map((m) => m.uid), modseq: change.modseq }] : [];
  }
}

const modseqOf = (e: FolderEvent) => (e.kind === 'added' ? e.message.modseq : e.modseq);

/** Events that take a watcher who saw `before` to `after`. */
export function diffFolderStates(before: FolderState, after: FolderState): FolderEvent[] {
  const events: FolderEvent[] = [];
  const expungedAt = new Map<number, number[]>();
  const tombstoneModseq = new Map(after.tombstones.map((t) => [t.uid, t.modseq]));
  for (const uid of before.messages.keys()) {
    if (after.messages.has(uid)) continue;
    const modseq = tombstoneModseq.get(uid) ?? after.highestModseq;
    expungedAt.set(modseq, [...(expungedAt.get(modseq) ?? []), uid]);
  }
  for (const [modseq, uids] of expungedAt) events.push({ kind: 'expunged', uids, modseq });
  for (const m of after.messages.values()) {
    const old = before.messages.get(m.uid);
    if (!old) events.push({ kind: 'added', message: m });
    else if (old.modseq !== m.modseq) events.push({ kind: 'flags', uid: m.uid, flags: m.flags, modseq: m.modseq });
  }
  return events.sort((a, b) => modseqOf(a) - modseqOf(b));
}
