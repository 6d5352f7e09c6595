// The login throttle on a simulated clock: free failures, doubling waits per account and per client
// address, the account lock (which the right password from elsewhere does not pass), charging
// parallel attempts, forgetting, and the table's bound.
import { describe, expect, it } from 'vitest';
import { clientKeyOf, LoginRefused, LoginThrottle, refusalText, type Admission, type LoginOutcome, type LoginThrottleLimits } from '../../../mail/loginThrottle';
import { LoginGuard, imapLoginOutcome } from '../../../actors/mail/loginGuard';
import { silentLog } from '../../../infra/log';
import { MailBackendError } from '../../../mail/backend';
import { ManualClock } from '../imap/manualClock';

const limits: LoginThrottleLimits = {
  failuresFree: 3,
  delayBaseMs: 1_000,
  delayMaxMs: 60_000,
  lockFailures: 10,
  lockMs: 15 * 60_000,
  lockMaxMs: 4 * 3600_000,
  forgetMs: 3600_000,
  entriesMax: 1_000,
  waitingPerKeyMax: 16,
  waitRoundsMax: 32,
};

function setup(overrides: Partial<LoginThrottleLimits> = {}) {
  const clock = new ManualClock();
  const throttle = new LoginThrottle(clock, { ...limits, ...overrides });
  /** One attempt that checks its password and gets `outcome`; returns the admission. */
  const attempt = (account: string, client: string, outcome: LoginOutcome = 'failure'): Admission => {
    const admission = throttle.admit(account, client);
    if (admission.ok) throttle.settle(admission.ticket, outcome);
    return admission;
  };
  return { clock, throttle, attempt };
}

/** Tries every `stepMs` until admitted; returns how long that took. */
function waitUntilAdmitted(t: ReturnType<typeof setup>, account: string, client: string, outcome: LoginOutcome, stepMs = 100): number {
  const started = t.clock.now();
  for (let i = 0; i < 1_000_000; i++) {
    if (t.attempt(account, client, outcome).ok) return t.clock.now() - started;
    t.clock.advance(stepMs);
  }
  throw new Error('never admitted');
}

