// What a confused or hostile client can do over TCP: garbage, over-long lines, repeated bad
// commands and failed AUTH (delayed, then 421), connections cut mid-DATA, too many connections;
// plus pipelining, RSET, and close() letting a DATA in progress finish.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { wallClock } from '../../../infra/clock';
import type { Clock, TimerHandle } from '../../../infra/ports';
import { RawSmtpClient, eventually, plainToken, startGateway, users, type RunningGateway } from './smtpFixture';

let running: RunningGateway | undefined;
const clients: RawSmtpClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await running?.server.close();
  running = undefined;
});

async function connect(port: number): Promise<RawSmtpClient> {
  const { client, greeting } = await RawSmtpClient.connect(port);
  expect(greeting.code).toBe(220);
  clients.push(client);
  return client;
}

async function loggedIn(port: number): Promise<RawSmtpClient> {
  const c = await connect(port);
  await c.command('EHLO client.example');
  expect((await c.command(`AUTH PLAIN ${plainToken(users.alice.address, users.alice.password)}`)).code).toBe(235);
  return c;
}

/**
 * The wall clock, noting each timer as it fires: an answer the session holds back is released by its
 * penalty timer, so "the answer waited" is "that timer fired before it", whatever the machine's load.
 */
class FiredTimers implements Clock {
  readonly fired: number[] = [];
  now = () => wallClock.now();
  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    return wallClock.setTimeout(() => {
      this.fired.push(delayMs);
      fn();
    }, delayMs);
  }
  clearTimeout = (handle: TimerHandle) => wallClock.clearTimeout(handle);
  defer = (fn: () => void) => wallClock.defer(fn);
  /** How many timers of `delayMs` have fired. */
  count = (delayMs: number) => this.fired.filter((d) => d === delayMs).length;
}

/** A complete transaction on a logged-in client; resolves with the final reply. */
async function sendMessage(c: RawSmtpClient, body = 'Subject: t\r\n\r\nbody\r\n') {
  expect((await c.command(`MAIL FROM:<${users.alice.address}>`)).code).toBe(250);
  expect((await c.command(`RCPT TO:<${users.bob.address}>`)).code).toBe(250);
  expect((await c.command('DATA')).code).toBe(354);
  c.write(`${body}.\r\n`);
  return c.reply(10_000);
}

const errorsLogged = (r: RunningGateway) => r.log.lines.filter((l) => l.level === 'error');

