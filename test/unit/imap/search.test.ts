// Transcripts: SEARCH and UID SEARCH with every RFC 3501 search key, boolean combinations,
// CHARSET, sequence and UID sets, and MODSEQ (RFC 7162).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImapHarness, message } from './harness';

let harness: ImapHarness;
const day = (y: number, m: number, d: number): number => Date.UTC(y, m - 1, d, 12, 0, 0);

beforeAll(async () => {
  harness = await ImapHarness.loggedIn();
  await harness.appendMessage(
    'INBOX',
    message({
      from: 'Bob <bob@example.org>',
      to: 'alice@example.org',
      subject: 'Quarterly report',
      date: 'Wed, 1 Nov 2023 23:30:00 -0500',
      extraHeaders: 'Cc: carol@example.org\r\nBcc: dave@example.org',
      body: 'The numbers are attached.',
    }),
    ['\\Answered', '\\Seen', '$Work'],
    day(2023, 11, 1),
  );
  await harness.appendMessage(
    'INBOX',
    message({
      from: '=?utf-8?Q?Andr=C3=A9?= <andre@example.org>',
      subject: '=?iso-8859-1?Q?Caf=E9_menu?=',
      date: 'Fri, 10 Nov 2023 09:00:00 +0000',
      extraHeaders: 'X-Priority: 1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable',
      body: 'Un caf=C3=A9 au lait, s=\r\nil vous pla=C3=AEt.',
    }),
    ['\\Flagged', '\\Draft'],
    day(2023, 11, 10),
  );
  await harness.appendMessage(
    'INBOX',
    message({ from: 'carol@example.org', subject: 'Big one', date: 'Mon, 20 Nov 2023 09:00:00 +0000', body: `${'x'.repeat(5000)} needle` }),
    ['\\Deleted'],
    day(2023, 11, 20),
  );
  // Another session saw messages 1-3 first: they are not \Recent here.
  await (await harness.store.sessionFor('alice')).claimRecent('INBOX', true);
  await harness.command('s1 SELECT INBOX');
  await harness.appendMessage('INBOX', message({ from: 'Zed <zed@example.org>', subject: 'Fresh', date: 'Tue, 21 Nov 2023 09:00:00 +0000' }), [], day(2023, 11, 21));
  await harness.command('s2 NOOP');
});
afterAll(async () => {
  await harness.close();
});

async function search(criteria: string, uid = false): Promise<string> {
  const reply = await harness.command(`q ${uid ? 'UID ' : ''}SEARCH ${criteria}`);
  expect(reply.tagged).toBe('q OK SEARCH completed');
  return reply.lines[0]!;
}

describe('SEARCH keys', () => {
  it.each([
    ['ALL', '1 2 3 4'],
    ['ANSWERED', '1'],
    ['UNANSWERED', '2 3 4'],
    ['DELETED', '3'],
    ['UNDELETED', '1 2 4'],
    ['DRAFT', '2'],
    ['UNDRAFT', '1 3 4'],
    ['FLAGGED', '2'],
    ['UNFLAGGED', '1 3 4'],
    ['SEEN', '1'],
    ['UNSEEN', '2 3 4'],
    ['KEYWORD $Work', '1'],
    ['KEYWORD $work', '1'],
    ['UNKEYWORD $Work', '2 3 4'],
    ['RECENT', '4'],
    ['OLD', '1 2 3'],
    ['NEW', '4'],
    ['FROM bob', '1'],
    ['FROM "andré"', '2'],
    ['TO alice@example', '1 2 3 4'],
    ['CC carol', '1'],
    ['BCC dave', '1'],
    ['SUBJECT "café"', '2'],
    ['SUBJECT REPORT', '1'],
    ['HEADER X-Priority 1', '2'],
    ['HEADER X-Priority ""', '2'],
    ['HEADER Message-ID "<Fresh@"', '4'],
    ['BODY "café au lait, sil"', '2'],
    ['BODY needle', '3'],
    ['BODY Quarterly', ''],
    ['TEXT Quarterly', '1'],
    ['TEXT numbers', '1'],
    ['BEFORE 10-Nov-2023', '1'],
    ['ON 10-Nov-2023', '2'],
    ['SINCE 10-Nov-2023', '2 3 4'],
    ['SENTBEFORE 2-Nov-2023', '1'],
    ['SENTON 1-Nov-2023', '1'],
    ['SENTSINCE 20-Nov-2023', '3 4'],
    ['LARGER 1000', '3'],
    ['SMALLER 1000', '1 2 4'],
    ['2:3', '2 3'],
    ['*', '4'],
    ['UID 2,4', '2 4'],
    ['UID 3:*', '3 4'],
    ['NOT SEEN', '2 3 4'],
    ['OR FLAGGED DELETED', '2 3'],
    ['OR (FROM bob SEEN) NOT ALL', '1'],
    ['(UNSEEN UNDELETED) NOT RECENT', '2'],
    ['UNSEEN UNDELETED', '2 4'],
    ['NOT OR ANSWERED OR FLAGGED DELETED', '4'],
  ])('%s', async (criteria, expected) => {
    expect(await search(criteria)).toBe(`* SEARCH${expected ? ` ${expected}` : ''}`);
  });
});

