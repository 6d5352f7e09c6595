// Transcripts: ESEARCH (RFC 4731), SEARCHRES (RFC 5182) and WITHIN (RFC 5032): the RFCs' examples,
// edge cases, every state, pipelining, and two sessions of one mailbox.
import { afterEach, describe, expect, it } from 'vitest';
import { ImapHarness, message, newStore } from './harness';

const open: ImapHarness[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
});

const hourMs = 3_600_000;

/** 12 messages; 2, 10 and 11 are flagged and not from Smith, 5 is flagged and from Smith. */
async function mailbox(store = newStore()): Promise<ImapHarness> {
  const h = await ImapHarness.loggedIn({ store });
  open.push(h);
  const now = h.clock.now();
  for (let i = 1; i <= 12; i++) {
    const flagged = [2, 5, 10, 11].includes(i);
    const from = i === 5 ? 'John Smith <smith@example.org>' : `Sender ${i} <s${i}@example.org>`;
    // Message i arrived i hours ago... except the last three, which are a minute old.
    const internalDateMs = i >= 10 ? now - 60_000 : now - i * hourMs;
    await h.store.deliver('alice', 'INBOX', message({ from, subject: `m${i}`, body: i % 2 ? 'odd body' : 'even body' }), flagged ? ['\\Flagged'] : [], internalDateMs);
  }
  await h.command('s0 SELECT INBOX');
  return h;
}

describe('ESEARCH (RFC 4731)', () => {
  it('answers the RFC examples: MIN COUNT, RETURN () as ALL, no match, UID MIN MAX', async () => {
    const h = await mailbox();
    expect((await h.command('A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"')).text).toBe(
      '* ESEARCH (TAG "A282") MIN 2 COUNT 3\r\nA282 OK SEARCH completed\r\n',
    );
    expect((await h.command('A283 SEARCH RETURN () FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"')).lines[0]).toBe('* ESEARCH (TAG "A283") ALL 2,10:11');
    expect((await h.command('A284 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-2094')).lines[0]).toBe('* ESEARCH (TAG "A284") COUNT 0');
    expect((await h.command('A285 UID SEARCH RETURN (MIN MAX) 1:5000')).lines[0]).toBe('* ESEARCH (TAG "A285") UID MIN 1 MAX 12');
    expect((await h.command('A286 SEARCH RETURN (ALL COUNT MIN MAX) BODY odd')).lines[0]).toBe('* ESEARCH (TAG "A286") MIN 1 MAX 11 ALL 1,3,5,7,9,11 COUNT 6');
    expect((await h.command('A287 SEARCH RETURN (ALL) DELETED')).lines).toEqual(['* ESEARCH (TAG "A287")', 'A287 OK SEARCH completed']);
  });

  it('carries MODSEQ when the criteria use it (RFC 7162 3.1.5)', async () => {
    const h = await mailbox();
    const reply = await h.command('m1 SEARCH RETURN (COUNT) MODSEQ 1 FLAGGED');
    expect(reply.lines[0]).toMatch(/^\* ESEARCH \(TAG "m1"\) COUNT 4 MODSEQ \d+$/);
    expect((await h.command('m2 SEARCH RETURN (COUNT) MODSEQ 99999')).lines[0]).toBe('* ESEARCH (TAG "m2") COUNT 0');
  });

  it('refuses unknown options and a RETURN without a list; needs a selected mailbox', async () => {
    const h = await mailbox();
    expect((await h.command('b1 SEARCH RETURN (LATEST) ALL')).tagged).toBe('b1 BAD SEARCH: unknown result option LATEST; use MIN, MAX, ALL, COUNT, SAVE, CONTEXT, UPDATE or PARTIAL');
    expect((await h.command('b2 SEARCH RETURN ALL')).tagged).toBe('b2 BAD SEARCH: RETURN needs a parenthesised list of result options');
    expect((await h.command('b3 SEARCH CHARSET UTF-8 RETURN (MIN) ALL')).tagged).toBe('b3 BAD SEARCH: unknown search key RETURN');
    await h.command('b4 UNSELECT');
    expect((await h.command('b5 SEARCH RETURN (MIN) ALL')).tagged).toBe('b5 BAD SEARCH needs a selected mailbox (SELECT or EXAMINE first)');
    const fresh = new ImapHarness();
    open.push(fresh);
    expect((await fresh.command('b6 SEARCH RETURN (MIN) ALL')).tagged).toBe('b6 BAD SEARCH needs you to log in first');
  });
});

