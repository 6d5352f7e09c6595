// Transcripts: mailbox management and listing: CREATE, DELETE, RENAME (INBOX too), SUBSCRIBE,
// LIST/LSUB wildcards with CHILDREN and \Noselect, XLIST, SPECIAL-USE, STATUS, NAMESPACE, ID,
// ENABLE, and names in modified UTF-7 or UTF-8.
import { afterEach, describe, expect, it } from 'vitest';
import { listEntries } from '../../../mail/imap/listing';
import { ImapHarness, message } from './harness';

let harness: ImapHarness;
afterEach(async () => {
  await harness?.close();
});

const listLines = (text: string): string[] => text.split('\r\n').filter((l) => l.startsWith('* LIST') || l.startsWith('* LSUB') || l.startsWith('* XLIST'));

describe('CREATE, DELETE, RENAME', () => {
  it('creates hierarchies (superiors too), refuses duplicates and bad names', async () => {
    harness = await ImapHarness.loggedIn();
    expect((await harness.command('c1 CREATE Projects/2024/')).tagged).toBe('c1 OK CREATE completed');
    expect((await harness.command('c2 CREATE Projects')).tagged).toBe('c2 NO [ALREADYEXISTS] folder "Projects" already exists');
    expect((await harness.command('c3 CREATE inbox')).tagged).toBe('c3 NO [ALREADYEXISTS] INBOX always exists');
    expect((await harness.command('c4 CREATE "a//b"')).tagged).toBe('c4 BAD CREATE: mailbox name has an empty hierarchy level');
    expect((await harness.command('c5 CREATE "x*"')).tagged).toBe('c5 BAD CREATE: mailbox name may not contain "*", "%" or control characters');
    const list = await harness.command('c6 LIST "" "Projects*"');
    expect(listLines(list.text)).toEqual(['* LIST (\\HasChildren) "/" "Projects"', '* LIST (\\HasNoChildren) "/" "Projects/2024"']);
  });

  it('deletes folders; refuses INBOX, missing folders and folders with children', async () => {
    harness = await ImapHarness.loggedIn();
    await harness.command('d0 CREATE Parent/Child');
    expect((await harness.command('d1 DELETE INBOX')).tagged).toBe('d1 NO [CANNOT] INBOX cannot be deleted');
    expect((await harness.command('d2 DELETE Nope')).tagged).toBe('d2 NO [NONEXISTENT] folder "Nope" does not exist');
    expect((await harness.command('d3 DELETE Parent')).tagged).toBe('d3 NO [HASCHILDREN] folder "Parent" has subfolders; delete them first');
    expect((await harness.command('d4 DELETE Parent/Child')).tagged).toBe('d4 OK DELETE completed');
    expect((await harness.command('d5 DELETE Parent')).tagged).toBe('d5 OK DELETE completed');
  });

  it('deleting the selected mailbox returns to the authenticated state', async () => {
    harness = await ImapHarness.loggedIn();
    await harness.command('s0 CREATE Gone');
    await harness.command('s1 SELECT Gone');
    expect((await harness.command('s2 DELETE Gone')).tagged).toBe('s2 OK [CLOSED] DELETE completed; the selected mailbox was closed');
    expect((await harness.command('s3 FETCH 1 FLAGS')).tagged).toMatch(/^s3 BAD FETCH needs a selected mailbox/);
  });

  it('renames folders with their subfolders and keeps subscriptions', async () => {
    harness = await ImapHarness.loggedIn();
    await harness.command('r0 CREATE Old/Sub');
    await harness.command('r1 SUBSCRIBE Old/Sub');
    expect((await harness.command('r2 RENAME Old New')).tagged).toBe('r2 OK RENAME completed');
    expect(listLines((await harness.command('r3 LIST "" "New*"')).text)).toEqual(['* LIST (\\HasChildren) "/" "New"', '* LIST (\\HasNoChildren) "/" "New/Sub"']);
    expect(listLines((await harness.command('r4 LSUB "" "New*"')).text)).toEqual(['* LSUB () "/" "New/Sub"']);
    expect((await harness.command('r5 RENAME Nope X')).tagged).toBe('r5 NO [NONEXISTENT] folder "Nope" does not exist');
    expect((await harness.command('r6 RENAME New Sent')).tagged).toBe('r6 NO [ALREADYEXISTS] folder "Sent" already exists');
  });

  it('renaming INBOX moves its messages and leaves INBOX empty', async () => {
    harness = await ImapHarness.loggedIn();
    await harness.appendMessage('INBOX', message({ subject: 'one' }));
    await harness.appendMessage('INBOX', message({ subject: 'two' }));
    expect((await harness.command('i1 RENAME INBOX "Old Inbox"')).tagged).toBe('i1 OK RENAME completed');
    expect((await harness.command('i2 STATUS INBOX (MESSAGES)')).lines[0]).toBe('* STATUS "INBOX" (MESSAGES 0)');
    expect((await harness.command('i3 STATUS "Old Inbox" (MESSAGES)')).lines[0]).toBe('* STATUS "Old Inbox" (MESSAGES 2)');
  });
});

