// Transcripts: IMAP4rev2 (RFC 9051) next to IMAP4rev1. ENABLE IMAP4rev2 switches one session to
// what appendix E changes: no \Recent and no RECENT, SEARCH answered with ESEARCH, SELECT with a LIST
// response and no UNSEEN code, UTF-8 mailbox names. A session that does not enable it stays rev1,
// also when both share a mailbox.
import { afterEach, describe, expect, it } from 'vitest';
import { ImapHarness, message, newStore } from './harness';

const open: ImapHarness[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
});

async function session(store = newStore(), rev2 = true): Promise<ImapHarness> {
  const h = await ImapHarness.loggedIn({ store });
  open.push(h);
  if (rev2) expect((await h.command('E1 ENABLE IMAP4rev2')).text).toBe('* ENABLED IMAP4rev2\r\nE1 OK ENABLE completed\r\n');
  return h;
}

async function deliver(h: ImapHarness, count: number, flags: string[] = []): Promise<void> {
  for (let i = 1; i <= count; i++) await h.store.deliver('alice', 'INBOX', message({ subject: `m${i}`, body: i % 2 ? 'odd body' : 'even body' }), i === 2 ? ['\\Seen', ...flags] : flags, 1_700_000_000_000 + i);
}

describe('IMAP4rev2 (RFC 9051)', () => {
  it('is advertised next to IMAP4rev1, before and after login, and ENABLE reports it once', async () => {
    const h = new ImapHarness();
    open.push(h);
    expect((await h.command('C1 CAPABILITY')).lines[0]).toMatch(/^\* CAPABILITY IMAP4rev1 IMAP4rev2 /);
    expect((await h.command('C2 ENABLE IMAP4rev2')).tagged).toBe('C2 BAD ENABLE needs you to log in first');
    await h.command('L1 LOGIN alice secret');
    expect((await h.command('C3 CAPABILITY')).lines[0]).toMatch(/^\* CAPABILITY IMAP4rev1 IMAP4rev2 /);
    expect((await h.command('C4 ENABLE imap4REV2 CONDSTORE')).lines[0]).toBe('* ENABLED IMAP4rev2 CONDSTORE');
    expect((await h.command('C5 ENABLE IMAP4rev2')).lines).toEqual(['* ENABLED', 'C5 OK ENABLE completed']);
    await h.command('S1 SELECT INBOX');
    expect((await h.command('C6 ENABLE IMAP4rev2')).tagged).toMatch(/^C6 BAD ENABLE is not allowed in the selected state/);
  });

  it('SELECT: the RFC 9051 example shape, with LIST and without RECENT or UNSEEN', async () => {
    const h = await session();
    await deliver(h, 3);
    const lines = (await h.command('A142 SELECT INBOX')).lines;
    expect(lines).toContain('* 3 EXISTS');
    expect(lines).toContain('* LIST () "/" "INBOX"');
    expect(lines.some((l) => /RECENT|\[UNSEEN /.test(l))).toBe(false);
    expect(lines.filter((l) => /^\* OK \[(UIDVALIDITY|UIDNEXT|PERMANENTFLAGS) /.test(l))).toHaveLength(3);
    expect(lines.find((l) => l.startsWith('* FLAGS'))).toBe('* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)');
    expect(lines[lines.length - 1]).toBe('A142 OK [READ-WRITE] SELECT completed: INBOX');
    const examine = (await h.command('A143 EXAMINE inbox')).lines;
    expect(examine[0]).toBe('* OK [CLOSED] Previous mailbox closed');
    expect(examine).toContain('* LIST () "/" "INBOX"');
  });

  it('SELECT in a rev1 session still sends RECENT and UNSEEN and no LIST', async () => {
    const h = await session(newStore(), false);
    await deliver(h, 3);
    const lines = (await h.command('A1 SELECT INBOX')).lines;
    expect(lines).toContain('* 3 RECENT');
    expect(lines).toContain('* OK [UNSEEN 1] Message 1 is the first unseen');
    expect(lines.some((l) => l.startsWith('* LIST'))).toBe(false);
  });

  it('SEARCH answers with ESEARCH: the RFC examples, UID, no match, RETURN options and SAVE', async () => {
    const h = await session();
    await deliver(h, 5, ['\\Flagged']);
    await h.command('S1 SELECT INBOX');
    expect((await h.command('A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"')).text).toBe(
      '* ESEARCH (TAG "A282") MIN 1 COUNT 5\r\nA282 OK SEARCH completed\r\n',
    );
    expect((await h.command('A283 SEARCH BODY odd')).text).toBe('* ESEARCH (TAG "A283") ALL 1,3,5\r\nA283 OK SEARCH completed\r\n');
    expect((await h.command('A284 SEARCH TEXT "string not in mailbox"')).text).toBe('* ESEARCH (TAG "A284")\r\nA284 OK SEARCH completed\r\n');
    expect((await h.command('A285 UID SEARCH UNSEEN')).lines[0]).toBe('* ESEARCH (TAG "A285") UID ALL 1,3:5');
    expect((await h.command('A286 SEARCH RETURN (SAVE) SEEN')).lines).toEqual(['A286 OK SEARCH completed']);
    expect((await h.command('A287 UID SEARCH $')).lines[0]).toBe('* ESEARCH (TAG "A287") UID ALL 2');
    expect((await h.command('A288 SEARCH CHARSET UTF-8 ALL')).lines[0]).toBe('* ESEARCH (TAG "A288") ALL 1:5');
  });

  it('no \\Recent in FETCH and no RECENT for new mail, while a rev1 session of the mailbox gets both', async () => {
    const store = newStore();
    const rev2 = await session(store);
    const rev1 = await session(store, false);
    await rev2.command('S1 SELECT INBOX');
    await rev1.command('S2 SELECT INBOX');
    await deliver(rev2, 1);
    const noop2 = await rev2.command('N1 NOOP');
    expect(noop2.lines).toEqual(['* 1 EXISTS', 'N1 OK NOOP completed']);
    const noop1 = await rev1.command('N2 NOOP');
    expect(noop1.lines).toContain('* 1 EXISTS');
    expect(noop1.lines.some((l) => /^\* \d+ RECENT$/.test(l))).toBe(true);
    // Whichever session claimed \Recent, the rev2 one never shows it.
    expect((await rev2.command('F1 FETCH 1 FLAGS')).lines[0]).toBe('* 1 FETCH (FLAGS ())');
    await rev1.command('T1 STORE 1 +FLAGS (\\Flagged)');
    expect((await rev2.command('N3 NOOP')).lines[0]).toBe('* 1 FETCH (UID 1 FLAGS (\\Flagged))');
  });

  it('takes and sends mailbox names in UTF-8, which a rev1 session sees in modified UTF-7', async () => {
    const store = newStore();
    const rev2 = await session(store);
    const rev1 = await session(store, false);
    expect((await rev2.command('C1 CREATE "Café/Größe"')).tagged).toBe('C1 OK CREATE completed');
    expect((await rev2.command('L1 LIST "" "Caf*"')).lines).toEqual(['* LIST (\\HasChildren) "/" "Café"', '* LIST (\\HasNoChildren) "/" "Café/Größe"', 'L1 OK LIST completed']);
    expect((await rev1.command('L2 LIST "" "Caf*"')).lines).toEqual(['* LIST (\\HasChildren) "/" "Caf&AOk-"', '* LIST (\\HasNoChildren) "/" "Caf&AOk-/Gr&APYA3w-e"', 'L2 OK LIST completed']);
    expect((await rev2.command('S1 SELECT "Café/Größe"')).lines).toContain('* LIST () "/" "Café/Größe"');
  });

  it('STATUS has SIZE and DELETED', async () => {
    const h = await session();
    await deliver(h, 2, ['\\Deleted']);
    const line = (await h.command('T1 STATUS INBOX (MESSAGES DELETED SIZE)')).lines[0]!;
    expect(line).toMatch(/^\* STATUS "INBOX" \(MESSAGES 2 DELETED 2 SIZE \d+\)$/);
  });

  it('pipelined ENABLE, SELECT and SEARCH are answered in order under the rules ENABLE switched on', async () => {
    const h = await ImapHarness.loggedIn();
    open.push(h);
    await deliver(h, 2);
    h.send('P1 ENABLE IMAP4rev2\r\nP2 SELECT INBOX\r\nP3 SEARCH ALL\r\nP4 FETCH 1:* FLAGS\r\n');
    const text = await h.waitFor(/P4 OK[^\r]*\r\n/);
    const lines = text.split('\r\n');
    expect(lines[0]).toBe('* ENABLED IMAP4rev2');
    expect(lines).toContain('* LIST () "/" "INBOX"');
    expect(lines).toContain('* ESEARCH (TAG "P3") ALL 1:2');
    expect(lines).toContain('* 1 FETCH (FLAGS ())');
    expect(lines).toContain('* 2 FETCH (FLAGS (\\Seen))');
    expect(text).not.toMatch(/RECENT|\* SEARCH/);
  });
});