describe('bad input', () => {
  it('garbage gets 5xx and the session goes on; nothing is stored and nothing logged as an error', async () => {
    running = await startGateway();
    const c = await connect(running.server.port);
    const bad = await c.command('\x00\x01\xfe\xff blah');
    expect(bad.code).toBe(500);
    expect(bad.text).toMatch(/^5\.5\.2 /);
    expect((await c.command('MAIL FROM:<>')).code).toBe(503);
    expect((await c.command('NOOP')).code).toBe(250);
    expect((await c.command('QUIT')).code).toBe(221);
    expect(await c.closesWithin(2_000)).toBe(true);
    expect(running.submission.accepted).toHaveLength(0);
    expect(errorsLogged(running)).toEqual([]);
  });

  it('an HTTP request, binary noise and an over-long line close that connection only', async () => {
    running = await startGateway({ sessionLimits: { badCommandDelayMs: 100 } });
    const http = await connect(running.server.port);
    http.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect((await http.reply()).code).toBe(421);
    expect(await http.closesWithin(7_000)).toBe(true);

    const noise = await connect(running.server.port);
    noise.write(randomBytes(64 * 1024));
    expect(await noise.closesWithin(7_000)).toBe(true);

    const long = await connect(running.server.port);
    long.write(`NOOP ${'A'.repeat(10_000)}\r\n`);
    expect((await long.reply()).code).toBe(421);
    expect(await long.closesWithin(7_000)).toBe(true);

    const fine = await loggedIn(running.server.port);
    expect((await sendMessage(fine)).code).toBe(250);
    expect(errorsLogged(running)).toEqual([]);
  });

  it('repeated bad commands: tolerated, then the next command waits, then 421 and disconnect', async () => {
    const clock = new FiredTimers();
    running = await startGateway({ clock, sessionLimits: { badCommandsBeforeDelay: 2, badCommandsMax: 5, badCommandDelayMs: 300 } });
    const c = await connect(running.server.port);
    expect((await c.command('BAD1')).code).toBe(500);
    expect((await c.command('BAD2')).code).toBe(500);
    expect(clock.count(300)).toBe(0); // tolerated: answered at once
    expect((await c.command('BAD3')).code).toBe(500);
    const held = clock.count(300);
    expect((await c.command('NOOP')).code).toBe(250);
    expect(clock.count(300)).toBe(held + 1); // the answer waited for the penalty timer
    expect((await c.command('BAD4')).code).toBe(500);
    const beforeLast = clock.count(300);
    expect((await c.command('BAD5')).code).toBe(500);
    expect(clock.count(300)).toBe(beforeLast + 1);
    const bye = await c.reply();
    expect(bye.code).toBe(421);
    expect(bye.text).toMatch(/^4\.7\.0 Too many bad commands/);
    expect(await c.closesWithin(7_000)).toBe(true);
  });

  it('failed AUTH: each answer waits longer, the third closes the connection with 421', async () => {
    const clock = new FiredTimers();
    running = await startGateway({ clock, sessionLimits: { failedAuthDelayMs: 200, failedAuthsMax: 3 } });
    const c = await connect(running.server.port);
    await c.command('EHLO client.example');
    const first = await c.command(`AUTH PLAIN ${plainToken(users.alice.address, 'guess1')}`);
    expect(`${first.code} ${first.text}`).toMatch(/^535 5\.7\.8 /);
    expect([clock.count(200), clock.count(400)]).toEqual([1, 0]); // held back by a 200 ms penalty
    const second = await c.command(`AUTH PLAIN ${plainToken(users.alice.address, 'guess2')}`);
    expect(second.code).toBe(535);
    expect([clock.count(200), clock.count(400)]).toEqual([1, 1]); // then a longer one
    const third = await c.command(`AUTH PLAIN ${plainToken(users.alice.address, 'guess3')}`);
    expect(`${third.code} ${third.text}`).toMatch(/^421 4\.7\.0 Too many failed authentication attempts/);
    expect(await c.closesWithin(7_000)).toBe(true);
    // The password was right all along; a new connection logs in.
    const again = await loggedIn(running.server.port);
    expect(again).toBeDefined();
  });

  it('a connection cut mid-DATA stores nothing and breaks nothing', async () => {
    running = await startGateway();
    const c = await loggedIn(running.server.port);
    expect((await c.command(`MAIL FROM:<${users.alice.address}>`)).code).toBe(250);
    expect((await c.command(`RCPT TO:<${users.bob.address}>`)).code).toBe(250);
    expect((await c.command('DATA')).code).toBe(354);
    c.write('Subject: half\r\n\r\nThis message never ends');
    await new Promise((resolve) => setTimeout(resolve, 50));
    c.destroy();
    await eventually(() => running!.server.connectionCount === 0, 5_000, 'the session to close');
    expect(running.submission.accepted).toHaveLength(0);
    expect(running.submission.inbox(users.bob.address)).toHaveLength(0);
    const next = await loggedIn(running.server.port);
    expect((await sendMessage(next)).code).toBe(250);
    expect(running.submission.inbox(users.bob.address)).toHaveLength(1);
    expect(errorsLogged(running)).toEqual([]);
  });

  it('a connection cut while the message is being stored: the storage side still completes it', async () => {
    running = await startGateway();
    let release!: () => void;
    running.submission.submitHook = () => new Promise<void>((resolve) => (release = resolve));
    const c = await loggedIn(running.server.port);
    expect((await c.command(`MAIL FROM:<${users.alice.address}>`)).code).toBe(250);
    expect((await c.command(`RCPT TO:<${users.bob.address}>`)).code).toBe(250);
    expect((await c.command('DATA')).code).toBe(354);
    c.write('Subject: cut\r\n\r\nbody\r\n.\r\n');
    await eventually(() => release !== undefined, 5_000, 'submit to start');
    c.destroy();
    await eventually(() => running!.server.connectionCount === 0, 5_000, 'the session to close');
    release();
    await eventually(() => running!.submission.accepted.length === 1, 5_000, 'the submission to complete');
    expect(errorsLogged(running)).toEqual([]);
  });

  it('over the listener’s in-memory budget: 452 4.3.1, nothing stored; the budget comes back', async () => {
    running = await startGateway({ inFlightMessageBytesMax: 6_000 });
    const c = await loggedIn(running.server.port);
    const tooMuch = await sendMessage(c, `Subject: big\r\n\r\n${'x'.repeat(8_000)}\r\n`);
    expect(`${tooMuch.code} ${tooMuch.text}`).toMatch(/^452 4\.3\.1 /);
    expect(running.submission.accepted).toHaveLength(0);
    for (let i = 0; i < 3; i++) expect((await sendMessage(c, `Subject: fits ${i}\r\n\r\n${'y'.repeat(4_000)}\r\n`)).code).toBe(250);
    expect(running.submission.accepted).toHaveLength(3);
  });

  it('too many connections: the one over the limit gets 421', async () => {
    running = await startGateway({ connectionsMax: 2 });
    await connect(running.server.port);
    await connect(running.server.port);
    const { client: third, greeting } = await RawSmtpClient.connect(running.server.port);
    clients.push(third);
    expect(greeting.code).toBe(421);
    expect(await third.closesWithin(7_000)).toBe(true);
  });
});