describe('LIST and LSUB', () => {
  it('matches * across levels and % within one level, with CHILDREN attributes', async () => {
    harness = await ImapHarness.loggedIn();
    await harness.command('l0 CREATE Work/Clients/Acme');
    await harness.command('l1 CREATE Work/Admin');
    expect(listLines((await harness.command('l2 LIST "" "Work/%"')).text)).toEqual([
      '* LIST (\\HasNoChildren) "/" "Work/Admin"',
      '* LIST (\\HasChildren) "/" "Work/Clients"',
    ]);
    expect(listLines((await harness.command('l3 LIST "Work/" "*"')).text)).toEqual([
      '* LIST (\\HasNoChildren) "/" "Work/Admin"',
      '* LIST (\\HasChildren) "/" "Work/Clients"',
      '* LIST (\\HasNoChildren) "/" "Work/Clients/Acme"',
    ]);
    const top = listLines((await harness.command('l4 LIST "" %')).text);
    expect(top[0]).toBe('* LIST (\\HasNoChildren) "/" "INBOX"');
    expect(top).toContain('* LIST (\\HasChildren) "/" "Work"');
    expect(top).toContain('* LIST (\\HasNoChildren \\Sent) "/" "Sent"');
    expect(top).toHaveLength(7);
  });

  it('answers an empty pattern with the delimiter, and matches INBOX case-insensitively', async () => {
    harness = await ImapHarness.loggedIn();
    expect(listLines((await harness.command('e1 LIST "" ""')).text)).toEqual(['* LIST (\\Noselect) "/" ""']);
    expect(listLines((await harness.command('e2 LIST "" inbox')).text)).toEqual(['* LIST (\\HasNoChildren) "/" "INBOX"']);
  });

  it('shows superiors missing in the backend as \\Noselect with children', () => {
    // The memory backend always creates superiors; a log-backed one may not (concurrent devices).
    const folder = (name: string) => ({ name, uidValidity: 1, uidNext: 1, highestModseq: 1, subscribed: false });
    const entries = listEntries([folder('INBOX'), folder('A/B/C')], [], ['%', 'A/%'], { subscribedOnly: false, specialUseOnly: false, markSubscribed: false });
    expect(entries).toEqual([
      { name: 'INBOX', attributes: ['\\HasNoChildren'], exists: true },
      { name: 'A', attributes: ['\\Noselect', '\\HasChildren'], exists: false },
      { name: 'A/B', attributes: ['\\Noselect', '\\HasChildren'], exists: false },
    ]);
  });

  it('LSUB lists subscriptions, including ones whose folder is gone, and superiors for %', async () => {
    harness = await ImapHarness.loggedIn();
    await harness.command('s0 CREATE News/Tech');
    await harness.command('s1 SUBSCRIBE News/Tech');
    expect((await harness.command('s2 SUBSCRIBE Missing')).tagged).toBe('s2 NO [NONEXISTENT] Folder "Missing" does not exist');
    await harness.command('s3 DELETE News/Tech');
    expect(listLines((await harness.command('s4 LSUB "" "News/*"')).text)).toEqual(['* LSUB (\\Noselect) "/" "News/Tech"']);
    expect(listLines((await harness.command('s5 LSUB "" "News"')).text)).toEqual([]);
    expect(listLines((await harness.command('s6 LSUB "" "%"')).text)).toContain('* LSUB (\\Noselect) "/" "News"');
    expect((await harness.command('s7 UNSUBSCRIBE News/Tech')).tagged).toBe('s7 OK UNSUBSCRIBE completed');
    expect((await harness.command('s8 UNSUBSCRIBE News/Tech')).tagged).toBe('s8 NO [NONEXISTENT] Not subscribed to "News/Tech"');
  });

  it('accepts the extended LIST forms clients use for SPECIAL-USE and SUBSCRIBED', async () => {
    harness = await ImapHarness.loggedIn();
    const special = listLines((await harness.command('x1 LIST (SPECIAL-USE) "" "*"')).text);
    expect(special).toEqual([
      '* LIST (\\HasNoChildren \\Archive) "/" "Archive"',
      '* LIST (\\HasNoChildren \\Drafts) "/" "Drafts"',
      '* LIST (\\HasNoChildren \\Junk) "/" "Junk"',
      '* LIST (\\HasNoChildren \\Sent) "/" "Sent"',
      '* LIST (\\HasNoChildren \\Trash) "/" "Trash"',
    ]);
    const returned = listLines((await harness.command('x2 LIST "" "INBOX" RETURN (SUBSCRIBED CHILDREN)')).text);
    expect(returned).toEqual(['* LIST (\\HasNoChildren \\Subscribed) "/" "INBOX"']);
    expect((await harness.command('x3 LIST "" ("INBOX" "Sent")')).lines).toHaveLength(3);
    expect((await harness.command('x4 LIST "" "*" RETURN (MYRIGHTS)')).tagged).toBe('x4 BAD LIST: unsupported return option MYRIGHTS');
  });

  it('XLIST marks INBOX and uses \\Spam for junk (old Outlook)', async () => {
    harness = await ImapHarness.loggedIn();
    const lines = listLines((await harness.command('x1 XLIST "" "*"')).text);
    expect(lines).toContain('* XLIST (\\HasNoChildren \\Inbox) "/" "INBOX"');
    expect(lines).toContain('* XLIST (\\HasNoChildren \\Spam) "/" "Junk"');
  });
});

