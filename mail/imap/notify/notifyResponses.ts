// The untagged responses NOTIFY sends about mailboxes other than the selected one (RFC 5465 5): STATUS
// for message events, LIST for mailbox names and subscriptions. Pure: values for the encoder.
//
//   * STATUS Lists (MESSAGES 500 UIDNEXT 9999 UIDVALIDITY 4 UNSEEN 3 HIGHESTMODSEQ 812)
//   * LIST (\HasNoChildren) "/" "New"                          created
//   * LIST (\HasNoChildren) "/" "New" ("OLDNAME" ("Old"))      renamed
//   * LIST (\NonExistent) "/" "Old"                            deleted
//   * LIST (\HasNoChildren \Subscribed) "/" "New"              subscribed (unsubscribed: no \Subscribed)
import type { FolderStatus, SpecialUse } from '../../backend';
import { atom, type ImapValue } from '../encoder';
import { encodeMailboxName, hierarchyDelimiter } from '../mailboxNames';
import type { MailboxNotice } from './notifyQueue';

/**
 * MESSAGES and UIDNEXT (MessageNew), MESSAGES (MessageExpunge), UIDVALIDITY (a mailbox recreated under
 * its name), UNSEEN (what a flag change most often changes), and HIGHESTMODSEQ when CONDSTORE is on or
 * FlagChange was asked (RFC 5465 3 and 5.1: the STATUS then carries HIGHESTMODSEQ).
 */
export function notifyStatusItems(withModseq: boolean): readonly string[] {
  return withModseq ? ['MESSAGES', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN', 'HIGHESTMODSEQ'] : ['MESSAGES', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN'];
}

export function statusResponse(name: string, status: FolderStatus, items: readonly string[], utf8: boolean): { readonly values: ImapValue[]; readonly key: string } {
  const byItem: Record<string, number> = {
    MESSAGES: status.messages,
    UIDNEXT: status.uidNext,
    UIDVALIDITY: status.uidValidity,
    UNSEEN: status.unseen,
    HIGHESTMODSEQ: status.highestModseq,
  };
  const list: ImapValue[] = [];
  for (const item of items) list.push(atom(item), byItem[item]!);
  return { values: [atom('STATUS'), encodeMailboxName(name, utf8), list], key: items.map((item) => byItem[item]).join(' ') };
}

/** The folder list as a session knows it: each existing name with its special use. */
export type FolderNames = ReadonlyMap<string, SpecialUse | undefined>;

function attributes(name: string, folders: FolderNames): string[] {
  const prefix = `${name}${hierarchyDelimiter}`;
  let children = false;
  for (const other of folders.keys()) if (other.startsWith(prefix)) children = true;
  const out = folders.has(name) ? [] : ['\\NonExistent'];
  out.push(children ? '\\HasChildren' : '\\HasNoChildren');
  const specialUse = folders.get(name);
  if (specialUse) out.push(specialUse);
  return out;
}

/** The LIST response for a notice; `folders`: the folder list as it is now (for the attributes). */
export function noticeResponse(notice: MailboxNotice, folders: FolderNames, utf8: boolean): ImapValue[] {
  const list = (attrs: readonly string[], name: string, extended?: ImapValue[]): ImapValue[] => [
    atom('LIST'),
    attrs.map(atom),
    hierarchyDelimiter,
    encodeMailboxName(name, utf8),
    ...(extended ? [extended] : []),
  ];
  switch (notice.kind) {
    case 'created':
      // Already gone again: its delete notice follows; say nothing about children it cannot have.
      return list(folders.has(notice.name) ? attributes(notice.name, folders) : [], notice.name);
    case 'deleted':
      return list(['\\NonExistent'], notice.name);
    case 'renamed':
      return list(folders.has(notice.to) ? attributes(notice.to, folders) : [], notice.to, ['OLDNAME', [encodeMailboxName(notice.from, utf8)]]);
    case 'subscription':
      return list([...attributes(notice.name, folders), ...(notice.subscribed ? ['\\Subscribed'] : [])], notice.name);
  }
}
