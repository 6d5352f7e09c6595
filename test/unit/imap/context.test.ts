// Transcripts: CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 4): PARTIAL windows, the CONTEXT hint,
// RETURN (UPDATE) contexts kept live across two sessions of one mailbox (ADDTO after EXISTS,
// REMOVEFROM before EXPUNGE, positions in sort order), NOUPDATE beyond the limit, tag reuse,
// CANCELUPDATE, IDLE, pipelining, and the end of contexts with the selection.
import { afterEach, describe, expect, it } from 'vitest';
import { imapLimits } from '../../../mail/imap/limits';
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

/** Messages with the given subjects (UIDs 1..n), INBOX selected in a first session and a second one. */
async function twoSessions(subjects: readonly string[]): Promise<{ h: ImapHarness; other: ImapHarness }> {
  const store = newStore();
  const h = await session(store);
  for (const [i, subject] of subjects.entries()) await store.deliver('alice', 'INBOX', message({ subject }), [], 1_700_000_000_000 + i * 1000);
  await h.command('S1 SELECT INBOX');
  const other = await session(store);
  await other.command('S2 SELECT INBOX');
  return { h, other };
}

describe('PARTIAL and CONTEXT (RFC 5267 4.2, 4.4)', () => {
  it('is advertised after ESORT', async () => {
    const h = await session();
    expect((await h.command('C1 CAPABILITY')).lines[0]).toMatch(/ ESORT CONTEXT=SEARCH CONTEXT=SORT /);
  });

  it('answers a window of the results in result order, echoing the range, NIL past the end', async () => {
    const { h } = await twoSessions(['e', 'd', 'c', 'b', 'a']);
    expect((await h.command('A1 SEARCH RETURN (PARTIAL 1:3) ALL')).lines[0]).toBe('* ESEARCH (TAG "A1") PARTIAL (1:3 1:3)');
    expect((await h.command('A2 UID SEARCH RETURN (PARTIAL 4:10) ALL')).lines[0]).toBe('* ESEARCH (TAG "A2") UID PARTIAL (4:10 4:5)');
    expect((await h.command('A3 UID SEARCH RETURN (PARTIAL 7:9) ALL')).lines[0]).toBe('* ESEARCH (TAG "A3") UID PARTIAL (7:9 NIL)');
    expect((await h.command('A4 SEARCH RETURN (PARTIAL 3:2 COUNT) ALL')).lines[0]).toBe('* ESEARCH (TAG "A4") PARTIAL (2:3 2:3) COUNT 5');
    expect((await h.command('A5 UID SORT RETURN (PARTIAL 1:2) (SUBJECT) UTF-8 ALL')).lines[0]).toBe('* ESEARCH (TAG "A5") UID PARTIAL (1:2 5,4)');
    expect((await h.command('A6 SORT RETURN (PARTIAL 2:4 MIN) (REVERSE SUBJECT) UTF-8 ALL')).lines[0]).toBe('* ESEARCH (TAG "A6") MIN 1 PARTIAL (2:4 2:4)');
  });

  it('refuses PARTIAL with ALL, twice, with 0 or *, or without a range', async () => {
    const { h } = await twoSessions(['a']);
    for (const [tag, options] of [
      ['B1', 'PARTIAL 1:2 ALL'],
      ['B2', 'PARTIAL 1:2 PARTIAL 3:4'],
      ['B3', 'PARTIAL 0:2'],
      ['B4', 'PARTIAL 1:*'],
      ['B5', 'PARTIAL'],
    ]) {
      expect((await h.command(`${tag} SEARCH RETURN (${options}) ALL`)).tagged).toMatch(new RegExp(`^${tag} BAD SEARCH: `));
    }
  });

  it('takes the CONTEXT hint', async () => {
    const { h } = await twoSessions(['a', 'b']);
    expect((await h.command('A01 SEARCH RETURN (CONTEXT COUNT) UNDELETED UNKEYWORD $Junk')).text).toBe('* ESEARCH (TAG "A01") COUNT 2\r\nA01 OK SEARCH completed\r\n');
  });
});

