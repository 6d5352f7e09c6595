// The folder logs' records as the MailBackend port shows them: FolderInfo from an index entry and a
// head summary, MessageMeta from a folder message (its reference formatted as `post1:...`),
// FolderChange from the folder's events and FolderListChange from the folder index's.
import type { FolderChange, FolderInfo, FolderListChange, MessageMeta } from '../../mail/backend';
import { decodeBlockRef, formatBlockRef } from '../../storage/blocks';
import type { FolderEvent } from '../../storage/folders/folderEvents';
import type { FolderIndexState } from '../../storage/folders/folderIndexModel';
import type { FolderEntry, FolderIndexChange } from '../../storage/folders/folderIndexOps';
import { uidValidityOf } from '../../storage/folders/folderLogs';
import type { FolderMessage, FolderSummary } from '../../storage/folders/folderState';

export function folderInfoOf(entry: FolderEntry, summary: FolderSummary, subscribed: boolean): FolderInfo {
  const info = { name: entry.name, uidValidity: uidValidityOf(entry.folderId, summary.uidEpoch), uidNext: summary.uidNext, highestModseq: summary.highestModseq, subscribed };
  return entry.specialUse ? { ...info, specialUse: entry.specialUse } : info;
}

/** Formatted references by the encoded one a folder state holds (the same bytes object while it lives). */
const formatted = new WeakMap<Uint8Array, string>();

export function messageRefOf(ref: Uint8Array): string {
  const known = formatted.get(ref);
  if (known !== undefined) return known;
  const decoded = decodeBlockRef(ref);
  if (!decoded.ok) throw new Error(`a folder holds a malformed reference: ${decoded.message}`);
  const text = formatBlockRef(decoded.value);
  formatted.set(ref, text);
  return text;
}

export const messageMetaOf = (m: FolderMessage): MessageMeta => ({
  uid: m.uid,
  flags: [...m.flags],
  internalDateMs: m.internalDateMs,
  modseq: m.modseq,
  sizeOctets: m.sizeOctets,
  ref: messageRefOf(m.ref),
});

export function folderChangeOf(event: FolderEvent): FolderChange {
  switch (event.kind) {
    case 'added':
      return { kind: 'added', message: messageMetaOf(event.message) };
    case 'flags':
      return { kind: 'flags', uid: event.uid, flags: [...event.flags], modseq: event.modseq };
    case 'expunged':
      return { kind: 'expunged', uids: [...event.uids], modseq: event.modseq };
    case 'renumbered':
      return { kind: 'renumbered' };
  }
}

/** INBOX first, then by name: the order LIST shows. */
export const byFolderOrder = (a: { name: string }, b: { name: string }): number =>
  a.name === 'INBOX' ? -1 : b.name === 'INBOX' ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

/** What the folder index's applied changes did to the folder list (changes that changed nothing are left out). */
export function folderListChangesOf(changes: readonly FolderIndexChange[]): FolderListChange[] {
  const out: FolderListChange[] = [];
  for (const c of changes) {
    if (c.type === 'create' && c.outcome === 'created' && c.entry) out.push({ kind: 'created', name: c.entry.name });
    else if (c.type === 'rename' && c.outcome === 'renamed') for (const m of c.moves) out.push({ kind: 'renamed', from: m.from, to: m.to });
    else if (c.type === 'delete' && c.outcome === 'deleted' && c.entry) out.push({ kind: 'deleted', name: c.entry.name });
    else if (c.type === 'subscribe' && c.outcome === 'changed') out.push({ kind: 'subscription', name: c.name, subscribed: c.subscribed });
  }
  return out;
}

/** The folder list changes between two index states (after a reload from a snapshot), by folder id. */
export function folderListDiff(before: FolderIndexState, after: FolderIndexState): FolderListChange[] {
  const out: FolderListChange[] = [];
  for (const [folderId, entry] of before.byId) {
    const now = after.byId.get(folderId);
    if (!now) out.push({ kind: 'deleted', name: entry.name });
    else if (now.name !== entry.name) out.push({ kind: 'renamed', from: entry.name, to: now.name });
  }
  for (const [folderId, entry] of after.byId) if (!before.byId.has(folderId)) out.push({ kind: 'created', name: entry.name });
  for (const name of before.subscriptions) if (!after.subscriptions.has(name)) out.push({ kind: 'subscription', name, subscribed: false });
  for (const name of after.subscriptions) if (!before.subscriptions.has(name)) out.push({ kind: 'subscription', name, subscribed: true });
  return out;
}