describe('login throttle', () => {
  it('answers the first failures at once, then makes each further attempt wait twice as long', () => {
    const t = setup();
    for (let i = 0; i < 3; i++) expect(t.attempt('alice@x', '192.0.2.1').ok).toBe(true);
    const refused = t.attempt('alice@x', '192.0.2.1');
    expect(refused).toEqual({ ok: false, refusal: { kind: 'delayed', scope: 'account', retryAfterMs: 1_000 } });
    const waits = [0, 1, 2, 3, 4].map(() => waitUntilAdmitted(t, 'alice@x', '192.0.2.1', 'failure'));
    expect(waits).toEqual([1_000, 2_000, 4_000, 8_000, 16_000]);
    expect(t.throttle.inspect('account', 'alice@x')).toMatchObject({ failures: 8, retryAfterMs: 32_000 });
  });

  it('refuses without charging: hammering during a wait does not lengthen it or count as failures', () => {
    const t = setup();
    for (let i = 0; i < 3; i++) t.attempt('alice@x', '192.0.2.1');
    for (let i = 0; i < 50; i++) expect(t.attempt('alice@x', '192.0.2.1').ok).toBe(false);
    expect(t.throttle.inspect('account', 'alice@x')?.failures).toBe(3);
    t.clock.advance(1_000);
    expect(t.attempt('alice@x', '192.0.2.1', 'success').ok).toBe(true);
  });

  it('locks an account after 10 failures from many addresses; the right password from another address is refused', () => {
    const t = setup();
    let admitted = 0;
    // 200 guesses from 100 addresses, as fast as the throttle lets them through within 10 minutes.
    for (let i = 0; i < 200; i++) {
      if (t.attempt('alice@x', `198.51.100.${i % 100}`).ok) admitted++;
      t.clock.advance(3_000);
    }
    expect(admitted).toBe(10);
    const owner = t.throttle.admit('alice@x', '203.0.113.7');
    expect(owner.ok).toBe(false);
    const refusal = (owner as Extract<Admission, { ok: false }>).refusal;
    expect(refusal.kind).toBe('locked');
    expect(refusal.retryAfterMs).toBeGreaterThan(5 * 60_000);
    expect(refusalText(refusal)).toMatch(/^This account is locked for \d+ min after 10 failed logins; try again then/);
  });

  it('reports the failure and the lock as notices an operator can count', () => {
    const t = setup();
    const notices = [];
    for (let i = 0; i < 10; i++) {
      t.clock.advance(120_000);
      const admission = t.throttle.admit('alice@x', `198.51.100.${i}`);
      expect(admission.ok).toBe(true);
      if (admission.ok) notices.push(...t.throttle.settle(admission.ticket, 'failure'));
    }
    expect(notices.filter((n) => n.kind === 'failed')).toHaveLength(10);
    expect(notices.filter((n) => n.kind === 'locked')).toEqual([{ kind: 'locked', account: 'alice@x', client: '198.51.100.9', failures: 10, lockedForMs: 15 * 60_000 }]);
  });

  it('a lock ends; the next failure locks again for twice as long, up to the maximum', () => {
    const t = setup();
    for (let i = 0; i < 10; i++) {
      t.clock.advance(120_000);
      t.attempt('alice@x', `198.51.100.${i}`);
    }
    const lockLengths: number[] = [];
    for (let round = 0; round < 6; round++) {
      const locked = t.throttle.inspect('account', 'alice@x')!.lockedForMs;
      t.clock.advance(locked);
      expect(t.attempt('alice@x', '198.51.100.200').ok).toBe(true);
      lockLengths.push(t.throttle.inspect('account', 'alice@x')!.lockedForMs);
    }
    expect(lockLengths).toEqual([30, 60, 120, 240, 240, 240].map((m) => m * 60_000));
  });

  it('a correct password after the lock clears the account, not the client address', () => {
    const t = setup();
    for (let i = 0; i < 10; i++) {
      t.clock.advance(120_000);
      t.attempt('alice@x', '192.0.2.1');
    }
    t.clock.advance(15 * 60_000);
    expect(t.attempt('alice@x', '203.0.113.7', 'success').ok).toBe(true);
    expect(t.throttle.inspect('account', 'alice@x')).toBeUndefined();
    expect(t.throttle.inspect('client', '192.0.2.1')?.failures).toBe(10);
  });

  it('throttles one client address spraying many accounts', () => {
    const t = setup();
    for (let i = 0; i < 3; i++) expect(t.attempt(`user${i}@x`, '192.0.2.1').ok).toBe(true);
    const refused = t.attempt('user9@x', '192.0.2.1');
    expect(refused).toEqual({ ok: false, refusal: { kind: 'delayed', scope: 'client', retryAfterMs: 1_000 } });
    expect(refusalText((refused as Extract<Admission, { ok: false }>).refusal)).toBe('Too many failed logins from your address; wait 1 s before trying again');
    // Another address is not held up by this one.
    expect(t.attempt('user9@x', '192.0.2.2', 'success').ok).toBe(true);
    // The waits grow to the cap.
    const waits = Array.from({ length: 9 }, (_, i) => waitUntilAdmitted(t, `spray${i}@x`, '192.0.2.1', 'failure', 1_000));
    expect(waits).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000]);
  });

  it('charges attempts in flight: parallel guesses cannot all pass one open window', () => {
    const t = setup();
    for (let i = 0; i < 3; i++) t.attempt('alice@x', `198.51.100.${i}`);
    t.clock.advance(1_000);
    const parallel = Array.from({ length: 100 }, (_, i) => t.throttle.admit('alice@x', `203.0.113.${i}`));
    expect(parallel.filter((a) => a.ok)).toHaveLength(1);
    expect(t.throttle.inspect('account', 'alice@x')).toMatchObject({ failures: 3, inFlight: 1 });
  });

  it('refunds an attempt that failed for another reason (storage unreachable)', () => {
    const t = setup();
    for (let i = 0; i < 5; i++) t.attempt('alice@x', '192.0.2.1', 'other');
    expect(t.throttle.inspect('account', 'alice@x')).toBeUndefined();
    expect(t.throttle.inspect('client', '192.0.2.1')).toBeUndefined();
  });

  it('the success path remembers nothing and never waits', () => {
    const t = setup();
    for (let i = 0; i < 1_000; i++) expect(t.attempt('alice@x', '192.0.2.1', 'success').ok).toBe(true);
    expect(t.throttle.inspect('account', 'alice@x')).toBeUndefined();
    expect(t.throttle.inspect('client', '192.0.2.1')).toBeUndefined();
    expect(t.throttle.size).toBeLessThanOrEqual(2);
  });

  it('forgets failures after an hour without another', () => {
    const t = setup();
    for (let i = 0; i < 3; i++) t.attempt('alice@x', '192.0.2.1');
    t.clock.advance(3600_000 - 1);
    expect(t.throttle.inspect('account', 'alice@x')?.failures).toBe(3);
    t.clock.advance(1);
    expect(t.throttle.inspect('account', 'alice@x')).toBeUndefined();
    for (let i = 0; i < 3; i++) expect(t.attempt('alice@x', '192.0.2.1').ok).toBe(true);
  });

  it('stays within its bound, dropping what holds nothing first, then the oldest', () => {
    const t = setup({ entriesMax: 100 });
    const notices = [];
    for (let i = 0; i < 1_000; i++) {
      const admission = t.throttle.admit(`user${i}@x`, `10.0.${i >> 8}.${i & 255}`);
      if (admission.ok) notices.push(...admission.notices, ...t.throttle.settle(admission.ticket, 'failure'));
      expect(t.throttle.size).toBeLessThanOrEqual(100);
    }
    expect(notices.some((n) => n.kind === 'evicted')).toBe(true);
    expect(t.throttle.inspect('account', 'user999@x')?.failures).toBe(1);
    expect(t.throttle.inspect('account', 'user0@x')).toBeUndefined();
  });

  it('a locked account survives a flood of other keys while there is anything else to drop', () => {
    const t = setup({ entriesMax: 100 });
    for (let i = 0; i < 10; i++) {
      t.clock.advance(120_000);
      t.attempt('alice@x', `198.51.100.${i}`);
    }
    for (let i = 0; i < 1_000; i++) t.attempt(`user${i}@x`, `10.0.${i >> 8}.${i & 255}`, i % 2 === 0 ? 'success' : 'failure');
    expect(t.throttle.inspect('account', 'alice@x')?.lockedForMs).toBeGreaterThan(0);
  });
});