describe('RETURN (UPDATE) contexts (RFC 5267 4.3)', () => {
  it('SEARCH: ADDTO when another session flags, REMOVEFROM before the EXPUNGE (the RFC 4.3 example)', async () => {
    const { h, other } = await twoSessions(['a', 'b', 'c', 'd']);
    expect((await h.command('B01 UID SEARCH RETURN (UPDATE COUNT) DELETED KEYWORD $Junk')).lines).toEqual(['* ESEARCH (TAG "B01") UID COUNT 0', 'B01 OK SEARCH completed']);
    await other.command('O1 STORE 2:3 +FLAGS (\\Deleted $Junk)');
    const noop = (await h.command('N1 NOOP')).lines;
    expect(noop.slice(-2)).toEqual(['* ESEARCH (TAG "B01") UID ADDTO (0 2:3)', 'N1 OK NOOP completed']);
    expect(noop.filter((l) => / FETCH /.test(l))).toHaveLength(2);
    await other.command('O2 EXPUNGE');
    expect((await h.command('N2 NOOP')).lines).toEqual(['* ESEARCH (TAG "B01") UID REMOVEFROM (0 2:3)', '* 3 EXPUNGE', '* 2 EXPUNGE', 'N2 OK NOOP completed']);
    // A new matching message: ADDTO after EXISTS.
    await h.store.deliver('alice', 'INBOX', message({ subject: 'junk' }), ['\\Deleted', '$Junk'], 1_700_000_100_000);
    const lines = (await h.command('N3 NOOP')).lines;
    expect(lines.indexOf('* 3 EXISTS')).toBeGreaterThanOrEqual(0);
    expect(lines.indexOf('* ESEARCH (TAG "B01") UID ADDTO (0 5)')).toBeGreaterThan(lines.indexOf('* 3 EXISTS'));
  });

  it('SEARCH by message number: updates in the numbers the client holds, and the session\'s own STORE counts', async () => {
    const { h, other } = await twoSessions(['a', 'b', 'c', 'd']);
    expect((await h.command('C1 SEARCH RETURN (UPDATE ALL) FLAGGED')).lines[0]).toBe('* ESEARCH (TAG "C1")');
    const own = (await h.command('C2 STORE 2,4 +FLAGS (\\Flagged)')).lines;
    expect(own).toEqual(['* 2 FETCH (FLAGS (\\Flagged \\Recent))', '* 4 FETCH (FLAGS (\\Flagged \\Recent))', '* ESEARCH (TAG "C1") ADDTO (0 2,4)', 'C2 OK STORE completed']);
    await other.command('O1 STORE 1 +FLAGS (\\Deleted)');
    await other.command('O2 EXPUNGE');
    await other.command('O3 STORE 1 -FLAGS (\\Flagged)'); // was message 2
    expect((await h.command('N1 NOOP')).lines).toEqual(['* 1 EXPUNGE', '* 1 FETCH (UID 2 FLAGS (\\Recent))', '* ESEARCH (TAG "C1") REMOVEFROM (0 1)', 'N1 OK NOOP completed']);
  });

  it('SORT: ADDTO and REMOVEFROM at their positions in the sort order', async () => {
    const { h, other } = await twoSessions(['b', 'd', 'f']);
    expect((await h.command('D1 UID SORT RETURN (UPDATE ALL) (SUBJECT) UTF-8 ALL')).lines[0]).toBe('* ESEARCH (TAG "D1") UID ALL 1:3');
    await h.store.deliver('alice', 'INBOX', message({ subject: 'c' }), [], 1_700_000_100_000);
    await h.store.deliver('alice', 'INBOX', message({ subject: 'e' }), [], 1_700_000_200_000);
    await h.store.deliver('alice', 'INBOX', message({ subject: 'a' }), [], 1_700_000_300_000);
    // Result b d f -> a b c d e f: uid 6 at 1, uid 4 at 3, uid 5 at 5.
    expect((await h.command('N1 NOOP')).lines).toContain('* ESEARCH (TAG "D1") UID ADDTO (1 6 3 4 5 5)');
    await other.command('O0 NOOP'); // learns of the new messages
    await other.command('O1 UID STORE 4,2 +FLAGS (\\Deleted)');
    await other.command('O2 EXPUNGE');
    // a b c d e f minus c (3) and d (4): one run at position 3.
    expect((await h.command('N2 NOOP')).lines.slice(0, 3)).toEqual(['* ESEARCH (TAG "D1") UID REMOVEFROM (3 4,2)', '* 4 EXPUNGE', '* 2 EXPUNGE']);
    await other.command('O3 UID STORE 1,5 +FLAGS (\\Deleted)');
    await other.command('O4 EXPUNGE');
    // a b e f minus b (2) and e (3), removed from the highest position down.
    expect((await h.command('N3 NOOP')).lines[0]).toBe('* ESEARCH (TAG "D1") UID REMOVEFROM (2 1,5)');
    expect((await h.command('D2 UID SORT (SUBJECT) UTF-8 ALL')).lines[0]).toBe('* SORT 6 3');
  });

  it('refuses a reused tag, cancels with CANCELUPDATE, and ends contexts with the selection', async () => {
    const { h, other } = await twoSessions(['a', 'b']);
    await h.command('E1 SEARCH RETURN (UPDATE) SEEN');
    expect((await h.command('E1 SEARCH RETURN (UPDATE) SEEN')).tagged).toMatch(/^E1 BAD Tag reuse: E1 already names a search context/);
    expect((await h.command('E1 SEARCH RETURN (COUNT) SEEN')).tagged).toBe('E1 OK SEARCH completed'); // without UPDATE a tag is just a tag
    await h.command('E2 UID SEARCH RETURN (UPDATE) FLAGGED');
    expect((await h.command('X1 CANCELUPDATE E1')).tagged).toMatch(/^X1 BAD CANCELUPDATE takes the tags as quoted strings/);
    expect((await h.command('X2 CANCELUPDATE "E1" "ZZ"')).tagged).toMatch(/^X2 NO No search with RETURN \(UPDATE\) is live under "ZZ"/);
    await other.command('O1 STORE 1 +FLAGS (\\Seen \\Flagged)');
    expect((await h.command('N1 NOOP')).lines).toEqual(['* 1 FETCH (UID 1 FLAGS (\\Seen \\Flagged \\Recent))', '* ESEARCH (TAG "E2") UID ADDTO (0 1)', 'N1 OK NOOP completed']);
    expect((await h.command('X3 CANCELUPDATE "E2"')).tagged).toBe('X3 OK CANCELUPDATE completed');
    await other.command('O2 STORE 2 +FLAGS (\\Seen \\Flagged)');
    expect((await h.command('N2 NOOP')).lines.some((l) => l.includes('ESEARCH'))).toBe(false);
    await h.command('E3 SEARCH RETURN (UPDATE) UNSEEN');
    await h.command('S3 SELECT INBOX');
    await other.command('O3 STORE 1:2 -FLAGS (\\Seen)');
    expect((await h.command('N3 NOOP')).lines.some((l) => l.includes('ESEARCH'))).toBe(false);
    expect((await h.command('X4 CANCELUPDATE "E3"')).tagged).toMatch(/^X4 NO /);
    await h.command('U1 UNSELECT');
    expect((await h.command('X5 CANCELUPDATE "E3"')).tagged).toMatch(/^X5 BAD CANCELUPDATE needs a selected mailbox/);
  });

  it(`answers NO [NOUPDATE] beyond ${imapLimits.searchContextsMax} contexts, and still the other results`, async () => {
    const { h } = await twoSessions(['a', 'b']);
    for (let i = 1; i <= imapLimits.searchContextsMax; i++) expect((await h.command(`F${i} SEARCH RETURN (UPDATE) ALL`)).tagged).toBe(`F${i} OK SEARCH completed`);
    const refused = await h.command('B02 UID SORT RETURN (UPDATE COUNT) (DATE) UTF-8 KEYWORD $Junk');
    expect(refused.lines).toEqual([
      `* NO [NOUPDATE "B02"] Too many search contexts (${imapLimits.searchContextsMax}); CANCELUPDATE one to get updates for this search`,
      '* ESEARCH (TAG "B02") UID COUNT 0',
      'B02 OK SORT completed, will not notify',
    ]);
    await h.command('X1 CANCELUPDATE "F1"');
    expect((await h.command('B03 UID SORT RETURN (UPDATE COUNT) (DATE) UTF-8 ALL')).tagged).toBe('B03 OK SORT completed');
  });

  it('sends updates during IDLE', async () => {
    const { h, other } = await twoSessions(['a', 'b']);
    await h.command('G1 UID SEARCH RETURN (UPDATE) KEYWORD $Todo');
    h.send('I1 IDLE\r\n');
    await h.waitFor(/\+ idling\r\n/);
    await other.command('O1 STORE 2 +FLAGS ($Todo)');
    await h.waitFor(/\* ESEARCH \(TAG "G1"\) UID ADDTO \(0 2\)\r\n/);
    h.send('DONE\r\n');
    await h.waitFor(/I1 OK/);
  });

  it('pipelined: a context, a STORE and an EXPUNGE answered in order', async () => {
    const { h } = await twoSessions(['a', 'b', 'c']);
    h.send('P1 UID SEARCH RETURN (UPDATE ALL) DELETED\r\nP2 STORE 1,3 +FLAGS.SILENT (\\Deleted)\r\nP3 EXPUNGE\r\nP4 UID SEARCH ALL\r\n');
    const text = await h.waitFor(/P4 OK[^\r]*\r\n/);
    expect(text.split('\r\n').filter((l) => l.length > 0)).toEqual([
      '* ESEARCH (TAG "P1") UID',
      'P1 OK SEARCH completed',
      '* ESEARCH (TAG "P1") UID ADDTO (0 1,3)',
      'P2 OK STORE completed',
      '* ESEARCH (TAG "P1") UID REMOVEFROM (0 1,3)',
      '* 3 EXPUNGE',
      '* 1 EXPUNGE',
      'P3 OK EXPUNGE completed',
      '* SEARCH 2',
      'P4 OK SEARCH completed',
    ]);
  });
});

