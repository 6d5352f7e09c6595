// The session machine on its own, with stub effects: transitions for commands, IDLE, SASL,
// STARTTLS, COMPRESS, throttling and shutdown, and invariants checked after every transition.
import { describe, expect, it } from 'vitest';
import type { CommandOutcome, FrameMode } from '../../../mail/imap/dispatcher';
import type { CommandFrame } from '../../../mail/imap/framer';
import { imapSessionMachine, imapSessionMachineWith, type ImapSessionContext, type ImapSessionEvent, type StatusParams } from '../../../machines/imapSession.machine';
import { imapMachineValueOf } from '../../../machines/imapSession.step';
import { imapSessionRunner } from '../../../actors/mail/imapSessionRunner';
import { type Implementation, sessionUnderTest } from '../sessionUnderTest';
import { ManualClock } from './manualClock';
import { nextTurn } from '../turns';

const frame = (line: string): CommandFrame => ({ lines: [Buffer.from(line)], literals: [] });

function checkInvariants(value: unknown, context: ImapSessionContext): void {
  const state = JSON.stringify(value);
  expect(context.queue.length).toBeLessThanOrEqual(context.limits.pipelinedCommandsMax);
  if (state === '"logout"') return; // final: the connection is closing, nothing is read any more
  if (context.mode === 'sasl') expect(state).toMatch(/authenticating|executing/);
  if (context.mode === 'idle') expect(state).toMatch(/idling|executing/);
  if (state.includes('throttled')) expect(context.heldReply).toBeDefined();
  expect(context.failedLogins).toBeLessThan(context.limits.failedLoginsMax);
}

/** What a connection sends the session. */
type Sent = Exclude<ImapSessionEvent, { type: 'AUTOLOGOUT_CHECK' | 'runFrame.done' | 'runFrame.error' }>;

/** Runs the session with scripted outcomes per command line: the XState machine, or its step function as the connection runs it. */
function harness(script: (line: string, mode: FrameMode) => CommandOutcome | Promise<CommandOutcome>, implementation: Implementation) {
  const clock = new ManualClock();
  const sent: StatusParams[] = [];
  const effects: string[] = [];
  const frames: { line: string; mode: FrameMode }[] = [];
  let flushes = 0;
  let flushResult = true;
  const pushes: string[] = [];
  let pushResult = true;
  let pushGate: Promise<void> | undefined;
  const fx = {
    sendGreeting: () => void effects.push('greeting'),
    sendStatus: (params: StatusParams) => void sent.push(params),
    sendLiteralContinuation: () => void effects.push('continue'),
    discardInput: () => void effects.push('discardInput'),
    closeConnection: () => void effects.push('close'),
    endSession: () => void effects.push('endSession'),
    runFrame: async (input: { frame: CommandFrame; mode: FrameMode }) => {
      const line = input.frame.lines[0]!.toString();
      frames.push({ line, mode: input.mode });
      return script(line, input.mode);
    },
    flushUpdates: async () => {
      flushes++;
      return flushResult;
    },
    pushNotifications: async () => {
      pushes.push(`push after ${sent.length} replies`);
      await pushGate;
      return pushResult;
    },
    upgradeTls: async (): Promise<void> => {
      effects.push('upgraded');
    },
    startCompression: async (): Promise<void> => {
      effects.push(`compressing after ${sent.length} replies`);
    },
  };
  const input = { limits: { failedLoginsMax: 3, failedLoginDelayMs: 100, badCommandsBeforeDelay: 1, badCommandsMax: 4, badCommandDelayMs: 50 } };
  const session = sessionUnderTest(implementation, {
    machineWith: imapSessionMachineWith,
    runner: imapSessionRunner,
    valueOf: imapMachineValueOf,
    effects: fx,
    clock,
    input,
    check: checkInvariants,
  });
  /** The stub effects resolve at once: one turn runs their continuations and the transitions they cause. */
  const settle = nextTurn;
  return {
    clock,
    sent,
    effects,
    frames,
    get flushes() {
      return flushes;
    },
    setFlushResult: (value: boolean) => {
      flushResult = value;
    },
    pushes,
    setPushResult: (value: boolean) => {
      pushResult = value;
    },
    /** Pushes wait until the returned function is called. */
    holdPushes: () => {
      let release!: () => void;
      pushGate = new Promise((resolve) => (release = resolve));
      return () => {
        pushGate = undefined;
        release();
      };
    },
    event: (e: Sent) => session.send(e),
    send: async (line: string) => {
      session.send({ type: 'FRAME', frame: frame(line) });
      await settle();
    },
    settle,
    status: () => session.status(),
    state: () => JSON.stringify(session.value()),
  };
}

