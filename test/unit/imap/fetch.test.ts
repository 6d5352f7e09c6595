// Transcripts: FETCH and UID FETCH: every data item and macro, body sections, partial fetches,
// \Seen on non-peek fetches, UID ranges with "*" and reversed ranges.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { multipartMessage } from './fixtures';
import { imapLimits } from '../../../mail/imap/limits';
import { ImapHarness, message, newStore } from './harness';
import { MessageCache } from '../../../mail/imap/messageCache';

let harness: ImapHarness;
const simple = message({ subject: 'Simple', body: 'Hello Alice.' });

beforeEach(async () => {
  harness = await ImapHarness.loggedIn();
  await harness.appendMessage('INBOX', simple, ['\\Flagged'], Date.UTC(2023, 10, 14, 10, 0, 0));
  await harness.appendMessage('INBOX', multipartMessage, [], Date.UTC(2023, 10, 15, 7, 30, 0));
  await harness.appendMessage('INBOX', message({ subject: 'Third' }), ['\\Seen']);
  await harness.command('s1 SELECT INBOX');
});
afterEach(async () => {
  await harness.close();
});

describe('FETCH data items', () => {
  it('FLAGS, UID, INTERNALDATE, RFC822.SIZE', async () => {
    const reply = await harness.command('f1 FETCH 1 (FLAGS UID INTERNALDATE RFC822.SIZE)');
    expect(reply.lines[0]).toBe(`* 1 FETCH (FLAGS (\\Flagged \\Recent) UID 1 INTERNALDATE "14-Nov-2023 10:00:00 +0000" RFC822.SIZE ${Buffer.byteLength(simple)})`);
  });

  it('macros ALL, FAST and FULL expand as RFC 3501 says', async () => {
    expect((await harness.command('f1 FETCH 1 FAST')).lines[0]).toMatch(/^\* 1 FETCH \(FLAGS \(.*\) INTERNALDATE ".*" RFC822\.SIZE \d+\)$/);
    expect((await harness.command('f2 FETCH 1 ALL')).lines[0]).toMatch(/^\* 1 FETCH \(FLAGS .* INTERNALDATE .* RFC822\.SIZE \d+ ENVELOPE \("Tue, 14 Nov 2023 10:00:00 \+0000" "Simple" /);
    const full = (await harness.command('f3 FETCH 1 FULL')).lines[0]!;
    expect(full).toContain('ENVELOPE (');
    expect(full).toMatch(/BODY \("text" "plain" \("charset" "us-ascii"\) NIL NIL "7BIT" 14 1\)\)$/);
  });

  it('ENVELOPE and BODYSTRUCTURE of a multipart message', async () => {
    const reply = await harness.command('f1 FETCH 2 (ENVELOPE BODYSTRUCTURE)');
    expect(reply.lines[0]).toContain('ENVELOPE ("Wed, 15 Nov 2023 08:30:00 +0100" "=?utf-8?B?UmFwcG9ydCBmaW5hbA==?= and more" (("=?utf-8?Q?Andr=C3=A9?=" NIL "andre" "example.org"))');
    expect(reply.lines[0]).toContain('BODYSTRUCTURE (((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"quoted-printable\" 37 1 NIL NIL NIL NIL)');
    expect(reply.lines[0]).toMatch(/"mixed" \("boundary" "outer"\) NIL NIL NIL\)\)$/);
  });

  it('body sections: HEADER.FIELDS, TEXT, nested parts, MIME, encapsulated HEADER, missing parts', async () => {
    const reply = await harness.command('f1 FETCH 2 (BODY.PEEK[HEADER.FIELDS (Subject To)] BODY.PEEK[1.1] BODY.PEEK[2.HEADER] BODY.PEEK[2.1] BODY.PEEK[3.MIME] BODY.PEEK[9])');
    const subject = 'Subject: =?utf-8?B?UmFwcG9ydCBmaW5hbA==?= and more\r\n';
    const to = 'To: Team: alice@example.org, "Bob B." <bob@example.org>;, carol@example.org\r\n';
    const fields = `${to}${subject}\r\n`;
    const innerHeader = 'From: inner@example.org\r\nSubject: Inner message\r\nContent-Type: text/plain\r\n\r\n';
    const mime = 'Content-Type: application/octet-stream; name="data.bin"\r\nContent-Disposition: attachment; filename="data.bin"\r\nContent-Transfer-Encoding: base64\r\nContent-ID: <att1@example.org>\r\nContent-Language: en, fr\r\n\r\n';
    expect(reply.text).toBe(
      `* 2 FETCH (BODY[HEADER.FIELDS (Subject To)] {${fields.length}}\r\n${fields}` +
        ` BODY[1.1] {37}\r\nCaf=C3=A9 plain with searchable zebra BODY[2.HEADER] {${innerHeader.length}}\r\n${innerHeader}` +
        ` BODY[2.1] {10}\r\nInner body BODY[3.MIME] {${mime.length}}\r\n${mime} BODY[9] NIL)\r\nf1 OK FETCH completed\r\n`,
    );
  });

  it('HEADER.FIELDS.NOT and TEXT of the top message', async () => {
    const reply = await harness.command('f1 FETCH 1 (BODY.PEEK[HEADER.FIELDS.NOT (From To Date Message-ID)] BODY.PEEK[TEXT])');
    expect(reply.text).toBe('* 1 FETCH (BODY[HEADER.FIELDS.NOT (From To Date Message-ID)] {19}\r\nSubject: Simple\r\n\r\n BODY[TEXT] {14}\r\nHello Alice.\r\n)\r\nf1 OK FETCH completed\r\n');
  });

  it('partial fetches <offset.length> answer with the origin only, "" past the end', async () => {
    const reply = await harness.command('f1 FETCH 1 (BODY.PEEK[TEXT]<6.5> BODY.PEEK[TEXT]<100.5> BODY.PEEK[]<0.4>)');
    expect(reply.text).toBe('* 1 FETCH (BODY[TEXT]<6> {5}\r\nAlice BODY[TEXT]<100> "" BODY[]<0> {4}\r\nFrom)\r\nf1 OK FETCH completed\r\n');
    expect((await harness.command('f2 FETCH 1 BODY.PEEK[]<5.0>')).tagged).toBe('f2 BAD partial length must be positive');
  });

  it('RFC822, RFC822.HEADER and RFC822.TEXT', async () => {
    const reply = await harness.command('f1 FETCH 1 (RFC822.HEADER RFC822.TEXT)');
    expect(reply.text).toContain('RFC822.HEADER {');
    expect(reply.text).toContain('RFC822.TEXT {14}\r\nHello Alice.\r\n');
    expect(reply.text).toContain('FLAGS (\\Flagged \\Seen \\Recent)');
    const whole = await harness.command('f2 FETCH 1 RFC822');
    expect(whole.text).toContain(`RFC822 {${Buffer.byteLength(simple)}}\r\n${simple})`);
  });

  it('BODY[] sets \\Seen and returns the new FLAGS; BODY.PEEK[] does not', async () => {
    const peek = await harness.command('f1 FETCH 1 BODY.PEEK[]');
    expect(peek.text).not.toContain('FLAGS');
    const read = await harness.command('f2 FETCH 1 BODY[]');
    expect(read.text).toMatch(/FLAGS \(\\Flagged \\Seen \\Recent\)\)\r\nf2 OK/);
    const again = await harness.command('f3 FETCH 1 BODY[]');
    expect(again.text).not.toContain('FLAGS');
  });

  it('does not set \\Seen in a mailbox opened with EXAMINE', async () => {
    await harness.command('e1 EXAMINE INBOX');
    const read = await harness.command('e2 FETCH 1 BODY[]');
    expect(read.text).not.toContain('\\Seen');
    await harness.command('e3 SELECT INBOX');
    expect((await harness.command('e4 FETCH 1 FLAGS')).lines[0]).toBe('* 1 FETCH (FLAGS (\\Flagged))');
  });

  it('rejects unknown items', async () => {
    expect((await harness.command('f1 FETCH 1 (FLAGS BOGUS)')).tagged).toBe('f1 BAD unknown fetch item BOGUS');
    expect((await harness.command('f3 FETCH 1 BODY[MIME]')).tagged).toBe('f3 BAD MIME needs a part number (e.g. 1.MIME)');
    expect((await harness.command('f4 FETCH 1 (ALL)')).tagged).toBe('f4 BAD unknown fetch item ALL');
  });
});

