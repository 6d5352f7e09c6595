// Password guessing over real sockets against the mail gateway (MailGatewayService: IMAP and SMTP
// submission, one login throttle per node): 200 wrong passwords over 100 connections, half IMAP
// LOGIN and half SMTP AUTH. Before the throttle each connection started afresh and the 200 took
// seconds. Now only a handful reach the password check, the rest are told to wait; the waits
// double; the account locks after 10 failures, and then the right password from another address
// is refused too. The clock's now() can jump ahead (its timers stay real), so the test shows the
// minutes of the schedule without waiting them.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { MailGatewayService } from '../../../actors/mail/mailGateway';
import { Metrics } from '../../../actors/metrics';
import type { Clock } from '../../../infra/ports';
import { MemoryMailStore } from '../../../mail/memory/backend';
import { MemorySubmission } from '../../../mail/memory/submission';
import { memoryLog } from '../../unit/imap/testLog';
import { eventually, plainToken, RawSmtpClient } from '../smtp/smtpFixture';

const alice = { address: 'alice@lab.example', password: 'correct horse' };
const bob = { address: 'bob@lab.example', password: 'battery staple' };

/** Wall-clock timers; now() runs `skewMs` ahead, so the throttle's schedule can be fast-forwarded. */
class SkewClock implements Clock {
  skewMs = 0;
  now = (): number => Date.now() + this.skewMs;
  setTimeout = (fn: () => void, delayMs: number) => setTimeout(fn, delayMs);
  clearTimeout = (handle: unknown) => clearTimeout(handle as ReturnType<typeof setTimeout>);
  defer = (fn: () => void) => void setImmediate(fn);
}

interface Gateway {
  readonly service: MailGatewayService;
  readonly clock: SkewClock;
  readonly metrics: Metrics;
  readonly log: ReturnType<typeof memoryLog>;
  /** Password checks that reached the storage side (IMAP and SMTP). */
  checks: number;
  stop(): Promise<void>;
}

let gateway: Gateway | undefined;
const sockets: { destroy(): void }[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await gateway?.stop();
  gateway = undefined;
});

/** `unlockMs`: how long each password check takes (a node's Argon2id unlock of the keystore). */
async function startGateway(unlockMs = 0): Promise<Gateway> {
  const store = new MemoryMailStore();
  const submission = new MemorySubmission({ localDomains: ['lab.example'], federatedDomains: [], gatewayIdentity: 'mx@lab.example' });
  for (const user of [alice, bob]) {
    store.addUser(user.address, user.password);
    submission.addUser(user.address, user.password);
  }
  const clock = new SkewClock();
  const metrics = new Metrics();
  const log = memoryLog();
  const counted: Gateway = { checks: 0 } as Gateway;
  const unlock = () => new Promise<void>((resolve) => setTimeout(resolve, unlockMs));
  const service = new MailGatewayService(
    {
      authenticator: { authenticate: (u, p) => (counted.checks++, unlock().then(() => store.authenticator.authenticate(u, p))) },
      submission: { ...submission, authenticate: (u, p) => (counted.checks++, unlock().then(() => submission.authenticate(u, p))), classifyRecipient: (q) => submission.classifyRecipient(q), submit: (m) => submission.submit(m) },
      clock,
      log,
      metrics,
    },
    { imapPort: 0, smtpPort: 0 },
  );
  const actor = createActor(service.logic());
  actor.start();
  service.attach(actor);
  await eventually(() => actor.getSnapshot().matches('listening'), 5_000, 'the listeners');
  return Object.assign(counted, {
    service,
    clock,
    metrics,
    log,
    stop: async () => {
      await service.close();
      actor.stop();
    },
  });
}