const reply = (tag: string, status: 'OK' | 'NO' | 'BAD', next: CommandOutcome extends infer O ? (O extends { next: infer N } ? N : never) : never, extra: Partial<Extract<CommandOutcome, { kind: 'reply' }>> = {}): CommandOutcome => ({
  kind: 'reply',
  tag,
  status,
  text: `${tag} done`,
  next,
  ...extra,
});

describe.each<Implementation>(['machine', 'step'])('imapSession %s', (implementation) => {
  it('a command that fails as a bug answers NO [SERVERBUG] and the session goes on', async () => {
    const h = harness((line) => {
      const [tag, name] = line.split(' ');
      if (name === 'LOGIN') return reply(tag!, 'OK', 'authenticated');
      if (name === 'FROB') throw new TypeError('a bug');
      return reply(tag!, 'OK', 'authenticated');
    }, implementation);
    await h.send('a LOGIN x y');
    await h.send('b FROB');
    expect(h.sent.at(-1)).toMatchObject({ tag: 'b', kind: 'NO', code: 'SERVERBUG' });
    await h.send('c NOOP');
    expect(h.sent.at(-1)).toMatchObject({ tag: 'c', kind: 'OK' });
    expect(h.state()).toBe('{"authenticated":{"waiting":"quiet"}}');
  });

  it('greets, runs commands in order, and moves between the RFC 3501 states', async () => {
    const h = harness((line) => {
      const [tag, name] = line.split(' ');
      if (name === 'LOGIN') return reply(tag!, 'OK', 'authenticated');
      if (name === 'SELECT') return reply(tag!, 'OK', 'selected');
      if (name === 'CLOSE') return reply(tag!, 'OK', 'authenticated');
      if (name === 'LOGOUT') return reply(tag!, 'OK', 'logout');
      return reply(tag!, 'OK', 'notAuthenticated');
    }, implementation);
    expect(h.effects).toEqual(['greeting']);
    expect(h.state()).toBe('{"notAuthenticated":"waiting"}');
    h.event({ type: 'FRAME', frame: frame('a LOGIN x y') });
    h.event({ type: 'FRAME', frame: frame('b SELECT INBOX') });
    await h.settle();
    expect(h.frames.map((f) => f.line)).toEqual(['a LOGIN x y', 'b SELECT INBOX']);
    expect(h.state()).toBe('{"selected":{"waiting":"quiet"}}');
    await h.send('c CLOSE');
    expect(h.state()).toBe('{"authenticated":{"waiting":"quiet"}}');
    await h.send('d LOGOUT');
    expect(h.status()).toBe('done');
    expect(h.sent.map((s) => s.tag)).toEqual(['a', 'b', 'c', 'd']);
    expect(h.effects.slice(-2)).toEqual(['endSession', 'close']);
  });

  it('IDLE: changes are flushed while listening; the next frame is read as DONE', async () => {
    const h = harness((line, mode) => {
      if (mode === 'idle') return reply('i', 'OK', 'selected');
      if (line.includes('LOGIN')) return reply('a', 'OK', 'selected');
      return { kind: 'idle' };
    }, implementation);
    await h.send('a LOGIN x y');
    await h.send('i IDLE');
    expect(h.state()).toBe('{"selected":{"idling":"listening"}}');
    h.event({ type: 'MAILBOX_CHANGED' });
    await h.settle();
    expect(h.flushes).toBe(1);
    expect(h.state()).toBe('{"selected":{"idling":"listening"}}');
    await h.send('DONE');
    expect(h.frames.at(-1)).toEqual({ line: 'DONE', mode: 'idle' });
    expect(h.state()).toBe('{"selected":{"waiting":"quiet"}}');
  });

  it('IDLE: a lost mailbox during a flush ends the session', async () => {
    const h = harness((line) => (line.includes('LOGIN') ? reply('a', 'OK', 'selected') : { kind: 'idle' }), implementation);
    await h.send('a LOGIN x y');
    await h.send('i IDLE');
    h.setFlushResult(false);
    h.event({ type: 'MAILBOX_CHANGED' });
    await h.settle();
    expect(h.status()).toBe('done');
  });

  it('NOTIFY: a notice while waiting is pushed at once; one that comes during a command, after its reply', async () => {
    let finishCommand!: () => void;
    const h = harness((line) => reply(line.split(' ')[0]!, 'OK', 'selected'), implementation);
    await h.send('a LOGIN x y');
    h.event({ type: 'NOTIFICATION_PENDING' });
    await h.settle();
    expect(h.pushes).toEqual(['push after 1 replies']);
    expect(h.state()).toBe('{"selected":{"waiting":"quiet"}}');
    // A slow command: the notice waits for its reply.
    const gate = new Promise<void>((resolve) => (finishCommand = resolve));
    const h2 = harness((line) => {
      if (line.startsWith('s ')) return gate.then(() => reply('s', 'OK', 'selected'));
      return reply(line.split(' ')[0]!, 'OK', 'selected');
    }, implementation);
    await h2.send('a LOGIN x y');
    h2.event({ type: 'FRAME', frame: frame('s SEARCH ALL') });
    await h2.settle();
    expect(h2.state()).toBe('{"selected":"executing"}');
    h2.event({ type: 'NOTIFICATION_PENDING' });
    await h2.settle();
    expect(h2.pushes).toEqual([]);
    finishCommand();
    await h2.settle();
    expect(h2.pushes).toEqual(['push after 2 replies']);
    expect(h2.state()).toBe('{"selected":{"waiting":"quiet"}}');
  });

  it('NOTIFY: a command that arrives during a push runs after it; notices during a push push again', async () => {
    const h = harness((line) => reply(line.split(' ')[0]!, 'OK', 'selected'), implementation);
    await h.send('a LOGIN x y');
    const release = h.holdPushes();
    h.event({ type: 'NOTIFICATION_PENDING' });
    await h.settle();
    expect(h.state()).toBe('{"selected":{"waiting":"notifying"}}');
    h.event({ type: 'FRAME', frame: frame('n NOOP') });
    h.event({ type: 'NOTIFICATION_PENDING' });
    await h.settle();
    expect(h.frames.map((f) => f.line)).toEqual(['a LOGIN x y']);
    release();
    await h.settle();
    // The queued command first (the notice is remembered), then the second push.
    expect(h.frames.map((f) => f.line)).toEqual(['a LOGIN x y', 'n NOOP']);
    expect(h.pushes).toEqual(['push after 1 replies', 'push after 2 replies']);
    expect(h.state()).toBe('{"selected":{"waiting":"quiet"}}');
  });

  it('autologout counts from the last answered command, not from login; a command or IDLE running is not idle', async () => {
    let finishSlow!: () => void;
    const slow = new Promise<void>((resolve) => (finishSlow = resolve));
    const h = harness((line, mode) => {
      if (mode === 'idle') return reply('i', 'OK', 'selected');
      if (line.startsWith('i ')) return { kind: 'idle' };
      if (line.startsWith('s ')) return slow.then(() => reply('s', 'OK', 'selected'));
      return reply(line.split(' ')[0]!, 'OK', 'selected');
    }, implementation);
    await h.send('a LOGIN x y');
    h.clock.advance(20 * 60_000);
    await h.send('n NOOP');
    h.clock.advance(20 * 60_000); // 40 minutes after login, 20 after the NOOP
    await h.settle();
    expect(h.status()).toBe('active');
    h.clock.advance(9 * 60_000);
    await h.settle();
    expect(h.status()).toBe('active');
    // A command that runs past the autologout: the session waits for it, and counts from its reply.
    h.event({ type: 'FRAME', frame: frame('s SEARCH ALL') });
    await h.settle();
    h.clock.advance(40 * 60_000);
    await h.settle();
    expect(h.state()).toBe('{"selected":"executing"}');
    finishSlow();
    await h.settle();
    h.clock.advance(29 * 60_000);
    await h.settle();
    expect(h.status()).toBe('active');
    // IDLE has its own 30 minutes, from its start.
    await h.send('i IDLE');
    h.clock.advance(29 * 60_000);
    await h.settle();
    expect(h.state()).toBe('{"selected":{"idling":"listening"}}');
    await h.send('DONE');
    h.clock.advance(30 * 60_000 - 1);
    await h.settle();
    expect(h.status()).toBe('active');
    h.clock.advance(1);
    await h.settle();
    expect(h.sent.at(-1)).toMatchObject({ kind: 'BYE', text: 'Autologout: idle for too long' });
    expect(h.status()).toBe('done');
  });

  it('NOTIFY: pushes are not client activity (autologout runs on); a lost mailbox during a push ends the session', async () => {
    const h = harness((line) => reply(line.split(' ')[0]!, 'OK', 'selected'), implementation);
    await h.send('a LOGIN x y');
    h.clock.advance(20 * 60_000);
    h.event({ type: 'NOTIFICATION_PENDING' });
    await h.settle();
    expect(h.pushes).toHaveLength(1);
    h.clock.advance(10 * 60_000);
    expect(h.sent.at(-1)).toMatchObject({ kind: 'BYE', text: 'Autologout: idle for too long' });
    expect(h.status()).toBe('done');

    const lost = harness((line) => reply(line.split(' ')[0]!, 'OK', 'selected'), implementation);
    await lost.send('a LOGIN x y');
    lost.setPushResult(false);
    lost.event({ type: 'NOTIFICATION_PENDING' });
    await lost.settle();
    expect(lost.status()).toBe('done');
  });

  it('NOTIFY during IDLE: a notice flushes like a mailbox change; one during a flush flushes again', async () => {
    const h = harness((line, mode) => {
      if (mode === 'idle') return reply('i', 'OK', 'selected');
      if (line.includes('LOGIN')) return reply('a', 'OK', 'selected');
      return { kind: 'idle' };
    }, implementation);
    await h.send('a LOGIN x y');
    await h.send('i IDLE');
    h.event({ type: 'NOTIFICATION_PENDING' });
    h.event({ type: 'NOTIFICATION_PENDING' });
    await h.settle();
    expect(h.flushes).toBe(2);
    expect(h.pushes).toEqual([]);
    expect(h.state()).toBe('{"selected":{"idling":"listening"}}');
  });

  it('SASL: after a challenge the next frame is read as a SASL response', async () => {
    const h = harness((_line, mode) => (mode === 'sasl' ? reply('a', 'OK', 'authenticated') : { kind: 'saslContinue' }), implementation);
    await h.send('a AUTHENTICATE PLAIN');
    expect(h.state()).toBe('{"notAuthenticated":"authenticating"}');
    await h.send('AGFsaWNlAHNlY3JldA==');
    expect(h.frames.at(-1)?.mode).toBe('sasl');
    expect(h.state()).toBe('{"authenticated":{"waiting":"quiet"}}');
  });

  it('STARTTLS: replies OK, discards pipelined plaintext, upgrades, then reads commands again', async () => {
    const h = harness((line) => (line.includes('STARTTLS') ? { kind: 'startTls', tag: 's', text: 'Begin TLS' } : reply('x', 'OK', 'notAuthenticated')), implementation);
    h.event({ type: 'FRAME', frame: frame('s STARTTLS') });
    h.event({ type: 'FRAME', frame: frame('x LOGIN injected') });
    await h.settle();
    expect(h.sent[0]).toEqual({ tag: 's', kind: 'OK', text: 'Begin TLS' });
    expect(h.effects).toEqual(['greeting', 'discardInput', 'upgraded']);
    expect(h.frames.map((f) => f.line)).toEqual(['s STARTTLS']);
    expect(h.state()).toBe('{"notAuthenticated":"waiting"}');
  });

  it('COMPRESS: replies OK first, then changes the layer, then runs the commands queued behind it', async () => {
    const h = harness((line) => {
      if (line.startsWith('l ')) return reply('l', 'OK', 'authenticated');
      if (line.includes('COMPRESS')) return { kind: 'compress', tag: 'z', text: 'DEFLATE active' };
      return reply(line.split(' ')[0]!, 'OK', 'selected');
    }, implementation);
    await h.send('l LOGIN alice secret');
    await h.send('s SELECT INBOX');
    h.event({ type: 'FRAME', frame: frame('z COMPRESS DEFLATE') });
    h.event({ type: 'FRAME', frame: frame('n NOOP') });
    await h.settle();
    expect(h.sent.map((s) => s.tag)).toEqual(['l', 's', 'z', 'n']);
    expect(h.effects).toEqual(['greeting', 'compressing after 3 replies']);
    expect(h.frames.map((f) => f.line)).toEqual(['l LOGIN alice secret', 's SELECT INBOX', 'z COMPRESS DEFLATE', 'n NOOP']);
    expect(h.state()).toBe('{"selected":{"waiting":"quiet"}}');
  });

  it('throttles failed logins on the clock and closes at the limit', async () => {
    const h = harness((line) => reply(line.split(' ')[0]!, 'NO', 'notAuthenticated', { penalty: 'failedLogin' }), implementation);
    await h.send('f1 LOGIN x y');
    expect(h.state()).toBe('{"notAuthenticated":"throttled"}');
    expect(h.sent).toEqual([]);
    h.clock.advance(100);
    expect(h.sent.map((s) => s.tag)).toEqual(['f1']);
    await h.send('f2 LOGIN x y');
    h.clock.advance(199);
    expect(h.sent).toHaveLength(1);
    h.clock.advance(1);
    expect(h.sent).toHaveLength(2);
    await h.send('f3 LOGIN x y');
    expect(h.sent.map((s) => s.kind)).toEqual(['NO', 'NO', 'NO', 'BYE']);
    expect(h.status()).toBe('done');
  });

  it('SHUTDOWN says BYE from any state, even mid-command', async () => {
    const h = harness(() => reply('a', 'OK', 'authenticated'), implementation);
    h.event({ type: 'SHUTDOWN' });
    expect(h.sent).toEqual([{ tag: undefined, kind: 'BYE', text: 'Server shutting down' }]);
    expect(h.status()).toBe('done');
  });

  it('exports a definition for the visualizer', () => {
    const json = JSON.parse(JSON.stringify(imapSessionMachine.toJSON())) as { states: Record<string, unknown> };
    expect(Object.keys(json.states)).toEqual(['notAuthenticated', 'authenticated', 'selected', 'logout']);
  });
});
