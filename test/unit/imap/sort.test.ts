// Transcripts: SORT and ESORT (RFC 5256, 5267) and THREAD (RFC 5256): every sort key and base
// subject rule, ORDEREDSUBJECT and REFERENCES (dummies, duplicates, loops, subject merging),
// RETURN options with SAVE, every state, pipelining, two sessions, and the shared key cache.
import { afterEach, describe, expect, it } from 'vitest';
import { MessageCache } from '../../../mail/imap/messageCache';
import { baseSubject } from '../../../mail/imap/sort/baseSubject';
import { ImapHarness, newStore } from './harness';

const open: ImapHarness[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
});

const jan = (day: number): number => Date.UTC(2024, 0, day, 12);

function raw(headers: Record<string, string>, body: string): string {
  return `${Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}`)
    .join('\r\n')}\r\n\r\n${body}\r\n`;
}

async function session(store = newStore(), cache?: MessageCache): Promise<ImapHarness> {
  const h = await ImapHarness.loggedIn({ store, ...(cache ? { cache } : {}) });
  open.push(h);
  return h;
}

/** Five messages whose every sort key gives a different order (see each test). */
async function sortMailbox(): Promise<ImapHarness> {
  const h = await session();
  const messages: [Record<string, string>, number][] = [
    [{ From: 'carol@example.org', To: 'alice@example.org', Cc: 'Zed <zed@example.org>', Subject: 'Re: Lunch', Date: 'Wed, 3 Jan 2024 10:00:00 +0000' }, jan(10)],
    [{ From: 'Alice <alice@example.org>', To: 'alice@example.org', Subject: 'lunch', Date: 'Tue, 2 Jan 2024 09:00:00 +0100' }, jan(9)],
    [{ From: 'bob@example.org', To: 'alice@example.org', Cc: 'bob@example.org', Subject: '[list] Fwd: Budget', Date: '1 Jan 2024 00:00 GMT' }, jan(8)],
    [{ From: '"Dave" <dave@example.org>', To: 'alice@example.org', Subject: 'Budget (fwd)' }, jan(5)],
    [{ From: '=?utf-8?Q?=C3=89mile?= <emile@example.org>', To: 'aaron@example.org', Subject: '=?utf-8?Q?Zebra?=', Date: 'Tue, 2 Jan 2024 08:00:00 -0500' }, jan(7)],
  ];
  for (const [i, [headers, arrival]] of messages.entries()) await h.store.deliver('alice', 'INBOX', raw(headers, 'x'.repeat(100 * (i + 1))), [], arrival);
  await h.command('s0 SELECT INBOX');
  return h;
}

describe('SORT (RFC 5256)', () => {
  it.each([
    ['(ARRIVAL)', '4 5 3 2 1'],
    ['(REVERSE ARRIVAL)', '1 2 3 5 4'],
    ['(DATE)', '3 2 5 1 4'],
    ['(SUBJECT)', '3 4 1 2 5'],
    ['(SUBJECT DATE)', '3 4 2 1 5'],
    ['(SUBJECT REVERSE DATE)', '4 3 1 2 5'],
    ['(FROM)', '2 3 1 4 5'],
    ['(REVERSE FROM)', '5 4 1 3 2'],
    ['(TO)', '5 1 2 3 4'],
    ['(CC)', '2 4 5 3 1'],
    ['(SIZE)', '1 2 3 4 5'],
    ['(REVERSE SIZE)', '5 4 3 2 1'],
  ])('%s', async (criteria, expected) => {
    const h = await sortMailbox();
    expect((await h.command(`a SORT ${criteria} UTF-8 ALL`)).text).toBe(`* SORT ${expected}\r\na OK SORT completed\r\n`);
  });

  it('sorts only what the search finds, by UID with UID SORT; answers an empty SORT when nothing matches', async () => {
    const h = await sortMailbox();
    await h.command('x0 STORE 2,4 +FLAGS.SILENT (\\Deleted)');
    expect((await h.command('x1 SORT (DATE) US-ASCII UNDELETED')).lines[0]).toBe('* SORT 3 5 1');
    // Equal keys stay in mailbox order, REVERSE or not.
    expect((await h.command('x2 UID SORT (REVERSE SUBJECT) UTF-8 1:4')).lines[0]).toBe('* SORT 1 2 3 4');
    expect((await h.command('A284 SORT (SUBJECT) US-ASCII TEXT "not in mailbox"')).text).toBe('* SORT\r\nA284 OK SORT completed\r\n');
    expect((await h.command('x3 SORT (SUBJECT) UTF-8 SUBJECT zebra')).lines[0]).toBe('* SORT 5');
  });

  it('refuses malformed commands with BAD and unknown charsets with NO [BADCHARSET]; needs a selected mailbox', async () => {
    const h = await sortMailbox();
    expect((await h.command('b1 SORT (COLOUR) UTF-8 ALL')).tagged).toBe('b1 BAD SORT: unknown sort criterion COLOUR');
    expect((await h.command('b2 SORT () UTF-8 ALL')).tagged).toBe('b2 BAD SORT needs a parenthesised list of sort criteria, e.g. (REVERSE DATE)');
    expect((await h.command('b3 SORT (REVERSE) UTF-8 ALL')).tagged).toBe('b3 BAD SORT: REVERSE must be followed by a sort key');
    expect((await h.command('b4 SORT (DATE)')).tagged).toBe('b4 BAD SORT needs a charset (UTF-8) before the search criteria');
    expect((await h.command('b5 SORT (DATE) UTF-8')).tagged).toBe('b5 BAD SEARCH: no search criteria');
    expect((await h.command('b6 SORT (DATE) X-KLINGON ALL')).tagged).toMatch(/^b6 NO \[BADCHARSET/);
    await h.command('b7 CLOSE');
    expect((await h.command('b8 SORT (DATE) UTF-8 ALL')).tagged).toBe('b8 BAD SORT needs a selected mailbox (SELECT or EXAMINE first)');
  });
});

describe('ESORT (RFC 5267)', () => {
  it('RETURN (MIN MAX COUNT ALL) in sort order, and SAVE for $', async () => {
    const h = await sortMailbox();
    expect((await h.command('e1 SORT RETURN (MIN MAX COUNT) (DATE) UTF-8 ALL')).lines[0]).toBe('* ESEARCH (TAG "e1") MIN 3 MAX 4 COUNT 5');
    expect((await h.command('e2 UID SORT RETURN (ALL) (SUBJECT) UTF-8 ALL')).lines[0]).toBe('* ESEARCH (TAG "e2") UID ALL 3:4,1:2,5');
    expect((await h.command('e3 SORT RETURN () (REVERSE ARRIVAL) UTF-8 ALL')).lines[0]).toBe('* ESEARCH (TAG "e3") ALL 1:3,5,4');
    expect((await h.command('e4 SORT RETURN (COUNT) (DATE) UTF-8 DELETED')).lines[0]).toBe('* ESEARCH (TAG "e4") COUNT 0');
    expect((await h.command('e5 SORT RETURN (SAVE MIN) (DATE) UTF-8 ALL')).lines[0]).toBe('* ESEARCH (TAG "e5") MIN 3');
    expect((await h.command('e6 FETCH $ UID')).lines[0]).toBe('* 3 FETCH (UID 3)');
  });
});

describe('THREAD (RFC 5256)', () => {
  it('ORDEREDSUBJECT groups by base subject, threads by the date of their first message', async () => {
    const h = await sortMailbox();
    expect((await h.command('t1 THREAD ORDEREDSUBJECT UTF-8 ALL')).text).toBe('* THREAD (3 4)(2 1)(5)\r\nt1 OK THREAD completed\r\n');
    expect((await h.command('t2 UID THREAD ORDEREDSUBJECT UTF-8 NOT 1')).lines[0]).toBe('* THREAD (3 4)(2)(5)');
    expect((await h.command('t3 THREAD ORDEREDSUBJECT UTF-8 SINCE 1-MAR-2090')).text).toBe('* THREAD\r\nt3 OK THREAD completed\r\n');
  });

  it('REFERENCES: replies under their parents, dummies for missing parents, duplicates, loops and subject merging', async () => {
    const h = await session();
    const messages: Record<string, string>[] = [
      { 'Message-ID': '<a@x>', Subject: 'Plan', Date: 'Mon, 1 Jan 2024 10:00:00 +0000' },
      { 'Message-ID': '<b@x>', References: '<a@x>', Subject: 'Re: Plan', Date: 'Tue, 2 Jan 2024 10:00:00 +0000' },
      { 'Message-ID': '<c@x>', 'In-Reply-To': '<a@x> (from a)', Subject: 'Re: Plan', Date: 'Wed, 3 Jan 2024 10:00:00 +0000' },
      { 'Message-ID': '<d@x>', References: '<a@x>\r\n <b@x>', Subject: 'Re: Re: Plan', Date: 'Thu, 4 Jan 2024 10:00:00 +0000' },
      { 'Message-ID': '<e@x>', References: '<missing@x>', Subject: 'Other', Date: 'Fri, 5 Jan 2024 10:00:00 +0000' },
      { 'Message-ID': '<f@x>', References: '<missing@x>', Subject: 'Different', Date: 'Sat, 6 Jan 2024 10:00:00 +0000' },
      { 'Message-ID': '<g@x>', Subject: 'RE: [team] plan', Date: 'Sun, 7 Jan 2024 10:00:00 +0000' },
      { 'Message-ID': '<a@x>', Subject: 'Duplicate id', Date: 'Mon, 8 Jan 2024 10:00:00 +0000' },
      { 'Message-ID': '<i@x>', References: '<j@x> <i@x>', Subject: 'Loop', Date: 'Tue, 9 Jan 2024 10:00:00 +0000' },
      { 'Message-ID': '<j@x>', References: '<i@x>', Subject: 'Re: Loop', Date: 'Wed, 10 Jan 2024 10:00:00 +0000' },
    ];
    for (const headers of messages) await h.store.deliver('alice', 'INBOX', raw({ From: 'x@example.org', ...headers }, 'body'), [], jan(20));
    await h.command('r0 SELECT INBOX');
    expect((await h.command('r1 THREAD REFERENCES UTF-8 ALL')).lines[0]).toBe('* THREAD (1 (2 4)(3)(7))((5)(6))(8)(10 9)');
    // Without the root message, its replies hang under a dummy, which takes the subject's other root.
    expect((await h.command('r2 THREAD REFERENCES UTF-8 NOT 1 NOT 8')).lines[0]).toBe('* THREAD ((2 4)(3)(7))((5)(6))(10 9)');
    // Without it but with the duplicate, the duplicate is <a@x> and the replies are its.
    expect((await h.command('r2b THREAD REFERENCES UTF-8 NOT 1')).lines[0]).toBe('* THREAD ((5)(6))(7)(8 (2 4)(3))(10 9)');
    expect((await h.command('r3 UID THREAD REFERENCES UTF-8 4:6')).lines[0]).toBe('* THREAD (4)((5)(6))');
  });

  it('refuses unknown algorithms and needs a charset', async () => {
    const h = await sortMailbox();
    expect((await h.command('u1 THREAD JWZ UTF-8 ALL')).tagged).toBe('u1 BAD THREAD: unknown algorithm JWZ; use ORDEREDSUBJECT or REFERENCES');
    expect((await h.command('u2 THREAD REFERENCES')).tagged).toBe('u2 BAD THREAD needs a charset (UTF-8) before the search criteria');
    expect((await h.command('u3 THREAD')).tagged).toBe('u3 BAD THREAD: missing argument: algorithm');
  });
});

describe('SORT and THREAD with others', () => {
  it('run pipelined, and in order with the changes around them', async () => {
    const h = await sortMailbox();
    h.take();
    h.send('p1 SORT (DATE) UTF-8 ALL\r\np2 STORE 3 +FLAGS.SILENT (\\Deleted)\r\np3 EXPUNGE\r\np4 SORT (DATE) UTF-8 ALL\r\np5 THREAD ORDEREDSUBJECT UTF-8 ALL\r\n');
    expect(await h.waitFor(/p5 OK[^\r]*\r\n/)).toBe(
      '* SORT 3 2 5 1 4\r\np1 OK SORT completed\r\np2 OK STORE completed\r\n* 3 EXPUNGE\r\np3 OK EXPUNGE completed\r\n* SORT 2 4 1 3\r\np4 OK SORT completed\r\n* THREAD (2 1)(4)(3)\r\np5 OK THREAD completed\r\n',
    );
  });

  it('a second session sorts a change the first made; a second SORT reads no message (the key cache)', async () => {
    const first = await sortMailbox();
    // Two connections to one server: one store, one message cache.
    const second = await session(first.store, first.cache);
    await second.command('o0 SELECT INBOX');
    await first.command('o1 SORT (SUBJECT) UTF-8 ALL');
    await first.store.deliver('alice', 'INBOX', raw({ From: 'a@example.org', Subject: 'Aardvark', Date: 'Mon, 1 Jan 2024 00:00:00 +0000' }, 'new'), [], jan(11));
    // SORT, like FETCH and SEARCH, first announces the new message, then sorts it with the rest.
    expect((await second.command('o2 SORT (SUBJECT) UTF-8 ALL')).lines.slice(0, 3)).toEqual(['* 6 EXISTS', '* 1 RECENT', '* SORT 6 3 4 1 2 5']);
    expect((await second.command('o3 SORT (SUBJECT) UTF-8 ALL')).lines[0]).toBe('* SORT 6 3 4 1 2 5');
    // Every key is cached now: sorting again needs nothing from the storage.
    await first.command('o3b NOOP');
    first.store.unavailable = true;
    expect((await first.command('o4 SORT (FROM) UTF-8 ALL')).lines[0]).toBe('* SORT 6 2 3 1 4 5');
    expect((await second.command('o5 THREAD REFERENCES UTF-8 ALL')).lines[0]).toBe('* THREAD ((3)(4))(6)(2 1)(5)');
  });
});

describe('SORT and THREAD asked again of an open folder (sort/orderMemo.ts)', () => {
  /** What a session that just selected the folder answers (no memo): the reference for `h`'s answers. */
  async function fresh(h: ImapHarness, line: string): Promise<string> {
    const other = await session(h.store, h.cache);
    await other.command('f0 SELECT INBOX');
    return (await other.command(`f1 ${line}`)).lines[0]!;
  }
  const ask = async (h: ImapHarness, line: string) => (await h.command(`m ${line}`)).lines[0]!;
  /** Fewer than a view keeps (imapLimits.orderMemosPerViewMax; a plain SORT keeps its order and its answer), so every one is kept from one check to the next. */
  const lines = ['SORT (DATE) UTF-8 ALL', 'UID SORT (REVERSE SUBJECT FROM) UTF-8 ALL', 'THREAD REFERENCES UTF-8 ALL', 'UID THREAD ORDEREDSUBJECT UTF-8 ALL'];

  it('answers the same again, and afresh after an EXPUNGE, a new message or a change in another session', async () => {
    const h = await sortMailbox();
    const check = async () => {
      for (const line of lines) {
        const first = await ask(h, line);
        expect(await ask(h, line)).toBe(first);
        expect(first).toBe(await fresh(h, line));
      }
    };
    await check();
    await h.command('e1 STORE 2 +FLAGS.SILENT (\\Deleted)');
    await h.command('e2 EXPUNGE');
    await check();
    await h.store.deliver('alice', 'INBOX', raw({ From: 'a@example.org', Subject: 'Re: lunch', 'In-Reply-To': '<x@y>', Date: 'Mon, 1 Jan 2024 00:00:00 +0000' }, 'new'), [], jan(11));
    await h.command('e3 NOOP');
    await check();
    // Expunged by another session: this one sorts what it still shows until it is told, then afresh.
    const other = await session(h.store, h.cache);
    await other.command('o1 SELECT INBOX');
    await other.command('o2 STORE 1 +FLAGS.SILENT (\\Deleted)');
    await other.command('o3 EXPUNGE');
    await h.command('e4 NOOP');
    await check();
  });

  it('keeps a plain SORT answer apart from UID SORT, ESORT and MODSEQ answers of the same order', async () => {
    const h = await sortMailbox();
    const bySeq = await ask(h, 'SORT (DATE) UTF-8 ALL');
    const byUid = await ask(h, 'UID SORT (DATE) UTF-8 ALL');
    expect(bySeq).toBe(await fresh(h, 'SORT (DATE) UTF-8 ALL'));
    expect(byUid).toBe(await fresh(h, 'UID SORT (DATE) UTF-8 ALL'));
    expect(await ask(h, 'SORT (DATE) UTF-8 ALL')).toBe(bySeq);
    expect(await ask(h, 'UID SORT (DATE) UTF-8 ALL')).toBe(byUid);
    expect(await ask(h, 'SORT RETURN (ALL) (DATE) UTF-8 ALL')).toBe(`* ESEARCH (TAG "m") ALL ${bySeq.slice('* SORT '.length).replaceAll(' ', ',')}`);
    expect(await ask(h, 'SORT (DATE) UTF-8 ALL')).toBe(bySeq);
  });

  it('keeps nothing for a search of some messages: SORT of UNSEEN follows flag changes', async () => {
    const h = await sortMailbox();
    expect(await ask(h, 'SORT (DATE) UTF-8 UNSEEN')).toBe('* SORT 3 2 5 1 4');
    await h.command('s1 STORE 2 +FLAGS.SILENT (\\Seen)');
    expect(await ask(h, 'SORT (DATE) UTF-8 UNSEEN')).toBe('* SORT 3 5 1 4');
    expect(await ask(h, 'SORT (DATE) UTF-8 ALL')).toBe('* SORT 3 2 5 1 4');
  });

  it('keeps at most orderMemosPerViewMax answers per open folder, each still right when asked again', async () => {
    const h = await sortMailbox();
    const many = ['SORT (DATE) UTF-8 ALL', 'SORT (SUBJECT) UTF-8 ALL', 'SORT (FROM) UTF-8 ALL', 'SORT (TO) UTF-8 ALL', 'SORT (CC) UTF-8 ALL', 'SORT (SIZE) UTF-8 ALL'];
    const answers = [];
    for (const line of many) answers.push(await ask(h, line));
    for (const [i, line] of many.entries()) expect(await ask(h, line)).toBe(answers[i]);
  });
});

describe('base subject (RFC 5256 2.1)', () => {
  it.each([
    ['Re: Hello', 'Hello', true],
    ['RE:  re:Hello  ', 'Hello', true],
    ['Fwd: Re: [list] Hello', 'Hello', true],
    ['[fwd: Re: Hello]', 'Hello', true],
    ['Hello (fwd) (FWD)', 'Hello', true],
    ['Re [ticket 12]: Hello', 'Hello', true],
    ['[PATCH] Hello', 'Hello', false],
    ['[only a blob]', '[only a blob]', false],
    ['Hello\t  world', 'Hello world', false],
    ['Reply to this', 'Reply to this', false],
    ['', '', false],
  ])('%j -> %j', (subject, base, reply) => {
    expect(baseSubject(subject)).toEqual({ base, isReplyOrForward: reply });
  });
});