/** A raw IMAP client from a given loopback address; every wait is bounded. */
async function imapClient(port: number, localAddress = '127.0.0.1') {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress });
  sockets.push(socket);
  let received = '';
  socket.on('data', (data) => (received += data.toString('utf8')));
  socket.on('error', () => undefined);
  await eventually(() => received.includes('\r\n'), 5_000, 'the IMAP greeting');
  return {
    /** The tagged reply line to `tag` (waits up to 15 s: failed logins are answered after a penalty). */
    async command(tag: string, line: string): Promise<string> {
      socket.write(`${tag} ${line}\r\n`);
      const pattern = new RegExp(`^${tag} .*$`, 'm');
      await eventually(() => pattern.test(received), 15_000, `the reply to ${tag}`);
      return pattern.exec(received)![0].trimEnd();
    },
  };
}

async function smtpClient(port: number, localAddress = '127.0.0.1') {
  const { client } = await RawSmtpClient.connect(port, 5_000, localAddress);
  sockets.push(client);
  await client.command('EHLO attacker.example');
  return {
    /** The AUTH reply line, e.g. "535 5.7.8 ...". */
    async auth(user: string, password: string): Promise<string> {
      const reply = await client.command(`AUTH PLAIN ${plainToken(user, password)}`, 15_000);
      return `${reply.code} ${reply.text}`;
    },
  };
}

const refusedToWait = /^(a\d+ NO \[UNAVAILABLE\] |454 4\.7\.0 )Too many failed logins (for this account|from your address); wait (\d+) s before trying again$/;
const wrongPassword = /^(a\d+ NO \[AUTHENTICATIONFAILED\] |535 5\.7\.8 )/;

