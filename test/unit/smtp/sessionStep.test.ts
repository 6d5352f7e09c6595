// The SMTP session's step function (machines/smtpSession.step.ts, run by actors/mail/smtpSessionRunner.ts)
// against the XState machine it mirrors (machines/smtpSession.machine.ts): seeded random sequences of
// what a session lives through (smtp-server's callbacks in and out of order, replies, every outcome and
// failure of its work, penalties on the clock, STARTTLS, shutdown, a closed socket), on the submission
// port and the inbound gateway, drive both; after every step both must be in the same state with the
// same context, having performed the same effects.
import { describe, expect, it } from 'vitest';
import { smtpSessionRunner } from '../../../actors/mail/smtpSessionRunner';
import { type Implementation, sessionUnderTest } from '../sessionUnderTest';
import { SimRandom } from '../../../infra/sim/random';
import type { GatewayMode } from '../../../mail/smtp/envelope';
import type { AuthResult, RecipientCheck } from '../../../mail/smtp/portOutcomes';
import type { DeliveryReport } from '../../../mail/smtp/replies';
import type { RateDecision } from '../../../mail/smtp/senderRate';
import { type ReceivedMessage, type SmtpSessionEffects, type SmtpSessionEvent, smtpSessionMachineWith } from '../../../machines/smtpSession.machine';
import { smtpMachineValueOf } from '../../../machines/smtpSession.step';
import { ManualClock } from '../imap/manualClock';
import { nextTurn } from '../turns';

const SEEDS = 200;
const ACTIONS_PER_SEED = 120;
const alice = { user: 'alice@rice.example', sendAs: ['alice@rice.example', 'a.smith@rice.example'] };

