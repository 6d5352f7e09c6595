// Transcripts: MULTIAPPEND (RFC 3502: several messages, all or none) and CATENATE (RFC 4469:
// messages assembled from text and URL parts), in every state, pipelined, and seen by a second
// session of the mailbox.
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryMailStore } from '../../../mail/memory/backend';
import { multipartMessage } from './fixtures';
import { ImapHarness, message, newStore } from './harness';

const open: ImapHarness[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
});

async function session(store = newStore(), user = 'alice', password = 'secret'): Promise<ImapHarness> {
  const h = await ImapHarness.loggedIn({ store }, user, password);
  open.push(h);
  return h;
}

const lit = (text: string): string => `{${Buffer.byteLength(text)}+}\r\n${text}`;

describe('MULTIAPPEND (RFC 3502)', () => {
  it('appends several messages with their own flags and dates, answering one APPENDUID range', async () => {
    const h = await session();
    const one = message({ subject: 'one' });
    const two = message({ subject: 'two' });
    const reply = await h.command(`A003 APPEND INBOX (\\Seen) ${lit(one)} (\\Flagged $Work) " 1-Jul-2002 10:00:00 +0000" ${lit(two)}`);
    expect(reply.tagged).toBe('A003 OK [APPENDUID 1000 1:2] APPEND completed');
    await h.command('s SELECT INBOX');
    expect((await h.command('f FETCH 1:2 (FLAGS INTERNALDATE)')).lines.filter((l) => l.startsWith('* '))).toEqual([
      expect.stringMatching(/^\* 1 FETCH \(FLAGS \(\\Seen \\Recent\) INTERNALDATE "\d\d-\w{3}-\d{4} /),
      '* 2 FETCH (FLAGS (\\Flagged $Work \\Recent) INTERNALDATE "01-Jul-2002 10:00:00 +0000")',
    ]);
  });

  it('appends none when one fails: a missing folder, a bad message, the quota', async () => {
    const store = new MemoryMailStore({ uidValidityStart: 1000 });
    store.addUser('carol', 'pw', { quotaBytes: 700 });
    const h = await session(store, 'carol', 'pw');
    const small = message({ subject: 'small' });
    const big = message({ subject: 'big', body: 'x'.repeat(600) });
    expect((await h.command(`m1 APPEND Nowhere ${lit(small)} ${lit(small)}`)).tagged).toBe('m1 NO [TRYCREATE] folder "Nowhere" does not exist; none of the 2 messages was appended');
    expect((await h.command(`m2 APPEND INBOX ${lit(small)} (\\Bogus) ${lit(small)}`)).tagged).toBe('m2 BAD APPEND: unknown system flag \\Bogus');
    expect((await h.command(`m3 APPEND INBOX ${lit(small)} ${lit(big)}`)).tagged).toMatch(/^m3 NO \[OVERQUOTA\] .*; none of the 2 messages was appended$/);
    expect((await h.command('m4 STATUS INBOX (MESSAGES)')).lines[0]).toBe('* STATUS "INBOX" (MESSAGES 0)');
    expect((await h.command(`m5 APPEND INBOX ${lit(small)} {0+}\r\n`)).tagged).toBe('m5 NO [CANNOT] Message is empty');
  });

  it('pipelined, in the selected state, seen by a second session as new messages', async () => {
    const h = await session();
    await h.command('s SELECT INBOX');
    const other = await session(h.store);
    await other.command('o SELECT INBOX');
    h.take();
    h.send(`p1 APPEND INBOX ${lit(message())} ${lit(message())} ${lit(message())}\r\np2 NOOP\r\n`);
    const text = await h.waitFor(/p2 OK[^\r]*\r\n/);
    expect(text).toContain('p1 OK [APPENDUID 1000 1:3] APPEND completed');
    expect((await other.command('o1 NOOP')).lines[0]).toBe('* 3 EXISTS');
  });
});

describe('CATENATE (RFC 4469)', () => {
  it('builds a message from TEXT and URL parts of a stored message', async () => {
    const h = await session();
    await h.appendMessage('Drafts', multipartMessage);
    const boundary = '\r\n--------------030308070208000400050907\r\n';
    const reply = await h.command(
      `A003 APPEND Drafts (\\Seen \\Draft $MDNSent) CATENATE (URL "/Drafts;UIDVALIDITY=1002/;UID=1/;section=HEADER" TEXT ${lit(boundary)} URL "/Drafts;UIDVALIDITY=1002/;UID=1/;section=1.1.MIME" URL "imap://alice@localhost/Drafts/;UID=1/;SECTION=1.1" TEXT ${lit(`${boundary.trimEnd()}--\r\n`)})`,
    );
    expect(reply.tagged).toBe('A003 OK [APPENDUID 1002 2] APPEND completed');
    await h.command('s EXAMINE Drafts');
    const fetched = await h.command('f FETCH 2 BODY.PEEK[]');
    expect(fetched.text).toContain('Subject: =?utf-8?B?UmFwcG9ydCBmaW5hbA==?= and more\r\n');
    expect(fetched.text).toContain(`${boundary}Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nCaf=C3=A9 plain with searchable zebra\r\n--------------030308070208000400050907--`);
  });

  it('answers NO [BADURL] for a URL it cannot resolve, and appends nothing', async () => {
    const h = await session();
    await h.appendMessage('Drafts', message());
    for (const [url, why] of [
      ['/Drafts;UIDVALIDITY=7/;UID=1', "the UIDVALIDITY of the URL is not the mailbox's"],
      ['/Drafts/;UID=9', 'message UID 9 does not exist in "Drafts"'],
      ['/Nowhere/;UID=1', 'mailbox "Nowhere" does not exist'],
      ['/Drafts/;UID=1/;SECTION=7', 'the message has no such section'],
      ['http://example.org/x', '"http://example.org/x" is not an IMAP URL of a message on this server'],
    ]) {
      expect((await h.command(`c APPEND INBOX CATENATE (TEXT ${lit('Subject: x\r\n\r\n')} URL "${url}")`)).tagged).toBe(`c NO [BADURL ${url}] CATENATE: ${why}`);
    }
    expect((await h.command('c2 APPEND INBOX CATENATE (TEXT)')).tagged).toBe('c2 BAD CATENATE needs (TEXT literal / URL "url" ...)');
    expect((await h.command('c3 STATUS INBOX (MESSAGES)')).lines[0]).toBe('* STATUS "INBOX" (MESSAGES 0)');
    const stranger = new ImapHarness();
    open.push(stranger);
    expect((await stranger.command(`n APPEND INBOX CATENATE (TEXT ${lit('x')})`)).tagged).toBe('n BAD APPEND needs you to log in first');
  });
});
