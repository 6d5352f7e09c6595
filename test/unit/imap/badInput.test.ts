// Transcripts: malformed and misplaced commands in every state get BAD and the session goes on;
// repeated bad commands are delayed and then disconnected; oversized input is bounded; random
// bytes never crash the session.
import { afterEach, describe, expect, it } from 'vitest';
import { imapLimits } from '../../../mail/imap/limits';
import { ImapHarness } from './harness';

let harness: ImapHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

// Throttling is tested on its own below; here every BAD must come back at once.
const noThrottle = { limits: { badCommandsBeforeDelay: 100, badCommandsMax: 200 } };

async function inState(state: 'notAuthenticated' | 'authenticated' | 'selected'): Promise<ImapHarness> {
  const h = state === 'notAuthenticated' ? new ImapHarness(noThrottle) : await ImapHarness.loggedIn(noThrottle);
  if (state === 'selected') await h.command('s0 SELECT INBOX');
  return h;
}

describe.each(['notAuthenticated', 'authenticated', 'selected'] as const)('bad commands in the %s state', (state) => {
  it('answers BAD and keeps the session usable', async () => {
    harness = await inState(state);
    expect((await harness.command('b1 FROBNICATE')).tagged).toBe('b1 BAD Unknown command FROBNICATE');
    expect((await harness.command('b2 NOOP extra')).tagged).toBe('b2 BAD NOOP: too many arguments');
    expect((await harness.command('b3 LIST "unterminated')).tagged).toBe('b3 BAD Syntax error: unterminated quoted string');
    expect((await harness.command('b4 UID')).tagged).toBe('b4 BAD Syntax error: UID must be followed by a command');
    expect((await harness.command('b5 UID FROB 1')).tagged).toBe('b5 BAD Unknown command UID FROB');
    expect((await harness.command('b6 NOOP')).tagged).toBe('b6 OK NOOP completed');
  });

  it('answers commands of other states with BAD naming what is needed', async () => {
    harness = await inState(state);
    const fetch = (await harness.command('w1 FETCH 1 FLAGS')).tagged;
    if (state === 'notAuthenticated') {
      expect(fetch).toBe('w1 BAD FETCH needs you to log in first');
      expect((await harness.command('w2 SELECT INBOX')).tagged).toBe('w2 BAD SELECT needs you to log in first');
    } else if (state === 'authenticated') {
      expect(fetch).toBe('w1 BAD FETCH needs a selected mailbox (SELECT or EXAMINE first)');
      expect((await harness.command('w2 AUTHENTICATE PLAIN')).tagged).toBe('w2 BAD AUTHENTICATE is not allowed in the authenticated state');
    } else {
      expect(fetch).toBe('w1 BAD message 1 does not exist: the mailbox is empty');
      expect((await harness.command('w2 ENABLE CONDSTORE')).tagged).toBe('w2 BAD ENABLE is not allowed in the selected state');
    }
  });
});

describe('argument checking before handlers', () => {
  it('names the argument that is missing or malformed', async () => {
    harness = await inState('selected');
    expect((await harness.command('a1 SELECT')).tagged).toBe('a1 BAD SELECT: missing argument: mailbox');
    expect((await harness.command('a2 FETCH x FLAGS')).tagged).toBe('a2 BAD FETCH: invalid messages');
    expect((await harness.command('a3 FETCH 1:* BOGUS')).tagged).toBe('a3 BAD unknown fetch item BOGUS');
    expect((await harness.command('a4 STORE 1 FLAGS (\\Bogus)')).tagged).toBe('a4 BAD STORE: unknown system flag \\Bogus');
    expect((await harness.command('a5 SELECT &Jjo')).tagged).toBe('a5 NO [NONEXISTENT] mailbox name "&Jjo" is not valid modified UTF-7 (write "&" as "&-"), so no such mailbox exists');
    expect((await harness.command('a6 FETCH 5 FLAGS')).tagged).toBe('a6 BAD message 5 does not exist: the mailbox is empty');
    expect((await harness.command('a7 APPEND INBOX (\\Seen) "not a date" {1+}\r\nx')).tagged).toMatch(/^a7 BAD APPEND: internalDate is not a valid date-time/);
    expect((await harness.command('a8 SEARCH BOGUSKEY')).tagged).toBe('a8 BAD SEARCH: unknown search key BOGUSKEY');
  });

  it('answers a line without a tag with an untagged BAD', async () => {
    harness = new ImapHarness();
    await harness.waitFor(/\r\n/);
    harness.take();
    harness.send('(((\r\n');
    expect(await harness.waitFor(/\* BAD/)).toBe('* BAD Syntax error: command must start with a tag\r\n');
  });
});