/** "1:3,7" as the numbers it lists, in its order (ranges ascend: RFC 5267 3.2). */
function expandSet(set: string): number[] {
  return set.split(',').flatMap((part) => {
    const [a, b] = part.split(':').map(Number) as [number, number | undefined];
    if (b === undefined) return [a];
    const out: number[] = [];
    for (let v = Math.min(a, b); v <= Math.max(a, b); v++) out.push(v);
    return out;
  });
}

/** A client's copy of one context, kept only from ADDTO, REMOVEFROM and EXPUNGE as RFC 5267 4.3 says. */
class ClientContext {
  ids: number[] = [];
  constructor(
    readonly tag: string,
    readonly uid: boolean,
  ) {}

  apply(line: string): void {
    if (!this.uid) {
      const expunged = /^\* (\d+) EXPUNGE$/.exec(line);
      if (expunged) {
        const seq = Number(expunged[1]);
        expect(this.ids).not.toContain(seq); // REMOVEFROM came first
        this.ids = this.ids.map((id) => (id > seq ? id - 1 : id));
        return;
      }
    }
    if (!line.startsWith(`* ESEARCH (TAG "${this.tag}")`)) return;
    for (const match of line.matchAll(/(ADDTO|REMOVEFROM) \(([^)]*)\)/g)) {
      const items = match[2]!.split(' ');
      for (let i = 0; i < items.length; i += 2) {
        const position = Number(items[i]);
        const ids = expandSet(items[i + 1]!);
        if (match[1] === 'ADDTO') {
          if (position === 0) this.ids = [...this.ids, ...ids].sort((a, b) => a - b);
          else this.ids.splice(position - 1, 0, ...ids);
        } else if (position === 0) {
          this.ids = this.ids.filter((id) => !ids.includes(id));
        } else {
          expect(this.ids.slice(position - 1, position - 1 + ids.length)).toEqual(ids);
          this.ids.splice(position - 1, ids.length);
        }
      }
    }
  }
}

