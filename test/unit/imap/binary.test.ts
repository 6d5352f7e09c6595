// Transcripts: BINARY (RFC 3516): decoded parts, BINARY.SIZE, partial ranges, literal8 for NUL,
// UNKNOWN-CTE, \Seen, binary APPEND, every state, pipelining and two sessions.
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

describe('FETCH BINARY (RFC 3516)', () => {
  it('undoes quoted-printable and base64; NUL content travels as a literal8', async () => {
    const h = await session();
    await h.appendMessage('INBOX', multipartMessage);
    await h.command('s0 SELECT INBOX');
    const cafe = Buffer.from('Café plain with searchable zebra', 'utf8');
    expect((await h.command('b1 FETCH 1 BINARY.PEEK[1.1]')).text).toBe(`* 1 FETCH (BINARY[1.1] {${cafe.length}}\r\n${cafe.toString('utf8')})\r\nb1 OK FETCH completed\r\n`);
    expect((await h.command('b2 FETCH 1 BINARY.PEEK[3]')).text).toBe('* 1 FETCH (BINARY[3] ~{4}\r\n\x00\x01\x02\x03)\r\nb2 OK FETCH completed\r\n');
    expect((await h.command('b3 FETCH 1 (BINARY.SIZE[1.1] BINARY.SIZE[3] BINARY.SIZE[9])')).lines[0]).toBe(`* 1 FETCH (BINARY.SIZE[1.1] ${cafe.length} BINARY.SIZE[3] 4 BINARY.SIZE[9] 0)`);
    // Four bytes of the decoded text: "Caf" and the first byte of "é" (shown here as U+FFFD).
    expect((await h.command('b4 FETCH 1 BINARY.PEEK[1.1]<0.4>')).text).toBe('* 1 FETCH (BINARY[1.1]<0> {4}\r\nCaf\ufffd)\r\nb4 OK FETCH completed\r\n');
    expect((await h.command('b5 FETCH 1 BINARY.PEEK[9]')).lines[0]).toBe('* 1 FETCH (BINARY[9] NIL)');
    expect((await h.command('b6 UID FETCH 1 (BINARY.PEEK[2] FLAGS)')).lines[0]).toMatch(/^\* 1 FETCH \(UID 1 BINARY\[2\] \{\d+\}$/);
  });

  it('BINARY sets \\Seen and BINARY.PEEK does not; EXAMINE never does', async () => {
    const h = await session();
    await h.appendMessage('INBOX', multipartMessage);
    await h.command('s0 EXAMINE INBOX');
    expect((await h.command('e1 FETCH 1 BINARY[3]')).text).not.toContain('\\Seen');
    await h.command('s1 SELECT INBOX');
    expect((await h.command('e2 FETCH 1 (BINARY.PEEK[3] FLAGS)')).text).not.toContain('\\Seen');
    expect((await h.command('e3 FETCH 1 BINARY[3]')).lines[0]).toBe('* 1 FETCH (BINARY[3] ~{4}');
    expect((await h.command('e4 FETCH 1 FLAGS')).lines[0]).toBe('* 1 FETCH (FLAGS (\\Seen \\Recent))');
  });

  it('answers NO [UNKNOWN-CTE] for an encoding it cannot undo, BAD for non-part sections', async () => {
    const h = await session();
    await h.appendMessage('INBOX', message({ extraHeaders: 'Content-Transfer-Encoding: x-uuencode' }));
    await h.command('s0 SELECT INBOX');
    expect((await h.command('u1 FETCH 1 BINARY.PEEK[1]')).tagged).toBe('u1 NO [UNKNOWN-CTE] part 1 has the unknown content transfer encoding x-uuencode');
    expect((await h.command('u2 FETCH 1 BINARY[HEADER]')).tagged).toBe('u2 BAD BINARY sections are part numbers, e.g. BINARY[1.2]');
    expect((await h.command('u3 FETCH 1 BINARY.SIZE[1]<0.3>')).tagged).toBe('u3 BAD BINARY.SIZE takes no partial range');
    expect((await h.command('u4 FETCH 1 BINARY[1.MIME]')).tagged).toBe('u4 BAD BINARY sections are part numbers, e.g. BINARY[1.2]');
    await h.command('u5 UNSELECT');
    expect((await h.command('u6 FETCH 1 BINARY[1]')).tagged).toBe('u6 BAD FETCH needs a selected mailbox (SELECT or EXAMINE first)');
  });
});

describe('APPEND of binary content (RFC 3516 4.4)', () => {
  it('takes a ~{n} literal with NUL bytes, pipelined, and another session reads it back', async () => {
    const h = await session();
    const body = Buffer.concat([Buffer.from('Subject: bin\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n'), Buffer.from([0, 1, 2, 0, 255])]);
    h.take();
    h.send(Buffer.concat([Buffer.from(`a1 APPEND INBOX ~{${body.length}+}\r\n`), body, Buffer.from('\r\na2 SELECT INBOX\r\na3 FETCH 1 BINARY.SIZE[1]\r\n')]));
    const text = await h.waitFor(/a3 OK[^\r]*\r\n/);
    expect(text).toMatch(/^a1 OK \[APPENDUID 1000 1\] APPEND completed\r\n/);
    expect(text).toContain('* 1 FETCH (BINARY.SIZE[1] 5)');
    const other = await session(h.store);
    await other.command('o0 EXAMINE INBOX');
    const fetched = await other.command('o1 FETCH 1 BINARY[1]');
    expect(Buffer.from(fetched.text, 'utf8').includes(Buffer.from('~{5}\r\n\x00\x01\x02\x00', 'latin1'))).toBe(true);
  });
});
