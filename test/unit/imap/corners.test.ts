// Transcripts: corners of RFC 3501 that once went wrong (issue 14, "Wrong today"): a name that is
// not modified UTF-7, MOVE into the selected mailbox, addresses with comments in SEARCH, and
// keywords announced before a FETCH shows them.
import { afterEach, describe, expect, it } from 'vitest';
import { multipartMessage } from './fixtures';
import { ImapHarness, message, newStore } from './harness';

const open: ImapHarness[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
});

async function session(store = newStore()): Promise<ImapHarness> {
  const h = await ImapHarness.loggedIn({ store });
  open.push(h);
  return h;
}

describe('a well-formed name that is not valid modified UTF-7', () => {
  it('answers NO (the mailbox does not exist), not BAD, in every command that names one', async () => {
    const h = await session();
    const text = 'is not valid modified UTF-7 (write "&" as "&-"), so no such mailbox exists';
    expect((await h.command('a1 SELECT "a&b"')).tagged).toBe(`a1 NO [NONEXISTENT] mailbox name "a&b" ${text}`);
    expect((await h.command('a2 EXAMINE &')).tagged).toBe(`a2 NO [NONEXISTENT] mailbox name "&" ${text}`);
    expect((await h.command('a3 STATUS "&AGE-" (MESSAGES)')).tagged).toBe(`a3 NO [NONEXISTENT] mailbox name "&AGE-" ${text}`);
    expect((await h.command('a4 DELETE "&Jjo!-"')).tagged).toMatch(/^a4 NO \[NONEXISTENT\]/);
    expect((await h.command('a5 CREATE "x&y"')).tagged).toMatch(/^a5 NO \[CANNOT\] mailbox name "x&y" is not valid modified UTF-7/);
    expect((await h.command('a6 APPEND "&" {3+}\r\nx\r\n')).tagged).toMatch(/^a6 NO \[NONEXISTENT\]/);
    // The connection is fine afterwards, and the escaped form of "&" works.
    expect((await h.command('a7 CREATE "Tom &- Jerry"')).tagged).toBe('a7 OK CREATE completed');
    expect((await h.command('a8 SELECT "Tom &- Jerry"')).tagged).toBe('a8 OK [READ-WRITE] SELECT completed: Tom &- Jerry');
  });

  it('8-bit names without UTF8=ACCEPT stay a syntax error', async () => {
    const h = await session();
    expect((await h.command('b1 SELECT "caf\u00e9"')).tagged).toMatch(/^b1 BAD SELECT: mailbox: mailbox name has 8-bit characters/);
  });
});

describe('MOVE into the selected mailbox (RFC 6851)', () => {
  it('gives new UIDs with COPYUID, expunges the old ones and announces the copies', async () => {
    const h = await session();
    for (const subject of ['one', 'two', 'three']) await h.appendMessage('INBOX', message({ subject }), ['\\Flagged']);
    await h.command('m0 SELECT INBOX');
    const reply = await h.command('m1 UID MOVE 1:2 INBOX');
    expect(reply.text).toBe(
      '* OK [COPYUID 1000 1:2 4:5] Moved\r\n* 2 EXPUNGE\r\n* 1 EXPUNGE\r\n* 3 EXISTS\r\n* 3 RECENT\r\nm1 OK MOVE completed\r\n',
    );
    const fetch = await h.command('m2 FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])');
    expect(fetch.lines.filter((l) => l.startsWith('* ')).map((l) => /UID (\d+) FLAGS \(([^)]*)\)/.exec(l)?.slice(1).join(' '))).toEqual([
      '3 \\Flagged \\Recent',
      '4 \\Flagged \\Recent',
      '5 \\Flagged \\Recent',
    ]);
    expect(fetch.text).toContain('Subject: one');
  });

  it('a second session of the mailbox sees the move as expunges and new messages', async () => {
    const h = await session();
    await h.appendMessage('INBOX', message({ subject: 'one' }));
    await h.command('m0 SELECT INBOX');
    const other = await session(h.store);
    await other.command('o0 SELECT INBOX');
    await h.command('m1 MOVE 1 INBOX');
    expect((await other.command('o1 NOOP')).text).toBe('* 1 EXPUNGE\r\n* 1 EXISTS\r\n* 0 RECENT\r\no1 OK NOOP completed\r\n');
    expect((await other.command('o2 UID SEARCH ALL')).lines[0]).toBe('* SEARCH 2');
  });
});