describe('login throttle over real sockets', () => {
  it('200 wrong passwords over 100 IMAP and SMTP connections: few are checked, the waits double, the account locks', async () => {
    gateway = await startGateway();
    const { imap, smtp } = gateway.service.endpoints();
    const throttle = gateway.service.loginGuard.throttle;

    // 100 connections at once, each trying two wrong passwords: 200 attempts.
    const replies = (
      await Promise.all(
        Array.from({ length: 100 }, async (_, i) => {
          if (i % 2 === 0) {
            const c = await imapClient(imap!);
            return [await c.command('a1', `LOGIN ${alice.address} "guess ${i}a"`), await c.command('a2', `LOGIN ${alice.address} "guess ${i}b"`)];
          }
          const c = await smtpClient(smtp!);
          return [await c.auth(alice.address, `guess ${i}a`), await c.auth(alice.address, `guess ${i}b`)];
        }),
      )
    ).flat();
    expect(replies).toHaveLength(200);
    const checked = replies.filter((r) => wrongPassword.test(r));
    const refused = replies.filter((r) => refusedToWait.test(r));
    // Every attempt was answered, either "wrong password" (checked) or "wait" (never checked).
    expect(checked.length + refused.length).toBe(200);
    expect(checked.length).toBeGreaterThanOrEqual(3);
    expect(checked.length).toBeLessThan(10);
    expect(gateway.checks).toBe(checked.length);
    const before = throttle.inspect('account', alice.address)!;
    expect(before.failures).toBe(checked.length);

    // Keep guessing, each time as soon as the throttle allows: the allowed times double until the lock.
    const waitsMs: number[] = [];
    // What is left of a wait when it is read: the wait less the time since the guess before it was
    // recorded, which is at most the (real) time since that guess was sent: measured, not assumed.
    const sinceGuessMs: number[] = [];
    let guessSentAt = 0;
    const late: Promise<string>[] = [];
    for (let attempt = 0; attempt < 20 && throttle.inspect('account', alice.address)!.lockedForMs === 0; attempt++) {
      const waitMs = throttle.inspect('account', alice.address)!.retryAfterMs;
      waitsMs.push(waitMs);
      sinceGuessMs.push(attempt === 0 ? 0 : performance.now() - guessSentAt);
      gateway.clock.skewMs += waitMs;
      guessSentAt = performance.now();
      const failures = throttle.inspect('account', alice.address)!.failures;
      // The reply comes after this connection's own penalty; only the throttle's count is awaited.
      late.push(attempt % 2 === 0 ? imapClient(imap!).then((c) => c.command('a1', `LOGIN ${alice.address} "more ${attempt}"`)) : smtpClient(smtp!).then((c) => c.auth(alice.address, `more ${attempt}`)));
      await eventually(() => throttle.inspect('account', alice.address)!.failures === failures + 1, 5_000, 'the guess to be checked');
    }
    for (const reply of await Promise.all(late)) expect(reply).toMatch(wrongPassword);
    const state = throttle.inspect('account', alice.address)!;
    expect(state.failures).toBe(10);
    // Locked for 15 minutes (less the seconds this test has run since).
    expect(state.lockedForMs).toBeGreaterThan(14 * 60_000);
    expect(state.lockedForMs).toBeLessThanOrEqual(15 * 60_000);
    // Each wait at least doubles the one before (the first may be partly over already).
    for (let i = 2; i < waitsMs.length; i++) expect(waitsMs[i]! + sinceGuessMs[i]! + 1).toBeGreaterThanOrEqual(2 * waitsMs[i - 1]!);
    const scheduleMs = waitsMs.reduce((a, b) => a + b, 0) + state.lockedForMs;
    // The 11th guess cannot come before the lock ends: 200 guesses take many minutes, not seconds.
    expect(scheduleMs).toBeGreaterThan(15 * 60_000);
    expect(gateway.checks).toBe(10);

    // The owner, from another address, with the right password: refused over both protocols, and told why.
    const owner = await imapClient(imap!, '127.0.0.2');
    expect(await owner.command('o1', `LOGIN ${alice.address} "${alice.password}"`)).toMatch(
      /^o1 NO \[UNAVAILABLE\] This account is locked for 15 min after 10 failed logins; try again then, or ask your administrator if the failures were not yours$/,
    );
    const ownerSmtp = await smtpClient(smtp!, '127.0.0.2');
    expect(await ownerSmtp.auth(alice.address, alice.password)).toMatch(/^454 4\.7\.0 This account is locked for 15 min after 10 failed logins/);
    expect(gateway.checks).toBe(10);

    // An operator sees it: one warning line and counters on /metrics.
    expect(gateway.log.lines.filter((l) => l.event === 'mail.login.account_locked')).toEqual([
      expect.objectContaining({ level: 'warn', fields: expect.objectContaining({ account: alice.address, failures: 10, lockedForMs: 15 * 60_000 }) }),
    ]);
    const metrics = gateway.metrics.render();
    expect(metrics).toContain('post_mail_login_account_locks_total 1');
    expect(metrics).toMatch(/post_mail_login_refused_total\{protocol="imap",reason="locked"\} 1/);
    expect(metrics).toMatch(/post_mail_login_refused_total\{protocol="smtp",reason="delayed"\} \d+/);
    expect(metrics).toMatch(/post_mail_login_failures_total\{protocol="smtp"\} \d+/);

    // Another account from another address is not held up; alice gets in once the lock is over.
    const bobClient = await imapClient(imap!, '127.0.0.3');
    expect(await bobClient.command('b1', `LOGIN ${bob.address} "${bob.password}"`)).toMatch(/^b1 OK /);
    gateway.clock.skewMs += state.lockedForMs;
    const later = await imapClient(imap!, '127.0.0.2');
    expect(await later.command('o2', `LOGIN ${alice.address} "${alice.password}"`)).toMatch(/^o2 OK /);
    expect(throttle.inspect('account', alice.address)).toBeUndefined();
  });

  it("a client's parallel connections after a restart, each a slow unlock, all log in: none is told 'Too many failed logins'", async () => {
    gateway = await startGateway(200);
    const { imap, smtp } = gateway.service.endpoints();
    const replies = await Promise.all([
      ...Array.from({ length: 8 }, async (_, i) => (await imapClient(imap!)).command(`p${i}`, `LOGIN ${alice.address} "${alice.password}"`)),
      ...Array.from({ length: 4 }, async () => (await smtpClient(smtp!)).auth(alice.address, alice.password)),
    ]);
    expect(replies.filter((r) => /^(p\d+ OK |235 )/.test(r))).toHaveLength(12);
    expect(gateway.checks).toBe(12);
    expect(gateway.service.loginGuard.throttle.inspect('account', alice.address)).toBeUndefined();
  });
});
