// Transcripts: STORE, COPY, MOVE, EXPUNGE (UIDPLUS codes COPYUID/APPENDUID, UID EXPUNGE), CLOSE,
// UNSELECT, CHECK and read-only mailboxes.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ImapHarness, message } from './harness';

let harness: ImapHarness;
beforeEach(async () => {
  harness = await ImapHarness.loggedIn();
  for (const subject of ['one', 'two', 'three', 'four']) await harness.appendMessage('INBOX', message({ subject }));
  await harness.command('s1 SELECT INBOX');
});
afterEach(async () => {
  await harness.close();
});

describe('STORE', () => {
  it('+FLAGS, -FLAGS and FLAGS answer with the resulting flags', async () => {
    expect((await harness.command('t1 STORE 1:2 +FLAGS (\\Seen $Work)')).lines.slice(0, 4)).toEqual([
      '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work)',
      '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work \\*)] Flags permitted',
      '* 1 FETCH (FLAGS (\\Seen $Work \\Recent))',
      '* 2 FETCH (FLAGS (\\Seen $Work \\Recent))',
    ]);
    expect((await harness.command('t2 STORE 1 -FLAGS $work')).lines[0]).toBe('* 1 FETCH (FLAGS (\\Seen \\Recent))');
    expect((await harness.command('t3 STORE 2 FLAGS (\\Answered)')).lines[0]).toBe('* 2 FETCH (FLAGS (\\Answered \\Recent))');
    expect((await harness.command('t4 STORE 2 FLAGS ()')).lines[0]).toBe('* 2 FETCH (FLAGS (\\Recent))');
  });

  it('.SILENT answers only the tagged OK; UID STORE includes UID', async () => {
    expect((await harness.command('t1 STORE 1 +FLAGS.SILENT (\\Flagged)')).text).toBe('t1 OK STORE completed\r\n');
    expect((await harness.command('t2 UID STORE 3:* +FLAGS (\\Draft)')).lines.slice(0, 2)).toEqual([
      '* 3 FETCH (UID 3 FLAGS (\\Draft \\Recent))',
      '* 4 FETCH (UID 4 FLAGS (\\Draft \\Recent))',
    ]);
  });

  it('refuses bad data items and \\Recent is silently ignored', async () => {
    expect((await harness.command('t1 STORE 1 COLOUR red')).tagged).toBe('t1 BAD STORE: unknown data item COLOUR; use FLAGS, +FLAGS or -FLAGS (optionally .SILENT)');
    expect((await harness.command('t2 STORE 1 +FLAGS (\\Recent)')).lines[0]).toBe('* 1 FETCH (FLAGS (\\Recent))');
  });
});

describe('COPY and MOVE', () => {
  it('COPY answers COPYUID with source and destination UIDs in order', async () => {
    expect((await harness.command('c1 COPY 2:3 Archive')).tagged).toBe('c1 OK [COPYUID 1005 2:3 1:2] COPY completed');
    expect((await harness.command('c2 UID COPY 4,1 Archive')).tagged).toBe('c2 OK [COPYUID 1005 1,4 3:4] COPY completed');
    expect((await harness.command('c3 STATUS Archive (MESSAGES)')).lines[0]).toBe('* STATUS "Archive" (MESSAGES 4)');
    expect((await harness.command('c4 UID COPY 99 Archive')).tagged).toBe('c4 OK COPY completed: no messages matched');
  });

  it('COPY and MOVE to a missing folder answer TRYCREATE', async () => {
    expect((await harness.command('c1 COPY 1 Nowhere')).tagged).toBe('c1 NO [TRYCREATE] folder "Nowhere" does not exist');
    expect((await harness.command('c2 MOVE 1 Nowhere')).tagged).toBe('c2 NO [TRYCREATE] folder "Nowhere" does not exist');
  });

  it('MOVE sends COPYUID untagged, then EXPUNGE for each moved message, then OK', async () => {
    const reply = await harness.command('m1 MOVE 2:3 Trash');
    expect(reply.text).toBe('* OK [COPYUID 1003 2:3 1:2] Moved\r\n* 3 EXPUNGE\r\n* 2 EXPUNGE\r\nm1 OK MOVE completed\r\n');
    expect((await harness.command('m2 UID MOVE 4 Trash')).text).toBe('* OK [COPYUID 1003 4 3] Moved\r\n* 2 EXPUNGE\r\nm2 OK MOVE completed\r\n');
    expect((await harness.command('m3 FETCH 1:* UID')).lines.slice(0, -1)).toEqual(['* 1 FETCH (UID 1)']);
  });
});