describe('message sets', () => {
  it('sequence ranges with * and reversed ranges', async () => {
    expect((await harness.command('r1 FETCH 2:* UID')).lines.slice(0, 2)).toEqual(['* 2 FETCH (UID 2)', '* 3 FETCH (UID 3)']);
    expect((await harness.command('r2 FETCH 3:2 UID')).lines.slice(0, 2)).toEqual(['* 2 FETCH (UID 2)', '* 3 FETCH (UID 3)']);
    expect((await harness.command('r3 FETCH *:* UID')).lines[0]).toBe('* 3 FETCH (UID 3)');
  });

  it('UID FETCH always returns UID, skips missing UIDs, and n:* includes the last message', async () => {
    await harness.command('x1 STORE 2 +FLAGS.SILENT (\\Deleted)');
    await harness.command('x2 EXPUNGE');
    const reply = await harness.command('u1 UID FETCH 1:* FLAGS');
    expect(reply.lines.slice(0, 2)).toEqual(['* 1 FETCH (UID 1 FLAGS (\\Flagged \\Recent))', '* 2 FETCH (UID 3 FLAGS (\\Seen \\Recent))']);
    expect((await harness.command('u2 UID FETCH 999:* UID')).lines[0]).toBe('* 2 FETCH (UID 3)');
    expect((await harness.command('u3 UID FETCH 3:1 UID')).lines.slice(0, 2)).toEqual(['* 1 FETCH (UID 1)', '* 2 FETCH (UID 3)']);
    expect((await harness.command('u4 UID FETCH 2 UID')).text).toBe('u4 OK FETCH completed\r\n');
  });

  it('refuses sequence numbers past the end', async () => {
    expect((await harness.command('r1 FETCH 4 UID')).tagged).toBe('r1 BAD message 4 does not exist: the mailbox has 3 messages');
  });
});