describe('SEARCH forms', () => {
  it('UID SEARCH answers UIDs', async () => {
    expect(await search('FLAGGED', true)).toBe('* SEARCH 2');
    expect(await search('1:2', true)).toBe('* SEARCH 1 2');
  });

  it('accepts CHARSET UTF-8 and literals; refuses unknown charsets with BADCHARSET', async () => {
    expect(await search('CHARSET UTF-8 SUBJECT {5+}\r\ncafé')).toBe('* SEARCH 2');
    const bad = await harness.command('b1 SEARCH CHARSET X-KLINGON SUBJECT x');
    expect(bad.tagged).toBe('b1 NO [BADCHARSET (UTF-8 US-ASCII ISO-8859-1 WINDOWS-1252)] charset X-KLINGON is not supported');
  });

  it('decodes a literal in the charset the client named', async () => {
    harness.take();
    harness.send(Buffer.concat([Buffer.from('c1 SEARCH CHARSET ISO-8859-1 SUBJECT {4+}\r\ncaf'), Buffer.from([0xe9]), Buffer.from('\r\n')]));
    expect(await harness.waitFor(/c1 OK/)).toBe('* SEARCH 2\r\nc1 OK SEARCH completed\r\n');
  });

  it('MODSEQ returns the highest mod-sequence of the matches', async () => {
    const reply = await harness.command('m1 SEARCH MODSEQ 1');
    expect(reply.lines[0]).toMatch(/^\* SEARCH 1 2 3 4 \(MODSEQ \d+\)$/);
    const modseq = Number(/MODSEQ (\d+)/.exec(reply.lines[0]!)![1]);
    expect((await harness.command(`m2 SEARCH MODSEQ ${modseq + 1}`)).lines[0]).toBe('* SEARCH');
    expect((await harness.command('m3 SEARCH MODSEQ "/flags/\\\\draft" all 1 DRAFT')).lines[0]).toMatch(/^\* SEARCH 2 \(MODSEQ \d+\)$/);
  });

  it('refuses malformed criteria with BAD', async () => {
    for (const [criteria, text] of [
      ['', 'SEARCH: no search criteria'],
      ['BEFORE 31-Foo-2023', 'SEARCH: "31-Foo-2023" is not a date (expected d-Mon-yyyy)'],
      ['LARGER many', 'SEARCH: LARGER size must be a number'],
      ['OR SEEN', 'SEARCH: missing search key'],
      ['UID x', 'SEARCH: "x" is not a valid message number'],
      ['FROM', 'SEARCH: missing FROM value'],
      ['()', 'SEARCH: empty parenthesised criteria'],
    ]) {
      expect((await harness.command(`b SEARCH ${criteria}`.trim())).tagged).toBe(`b BAD ${text}`);
    }
  });
});