interface Pending {
  readonly what: string;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

function side(implementation: Implementation, mode: GatewayMode, fromPolicy: 'refuse' | 'add-sender') {
  const clock = new ManualClock();
  const log: string[] = [];
  const work: Pending[] = [];
  const held = <T>(what: string) =>
    new Promise<T>((resolve, reject) => {
      log.push(`start ${what}`);
      work.push({ what, resolve: resolve as (v: unknown) => void, reject });
    });
  const fx: SmtpSessionEffects = {
    answer: (a) => void log.push(`answer ${JSON.stringify(a)}`),
    disconnect: (r) => void log.push(`disconnect ${JSON.stringify(r)}`),
    authenticate: (i) => held<AuthResult>(`authenticate ${i.username}`),
    checkSendRate: (i) => held<RateDecision>(`checkSendRate ${i.user}`),
    checkRecipient: (i) => held<RecipientCheck>(`checkRecipient ${JSON.stringify(i)}`),
    receiveMessage: (i) => held<ReceivedMessage>(`receiveMessage ${i.identity?.user ?? '-'}`),
    deliver: (i) => held<DeliveryReport>(`deliver ${JSON.stringify(i)}`),
  };
  const input = {
    mode,
    fromPolicy,
    limits: { failedAuthsMax: 4, failedAuthDelayMs: 100, badCommandsBeforeDelay: 2, badCommandsMax: 7, badCommandDelayMs: 50, refusedRecipientsMax: 5, messageBytesMax: 1000 },
  };
  const session = sessionUnderTest(implementation, { machineWith: smtpSessionMachineWith, runner: smtpSessionRunner, valueOf: smtpMachineValueOf, effects: fx, clock, input });
  return { clock, log, work, send: (e: SmtpSessionEvent) => session.send(e), status: () => session.status(), snapshot: () => ({ value: session.value(), context: session.context() }) };
}

/** An outcome (or a failure: undefined) for the work `what`, as the ports could answer it. */
function outcomeOf(random: SimRandom, what: string): unknown {
  const kind = what.split(' ')[0];
  switch (kind) {
    case 'authenticate':
      return random.pick<AuthResult | undefined>([{ kind: 'ok', identity: alice }, { kind: 'ok', identity: alice }, { kind: 'badCredentials' }, { kind: 'refused', text: 'Too many failed logins; retry in 60 s' }, { kind: 'unavailable' }, undefined]);
    case 'checkSendRate':
      return random.pick<RateDecision | undefined>([{ ok: true }, { ok: true }, { ok: true }, { ok: false, retryAfterMs: 2_500, burstMessages: 60, messagesPerMinute: 20 }, undefined]);
    case 'checkRecipient':
      return random.pick<RecipientCheck | undefined>([
        { kind: 'classified', cls: { kind: 'post', local: true }, relay: { kind: 'up' } },
        { kind: 'classified', cls: { kind: 'post', local: true }, relay: { kind: 'up' } },
        { kind: 'classified', cls: { kind: 'post', local: false }, relay: { kind: 'up' } },
        { kind: 'classified', cls: { kind: 'external' }, relay: { kind: 'up' } },
        { kind: 'classified', cls: { kind: 'external' }, relay: { kind: 'down', smarthost: 'smtp.example', reason: 'connection refused' } },
        { kind: 'classified', cls: { kind: 'external' }, relay: { kind: 'unconfigured' } },
        { kind: 'classified', cls: { kind: 'refused', refusal: 'UNKNOWN_USER' }, relay: { kind: 'up' } },
        { kind: 'unavailable' },
        undefined,
      ]);
    case 'receiveMessage': {
      // Only a submitter's message is checked for sender alignment (none on the inbound MX).
      const submitter = !what.endsWith(' -');
      const received = random.pick<ReceivedMessage | undefined>([
        { sizeOctets: 100, oversized: false, overBudget: false },
        { sizeOctets: 100, oversized: false, overBudget: false, fromAlignment: { kind: 'aligned' } },
        { sizeOctets: 100, oversized: false, overBudget: false, fromAlignment: { kind: 'missing' } },
        { sizeOctets: 100, oversized: false, overBudget: false, fromAlignment: { kind: 'foreign', foreign: ['ceo@rice.example'] } },
        { sizeOctets: 5_000, oversized: true, overBudget: false },
        { sizeOctets: 500, oversized: false, overBudget: true },
        undefined,
      ]);
      if (received && !submitter) return { sizeOctets: received.sizeOctets, oversized: received.oversized, overBudget: received.overBudget };
      return received;
    }
    default:
      return random.pick<DeliveryReport | undefined>([
        { kind: 'delivered', messageRef: 'ref0123456789abcdef', notified: ['bob@rice.example'], relay: { kind: 'none' } },
        { kind: 'delivered', messageRef: 'ref0123456789abcdef', notified: ['bob@rice.example'], relay: { kind: 'none' } },
        { kind: 'delivered', messageRef: undefined, notified: [], relay: { kind: 'failed', temporary: true, enhanced: '4.4.2', reason: 'timed out', relayed: [], failed: ['dave@gmail.example'] } },
        { kind: 'submitFailed', failure: { code: 'TIMEOUT', message: 'storage did not confirm', recipients: [] } },
        undefined,
      ]);
  }
}

async function runSeed(seed: number): Promise<void> {
  const random = new SimRandom(`smtp-session-step/${seed}`);
  const mode: GatewayMode = random.chance(0.75) ? 'submission' : 'inbound';
  const fromPolicy = random.chance(0.5) ? 'refuse' : 'add-sender';
  const sides = [side('machine', mode, fromPolicy), side('step', mode, fromPolicy)] as const;
  const trace: string[] = [];
  const compare = () => {
    const [m, s] = sides.map((x) => ({ status: x.status(), ...x.snapshot(), log: x.log.join('\n'), pending: x.work.map((p) => p.what) }));
    const where = `seed ${seed} (${mode}, ${fromPolicy}) after: ${trace.slice(-6).join(' | ')}`;
    expect(s!.status, where).toBe(m!.status);
    if (m!.status !== 'active') return;
    expect(s!.value, where).toEqual(m!.value);
    expect(s!.context, where).toEqual(m!.context);
    expect(s!.log, where).toBe(m!.log);
    expect(s!.pending, where).toEqual(m!.pending);
  };
  compare();
  // smtp-server asks one command at a time: while a callback waits for its answer, only the work it
  // started, the clock, a shutdown or a closed socket can happen.
  let answeredFrom: number | undefined;
  const callbackTypes = new Set(['CONNECTED', 'TLS_ESTABLISHED', 'AUTH', 'MAIL_FROM', 'RCPT_TO', 'DATA']);
  let closingSteps = 0;
  for (let i = 0; i < ACTIONS_PER_SEED && sides[0].status() === 'active' && closingSteps < 5; i++) {
    const [machine] = sides;
    if (machine.snapshot().value === 'closing') closingSteps++;
    if (answeredFrom !== undefined && machine.log.slice(answeredFrom).some((l) => l.startsWith('answer') || l.startsWith('disconnect'))) answeredFrom = undefined;
    const awaiting = answeredFrom !== undefined;
    let roll = random.int(100);
    if (awaiting && roll >= 35 && roll < 87) roll = random.chance(0.1) ? 88 : 95;
    let event: SmtpSessionEvent | undefined;
    if (roll < 35 && machine.work.length > 0) {
      const what = machine.work[0]!.what;
      const outcome = outcomeOf(random, what);
      trace.push(`answer ${what.split(' ')[0]} ${JSON.stringify(outcome) ?? 'failure'}`);
      for (const x of sides) {
        const w = x.work.shift()!;
        if (outcome === undefined) w.reject(new Error('work failed'));
        else w.resolve(outcome);
      }
    } else if (roll < 75) {
      // Mostly what a client would send next; sometimes anything.
      const protocol = (machine.snapshot().value as { open?: { protocol: unknown } }).open?.protocol;
      const likely: Record<string, SmtpSessionEvent> = {
        greeting: { type: 'CONNECTED' },
        ready: mode === 'inbound' ? { type: 'MAIL_FROM', address: '', eightBitMime: false, smtpUtf8: false } : { type: 'AUTH', username: 'alice@rice.example' },
        authenticated: { type: 'MAIL_FROM', address: 'alice@rice.example', eightBitMime: true, smtpUtf8: false },
        mailFrom: { type: 'RCPT_TO', address: 'bob@rice.example', original: 'Bob@rice.example' },
        rcptTo: { type: 'DATA' },
      };
      const next = typeof protocol === 'string' ? likely[protocol] : undefined;
      event = next && random.chance(0.5) ? next : random.pick<SmtpSessionEvent>([
        { type: 'CONNECTED' },
        { type: 'AUTH', username: 'alice@rice.example' },
        { type: 'MAIL_FROM', address: 'alice@rice.example', eightBitMime: true, smtpUtf8: false },
        { type: 'MAIL_FROM', address: 'a.smith@rice.example', eightBitMime: false, smtpUtf8: true },
        { type: 'MAIL_FROM', address: 'ceo@rice.example', eightBitMime: false, smtpUtf8: false },
        { type: 'MAIL_FROM', address: '', eightBitMime: false, smtpUtf8: false },
        { type: 'RCPT_TO', address: 'bob@rice.example', original: 'Bob@rice.example' },
        { type: 'RCPT_TO', address: 'carol@lip6.example', original: 'carol@lip6.example' },
        { type: 'RCPT_TO', address: 'dave@gmail.example', original: 'Dave@Gmail.example' },
        { type: 'DATA' },
        { type: 'DATA' },
      ]);
    } else if (roll < 87) {
      event = { type: 'REPLIED', command: random.pick(['RSET', 'HELO', 'EHLO', 'MAIL', 'RCPT', 'NOOP']), code: random.pick([250, 250, 250, 500, 503, 550]) };
    } else if (roll < 89) {
      // A closed socket ends the sequence: rarer than the others.
      const rare: SmtpSessionEvent[] = [{ type: 'TLS_ESTABLISHED' }, { type: 'TLS_ESTABLISHED' }, { type: 'SHUTDOWN' }, { type: 'CLOSED' }];
      event = random.pick(rare.slice(0, random.chance(0.2) ? 4 : random.chance(0.4) ? 3 : 2));
    } else {
      const ms = random.pick([1, 20, 50, 100, 250, 400]);
      trace.push(`advance ${ms}`);
      for (const x of sides) x.clock.advance(ms);
    }
    if (event) {
      trace.push(JSON.stringify(event));
      if (callbackTypes.has(event.type)) answeredFrom = machine.log.length;
      for (const x of sides) x.send(event);
    }
    await nextTurn();
    compare();
  }
}

describe('smtpSession step function against the machine', () => {
  it(`takes the same states, context and effects on ${SEEDS} seeded sequences of ${ACTIONS_PER_SEED} steps`, async () => {
    let ended = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      await runSeed(seed);
      ended++;
    }
    expect(ended).toBe(SEEDS);
  });
});