describe('SEARCHRES (RFC 5182)', () => {
  it('SAVE alone answers nothing but OK; $ then works in FETCH, STORE, COPY, SEARCH and UID SEARCH', async () => {
    const h = await mailbox();
    expect((await h.command('A282 SEARCH RETURN (SAVE) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"')).text).toBe('A282 OK SEARCH completed\r\n');
    expect((await h.command('A283 FETCH $ (UID)')).lines.slice(0, 3)).toEqual(['* 2 FETCH (UID 2)', '* 10 FETCH (UID 10)', '* 11 FETCH (UID 11)']);
    expect((await h.command('A284 SEARCH $ BODY even')).lines[0]).toBe('* SEARCH 2 10');
    expect((await h.command('A285 UID SEARCH UID $ NOT 2')).lines[0]).toBe('* SEARCH 10 11');
    expect((await h.command('A286 COPY $ Archive')).tagged).toBe('A286 OK [COPYUID 1005 2,10:11 1:3] COPY completed');
    expect((await h.command('A287 STORE $ +FLAGS.SILENT (\\Seen)')).tagged).toBe('A287 OK STORE completed');
    expect((await h.command('A288 SEARCH SEEN')).lines[0]).toBe('* SEARCH 2 10 11');
  });

  it('SAVE with MIN or MAX keeps only those; with other options it also answers ESEARCH', async () => {
    const h = await mailbox();
    expect((await h.command('a1 SEARCH RETURN (SAVE MIN) FLAGGED')).text).toBe('* ESEARCH (TAG "a1") MIN 2\r\na1 OK SEARCH completed\r\n');
    expect((await h.command('a2 UID SEARCH $')).lines[0]).toBe('* SEARCH 2');
    expect((await h.command('a3 SEARCH RETURN (SAVE MIN MAX) FLAGGED')).text).toBe('* ESEARCH (TAG "a3") MIN 2 MAX 11\r\na3 OK SEARCH completed\r\n');
    expect((await h.command('a4 SEARCH $')).lines[0]).toBe('* SEARCH 2 11');
    expect((await h.command('a5 SEARCH RETURN (SAVE COUNT MIN) FLAGGED')).lines[0]).toBe('* ESEARCH (TAG "a5") MIN 2 COUNT 4');
    expect((await h.command('a6 SEARCH $')).lines[0]).toBe('* SEARCH 2 5 10 11');
  });

  it('$ is empty before any SAVE, after a failed SAVE, and after reselecting; expunged messages drop out', async () => {
    const h = await mailbox();
    expect((await h.command('e1 FETCH $ UID')).text).toBe('e1 OK FETCH completed\r\n');
    await h.command('e2 SEARCH RETURN (SAVE) FLAGGED');
    expect((await h.command('e3 SEARCH RETURN (SAVE) CHARSET X-KLINGON FLAGGED')).tagged).toMatch(/^e3 NO \[BADCHARSET/);
    expect((await h.command('e4 SEARCH $')).lines[0]).toBe('* SEARCH 2 5 10 11');
    await h.command('e5 SEARCH RETURN (SAVE) FLAGGED');
    await h.command('e6 STORE 5 +FLAGS.SILENT (\\Deleted)');
    expect((await h.command('e7 EXPUNGE')).lines[0]).toBe('* 5 EXPUNGE');
    expect((await h.command('e8 UID SEARCH $')).lines[0]).toBe('* SEARCH 2 10 11');
    expect((await h.command('e9 SEARCH $')).lines[0]).toBe('* SEARCH 2 9 10');
    await h.command('e10 SELECT INBOX');
    expect((await h.command('e11 SEARCH $')).lines[0]).toBe('* SEARCH');
  });

  it('works pipelined: SAVE, then FETCH $ and MOVE $ sent before the SEARCH is answered', async () => {
    const h = await mailbox();
    h.take();
    h.send('p1 SEARCH RETURN (SAVE) FLAGGED NOT FROM Smith\r\np2 FETCH $ (UID FLAGS)\r\np3 UID MOVE $ Trash\r\np4 SEARCH FLAGGED\r\n');
    const text = await h.waitFor(/p4 OK[^\r]*\r\n/);
    expect(text).toBe(
      [
        'p1 OK SEARCH completed',
        '* 2 FETCH (UID 2 FLAGS (\\Flagged \\Recent))',
        '* 10 FETCH (UID 10 FLAGS (\\Flagged \\Recent))',
        '* 11 FETCH (UID 11 FLAGS (\\Flagged \\Recent))',
        'p2 OK FETCH completed',
        '* OK [COPYUID 1003 2,10:11 1:3] Moved',
        '* 11 EXPUNGE',
        '* 10 EXPUNGE',
        '* 2 EXPUNGE',
        'p3 OK MOVE completed',
        '* SEARCH 4',
        'p4 OK SEARCH completed',
        '',
      ].join('\r\n'),
    );
  });

  it('$ belongs to one session: another session of the mailbox has its own', async () => {
    const first = await mailbox();
    const second = await ImapHarness.loggedIn({ store: first.store });
    open.push(second);
    await second.command('t0 SELECT INBOX');
    await first.command('f1 SEARCH RETURN (SAVE) FLAGGED');
    expect((await second.command('t1 SEARCH $')).lines[0]).toBe('* SEARCH');
    await second.command('t2 SEARCH RETURN (SAVE) BODY even');
    expect((await first.command('f2 SEARCH $')).lines[0]).toBe('* SEARCH 2 5 10 11');
    expect((await second.command('t3 SEARCH $')).lines[0]).toBe('* SEARCH 2 4 6 8 10 12');
  });
});

describe('WITHIN (RFC 5032)', () => {
  it('YOUNGER and OLDER compare the internal date with now, in seconds', async () => {
    const h = await mailbox();
    expect((await h.command('w1 SEARCH YOUNGER 300')).lines[0]).toBe('* SEARCH 10 11 12');
    expect((await h.command('w2 SEARCH OLDER 18000')).lines[0]).toBe('* SEARCH 5 6 7 8 9');
    expect((await h.command('w3 SEARCH YOUNGER 7200 OLDER 3600')).lines[0]).toBe('* SEARCH 1 2');
    expect((await h.command('w4 UID SEARCH RETURN (COUNT) NOT YOUNGER 300')).lines[0]).toBe('* ESEARCH (TAG "w4") UID COUNT 9');
    h.clock.advance(25 * 60_000); // less than the autologout
    expect((await h.command('w5 SEARCH YOUNGER 1500')).lines[0]).toBe('* SEARCH');
    expect((await h.command('w5b SEARCH YOUNGER 1560')).lines[0]).toBe('* SEARCH 10 11 12');
    expect((await h.command('w6 SEARCH YOUNGER x')).tagged).toBe('w6 BAD SEARCH: YOUNGER interval must be a number');
    expect((await h.command('w7 SEARCH OLDER')).tagged).toBe('w7 BAD SEARCH: missing OLDER interval');
  });
});
