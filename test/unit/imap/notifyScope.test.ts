// NOTIFY's pure parts: which group covers a mailbox, which mailboxes a session watches, the queue of
// notices (order, coalescing, overflow) and the LIST/STATUS values it sends (RFC 5465 5, 6).
import { describe, expect, it } from 'vitest';
import { encodeUntagged } from '../../../mail/imap/encoder';
import { NotificationQueue, StatusMemory } from '../../../mail/imap/notify/notifyQueue';
import { noticeResponse, notifyStatusItems, statusResponse } from '../../../mail/imap/notify/notifyResponses';
import { filterCovers, groupFor, watchTargets } from '../../../mail/imap/notify/notifyScope';
import { parseNotify, type NotifySpec } from '../../../mail/imap/notify/notifySpec';
import { parseCommand } from '../../../mail/imap/parser';

function spec(groups: string): NotifySpec {
  const parsed = parseNotify(parseCommand({ lines: [Buffer.from(`t NOTIFY SET ${groups}`)], literals: [] }).args, false);
  if (parsed === 'none') throw new Error('NONE');
  return parsed;
}

const line = (values: Parameters<typeof encodeUntagged>[0]) => Buffer.concat(encodeUntagged(values, { utf8: false })).toString();

describe('NOTIFY scope', () => {
  it('filters: INBOXES is INBOX, SUBTREE a name and what is below it (not a sibling with the same prefix), MAILBOXES exactly the names', () => {
    expect(filterCovers({ kind: 'inboxes' }, 'INBOX', false)).toBe(true);
    expect(filterCovers({ kind: 'inboxes' }, 'INBOX/Sub', false)).toBe(false);
    expect(filterCovers({ kind: 'personal' }, 'Anything/at/all', false)).toBe(true);
    expect(filterCovers({ kind: 'subscribed' }, 'Sent', true)).toBe(true);
    expect(filterCovers({ kind: 'subscribed' }, 'Sent', false)).toBe(false);
    const subtree = { kind: 'subtree' as const, names: ['Lists'] };
    expect(['Lists', 'Lists/a', 'Lists/a/b', 'Listserv', 'Other'].map((n) => filterCovers(subtree, n, false))).toEqual([true, true, true, false, false]);
    const mailboxes = { kind: 'mailboxes' as const, names: ['Lists'] };
    expect(['Lists', 'Lists/a'].map((n) => filterCovers(mailboxes, n, false))).toEqual([true, false]);
  });

  it('the first group that covers a mailbox applies; the watched mailboxes are those whose group has message events', () => {
    const s = spec('(selected (MessageNew MessageExpunge)) (mailboxes Junk NONE) (subtree Lists (MailboxName)) (personal (MessageNew MessageExpunge))');
    expect(groupFor(s, 'Junk', true)?.events.size).toBe(0);
    expect([...groupFor(s, 'Lists/a', false)!.events]).toEqual(['MailboxName']);
    expect(watchTargets(s, ['INBOX', 'Junk', 'Lists', 'Lists/a', 'Sent'], new Set())).toEqual(['INBOX', 'Sent']);
    expect(s.selected).toMatchObject({ delayed: false });
  });
});

describe('NOTIFY queue', () => {
  it('keeps notices in order and one STATUS per mailbox; follows renames and forgets deleted mailboxes', () => {
    const queue = new NotificationQueue(10);
    expect(queue.pending).toBe(false);
    queue.statusChanged('Sent');
    queue.addNotice({ kind: 'created', name: 'A' });
    queue.statusChanged('Drafts');
    queue.statusChanged('Sent');
    queue.statusChanged('Old');
    queue.renamed('Old', 'New');
    queue.statusChanged('Gone');
    queue.forget('Gone');
    expect(queue.take()).toEqual({ overflowed: false, notices: [{ kind: 'created', name: 'A' }], statusDue: ['Sent', 'Drafts', 'New'] });
    expect(queue.pending).toBe(false);
  });

  it('past its bound it overflows, keeps nothing, and takes nothing more until taken', () => {
    const queue = new NotificationQueue(2);
    queue.statusChanged('Sent');
    for (const name of ['a', 'b', 'c']) queue.addNotice({ kind: 'deleted', name });
    queue.statusChanged('Drafts');
    expect(queue.take()).toEqual({ overflowed: true, notices: [], statusDue: [] });
    queue.addNotice({ kind: 'created', name: 'd' });
    expect(queue.take().notices).toHaveLength(1);
  });

  it('StatusMemory: a STATUS that repeats the last one is not sent; renames carry it over', () => {
    const memory = new StatusMemory();
    expect(memory.update('Sent', '1 2')).toBe(true);
    expect(memory.update('Sent', '1 2')).toBe(false);
    memory.renamed('Sent', 'Outbox');
    expect(memory.update('Outbox', '1 2')).toBe(false);
    memory.forget('Outbox');
    expect(memory.update('Outbox', '1 2')).toBe(true);
  });
});

describe('NOTIFY responses', () => {
  const folders = new Map([
    ['Trash', '\\Trash' as const],
    ['Work', undefined],
    ['Work/2025', undefined],
    ['Caf\u00e9', undefined],
  ]);

  it('LIST for created, renamed (OLDNAME), deleted (\\NonExistent) and subscription changes, names in modified UTF-7', () => {
    expect(line(noticeResponse({ kind: 'created', name: 'Work' }, folders, false))).toBe('* LIST (\\HasChildren) "/" "Work"\r\n');
    expect(line(noticeResponse({ kind: 'created', name: 'Vanished' }, folders, false))).toBe('* LIST () "/" "Vanished"\r\n');
    expect(line(noticeResponse({ kind: 'renamed', from: 'Caf', to: 'Caf\u00e9' }, folders, false))).toBe('* LIST (\\HasNoChildren) "/" "Caf&AOk-" ("OLDNAME" ("Caf"))\r\n');
    expect(line(noticeResponse({ kind: 'deleted', name: 'Old' }, folders, false))).toBe('* LIST (\\NonExistent) "/" "Old"\r\n');
    expect(line(noticeResponse({ kind: 'subscription', name: 'Trash', subscribed: true }, folders, false))).toBe('* LIST (\\HasNoChildren \\Trash \\Subscribed) "/" "Trash"\r\n');
    expect(line(noticeResponse({ kind: 'subscription', name: 'Nowhere', subscribed: false }, folders, false))).toBe('* LIST (\\NonExistent \\HasNoChildren) "/" "Nowhere"\r\n');
  });

  it('STATUS with MESSAGES UIDNEXT UIDVALIDITY UNSEEN, and HIGHESTMODSEQ when asked', () => {
    const status = { name: 'Sent', uidValidity: 7, subscribed: true, uidNext: 9, highestModseq: 44, messages: 8, unseen: 3, recent: 0 };
    const plain = statusResponse('Sent', status, notifyStatusItems(false), false);
    expect(line(plain.values)).toBe('* STATUS "Sent" (MESSAGES 8 UIDNEXT 9 UIDVALIDITY 7 UNSEEN 3)\r\n');
    expect(line(statusResponse('Sent', status, notifyStatusItems(true), false).values)).toBe('* STATUS "Sent" (MESSAGES 8 UIDNEXT 9 UIDVALIDITY 7 UNSEEN 3 HIGHESTMODSEQ 44)\r\n');
    expect(plain.key).toBe('8 9 7 3');
  });
});