describe('SEARCH on address fields', () => {
  it('finds addresses written with RFC 5322 comments and folding whitespace', async () => {
    const h = await session();
    await h.appendMessage('INBOX', message({ from: '<user-from (comment)@ (comment) domain.org>', to: '"Team" (the team) <team@example.org>' }));
    await h.appendMessage('INBOX', message({ from: 'user-from(a comment)@\r\n (another) domain.org', to: 'Group: <m1 (x)@ example.org>, m2@example.org;' }));
    await h.appendMessage('INBOX', message({ from: '=?utf-8?Q?Andr=C3=A9?= <andre@example.org>', to: 'nobody@example.org' }));
    await h.command('s0 SELECT INBOX');
    expect((await h.command('s1 SEARCH FROM user-from@domain.org')).lines[0]).toBe('* SEARCH 1 2');
    expect((await h.command('s2 SEARCH TO m1@example.org')).lines[0]).toBe('* SEARCH 2');
    expect((await h.command('s3 SEARCH FROM "André <andre@"')).lines[0]).toBe('* SEARCH 3');
    expect((await h.command('s4 SEARCH HEADER From "user-from@domain"')).lines[0]).toBe('* SEARCH 1 2');
    expect((await h.command('s5 SEARCH TO "team <team@example.org>"')).lines[0]).toBe('* SEARCH 1');
    expect((await h.command('s6 FETCH 1 ENVELOPE')).lines[0]).toContain('((NIL NIL "user-from" "domain.org"))');
  });
});

describe('keywords', () => {
  it('are announced with FLAGS and PERMANENTFLAGS before a FETCH uses them', async () => {
    const h = await session();
    await h.appendMessage('INBOX', message(), ['$Old']);
    const select = await h.command('k0 SELECT INBOX');
    expect(select.lines[0]).toBe('* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Old)');
    // A keyword set by this session.
    expect((await h.command('k1 STORE 1 +FLAGS (Mine)')).lines).toEqual([
      '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Old Mine)',
      '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Old Mine \\*)] Flags permitted',
      '* 1 FETCH (FLAGS ($Old Mine \\Recent))',
      'k1 OK STORE completed',
    ]);
    // A keyword on a message another device added: FLAGS comes with the FETCH that first shows it.
    await h.appendMessage('INBOX', message({ subject: 'later' }), ['Theirs']);
    expect((await h.command('k2 NOOP')).lines).toEqual(['* 2 EXISTS', '* 2 RECENT', 'k2 OK NOOP completed']);
    expect((await h.command('k3 FETCH 1:2 FLAGS')).lines).toEqual([
      '* 1 FETCH (FLAGS ($Old Mine \\Recent))',
      '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Old Mine Theirs)',
      '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Old Mine Theirs \\*)] Flags permitted',
      '* 2 FETCH (FLAGS (Theirs \\Recent))',
      'k3 OK FETCH completed',
    ]);
    // Known now: no second announcement; a keyword in another case takes the case already known.
    expect((await h.command('k4 STORE 2 +FLAGS (theirs mine)')).lines[0]).toBe('* 2 FETCH (FLAGS (Theirs Mine \\Recent))');
  });

  it('NIL is never a flag: refused from clients, never shown', async () => {
    const h = await session();
    await h.appendMessage('INBOX', message(), ['NIL', '\\Seen']);
    await h.command('n0 SELECT INBOX');
    expect((await h.command('n1 STORE 1 +FLAGS (NIL)')).tagged).toBe('n1 BAD STORE: NIL cannot be used as a keyword');
    expect((await h.command('n2 APPEND INBOX (nil) {3+}\r\nx\r\n')).tagged).toBe('n2 BAD APPEND: NIL cannot be used as a keyword');
    expect((await h.command('n3 FETCH 1 FLAGS')).lines[0]).toBe('* 1 FETCH (FLAGS (\\Seen \\Recent))');
  });
});

describe('the raw-bytes prefilter of SEARCH over big folders', () => {
  it('never hides a match that only decoding, unfolding or address parsing reveals', async () => {
    const h = await session();
    await h.appendMessage('INBOX', message({ body: 'Caf=C3=A9 ze=\r\nbra', extraHeaders: 'Content-Transfer-Encoding: quoted-printable' }));
    await h.appendMessage('INBOX', message({ subject: '=?utf-8?B?c2VjcmV0IHdvcmQ=?=' }));
    await h.appendMessage('INBOX', message({ subject: 'folded\r\n line', from: 'xy (a comment) @example.org' }));
    await h.appendMessage('INBOX', message({ body: 'plain zebra text' }));
    await h.appendMessage('INBOX', multipartMessage);
    await h.command('q0 SELECT INBOX');
    expect((await h.command('q1 SEARCH BODY zebra')).lines[0]).toBe('* SEARCH 1 4 5');
    expect((await h.command('q2 SEARCH SUBJECT secret')).lines[0]).toBe('* SEARCH 2');
    expect((await h.command('q3 SEARCH TEXT secret')).lines[0]).toBe('* SEARCH 2');
    expect((await h.command('q4 SEARCH SUBJECT "folded line"')).lines[0]).toBe('* SEARCH 3');
    expect((await h.command('q5 SEARCH FROM xy@example.org')).lines[0]).toBe('* SEARCH 3');
    expect((await h.command('q6 SEARCH BODY ZEBRA')).lines[0]).toBe('* SEARCH 1 4 5');
    // In the raw bytes of message 5, but only in MIME headers: not in its text.
    expect((await h.command('q7 SEARCH BODY octet-stream')).lines[0]).toBe('* SEARCH');
    expect((await h.command('q8 SEARCH TEXT octet-stream')).lines[0]).toBe('* SEARCH');
    expect((await h.command('q9 SEARCH TEXT hello')).lines[0]).toBe('* SEARCH 1 2 3 4');
  });
});