describe('mailbox names', () => {
  it('travel in modified UTF-7 by default', async () => {
    harness = await ImapHarness.loggedIn();
    expect((await harness.command('u1 CREATE Entw&APw-rfe/&ZeVnLIqe-')).tagged).toBe('u1 OK CREATE completed');
    expect(listLines((await harness.command('u2 LIST "" "Entw&APw-rfe*"')).text)).toEqual([
      '* LIST (\\HasChildren) "/" "Entw&APw-rfe"',
      '* LIST (\\HasNoChildren) "/" "Entw&APw-rfe/&ZeVnLIqe-"',
    ]);
    const folders = await (await harness.store.sessionFor('alice')).listFolders();
    expect(folders.map((f) => f.name)).toContain('Entwürfe/日本語');
    expect((await harness.command('u3 SELECT "Entw&APw-rfe"')).tagged).toBe('u3 OK [READ-WRITE] SELECT completed: Entw&APw-rfe');
    expect((await harness.command('u4 CREATE "caf\u00e9"')).tagged).toMatch(/^u4 BAD CREATE: mailbox: mailbox name has 8-bit characters/);
  });

  it('travel in UTF-8 after ENABLE UTF8=ACCEPT', async () => {
    harness = await ImapHarness.loggedIn();
    expect((await harness.command('u1 ENABLE UTF8=ACCEPT')).lines[0]).toBe('* ENABLED UTF8=ACCEPT');
    expect((await harness.command('u2 CREATE "Entwürfe"')).tagged).toBe('u2 OK CREATE completed');
    expect(listLines((await harness.command('u3 LIST "" "Entw*"')).text)).toEqual(['* LIST (\\HasNoChildren) "/" "Entwürfe"']);
  });

  it('with UTF8=ACCEPT, a name that is not valid UTF-8 is refused with BAD, not rewritten to U+FFFD', async () => {
    harness = await ImapHarness.loggedIn();
    await harness.command('u1 ENABLE UTF8=ACCEPT');
    const latin1 = (line: string) => Buffer.from(line, 'latin1');
    expect((await harness.command(latin1('u2 CREATE "caf\xe9"'))).tagged).toBe('u2 BAD CREATE: mailbox: mailbox name is not valid UTF-8; send it in UTF-8');
    expect((await harness.command(latin1('u3 CREATE caf\xe9'))).tagged).toBe('u3 BAD CREATE: mailbox: mailbox name is not valid UTF-8; send it in UTF-8');
    expect((await harness.command(latin1('u4 RENAME INBOX "\xc3\x28"'))).tagged).toMatch(/^u4 BAD RENAME: .*not valid UTF-8/);
    expect((await harness.command(latin1('u5 LIST "" "caf\xe9*"'))).tagged).toBe('u5 BAD LIST: mailbox name is not valid UTF-8; send it in UTF-8');
    harness.send(latin1('u6 SELECT {4+}\r\ncaf\xe9\r\n'));
    expect(await harness.waitFor(/u6 /)).toMatch(/^u6 BAD SELECT: mailbox: mailbox name is not valid UTF-8/);
    const folders = await (await harness.store.sessionFor('alice')).listFolders();
    expect(folders.map((f) => f.name).filter((n) => n.includes('\ufffd'))).toEqual([]);
    // A real U+FFFD sent as UTF-8 is a character like any other.
    expect((await harness.command('u7 CREATE "odd\ufffdname"')).tagged).toBe('u7 OK CREATE completed');
  });
});

