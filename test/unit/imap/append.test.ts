// Transcripts: APPEND with synchronising and non-synchronising literals (LITERAL+), flags and
// date-time, APPENDUID, TRYCREATE, APPENDLIMIT/TOOBIG, UTF8 APPEND, and an APPEND into the
// selected mailbox reporting EXISTS.
import { afterEach, describe, expect, it } from 'vitest';
import { ImapHarness, message } from './harness';

let harness: ImapHarness;
afterEach(async () => {
  await harness?.close();
});

const body = message({ subject: 'Appended' });
const size = Buffer.byteLength(body);

describe('APPEND', () => {
  it('with a synchronising literal: "+" first, then APPENDUID', async () => {
    harness = await ImapHarness.loggedIn();
    harness.take();
    harness.send(`a1 APPEND INBOX (\\Seen $Work) "14-Nov-2023 10:00:00 +0100" {${size}}\r\n`);
    expect(await harness.waitFor(/\+ .*\r\n/)).toBe('+ Ready for literal data\r\n');
    const reply = await harness.command(body, /a1 /);
    expect(reply.text).toBe('a1 OK [APPENDUID 1000 1] APPEND completed\r\n');
    const fetch = await harness.command('a2 EXAMINE INBOX');
    expect(fetch.text).toContain('* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work)');
    const item = await harness.command('a3 FETCH 1 (FLAGS INTERNALDATE RFC822.SIZE)');
    expect(item.lines[0]).toBe(`* 1 FETCH (FLAGS (\\Seen $Work \\Recent) INTERNALDATE "14-Nov-2023 09:00:00 +0000" RFC822.SIZE ${size})`);
  });

  it('with a non-synchronising literal (LITERAL+): no continuation, pipelined with the next command', async () => {
    harness = await ImapHarness.loggedIn();
    harness.take();
    harness.send(`a1 APPEND Drafts (\\Draft) {${size}+}\r\n${body}\r\na2 NOOP\r\n`);
    const text = await harness.waitFor(/a2 OK/);
    expect(text).toBe('a1 OK [APPENDUID 1002 1] APPEND completed\r\na2 OK NOOP completed\r\n');
  });

  it('uses the clock for INTERNALDATE when none is given', async () => {
    harness = await ImapHarness.loggedIn();
    await harness.command(`a1 APPEND INBOX {${size}+}\r\n${body}`);
    await harness.command('a2 SELECT INBOX');
    expect((await harness.command('a3 FETCH 1 INTERNALDATE')).lines[0]).toBe('* 1 FETCH (INTERNALDATE "14-Nov-2023 22:13:20 +0000")');
  });

  it('answers TRYCREATE for a missing folder', async () => {
    harness = await ImapHarness.loggedIn();
    expect((await harness.command(`a1 APPEND Nowhere {${size}+}\r\n${body}`)).tagged).toBe('a1 NO [TRYCREATE] folder "Nowhere" does not exist');
  });

  it('refuses a message over APPENDLIMIT before it is sent (sync) or after skipping it (LITERAL+)', async () => {
    harness = await ImapHarness.loggedIn({ settings: { appendLimitBytes: 100 } });
    expect((await harness.command('a1 CAPABILITY')).lines[0]).toContain('APPENDLIMIT=100');
    expect((await harness.command(`a2 APPEND INBOX {${size}}`)).text).toBe(`a2 NO [TOOBIG] message of ${size} bytes is larger than the limit of 100 bytes\r\n`);
    expect((await harness.command(`a3 APPEND INBOX {${size}+}\r\n${body}`)).tagged).toBe(`a3 NO [TOOBIG] message of ${size} bytes is larger than the limit of 100 bytes`);
    expect((await harness.command('a4 NOOP')).tagged).toBe('a4 OK NOOP completed');
  });

  it('skips an oversized LITERAL+ message and stays in sync', async () => {
    harness = await ImapHarness.loggedIn();
    harness.take();
    const huge = 64 * 1024 * 1024 + 10;
    harness.send(`a1 APPEND INBOX {${huge}+}\r\n`);
    expect(await harness.waitFor(/a1 NO/)).toBe(`a1 NO [TOOBIG] message of ${huge} bytes is larger than the limit of 67108864 bytes\r\n`);
    const chunk = Buffer.alloc(1024 * 1024, 0x41);
    for (let sent = 0; sent < huge; sent += chunk.length) harness.send(chunk.subarray(0, Math.min(chunk.length, huge - sent)));
    harness.send('\r\na2 NOOP\r\n');
    expect(await harness.waitFor(/a2 OK/)).toContain('a2 OK NOOP completed');
  });

  it('reports EXISTS and RECENT when appending to the selected mailbox', async () => {
    harness = await ImapHarness.loggedIn();
    await harness.command('s1 SELECT INBOX');
    const reply = await harness.command(`a1 APPEND INBOX {${size}+}\r\n${body}`);
    expect(reply.text).toBe('* 1 EXISTS\r\n* 1 RECENT\r\na1 OK [APPENDUID 1000 1] APPEND completed\r\n');
  });

  it('accepts the UTF8 (~{n}) form only after ENABLE UTF8=ACCEPT', async () => {
    harness = await ImapHarness.loggedIn();
    const utf8Body = message({ subject: 'Grüße' });
    const bytes = Buffer.byteLength(utf8Body);
    expect((await harness.command(`a1 APPEND INBOX UTF8 (~{${bytes}+}\r\n${utf8Body})`)).tagged).toBe('a1 BAD APPEND UTF8 needs ENABLE UTF8=ACCEPT first');
    await harness.command('a2 ENABLE UTF8=ACCEPT');
    expect((await harness.command(`a3 APPEND INBOX UTF8 (~{${bytes}+}\r\n${utf8Body})`)).tagged).toBe('a3 OK [APPENDUID 1000 1] APPEND completed');
    expect((await harness.command(`a4 APPEND INBOX ~{${bytes}+}\r\n${utf8Body}`)).tagged).toBe('a4 OK [APPENDUID 1000 2] APPEND completed'); // a binary literal (RFC 3516)
  });

  it('rejects APPEND without a literal and with bad flags', async () => {
    harness = await ImapHarness.loggedIn();
    expect((await harness.command('a1 APPEND INBOX (\\Seen) just-an-atom')).tagged).toBe('a1 BAD APPEND: the message must be sent as a literal');
    expect((await harness.command(`a2 APPEND INBOX (\\Bogus) {${size}+}\r\n${body}`)).tagged).toBe('a2 BAD APPEND: unknown system flag \\Bogus');
  });

  it('a 50 MB message goes in and comes out whole, within a few copies of memory', async () => {
    harness = await ImapHarness.loggedIn();
    const big = Buffer.concat([Buffer.from('Subject: big\r\n\r\n'), Buffer.alloc(50 * 1024 * 1024, 'a')]);
    const before = process.memoryUsage().arrayBuffers;
    let peak = 0;
    const sample = (): void => {
      peak = Math.max(peak, process.memoryUsage().arrayBuffers - before);
    };
    harness.take();
    harness.send(`a1 APPEND INBOX {${big.length}+}\r\n`);
    for (let offset = 0; offset < big.length; offset += 1 << 20) {
      harness.send(big.subarray(offset, Math.min(big.length, offset + (1 << 20))));
      sample();
    }
    harness.send('\r\n');
    await harness.waitFor(/a1 OK/);
    sample();
    await harness.command('a2 SELECT INBOX');
    expect((await harness.command('a3 FETCH 1 (RFC822.SIZE BODY.PEEK[TEXT]<52428790.100>)')).lines[0]).toBe(`* 1 FETCH (RFC822.SIZE ${big.length} BODY[TEXT]<52428790> {10}`);
    const startBytes = harness.bytesOut;
    harness.send('a4 FETCH 1 BODY.PEEK[]\r\n');
    await harness.waitUntil(() => harness.output.endsWith('a4 OK FETCH completed\r\n'), 'the 50 MB FETCH');
    sample();
    expect(harness.bytesOut - startBytes).toBeGreaterThan(big.length);
    // The client-side copy held by this test's fake socket is a string (heap), not counted here.
    expect(peak).toBeLessThan(4 * big.length);
  });

  it('reports quota exhaustion as OVERQUOTA', async () => {
    const { MemoryMailStore } = await import('../../../mail/memory/backend');
    const store = new MemoryMailStore({ uidValidityStart: 1000 });
    store.addUser('alice', 'secret', { quotaBytes: size + 10 });
    harness = await ImapHarness.loggedIn({ store });
    expect((await harness.command(`a1 APPEND INBOX {${size}+}\r\n${body}`)).tagged).toMatch(/^a1 OK/);
    expect((await harness.command(`a2 APPEND INBOX {${size}+}\r\n${body}`)).tagged).toMatch(/^a2 NO \[OVERQUOTA\] the mailbox is full/);
  });
});