describe('EXPUNGE, UID EXPUNGE, CLOSE, UNSELECT', () => {
  it('EXPUNGE removes \\Deleted messages, reporting sequence numbers as they shift', async () => {
    await harness.command('e1 STORE 1,3,4 +FLAGS.SILENT (\\Deleted)');
    expect((await harness.command('e2 EXPUNGE')).text).toBe('* 4 EXPUNGE\r\n* 3 EXPUNGE\r\n* 1 EXPUNGE\r\ne2 OK EXPUNGE completed\r\n');
    expect((await harness.command('e3 FETCH 1 UID')).lines[0]).toBe('* 1 FETCH (UID 2)');
  });

  it('UID EXPUNGE removes only the listed \\Deleted messages', async () => {
    await harness.command('e1 STORE 1:3 +FLAGS.SILENT (\\Deleted)');
    expect((await harness.command('e2 UID EXPUNGE 2:3')).text).toBe('* 3 EXPUNGE\r\n* 2 EXPUNGE\r\ne2 OK EXPUNGE completed\r\n');
    expect((await harness.command('e3 SEARCH DELETED')).lines[0]).toBe('* SEARCH 1');
    expect((await harness.command('e4 UID EXPUNGE')).tagged).toBe('e4 BAD UID EXPUNGE needs a UID set');
  });

  it('CLOSE expunges silently and deselects; UNSELECT deselects without expunging', async () => {
    await harness.command('e1 STORE 1 +FLAGS.SILENT (\\Deleted)');
    expect((await harness.command('e2 UNSELECT')).text).toBe('e2 OK UNSELECT completed\r\n');
    expect((await harness.command('e3 STATUS INBOX (MESSAGES)')).lines[0]).toBe('* STATUS "INBOX" (MESSAGES 4)');
    await harness.command('e4 SELECT INBOX');
    expect((await harness.command('e5 CLOSE')).text).toBe('e5 OK CLOSE completed\r\n');
    expect((await harness.command('e6 STATUS INBOX (MESSAGES)')).lines[0]).toBe('* STATUS "INBOX" (MESSAGES 3)');
    expect((await harness.command('e7 CLOSE')).tagged).toBe('e7 BAD CLOSE needs a selected mailbox (SELECT or EXAMINE first)');
  });

  it('CHECK is accepted in the selected state', async () => {
    expect((await harness.command('k1 CHECK')).tagged).toBe('k1 OK CHECK completed');
  });
});

describe('read-only mailboxes (EXAMINE)', () => {
  it('refuse STORE, EXPUNGE and MOVE; CLOSE does not expunge', async () => {
    await harness.command('r0 STORE 1 +FLAGS.SILENT (\\Deleted)');
    const examine = await harness.command('r1 EXAMINE INBOX');
    expect(examine.text).toContain('* OK [CLOSED] Previous mailbox closed');
    expect(examine.text).toContain('* OK [PERMANENTFLAGS ()] No permanent flags: read-only');
    expect(examine.tagged).toBe('r1 OK [READ-ONLY] EXAMINE completed: INBOX');
    expect((await harness.command('r2 STORE 1 +FLAGS (\\Seen)')).tagged).toBe('r2 NO [READ-ONLY] Mailbox is read-only');
    expect((await harness.command('r3 EXPUNGE')).tagged).toBe('r3 NO [READ-ONLY] Mailbox is read-only');
    expect((await harness.command('r4 MOVE 1 Trash')).tagged).toBe('r4 NO [READ-ONLY] Mailbox is read-only');
    expect((await harness.command('r5 COPY 1 Trash')).tagged).toMatch(/^r5 OK \[COPYUID/);
    await harness.command('r6 CLOSE');
    expect((await harness.command('r7 STATUS INBOX (MESSAGES)')).lines[0]).toBe('* STATUS "INBOX" (MESSAGES 4)');
  });
});
