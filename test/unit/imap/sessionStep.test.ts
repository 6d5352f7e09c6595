// The IMAP session's step function (machines/imapSession.step.ts, run by actors/mail/imapSessionRunner.ts)
// against the XState machine it mirrors (machines/imapSession.machine.ts): seeded random sequences of
// what a connection lives through (commands, their outcomes and failures, literals, IDLE, NOTIFY, SASL,
// STARTTLS, COMPRESS, throttling, autologout, shutdown, a closed socket) drive both, and after every
// step both must be in the same state with the same context, having performed the same effects.
import { describe, expect, it } from 'vitest';
import { imapSessionRunner } from '../../../actors/mail/imapSessionRunner';
import { type Implementation, sessionUnderTest } from '../sessionUnderTest';
import { SimRandom } from '../../../infra/sim/random';
import type { CommandOutcome, FrameMode } from '../../../mail/imap/dispatcher';
import type { CommandFrame } from '../../../mail/imap/framer';
import { imapSessionMachineWith, type ImapSessionEffects, type ImapSessionEvent, type RunFrameInput } from '../../../machines/imapSession.machine';
import { imapMachineValueOf } from '../../../machines/imapSession.step';
import { nextTurn } from '../turns';
import { ManualClock } from './manualClock';

const SEEDS = 200;
const ACTIONS_PER_SEED = 120;

/** What a connection sends the session. */
type Sent = Exclude<ImapSessionEvent, { type: 'AUTOLOGOUT_CHECK' | 'runFrame.done' | 'runFrame.error' }>;

/** Small limits, so that random sequences reach them: throttling, the pipelining cap, autologout. */
const input = {
  limits: {
    failedLoginsMax: 4,
    failedLoginDelayMs: 100,
    badCommandsBeforeDelay: 2,
    badCommandsMax: 8,
    badCommandDelayMs: 50,
    autologoutMs: 1_000,
    preAuthTimeoutMs: 700,
    pipelinedCommandsMax: 6,
  },
};

interface Pending<T> {
  readonly what: string;
  resolve(value: T): void;
  reject(error: unknown): void;
}

/** One implementation under the same script: its effects written down, its work held until the script answers it. */
function side(implementation: Implementation) {
  const clock = new ManualClock();
  const log: string[] = [];
  const frames: Pending<CommandOutcome>[] = [];
  const work: Pending<unknown>[] = [];
  const held = <T>(list: Pending<T>[], what: string) =>
    new Promise<T>((resolve, reject) => {
      log.push(`start ${what}`);
      list.push({ what, resolve, reject });
    });
  const fx: ImapSessionEffects = {
    sendGreeting: () => void log.push('greeting'),
    sendStatus: (p) => void log.push(`status ${p.tag ?? '*'} ${p.kind}${p.code ? ` [${p.code}]` : ''} ${p.text}`),
    sendLiteralContinuation: () => void log.push('continue'),
    discardInput: () => void log.push('discardInput'),
    closeConnection: () => void log.push('close'),
    endSession: () => void log.push('endSession'),
    runFrame: (i: RunFrameInput) => held(frames, `runFrame ${i.frame.lines[0]!.toString()} (${i.mode})`),
    flushUpdates: () => held(work, 'flushUpdates') as Promise<boolean>,
    pushNotifications: () => held(work, 'pushNotifications') as Promise<boolean>,
    upgradeTls: () => held(work, 'upgradeTls') as Promise<void>,
    startCompression: () => held(work, 'startCompression') as Promise<void>,
  };
  const session = sessionUnderTest(implementation, { machineWith: imapSessionMachineWith, runner: imapSessionRunner, valueOf: imapMachineValueOf, effects: fx, clock, input });
  return { clock, log, frames, work, send: (e: Sent) => session.send(e), status: () => session.status(), snapshot: () => ({ value: session.value(), context: session.context() }) };
}

const frameOf = (line: string): CommandFrame => ({ lines: [Buffer.from(line)], literals: [] });

