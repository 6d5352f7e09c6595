// Transcripts: CONDSTORE and QRESYNC (RFC 7162): HIGHESTMODSEQ, MODSEQ, CHANGEDSINCE,
// UNCHANGEDSINCE/MODIFIED, SELECT (QRESYNC ...), VANISHED and VANISHED (EARLIER).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ImapHarness, message } from './harness';

let harness: ImapHarness;
beforeEach(async () => {
  harness = await ImapHarness.loggedIn();
  for (const subject of ['a', 'b', 'c', 'd']) await harness.appendMessage('INBOX', message({ subject }));
});
afterEach(async () => {
  await harness.close();
});

const modseqOf = (text: string): number => Number(/HIGHESTMODSEQ (\d+)/.exec(text)![1]);

describe('CONDSTORE', () => {
  it('SELECT (CONDSTORE) reports HIGHESTMODSEQ; FETCH MODSEQ and CHANGEDSINCE', async () => {
    const select = await harness.command('c1 SELECT INBOX (CONDSTORE)');
    expect(select.text).toContain('* OK [HIGHESTMODSEQ 5] Highest mod-sequence');
    expect((await harness.command('c2 FETCH 1:2 (MODSEQ)')).lines.slice(0, 2)).toEqual(['* 1 FETCH (MODSEQ (2))', '* 2 FETCH (MODSEQ (3))']);
    await harness.command('c3 STORE 3 +FLAGS.SILENT (\\Seen)');
    const changed = await harness.command('c4 FETCH 1:* (FLAGS) (CHANGEDSINCE 5)');
    expect(changed.text).toBe('* 3 FETCH (FLAGS (\\Seen \\Recent) MODSEQ (6))\r\nc4 OK FETCH completed\r\n');
    expect((await harness.command('c5 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 6)')).text).toBe('c5 OK FETCH completed\r\n');
  });

  it('STORE UNCHANGEDSINCE applies where unchanged and reports the rest as MODIFIED', async () => {
    await harness.command('s0 SELECT INBOX');
    await harness.command('s1 STORE 2 +FLAGS (\\Flagged)');
    const reply = await harness.command('s2 STORE 1:3 (UNCHANGEDSINCE 5) +FLAGS (\\Seen)');
    expect(reply.text).toBe(
      '* 1 FETCH (FLAGS (\\Seen \\Recent) MODSEQ (7))\r\n* 3 FETCH (FLAGS (\\Seen \\Recent) MODSEQ (8))\r\ns2 OK [MODIFIED 2] Conditional STORE failed for some messages\r\n',
    );
    const uidReply = await harness.command('s3 UID STORE 2,4 (UNCHANGEDSINCE 5) +FLAGS.SILENT (\\Deleted)');
    expect(uidReply.text).toBe('* 4 FETCH (UID 4 MODSEQ (9))\r\ns3 OK [MODIFIED 2] Conditional STORE failed for some messages\r\n');
  });

  it('once active, flag changes from elsewhere carry MODSEQ', async () => {
    await harness.command('e0 ENABLE CONDSTORE');
    await harness.command('e1 SELECT INBOX');
    await (await harness.store.sessionFor('alice')).storeFlags('INBOX', [4], { mode: 'add', flags: ['$Done'] });
    // $Done is new to this session: FLAGS announces it before the FETCH uses it.
    expect((await harness.command('e2 NOOP')).lines.slice(0, 3)).toEqual([
      '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Done)',
      '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Done \\*)] Flags permitted',
      '* 4 FETCH (UID 4 FLAGS ($Done \\Recent) MODSEQ (6))',
    ]);
  });

  it('STATUS HIGHESTMODSEQ, and EXPUNGE reports the new HIGHESTMODSEQ', async () => {
    expect((await harness.command('t1 STATUS INBOX (HIGHESTMODSEQ)')).lines[0]).toBe('* STATUS "INBOX" (HIGHESTMODSEQ 5)');
    await harness.command('t2 SELECT INBOX');
    await harness.command('t3 STORE 1 +FLAGS.SILENT (\\Deleted)');
    expect((await harness.command('t4 EXPUNGE')).tagged).toBe('t4 OK [HIGHESTMODSEQ 7] EXPUNGE completed');
  });
});