describe('RETURN (UPDATE) contexts against a fresh search, under random changes', () => {
  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: the client's copy of every context equals the search run again`, async () => {
      let state = seed;
      const random = (n: number): number => {
        state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
        return (state >>> 16) % n; // the low bits of this generator cycle
      };
      const subjects = ['kiwi', 'apple', 'fig', 'date', 'lime', 'pear', 'plum'];
      const { h, other } = await twoSessions(subjects.slice(0, 5));
      const contexts = [
        { client: new ClientContext('K1', true), start: 'K1 UID SEARCH RETURN (UPDATE ALL) FLAGGED', fresh: 'UID SEARCH FLAGGED', word: 'SEARCH' },
        { client: new ClientContext('K2', true), start: 'K2 UID SORT RETURN (UPDATE ALL) (SUBJECT) UTF-8 FLAGGED', fresh: 'UID SORT (SUBJECT) UTF-8 FLAGGED', word: 'SORT' },
        { client: new ClientContext('K3', false), start: 'K3 SORT RETURN (UPDATE ALL) (REVERSE ARRIVAL) UTF-8 UNFLAGGED', fresh: 'SORT (REVERSE ARRIVAL) UTF-8 UNFLAGGED', word: 'SORT' },
      ];
      for (const context of contexts) {
        const all = /ALL (\S+)/.exec((await h.command(context.start)).lines[0]!)?.[1];
        context.client.ids = all ? expandSet(all) : [];
      }
      for (let round = 0; round < 30; round++) {
        const exists = Number(/\* (\d+) EXISTS/.exec((await other.command(`O${round}a NOOP`)).text)?.[1] ?? '0');
        if (random(3) === 0) await h.store.deliver('alice', 'INBOX', message({ subject: subjects[random(subjects.length)]! }), random(2) ? ['\\Flagged'] : [], 1_700_000_500_000 + round * 1000);
        const some = (): string => [0, 1, 2].map(() => 1 + random(Math.max(exists, 1))).join(',');
        if (exists > 0) await other.command(`O${round}b STORE ${some()} ${random(2) ? '+' : '-'}FLAGS (\\Flagged)`);
        if (exists > 3 && round % 3 === 2) {
          await other.command(`O${round}c STORE ${some()} +FLAGS (\\Deleted)`);
          await other.command(`O${round}d EXPUNGE`);
        }
        for (const line of (await h.command(`N${round} NOOP`)).lines) for (const context of contexts) context.client.apply(line);
        for (const context of contexts) {
          const line = (await h.command(`F${round} ${context.fresh}`)).lines[0]!;
          const fresh = line === `* ${context.word}` ? [] : line.slice(`* ${context.word} `.length).split(' ').map(Number);
          expect(context.client.ids, `${context.client.tag} after round ${round}`).toEqual(fresh);
        }
      }
    });
  }
});