describe('STATUS', () => {
  it('reports every item, without selecting', async () => {
    harness = await ImapHarness.loggedIn();
    await harness.appendMessage('INBOX', message(), ['\\Seen']);
    await harness.appendMessage('INBOX', message());
    const reply = await harness.command('t1 STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ APPENDLIMIT)');
    expect(reply.lines[0]).toBe('* STATUS "INBOX" (MESSAGES 2 RECENT 2 UIDNEXT 3 UIDVALIDITY 1000 UNSEEN 1 HIGHESTMODSEQ 3 APPENDLIMIT 67108864)');
    expect((await harness.command('t2 STATUS Nope (MESSAGES)')).tagged).toBe('t2 NO [NONEXISTENT] folder "Nope" does not exist');
    expect((await harness.command('t3 STATUS INBOX (BOGUS)')).tagged).toBe('t3 BAD STATUS: unknown status item BOGUS');
  });
});

describe('NAMESPACE, ID, ENABLE', () => {
  it('NAMESPACE has one personal namespace', async () => {
    harness = await ImapHarness.loggedIn();
    expect((await harness.command('n1 NAMESPACE')).lines[0]).toBe('* NAMESPACE (("" "/")) NIL NIL');
  });

  it('ID works before login and checks its argument', async () => {
    harness = new ImapHarness();
    expect((await harness.command('i1 ID ("name" "Thunderbird" "version" "115")')).lines[0]).toBe('* ID ("name" "ePOST-test" "vendor" "POST")');
    expect((await harness.command('i2 ID NIL')).tagged).toBe('i2 OK ID completed');
    expect((await harness.command('i3 ID ("odd")')).tagged).toBe('i3 BAD ID list must hold field/value pairs');
  });

  it('ENABLE reports only what it newly enabled and ignores unknown names', async () => {
    harness = await ImapHarness.loggedIn();
    expect((await harness.command('e1 ENABLE QRESYNC X-UNKNOWN')).lines[0]).toBe('* ENABLED CONDSTORE QRESYNC');
    expect((await harness.command('e2 ENABLE CONDSTORE')).lines[0]).toBe('* ENABLED');
  });
});