describe('protocol behaviour', () => {
  it('PIPELINING: a batch of commands in one write is answered in order', async () => {
    running = await startGateway();
    const c = await loggedIn(running.server.port);
    c.write(`MAIL FROM:<${users.alice.address}>\r\nRCPT TO:<${users.bob.address}>\r\nRCPT TO:<nobody@rice.example>\r\nRCPT TO:<${users.carol.address}>\r\nDATA\r\n`);
    const codes = [];
    for (let i = 0; i < 5; i++) codes.push((await c.reply()).code);
    expect(codes).toEqual([250, 250, 550, 250, 354]);
    c.write('Subject: piped\r\n\r\n..dot-stuffed line\r\n.\r\nNOOP\r\n');
    expect((await c.reply()).code).toBe(250);
    expect((await c.reply()).code).toBe(250);
    const stored = Buffer.from(running.submission.accepted[0]!.raw).toString();
    expect(stored.endsWith('Subject: piped\r\n\r\n.dot-stuffed line\r\n')).toBe(true);
    expect(running.submission.accepted[0]!.envelope.postRecipients).toEqual([users.bob.address, users.carol.address]);
  });

  it('RSET drops the transaction; the next one starts clean', async () => {
    running = await startGateway();
    const c = await loggedIn(running.server.port);
    expect((await c.command(`MAIL FROM:<${users.alice.address}>`)).code).toBe(250);
    expect((await c.command(`RCPT TO:<${users.carol.address}>`)).code).toBe(250);
    expect((await c.command('RSET')).code).toBe(250);
    expect((await c.command('DATA')).code).toBe(503);
    expect((await sendMessage(c)).code).toBe(250);
    expect(running.submission.accepted[0]!.envelope.postRecipients).toEqual([users.bob.address]);
  });

  it('close(): the DATA being stored finishes with 250, then 421; idle sessions get 421 at once', async () => {
    running = await startGateway();
    let release!: () => void;
    running.submission.submitHook = () => new Promise<void>((resolve) => (release = resolve));
    const idle = await loggedIn(running.server.port);
    const busy = await loggedIn(running.server.port);
    const reply = sendMessage(busy);
    await eventually(() => release !== undefined, 5_000, 'submit to start');
    const closing = running.server.close();
    const idleBye = await idle.reply();
    expect(`${idleBye.code} ${idleBye.text}`).toMatch(/^421 4\.3\.2 /);
    await expect(new Promise((_, reject) => net.connect(running!.server.port, '127.0.0.1').once('error', reject).once('connect', () => reject(new Error('connected'))))).rejects.toThrow(/ECONNREFUSED/);
    release();
    expect((await reply).code).toBe(250);
    expect((await busy.reply()).code).toBe(421);
    await closing;
    expect(running.submission.accepted).toHaveLength(1);
    running = undefined;
  });

  it('close() is bounded: a delivery that never finishes is cut after the grace period', async () => {
    const clock = new FiredTimers();
    running = await startGateway({ clock, timeouts: { shutdownGraceMs: 300 } });
    let delivering = false;
    running.submission.submitHook = () => ((delivering = true), new Promise<void>(() => undefined));
    const busy = await loggedIn(running.server.port);
    void sendMessage(busy).catch(() => undefined);
    await eventually(() => delivering, 5_000, 'the delivery to start');
    await running.server.close(); // returns at all: the delivery never will
    expect(clock.count(300)).toBe(1); // cut by the grace timer
    expect(await busy.closesWithin(2_000)).toBe(true);
    expect(running.log.lines.some((l) => l.event === 'smtp.shutdown.forced')).toBe(true);
    running = undefined;
  });
});