/** Moves the simulated clock in steps, letting settled promises run between steps, until `done()` (bounded). */
async function runUntil(clock: ManualClock, done: () => boolean, stepMs = 10, stepsMax = 10_000): Promise<void> {
  for (let i = 0; i < stepsMax && !done(); i++) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    clock.advance(stepMs);
  }
  await new Promise<void>((resolve) => setImmediate(resolve));
}

describe('parallel logins of one user (a client reconnecting after a restart)', () => {
  /** A guard whose password check takes `unlockMs` of simulated time (Argon2id) and knows one password. */
  function guarded(overrides: Partial<LoginThrottleLimits> = {}) {
    const clock = new ManualClock();
    const throttle = new LoginThrottle(clock, { ...limits, ...overrides });
    const guard = new LoginGuard({ throttle, log: silentLog });
    const checks = { running: 0, most: 0, total: 0 };
    const login = (password: string, client = '192.0.2.1') =>
      guard.attempt(
        'imap',
        client,
        'alice@x',
        () =>
          new Promise<string>((resolve, reject) => {
            checks.total++;
            checks.most = Math.max(checks.most, ++checks.running);
            clock.setTimeout(() => {
              checks.running--;
              if (password === 'right') resolve('alice@x');
              else reject(new MailBackendError('WRONG_PASSWORD', 'wrong password'));
            }, 100);
          }),
        imapLoginOutcome,
      );
    return { clock, throttle, checks, login };
  }

  const settleAll = async <T>(clock: ManualClock, attempts: Promise<T>[]) => {
    const results: PromiseSettledResult<T>[] = [];
    void Promise.allSettled(attempts).then((r) => results.push(...r));
    await runUntil(clock, () => results.length > 0);
    return results;
  };

  it('ten concurrent correct logins of one user from one address all succeed, three unlocks at a time', async () => {
    const t = guarded();
    const results = await settleAll(t.clock, Array.from({ length: 10 }, () => t.login('right')));
    expect(results.map((r) => r.status)).toEqual(Array(10).fill('fulfilled'));
    expect(t.checks).toEqual({ running: 0, most: 3, total: 10 });
    expect(t.throttle.inspect('account', 'alice@x')).toBeUndefined();
    expect(t.throttle.waitingCount).toBe(0);
  });

  it('a wrong-password storm checks exactly as many passwords as before and refuses the rest', async () => {
    const t = guarded();
    const results = await settleAll(t.clock, Array.from({ length: 10 }, () => t.login('guess')));
    const refused = results.filter((r) => r.status === 'rejected' && r.reason instanceof LoginRefused);
    const wrong = results.filter((r) => r.status === 'rejected' && r.reason instanceof MailBackendError && !(r.reason instanceof LoginRefused));
    expect(t.checks.total).toBe(3); // admit() alone lets 3 of 10 parallel attempts check
    expect(wrong).toHaveLength(3);
    expect(refused).toHaveLength(7);
    expect((refused[0] as PromiseRejectedResult).reason.refusal).toMatchObject({ kind: 'delayed', scope: 'account' });
    expect(t.throttle.inspect('account', 'alice@x')?.failures).toBe(3);
    expect(t.throttle.waitingCount).toBe(0);
    // The right password after the wait still goes through, as before.
    t.clock.advance(1_000);
    expect((await settleAll(t.clock, [t.login('right')]))[0]!.status).toBe('fulfilled');
  });

  it('waits for at most waitingPerKeyMax per key; beyond that, refused at once as before', async () => {
    const t = guarded({ waitingPerKeyMax: 2 });
    const attempts = Array.from({ length: 8 }, () => t.login('right'));
    const results = await settleAll(t.clock, attempts);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    expect(results.filter((r) => r.status === 'rejected' && r.reason instanceof LoginRefused)).toHaveLength(3);
  });

  it('a locked account is refused at once, not queued', async () => {
    const t = guarded();
    for (let i = 0; i < 10; i++) {
      t.clock.advance(120_000);
      await settleAll(t.clock, [t.login('guess', `198.51.100.${i}`)]);
    }
    const results = await settleAll(t.clock, [t.login('right', '203.0.113.7')]);
    expect((results[0] as PromiseRejectedResult).reason.refusal.kind).toBe('locked');
    expect(t.checks.total).toBe(10);
  });
});

describe('client keys', () => {
  it('keeps IPv4 as is, unmaps IPv4-mapped IPv6, and groups IPv6 by /64', () => {
    expect(clientKeyOf('192.0.2.1')).toBe('192.0.2.1');
    expect(clientKeyOf('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(clientKeyOf('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(clientKeyOf('2001:DB8:1:2::9')).toBe('2001:db8:1:2::/64');
    expect(clientKeyOf('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientKeyOf('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(clientKeyOf('::1')).toBe('0:0:0:0::/64');
    expect(clientKeyOf(undefined)).toBe('unknown');
    expect(clientKeyOf('not:an:address::x::')).toBe('not:an:address::x::');
  });
});