describe('bad-command throttling', () => {
  it('answers the first few at once, then after a delay, then closes with BYE', async () => {
    harness = new ImapHarness({ limits: { badCommandsBeforeDelay: 2, badCommandsMax: 4, badCommandDelayMs: 1_000 } });
    expect((await harness.command('x1 BOGUS')).tagged).toBe('x1 BAD Unknown command BOGUS');
    expect((await harness.command('x2 BOGUS')).tagged).toBe('x2 BAD Unknown command BOGUS');
    harness.take();
    harness.send('x3 BOGUS\r\n');
    await harness.settle(50);
    expect(harness.take()).toBe('');
    harness.clock.advance(1_000);
    expect(await harness.waitFor(/x3 BAD/)).toBe('x3 BAD Unknown command BOGUS\r\n');
    harness.take();
    harness.send('x4 BOGUS\r\n');
    expect(await harness.waitFor(/BYE/)).toBe('x4 BAD Unknown command BOGUS\r\n* BYE Too many failed commands or logins; closing\r\n');
    await harness.settle();
    expect(harness.closed).toBe(true);
  });

  it('keeps queued commands in order while a reply is held back', async () => {
    harness = new ImapHarness({ limits: { badCommandsBeforeDelay: 0, badCommandDelayMs: 500 } });
    await harness.waitFor(/\r\n/);
    harness.take();
    harness.send('q1 BOGUS\r\nq2 NOOP\r\n');
    await harness.settle(50);
    expect(harness.take()).toBe('');
    harness.clock.advance(500);
    expect(await harness.waitFor(/q2 OK/)).toBe('q1 BAD Unknown command BOGUS\r\nq2 OK NOOP completed\r\n');
  });
});

describe('bounded input', () => {
  it('refuses an oversized literal for an ordinary argument and goes on', async () => {
    harness = new ImapHarness();
    const reply = await harness.command('l1 LOGIN {999999999}');
    expect(reply.tagged).toBe('l1 BAD [TOOBIG] literal of 999999999 bytes is larger than the limit of 262144 bytes for this argument');
    expect((await harness.command('l2 NOOP')).tagged).toBe('l2 OK NOOP completed');
  });

  it('closes the connection on a line longer than the limit', async () => {
    harness = new ImapHarness();
    await harness.waitFor(/\r\n/);
    harness.take();
    harness.send(`t1 LOGIN ${'a'.repeat(70_000)}`);
    expect(await harness.waitFor(/BYE/)).toBe('t1 BAD [TOOBIG] Command line too long\r\n* BYE Command line too long; closing\r\n');
    await harness.settle();
    expect(harness.closed).toBe(true);
  });

  it('answers every one of 2,000 commands pipelined in one chunk, pausing the socket meanwhile', async () => {
    harness = new ImapHarness();
    await harness.waitFor(/\r\n/);
    harness.take();
    harness.send(Array.from({ length: 2_000 }, (_, i) => `p${i} NOOP\r\n`).join(''));
    // The connection took no more than the high-water mark into the machine and paused reading.
    expect(harness.socket.isPaused()).toBe(true);
    expect(harness.connection.runner.state!.context.queue.length).toBeLessThanOrEqual(imapLimits.pipelinedCommandsHighWater);
    await harness.waitUntil(() => harness!.output.includes('p1999 OK'), 'the last command to be answered');
    const tagged = harness.take().split('\r\n').filter((l) => l.length > 0);
    expect(tagged).toHaveLength(2_000);
    expect(tagged.every((line, i) => line === `p${i} OK NOOP completed`)).toBe(true);
    expect(harness.socket.isPaused()).toBe(false);
  });
});

describe('random input', () => {
  it('never crashes the session: every line gets an answer or the connection closes cleanly', async () => {
    let seed = 7;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const words = ['A1', 'UID', 'FETCH', 'SEARCH', 'STORE', '1:*', '*', '(', ')', '[', ']', 'BODY[', '<1.2>', '"x', '{3}', '{2+}', '~{1+}', 'NIL', '\\Seen', 'OR', 'NOT', 'SELECT', 'INBOX', '&Jjo', 'LIST', '%', 'LOGIN', 'alice', 'secret', '\x00', '\xff'];
    for (let round = 0; round < 30; round++) {
      const h = await ImapHarness.loggedIn({ limits: { badCommandsMax: 1_000, badCommandsBeforeDelay: 1_000 } });
      await h.command('r0 SELECT INBOX');
      for (let line = 0; line < 20 && !h.closed; line++) {
        const count = 1 + Math.floor(random() * 8);
        const text = [`r${line}`, ...Array.from({ length: count }, () => words[Math.floor(random() * words.length)]!)].join(' ');
        h.send(Buffer.from(`${text}\r\n`, 'latin1'));
        await h.settle(5);
      }
      await h.settle(50);
      expect(h.log.lines.filter((l) => l.level === 'error')).toEqual([]);
      await h.close();
    }
  });
});