/** An outcome a command could have at `level` (what the dispatcher returns there). */
function outcomeAt(random: SimRandom, level: string, mode: FrameMode, tag: string): CommandOutcome {
  const special = random.float();
  if (mode === 'command' && special < 0.2) {
    if (level === 'notAuthenticated') return random.chance(0.5) ? { kind: 'saslContinue' } : { kind: 'startTls', tag, text: 'Begin TLS' };
    return random.chance(0.6) ? { kind: 'idle' } : { kind: 'compress', tag, text: 'DEFLATE active' };
  }
  const next = random.chance(0.02) ? 'logout' : random.pick(['notAuthenticated', 'authenticated', 'authenticated', 'selected', 'selected', 'selected'] as const);
  const penalty = random.chance(0.15) ? random.pick(['failedLogin', 'badCommand'] as const) : undefined;
  const status = penalty === undefined ? 'OK' : penalty === 'failedLogin' ? 'NO' : 'BAD';
  return { kind: 'reply', tag, status, text: `${tag} ${status}`, next, ...(penalty ? { penalty } : {}) };
}

async function runSeed(seed: number): Promise<void> {
  const random = new SimRandom(`imap-session-step/${seed}`);
  const sides = [side('machine'), side('step')] as const;
  const trace: string[] = [];
  const compare = () => {
    const [m, s] = sides.map((x) => ({ status: x.status(), ...x.snapshot(), log: x.log.join('\n'), pending: [x.frames.map((p) => p.what), x.work.map((p) => p.what)] }));
    const where = `seed ${seed} after: ${trace.slice(-6).join(' | ')}`;
    expect(s!.status, where).toBe(m!.status);
    if (m!.status !== 'active') return;
    expect(s!.value, where).toEqual(m!.value);
    expect(s!.context, where).toEqual(m!.context);
    expect(s!.log, where).toBe(m!.log);
    expect(s!.pending, where).toEqual(m!.pending);
  };
  compare();
  let tags = 0;
  for (let i = 0; i < ACTIONS_PER_SEED && sides[0].status() === 'active'; i++) {
    const [machine] = sides;
    const level = Object.keys(machine.snapshot().value as object)[0] ?? 'logout';
    const roll = random.int(100);
    if (roll < (machine.frames.length > 0 ? 12 : 30)) {
      const frame = frameOf(`t${++tags} CMD`);
      trace.push(`FRAME t${tags}`);
      for (const x of sides) x.send({ type: 'FRAME', frame });
    } else if (roll < 55 && machine.frames.length > 0) {
      const what = machine.frames[0]!.what;
      const mode = (what.match(/\((\w+)\)$/)?.[1] ?? 'command') as FrameMode;
      const tag = what.split(' ')[1]!;
      if (random.chance(0.05)) {
        trace.push(`fail ${tag}`);
        for (const x of sides) x.frames.shift()!.reject(new TypeError('a bug'));
      } else {
        const outcome = outcomeAt(random, level, mode, tag);
        trace.push(`answer ${tag} ${JSON.stringify(outcome)}`);
        for (const x of sides) x.frames.shift()!.resolve(outcome);
      }
    } else if (roll < 65 && machine.work.length > 0) {
      const answer = random.pick(['true', 'true', 'true', 'false', 'throw'] as const);
      trace.push(`work ${machine.work[0]!.what} ${answer}`);
      for (const x of sides) {
        const w = x.work.shift()!;
        if (answer === 'throw') w.reject(new Error('work failed'));
        else w.resolve(answer === 'true');
      }
    } else if (roll < 72) {
      const type = random.pick(['MAILBOX_CHANGED', 'NOTIFICATION_PENDING', 'LITERAL_CONTINUE'] as const);
      trace.push(type);
      for (const x of sides) x.send({ type });
    } else if (roll < 76) {
      const event = { type: 'LITERAL_REJECTED' as const, tag: `t${++tags}`, forAppend: random.chance(0.5), reason: 'Literal too big' };
      trace.push('LITERAL_REJECTED');
      for (const x of sides) x.send(event);
    } else if (roll < 76 + (random.chance(0.3) ? 1 : 0)) {
      const type = random.pick(['LINE_TOO_LONG', 'CONNECTION_CLOSED', 'SHUTDOWN'] as const);
      trace.push(type);
      for (const x of sides) x.send(type === 'LINE_TOO_LONG' ? { type, tag: 'x' } : { type });
    } else {
      const ms = random.pick([1, 30, 50, 120, 400, 1, 30, 50, 120, 400, 800, 1_100]);
      trace.push(`advance ${ms}`);
      for (const x of sides) x.clock.advance(ms);
    }
    await nextTurn();
    compare();
  }
}

describe('imapSession step function against the machine', () => {
  it(`takes the same states, context and effects on ${SEEDS} seeded sequences of ${ACTIONS_PER_SEED} steps`, async () => {
    let ended = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      await runSeed(seed);
      ended++;
    }
    expect(ended).toBe(SEEDS);
  });
});
