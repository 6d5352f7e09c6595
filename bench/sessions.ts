// Session machine benchmark (issue 11): the CPU the IMAP and SMTP session machines add to each
// command, in this process, without sockets or storage. Each machine is driven as its connection
// actor drives it (actors/mail/imapConnection.ts, actors/mail/smtpSession.ts): an event per command,
// the work effect answers `<name>.done` a promise later (machines/work.ts), and the reply effect ends
// the cycle. Printed as µs per command next to baselines measured in the same run: the same cycle
// through a bare function, and through a minimal two-state XState machine.
import { createActor, setup } from 'xstate';
import { wallClock } from '../infra/clock';
import type { CommandOutcome } from '../mail/imap/dispatcher';
import type { CommandFrame } from '../mail/imap/framer';
import { workEffect } from '../machines/work';
import { imapSessionMachineWith, type ImapSessionEffects } from '../machines/imapSession.machine';
import { imapSessionRunner } from '../actors/mail/imapSessionRunner';
import { replyMatters, smtpSessionMachineWith, type SmtpSessionEffects, type SmtpSessionEvent } from '../machines/smtpSession.machine';
import { smtpSessionRunner } from '../actors/mail/smtpSessionRunner';
import { type Bench, round } from './stats';

type Cycle = () => Promise<void>;