describe('QRESYNC', () => {
  async function changesWhileAway(): Promise<{ uidValidity: number; modseq: number }> {
    const select = await harness.command('q0 SELECT INBOX (CONDSTORE)');
    const uidValidity = Number(/UIDVALIDITY (\d+)/.exec(select.text)![1]);
    const modseq = modseqOf(select.text);
    await harness.command('q1 UNSELECT');
    const device = await harness.store.sessionFor('alice');
    await device.storeFlags('INBOX', [2, 3], { mode: 'add', flags: ['\\Deleted'] });
    await device.expunge('INBOX', [2]);
    await device.storeFlags('INBOX', [4], { mode: 'add', flags: ['\\Answered'] });
    return { uidValidity, modseq };
  }

  it('needs ENABLE QRESYNC first', async () => {
    expect((await harness.command('q1 SELECT INBOX (QRESYNC (1 1))')).tagged).toBe('q1 BAD QRESYNC parameter needs ENABLE QRESYNC first');
  });

  it('SELECT (QRESYNC ...) answers VANISHED (EARLIER) and the flags that changed', async () => {
    await harness.command('q0 ENABLE QRESYNC');
    const { uidValidity, modseq } = await changesWhileAway();
    const reply = await harness.command(`q2 SELECT INBOX (QRESYNC (${uidValidity} ${modseq} 1:4))`);
    expect(reply.text).toContain('* VANISHED (EARLIER) 2\r\n* 2 FETCH (UID 3 FLAGS (\\Deleted) MODSEQ (7))\r\n* 3 FETCH (UID 4 FLAGS (\\Answered) MODSEQ (9))\r\n');
    expect(reply.tagged).toBe('q2 OK [READ-WRITE] SELECT completed: INBOX');
  });

  it('known UIDs restrict VANISHED; a different UIDVALIDITY means a full resync', async () => {
    await harness.command('q0 ENABLE QRESYNC');
    const { uidValidity, modseq } = await changesWhileAway();
    expect((await harness.command(`q2 EXAMINE INBOX (QRESYNC (${uidValidity} ${modseq} 3:4))`)).text).not.toContain('VANISHED');
    const other = await harness.command(`q3 EXAMINE INBOX (QRESYNC (${uidValidity + 1} ${modseq}))`);
    expect(other.text).not.toContain('VANISHED');
    expect(other.text).not.toContain('FETCH');
  });

  it('UID FETCH (CHANGEDSINCE n VANISHED) reports expunged UIDs; EXPUNGE reports VANISHED', async () => {
    await harness.command('q0 ENABLE QRESYNC');
    const { modseq } = await changesWhileAway();
    await harness.command('q2 SELECT INBOX');
    const reply = await harness.command(`q3 UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${modseq} VANISHED)`);
    expect(reply.text).toBe(
      '* VANISHED (EARLIER) 2\r\n* 2 FETCH (UID 3 FLAGS (\\Deleted) MODSEQ (7))\r\n* 3 FETCH (UID 4 FLAGS (\\Answered) MODSEQ (9))\r\nq3 OK FETCH completed\r\n',
    );
    expect((await harness.command('q4 FETCH 1 (FLAGS) (CHANGEDSINCE 1 VANISHED)')).tagged).toBe('q4 BAD VANISHED is only allowed with UID FETCH');
    expect((await harness.command('q5 EXPUNGE')).text).toBe('* VANISHED 3\r\nq5 OK [HIGHESTMODSEQ 10] EXPUNGE completed\r\n');
  });

  it('re-selecting sends [CLOSED] first', async () => {
    await harness.command('q0 SELECT INBOX');
    expect((await harness.command('q1 SELECT Sent')).lines[0]).toBe('* OK [CLOSED] Previous mailbox closed');
  });
});