describe('commands over many messages read ahead', () => {
  // A backend whose reads each take a turn, counting how many are out at once: a FETCH or SEARCH
  // over a cold folder must not wait one storage round trip per message.
  async function countingHarness() {
    const store = newStore();
    const authenticate = store.authenticator.authenticate;
    const reads = { inFlight: 0, most: 0, total: 0 };
    (store.authenticator as { authenticate: typeof authenticate }).authenticate = async (username, password) => {
      const session = await authenticate(username, password);
      const read = session.readMessage.bind(session);
      (session as { readMessage: typeof read }).readMessage = async (ref) => {
        reads.total++;
        reads.most = Math.max(reads.most, ++reads.inFlight);
        await new Promise((resolve) => setImmediate(resolve));
        try {
          return await read(ref);
        } finally {
          reads.inFlight--;
        }
      };
      return session;
    };
    for (let i = 0; i < 40; i++) await store.deliver('alice', 'INBOX', message({ subject: `Note ${i}`, body: i % 4 === 0 ? 'needle here' : 'hay' }));
    const many = await ImapHarness.loggedIn({ store });
    await many.command('s1 SELECT INBOX');
    return { many, reads };
  }

  it('FETCH ENVELOPE of 40 cold messages keeps several reads in flight, answers in order', async () => {
    const { many, reads } = await countingHarness();
    const reply = await many.command('f1 FETCH 1:* (ENVELOPE)');
    expect(reply.tagged).toBe('f1 OK FETCH completed');
    const subjects = reply.lines.filter((l) => l.startsWith('* ')).map((l) => /"Note (\d+)"/.exec(l)?.[1]);
    expect(subjects).toEqual(Array.from({ length: 40 }, (_, i) => String(i)));
    expect(reads.most).toBeGreaterThan(1);
    expect(reads.most).toBeLessThanOrEqual(imapLimits.messageReadAheadMax + 1);
    await many.close();
  });

  it('SEARCH BODY of 40 cold messages reads ahead and finds the same messages', async () => {
    const { many, reads } = await countingHarness();
    const reply = await many.command('q1 SEARCH BODY needle');
    expect(reply.lines[0]).toBe(`* SEARCH ${Array.from({ length: 10 }, (_, i) => i * 4 + 1).join(' ')}`);
    expect(reads.most).toBeGreaterThan(1);
    expect(reads.total).toBe(40);
    await many.close();
  });
});