/** CPU time of this process so far, in µs (under load, wall time would measure the other processes too). */
function cpuUs(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

/**
 * Runs the cycles in turns, `rounds` rounds of about `roundMs` of CPU each, so that all see the same
 * load; µs of CPU per cycle, the best round of each (the machine is shared: the other rounds measure
 * the neighbours too).
 */
async function measure(cycles: readonly Cycle[], rounds: number, roundMs: number): Promise<number[]> {
  const best = cycles.map(() => Infinity);
  for (const cycle of cycles) for (let i = 0; i < 500; i++) await cycle();
  for (let round = 0; round < rounds; round++) {
    for (const [k, cycle] of cycles.entries()) {
      let n = 0;
      const start = cpuUs();
      let now = start;
      while (now - start < roundMs * 1000) {
        for (let i = 0; i < 20; i++) await cycle();
        n += 20;
        now = cpuUs();
      }
      best[k] = Math.min(best[k]!, (now - start) / n);
    }
  }
  return best;
}

/** Resolved by the effect that ends a cycle; one per cycle, as a connection's reply would be. */
function replyGate() {
  let resolve: () => void = () => undefined;
  return {
    wait: (start: () => void) =>
      new Promise<void>((r) => {
        resolve = r;
        start();
      }),
    done: () => resolve(),
  };
}

/** The cycle without a machine: call the work, await it, reply. */
function bareCycle(): Cycle {
  const work = async (n: number) => n + 1;
  let replies = 0;
  return async () => {
    replies = await work(replies);
  };
}

/** A minimal XState machine with the same shape: waiting -GO-> working (effect) -work.done-> waiting, reply. */
export function minimalMachineCycle(): Cycle {
  const gate = replyGate();
  const machine = setup({
    types: { events: {} as { type: 'GO' } | { type: 'work.done'; output: number } },
    actions: {
      work: workEffect('work', async (n: number) => n + 1),
      reply: () => gate.done(),
    },
  }).createMachine({
    initial: 'waiting',
    states: {
      waiting: { on: { GO: 'working' } },
      working: { entry: { type: 'work', params: 1 }, on: { 'work.done': { target: 'waiting', actions: 'reply' } } },
    },
  });
  const actor = createActor(machine, { clock: wallClock }).start();
  return () => gate.wait(() => actor.send({ type: 'GO' }));
}

const frame = (line: string): CommandFrame => ({ lines: [Buffer.from(line)], literals: [] });

/**
 * An IMAP session logged in, then NOOP after NOOP: FRAME, runFrame, runFrame.done, the tagged OK. Through
 * the XState machine, or through its step function as the connection runs it.
 */
export function imapCycle(implementation: 'machine' | 'step'): { cycle: Cycle; stop: () => void } {
  const gate = replyGate();
  const outcome: CommandOutcome = { kind: 'reply', tag: 'a', status: 'OK', text: 'NOOP completed', next: 'authenticated', command: 'NOOP' };
  const nothing = async () => undefined;
  const fx: ImapSessionEffects = {
    sendGreeting: () => undefined,
    sendStatus: () => gate.done(),
    sendLiteralContinuation: () => undefined,
    discardInput: () => undefined,
    closeConnection: () => undefined,
    endSession: () => undefined,
    runFrame: async () => outcome,
    flushUpdates: async () => true,
    pushNotifications: async () => true,
    upgradeTls: nothing,
    startCompression: nothing,
  };
  const noop = frame('a NOOP');
  if (implementation === 'machine') {
    const actor = createActor(imapSessionMachineWith(fx), { clock: wallClock, input: {} }).start();
    return { cycle: () => gate.wait(() => actor.send({ type: 'FRAME', frame: noop })), stop: () => actor.stop() };
  }
  const runner = imapSessionRunner({
    effects: fx,
    clock: wallClock,
    input: {},
    onCrash: (error) => {
      throw error;
    },
  });
  runner.start();
  return { cycle: () => gate.wait(() => runner.send({ type: 'FRAME', frame: noop })), stop: () => runner.send({ type: 'CONNECTION_CLOSED' }) };
}

/**
 * An SMTP submission session authenticated, then transaction after transaction: MAIL FROM, RCPT TO,
 * DATA, each with its work effect and its REPLIED; the figure is per command (a third of a transaction).
 * Through the XState machine, or through its step function as the session actor runs it.
 */
export function smtpCycle(implementation: 'machine' | 'step'): { cycle: Cycle; stop: () => void } {
  let answered: () => void = () => undefined;
  const identity = { user: 'alice@example.org', sendAs: ['alice@example.org'] };
  const fx: SmtpSessionEffects = {
    answer: () => answered(),
    disconnect: (reply) => {
      throw new Error(`bench smtp session disconnected: ${reply.code} ${reply.text}`);
    },
    authenticate: async () => ({ kind: 'ok' as const, identity }),
    checkSendRate: async () => ({ ok: true as const }),
    checkRecipient: async () => ({ kind: 'classified' as const, cls: { kind: 'post' as const, local: true }, relay: { kind: 'up' as const } }),
    receiveMessage: async () => ({ sizeOctets: 4096, oversized: false, overBudget: false, fromAlignment: { kind: 'aligned' as const } }),
    deliver: async () => ({ kind: 'delivered' as const, messageRef: 'm1', notified: ['bob@example.org'], relay: { kind: 'none' as const } }),
  };
  let send: (event: SmtpSessionEvent) => void;
  let stop: () => void;
  if (implementation === 'machine') {
    const machine = smtpSessionMachineWith(fx);
    const actor = createActor(machine, { clock: wallClock, input: { mode: 'submission' } }).start();
    send = (event) => actor.send(event);
    stop = () => actor.stop();
  } else {
    const runner = smtpSessionRunner({
      effects: fx,
      clock: wallClock,
      input: { mode: 'submission' },
      onCrash: (error) => {
        throw error;
      },
    });
    runner.start();
    send = (event) => runner.send(event);
    stop = () => runner.send({ type: 'CLOSED' });
  }
  const command = (event: SmtpSessionEvent, name: string) =>
    new Promise<void>((resolve) => {
      answered = () => {
        answered = () => undefined;
        resolve();
      };
      send(event);
    }).then(() => {
      // As the session actor does: only the replies that matter to the machine become events.
      if (replyMatters(name, 250)) send({ type: 'REPLIED', command: name, code: 250 });
    });
  const ready = (async () => {
    await command({ type: 'CONNECTED' }, 'CONNECT');
    await command({ type: 'AUTH', username: identity.user }, 'AUTH');
  })();
  return {
    cycle: async () => {
      await ready;
      await command({ type: 'MAIL_FROM', address: identity.user, eightBitMime: false, smtpUtf8: false }, 'MAIL');
      await command({ type: 'RCPT_TO', address: 'bob@example.org', original: 'bob@example.org' }, 'RCPT');
      await command({ type: 'DATA' }, 'DATA');
    },
    stop,
  };
}

export interface SessionsResult {
  readonly bareFunctionUs: number;
  readonly minimalMachineUs: number;
  readonly imapNoopUs: number;
  /** The IMAP session as the connection runs it: its step function (the machine above, interpreted, is the definition). */
  readonly imapStepNoopUs: number;
  readonly smtpCommandUs: number;
  /** The SMTP session as the session actor runs it: its step function. */
  readonly smtpStepCommandUs: number;
}

export async function runSessionsBench(opts: { quick: boolean; log: (line: string) => void }): Promise<SessionsResult> {
  const rounds = opts.quick ? 10 : 40;
  const roundMs = 50;
  const imap = imapCycle('machine');
  const imapStep = imapCycle('step');
  const smtp = smtpCycle('machine');
  const smtpStep = smtpCycle('step');
  const [bare, minimal, imapNoop, imapStepNoop, smtpTransaction, smtpStepTransaction] = await measure(
    [bareCycle(), minimalMachineCycle(), imap.cycle, imapStep.cycle, smtp.cycle, smtpStep.cycle],
    rounds,
    roundMs,
  );
  const result: SessionsResult = {
    bareFunctionUs: round(bare!, 2),
    minimalMachineUs: round(minimal!, 2),
    imapNoopUs: round(imapNoop!, 2),
    imapStepNoopUs: round(imapStepNoop!, 2),
    smtpCommandUs: round(smtpTransaction! / 3, 2),
    smtpStepCommandUs: round(smtpStepTransaction! / 3, 2),
  };
  imap.stop();
  imapStep.stop();
  smtp.stop();
  smtpStep.stop();
  opts.log(`  µs of CPU per command cycle (event, work effect, .done, reply), best of ${rounds} rounds of ${roundMs} ms taken in turns:`);
  opts.log(`    bare function + await                ${result.bareFunctionUs.toFixed(2).padStart(8)}`);
  opts.log(`    minimal XState machine               ${result.minimalMachineUs.toFixed(2).padStart(8)}`);
  opts.log(`    IMAP session machine, NOOP           ${result.imapNoopUs.toFixed(2).padStart(8)}   ${(result.imapNoopUs / result.minimalMachineUs).toFixed(1)}x the minimal machine`);
  opts.log(`    IMAP session step fn, NOOP           ${result.imapStepNoopUs.toFixed(2).padStart(8)}   ${(result.imapStepNoopUs / result.minimalMachineUs).toFixed(1)}x the minimal machine (what connections run)`);
  opts.log(`    SMTP session machine, MAIL/RCPT/DATA ${result.smtpCommandUs.toFixed(2).padStart(8)}   ${(result.smtpCommandUs / result.minimalMachineUs).toFixed(1)}x the minimal machine (per command)`);
  opts.log(`    SMTP session step fn, MAIL/RCPT/DATA ${result.smtpStepCommandUs.toFixed(2).padStart(8)}   ${(result.smtpStepCommandUs / result.minimalMachineUs).toFixed(1)}x the minimal machine (per command; what sessions run)`);
  return result;
}

export const sessionsBench: Bench = {
  name: 'sessions',
  summary: 'CPU per command of the IMAP and SMTP session machines, next to a bare call and a minimal XState machine',
  run: runSessionsBench,
};
