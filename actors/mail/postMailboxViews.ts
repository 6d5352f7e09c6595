// The folder logs' records as the MailBackend port shows them: FolderInfo from an index entry and a
// head summary, MessageMeta from a folder message (its reference formatted as `post1:...`), and
// FolderChange from the folder's events.
import type { FolderChange, FolderInfo, MessageMeta } from '../../mail/backend';
import { decodeBlockRef, formatBlockRef } from '../../storage/blocks';
import type { FolderEvent } from '../../storage/folders/folderEvents';
import type { FolderEntry } from '../../storage/folders/folderIndexOps';
import { uidValidityOf } from '../../storage/folders/folderLogs';
import type { FolderMessage, FolderSummary } from '../../storage/folders/folderState';

export function folderInfoOf(entry: FolderEntry, summary: FolderSummary, subscribed: boolean): FolderInfo {
  const info = { name: entry.name, uidValidity: uidValidityOf(entry.folderId), uidNext: summary.uidNext, highestModseq: summary.highestModseq, subscribed };
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
  }
}

/** INBOX first, then by name: the order LIST shows. */
export const byFolderOrder = (a: { name: string }, b: { name: string }): number =>
  a.name === 'INBOX' ? -1 : b.name === 'INBOX' ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