describe('large responses leave in few writes', () => {
  it('FETCH 1:* (FLAGS) of 2,000 messages is a handful of socket writes, not one per message; a larger one is cut at outboxFlushBytes', async () => {
    const store = newStore();
    for (let i = 0; i < 2000; i++) await store.deliver('alice', 'INBOX', message({ subject: `n${i}`, body: 'x' }), i % 2 ? ['\\Seen'] : []);
    const h = await ImapHarness.loggedIn({ store });
    await h.command('s1 SELECT INBOX');
    await h.settle();
    const before = h.socket.chunksOut.length;
    const reply = await h.command('f1 FETCH 1:* (FLAGS)');
    expect(reply.lines.filter((l) => l.startsWith('* '))).toHaveLength(2000);
    expect(h.socket.chunksOut.length - before).toBeLessThanOrEqual(4);
    // Bodies: 2,000 x ~100 bytes, more than one outbox: flushed in pieces of about outboxFlushBytes.
    const big = await h.command('f2 FETCH 1:* (FLAGS BODY.PEEK[])');
    expect(big.tagged).toBe('f2 OK FETCH completed');
    const chunks = h.socket.chunksOut.slice(before);
    expect(Math.max(...chunks.map((c) => c.length))).toBeLessThanOrEqual(imapLimits.outboxFlushBytes + 64 * 1024);
    await h.close();
  });
});

describe('header searches of a folder bigger than the raw cache', () => {
  it('SEARCH SUBJECT/FROM read each message once; later ones read nothing, and find what a full parse finds', async () => {
    const store = newStore();
    const authenticate = store.authenticator.authenticate;
    let reads = 0;
    (store.authenticator as { authenticate: typeof authenticate }).authenticate = async (username, password) => {
      const session = await authenticate(username, password);
      const read = session.readMessage.bind(session);
      (session as { readMessage: typeof read }).readMessage = async (ref) => {
        reads++;
        return read(ref);
      };
      return session;
    };
    for (let i = 0; i < 60; i++) await store.deliver('alice', 'INBOX', message({ subject: i % 3 === 0 ? `=?UTF-8?Q?caf=C3=A9_${i}?=` : `plain ${i}`, body: 'x' }));
    // A raw cache of a few hundred bytes: every message falls out of it at once.
    const h = await ImapHarness.loggedIn({ store, cache: new MessageCache(512) });
    await h.command('s1 SELECT INBOX');
    const first = await h.command('q1 SEARCH SUBJECT café');
    expect(first.lines[0]).toBe(`* SEARCH ${Array.from({ length: 20 }, (_, i) => i * 3 + 1).join(' ')}`);
    const afterFirst = reads;
    expect(afterFirst).toBe(60);
    const again = await h.command('q2 SEARCH OR SUBJECT "plain 1" FROM nobody@example.org');
    expect(again.lines[0]).toMatch(/^\* SEARCH 2 /);
    expect(reads).toBe(afterFirst);
    await h.close();
  });
});
