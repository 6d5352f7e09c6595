// The IMAP session machine: one per connection. States follow RFC 3501 3: notAuthenticated,
// authenticated, selected, logout; inside each, waiting (for a command), executing, throttled
// (a penalised reply waits out its delay), plus idling (IDLE), authenticating (a SASL exchange)
// upgrading (STARTTLS) and compressing (COMPRESS DEFLATE). Waiting is quiet, or notifying: pushing
// what NOTIFY (RFC 5465) has for the client while no command runs.
//
// The machine is pure: it decides what happens next and names its effects; the connection actor
// (actors/mail/imapConnection.ts) supplies them with machine.provide(). Timers run on the actor's
// clock (createActor(machine, { clock })).
//
// Ordering duties:
// - One frame runs at a time; frames that arrive meanwhile are queued in order (pipelining).
// - The tagged reply is sent by the machine after runFrame resolved, so it follows every untagged
//   response the command wrote.
// - STARTTLS: the OK is written, then everything the client sent after STARTTLS in plaintext is
//   discarded (queue and parser buffer) before the socket is upgraded (CVE-2011-0411 class).
// - COMPRESS: the OK is written in clear, then the deflate layer goes in; the parser stopped after
//   the COMPRESS line, and the bytes it holds are the start of the deflate stream (RFC 4978 3).
// - A penalised reply (bad command beyond the tolerance, failed login) is held for a delay; at the
//   limit the reply is followed by BYE and the connection closes.
// - NOTIFY's unsolicited responses go out only while no command runs (waiting.notifying) or during
//   IDLE, never inside a command's output; a command that arrives meanwhile waits for the push to
//   end. A notice that comes while a command runs is remembered and pushed once it has answered.
//   Pushing is not client activity: the autologout timer runs on across it.
import { assign, cancel, fromPromise, raise, setup, type ActorSystem, type ActorSystemInfo } from 'xstate';
import { workEffect } from './work';
import type { CommandOutcome, FrameMode } from '../mail/imap/dispatcher';
import type { CommandFrame } from '../mail/imap/framer';
import { tagOfLine } from '../mail/imap/framer';
import { imapLimits } from '../mail/imap/limits';

export interface StatusParams {
  readonly tag: string | undefined;
  readonly kind: 'OK' | 'NO' | 'BAD' | 'BYE';
  readonly text: string;
  readonly code?: string;
}

export interface ImapSessionLimits {
  readonly badCommandsBeforeDelay: number;
  readonly badCommandsMax: number;
  readonly badCommandDelayMs: number;
  readonly failedLoginsMax: number;
  readonly failedLoginDelayMs: number;
  readonly autologoutMs: number;
  readonly preAuthTimeoutMs: number;
  readonly pipelinedCommandsMax: number;
}

export interface ImapSessionContext {
  readonly limits: ImapSessionLimits;
  readonly queue: readonly CommandFrame[];
  readonly current: CommandFrame | undefined;
  /** How the next frame is read: a command, IDLE's DONE, or a SASL response. */
  readonly mode: FrameMode;
  /** A reply held back by throttling. */
  readonly heldReply: StatusParams | undefined;
  readonly badCommands: number;
  readonly failedLogins: number;
  readonly throttleDelayMs: number;
  readonly changedWhileFlushing: boolean;
  /** NOTIFY has something to push that arrived when it could not be pushed at once. */
  readonly notificationPending: boolean;
  /** When the session last entered waiting (a command answered), on the actor's clock. */
  readonly idleSinceMs: number;
  /** When the autologout check is due (it is the time whenever the check runs). */
  readonly autologoutDueMs: number;
}

export type ImapSessionEvent =
  | { readonly type: 'FRAME'; readonly frame: CommandFrame }
  | { readonly type: 'LITERAL_CONTINUE' }
  | { readonly type: 'LITERAL_REJECTED'; readonly tag: string | undefined; readonly forAppend: boolean; readonly reason: string }
  | { readonly type: 'LINE_TOO_LONG'; readonly tag: string | undefined }
  | { readonly type: 'MAILBOX_CHANGED' }
  /** NOTIFY queued something to push now. */
  | { readonly type: 'NOTIFICATION_PENDING' }
  | { readonly type: 'CONNECTION_CLOSED' }
  | { readonly type: 'SHUTDOWN'; readonly text?: string }
  /** The frame the machine asked to run (the runFrame effect) finished, or failed as a bug. */
  | { readonly type: 'runFrame.done'; readonly output: CommandOutcome }
  | { readonly type: 'runFrame.error'; readonly error: unknown }
  /** The autologout check the machine scheduled for itself (see nextAutologoutDue). */
  | { readonly type: 'AUTOLOGOUT_CHECK' };

export interface ImapSessionInput {
  readonly limits?: Partial<ImapSessionLimits>;
}

/** The session's effects: the machine's named actions and invoked work, as a connection performs them. */
export interface ImapSessionEffects {
  sendGreeting(): void;
  sendStatus(params: StatusParams): void;
  sendLiteralContinuation(): void;
  /** Answered by runFrame.done (or runFrame.error when it rejects). */
  runFrame(input: RunFrameInput): Promise<CommandOutcome>;
  discardInput(): void;
  closeConnection(): void;
  endSession(): void;
  /** IDLE's updates; false when the selected mailbox is lost. */
  flushUpdates(): Promise<boolean>;
  /** What NOTIFY has for the client between commands; false when the selected mailbox is lost. */
  pushNotifications(): Promise<boolean>;
  upgradeTls(): Promise<void>;
  startCompression(): Promise<void>;
}

export interface RunFrameInput {
  readonly frame: CommandFrame;
  readonly mode: FrameMode;
}

type ReplyOutcome = Extract<CommandOutcome, { kind: 'reply' }>;

export function replyParams(outcome: ReplyOutcome): StatusParams {
  return { tag: outcome.tag, kind: outcome.status, text: outcome.text, ...(outcome.code ? { code: outcome.code } : {}) };
}

export function outcomeOf(event: unknown): CommandOutcome {
  return (event as { output: CommandOutcome }).output;
}

export function asReply(event: unknown): ReplyOutcome | undefined {
  const outcome = outcomeOf(event);
  return outcome.kind === 'reply' ? outcome : undefined;
}

export const defaultLimits: ImapSessionLimits = {
  badCommandsBeforeDelay: imapLimits.badCommandsBeforeDelay,
  badCommandsMax: imapLimits.badCommandsMax,
  badCommandDelayMs: imapLimits.badCommandDelayMs,
  failedLoginsMax: imapLimits.failedLoginsMax,
  failedLoginDelayMs: imapLimits.failedLoginDelayMs,
  autologoutMs: imapLimits.autologoutMs,
  preAuthTimeoutMs: imapLimits.preAuthTimeoutMs,
  pipelinedCommandsMax: imapLimits.pipelinedCommandsMax,
};

// The session's bookkeeping of penalties, shared by the machine's guards and assignments and the
// step function (machines/imapSession.step.ts) that runs this machine's states on the hot path.

/** The reply's penalty would reach its limit: the session closes. */
export function penaltyOverLimit(context: ImapSessionContext, outcome: ReplyOutcome | undefined): boolean {
  if (outcome?.penalty === 'failedLogin') return context.failedLogins + 1 >= context.limits.failedLoginsMax;
  if (outcome?.penalty === 'badCommand') return context.badCommands + 1 >= context.limits.badCommandsMax;
  return false;
}

/** The reply is held back (throttled): every failed login, a bad command beyond the tolerance. */
export function penaltyDelayed(context: ImapSessionContext, outcome: ReplyOutcome | undefined): boolean {
  if (outcome?.penalty === 'failedLogin') return true;
  return outcome?.penalty === 'badCommand' && context.badCommands + 1 > context.limits.badCommandsBeforeDelay;
}

/** Holding a penalised reply: it, the counts, and how long it is held. */
export function heldReply(context: ImapSessionContext, outcome: ReplyOutcome): Partial<ImapSessionContext> {
  const failedLogin = outcome.penalty === 'failedLogin';
  const failedLogins = context.failedLogins + (failedLogin ? 1 : 0);
  const badCommands = context.badCommands + (failedLogin ? 0 : 1);
  return {
    heldReply: replyParams(outcome),
    failedLogins,
    badCommands,
    throttleDelayMs: failedLogin ? context.limits.failedLoginDelayMs * failedLogins : context.limits.badCommandDelayMs,
  };
}

/** A penalty counted without a delay. */
export function countPenalty(context: ImapSessionContext, outcome: ReplyOutcome | undefined): Partial<ImapSessionContext> {
  if (outcome?.penalty === 'failedLogin') return { failedLogins: context.failedLogins + 1 };
  if (outcome?.penalty === 'badCommand') return { badCommands: context.badCommands + 1 };
  return {};
}

/** A command answered: read commands again, its penalty counted. */
export function finishedCommand(context: ImapSessionContext, outcome: ReplyOutcome | undefined): Partial<ImapSessionContext> {
  if (outcome?.penalty === 'failedLogin') return { mode: 'command', failedLogins: context.failedLogins + 1 };
  if (outcome?.penalty === 'badCommand') return { mode: 'command', badCommands: context.badCommands + 1 };
  return context.mode === 'command' ? {} : { mode: 'command' };
}

/** The tagged NO [SERVERBUG] of a frame whose run failed as a bug. */
export function serverBugStatus(context: ImapSessionContext): StatusParams {
  return {
    tag: context.current ? tagOfLine(context.current.lines[0] ?? Buffer.alloc(0)) : undefined,
    kind: 'NO',
    code: 'SERVERBUG',
    text: 'The command failed because of an internal error; it was logged',
  };
}

/** The tagged reply of a refused literal (too big). */
export function literalRejectedStatus(event: { tag: string | undefined; forAppend: boolean; reason: string }): StatusParams {
  return { tag: event.tag, kind: event.forAppend ? 'NO' : 'BAD', code: 'TOOBIG', text: event.reason };
}

/** The tagged reply to a command line over the limit. */
export function lineTooLongStatus(tag: string | undefined): StatusParams {
  return { tag, kind: 'BAD', code: 'TOOBIG', text: 'Command line too long' };
}

/** The tagged OK of STARTTLS or COMPRESS, sent before the layer under it changes. */
export function layerChangeStatus(outcome: CommandOutcome): StatusParams {
  const o = outcome as Extract<CommandOutcome, { kind: 'startTls' | 'compress' }>;
  return { tag: o.tag, kind: 'OK', text: o.text };
}

/** The untagged BYE texts, one per way a session ends. */
export const byeTexts = {
  pipelined: 'Too many pipelined commands; closing',
  badCommands: 'Too many bad commands; closing',
  lineTooLong: 'Command line too long; closing',
  shutdown: 'Server shutting down',
  preAuth: 'Autologout: no login in time',
  preAuthSasl: 'Autologout: authentication not completed in time',
  penalties: 'Too many failed commands or logins; closing',
  idle: 'Autologout: IDLE for too long',
  waiting: 'Autologout: idle for too long',
} as const;

export function bye(text: string): StatusParams {
  return { tag: undefined, kind: 'BYE', text };
}

export function initialContext(input: ImapSessionInput): ImapSessionContext {
  return {
    limits: { ...defaultLimits, ...input.limits },
    queue: [],
    current: undefined,
    mode: 'command',
    heldReply: undefined,
    badCommands: 0,
    failedLogins: 0,
    throttleDelayMs: 0,
    changedWhileFlushing: false,
    notificationPending: false,
    idleSinceMs: 0,
    autologoutDueMs: 0,
  };
}

const notProvided = (name: string) => () => {
  throw new Error(`imapSession machine: effect ${name} was not provided`);
};

/**
 * The time on the clock the actor's timers run on (createActor(machine, { clock })): every clock of
 * ours (infra/ports Clock) tells the time; XState's default one does not.
 */
function clockNow(system: ActorSystem<ActorSystemInfo>): number {
  const clock = system._clock as Partial<{ now(): number }>;
  if (typeof clock.now !== 'function') throw new Error('imapSession machine: run it on a clock that tells the time (createActor(machine, { clock }))');
  return clock.now();
}

/**
 * Autologout (RFC 3501 5.4) without a timer per command: one check is scheduled when the session
 * enters a level (authenticated, selected) and again each time it runs. When it runs it is
 * `autologoutDueMs`; the session waiting since `idleSinceMs` + autologoutMs by then is logged out,
 * else the check is moved to that time (or a full period on, while a command or IDLE runs: their own
 * ends restart the count).
 */
const AUTOLOGOUT_CHECK = 'autologout';

export function nextAutologoutDue(context: ImapSessionContext, waiting: boolean): number {
  return waiting ? context.idleSinceMs + context.limits.autologoutMs : context.autologoutDueMs + context.limits.autologoutMs;
}

export const imapSessionMachine = setup({
  types: {
    context: {} as ImapSessionContext,
    events: {} as ImapSessionEvent,
    input: {} as ImapSessionInput,
  },
  actions: {
    // Effects: supplied by the connection actor.
    sendGreeting: notProvided('sendGreeting'),
    sendStatus: (_: unknown, _params: StatusParams) => notProvided('sendStatus')(),
    sendLiteralContinuation: notProvided('sendLiteralContinuation'),
    /** Run the current frame; answered by runFrame.done (or runFrame.error): machines/work.ts. */
    runFrame: (_: unknown, _params: RunFrameInput) => notProvided('runFrame')(),
    discardInput: notProvided('discardInput'),
    closeConnection: notProvided('closeConnection'),
    endSession: notProvided('endSession'),
    // Pure bookkeeping.
    enqueue: assign({
      queue: ({ context, event }) => (event.type === 'FRAME' ? [...context.queue, event.frame] : context.queue),
    }),
    takeFrame: assign({
      current: ({ context }) => context.queue[0],
      queue: ({ context }) => context.queue.slice(1),
    }),
    /** The frame that arrived while waiting with nothing queued runs at once, without the queue. */
    runEventFrame: assign({ current: ({ event }) => (event as Extract<ImapSessionEvent, { type: 'FRAME' }>).frame }),
    clearQueue: assign({ queue: () => [], current: () => undefined }),
    readCommands: assign({ mode: () => 'command' as const }),
    readIdleEnd: assign({ mode: () => 'idle' as const }),
    readSaslResponse: assign({ mode: () => 'sasl' as const }),
    countBadCommand: assign({ badCommands: ({ context }) => context.badCommands + 1 }),
    holdReply: assign(({ context, event }) => heldReply(context, asReply(event)!)),
    countPenaltyWithoutDelay: assign(({ context, event }) => countPenalty(context, asReply(event))),
    /** A command answered: read commands again, count its penalty (no delay). One context copy, not two. */
    finishCommand: assign(({ context, event }) => finishedCommand(context, asReply(event))),
    markIdleSince: assign({ idleSinceMs: ({ system }) => clockNow(system) }),
    /** At a level's entry: the first check autologoutMs from now (the level left cancelled its own). */
    startAutologout: assign(({ context, system }) => {
      const now = clockNow(system);
      return { idleSinceMs: now, autologoutDueMs: now + context.limits.autologoutMs };
    }),
    // The next check, at the time nextAutologoutDue says (the check runs at autologoutDueMs): scheduled
    // before autologoutDueMs moves there.
    scheduleAutologoutWaiting: raise({ type: 'AUTOLOGOUT_CHECK' }, { id: AUTOLOGOUT_CHECK, delay: ({ context }) => nextAutologoutDue(context, true) - context.autologoutDueMs }),
    scheduleAutologoutBusy: raise({ type: 'AUTOLOGOUT_CHECK' }, { id: AUTOLOGOUT_CHECK, delay: ({ context }) => context.limits.autologoutMs }),
    moveAutologoutWaiting: assign({ autologoutDueMs: ({ context }) => nextAutologoutDue(context, true) }),
    moveAutologoutBusy: assign({ autologoutDueMs: ({ context }) => nextAutologoutDue(context, false) }),
    cancelAutologout: cancel(AUTOLOGOUT_CHECK),
    noteChangeWhileFlushing: assign({ changedWhileFlushing: () => true }),
    clearChangeWhileFlushing: assign({ changedWhileFlushing: () => false }),
    noteNotificationPending: assign({ notificationPending: () => true }),
    clearNotificationPending: assign({ notificationPending: () => false }),
  },
  actors: {
    flushUpdates: fromPromise<boolean, void>(async () => notProvided('flushUpdates')()),
    /** Writes what NOTIFY has for the client between commands; false when the selected mailbox is lost. */
    pushNotifications: fromPromise<boolean, void>(async () => notProvided('pushNotifications')()),
    upgradeTls: fromPromise<void, void>(async () => notProvided('upgradeTls')()),
    startCompression: fromPromise<void, void>(async () => notProvided('startCompression')()),
  },
  guards: {
    hasQueuedFrame: ({ context }) => context.queue.length > 0,
    queueFull: ({ context }) => context.queue.length >= context.limits.pipelinedCommandsMax,
    outcomeIdle: ({ event }) => outcomeOf(event).kind === 'idle',
    outcomeSasl: ({ event }) => outcomeOf(event).kind === 'saslContinue',
    outcomeStartTls: ({ event }) => outcomeOf(event).kind === 'startTls',
    outcomeCompress: ({ event }) => outcomeOf(event).kind === 'compress',
    penaltyOverLimit: ({ context, event }) => penaltyOverLimit(context, asReply(event)),
    penaltyDelayed: ({ context, event }) => penaltyDelayed(context, asReply(event)),
    nextLogout: ({ event }) => asReply(event)?.next === 'logout',
    nextSelected: ({ event }) => asReply(event)?.next === 'selected',
    nextAuthenticated: ({ event }) => asReply(event)?.next === 'authenticated',
    tooManyBadLiterals: ({ context }) => context.badCommands + 1 >= context.limits.badCommandsMax,
    mailboxLost: ({ event }) => (event as unknown as { output: boolean }).output === false,
    changedWhileFlushing: ({ context }) => context.changedWhileFlushing,
    notificationPending: ({ context }) => context.notificationPending,
    /** Run at autologoutDueMs: waiting since autologoutMs before it, or longer. */
    idleTooLong: ({ context }) => nextAutologoutDue(context, true) <= context.autologoutDueMs,
  },
  delays: {
    throttleDelay: ({ context }) => context.throttleDelayMs,
    autologout: ({ context }) => context.limits.autologoutMs,
    preAuthTimeout: ({ context }) => context.limits.preAuthTimeoutMs,
  },
}).createMachine({
  id: 'imapSession',
  context: ({ input }) => initialContext(input),
  entry: 'sendGreeting',
  initial: 'notAuthenticated',
  on: {
    FRAME: [
      {
        guard: 'queueFull',
        target: '.logout',
        actions: { type: 'sendStatus', params: bye(byeTexts.pipelined) },
      },
      { actions: 'enqueue' },
    ],
    LITERAL_CONTINUE: { actions: 'sendLiteralContinuation' },
    LITERAL_REJECTED: [
      {
        guard: 'tooManyBadLiterals',
        target: '.logout',
        actions: [
          { type: 'sendStatus', params: ({ event }) => literalRejectedStatus(event) },
          { type: 'sendStatus', params: bye(byeTexts.badCommands) },
        ],
      },
      {
        actions: [
          'countBadCommand',
          { type: 'sendStatus', params: ({ event }) => literalRejectedStatus(event) },
        ],
      },
    ],
    LINE_TOO_LONG: {
      target: '.logout',
      actions: [
        { type: 'sendStatus', params: ({ event }) => lineTooLongStatus(event.tag) },
        { type: 'sendStatus', params: bye(byeTexts.lineTooLong) },
      ],
    },
    CONNECTION_CLOSED: { target: '.logout' },
    // While a command runs (and in any state without a handler of its own): push it afterwards.
    NOTIFICATION_PENDING: { actions: 'noteNotificationPending' },
    SHUTDOWN: {
      target: '.logout',
      actions: { type: 'sendStatus', params: ({ event }) => bye(event.text ?? byeTexts.shutdown) },
    },
  },
  states: {
    notAuthenticated: {
      initial: 'waiting',
      states: {
        waiting: {
          always: { guard: 'hasQueuedFrame', target: 'executing', actions: 'takeFrame' },
          on: { FRAME: { target: 'executing', actions: 'runEventFrame' } },
          after: {
            preAuthTimeout: {
              target: '#imapSession.logout',
              actions: { type: 'sendStatus', params: bye(byeTexts.preAuth) },
            },
          },
        },
        executing: {
          entry: { type: 'runFrame', params: ({ context }) => ({ frame: context.current!, mode: context.mode }) },
          on: { 'runFrame.done': routeOutcome('notAuthenticated'), 'runFrame.error': serverBug() },
        },
        throttled: { after: { throttleDelay: { target: 'waiting', actions: sendHeldReply() } } },
        authenticating: {
          always: { guard: 'hasQueuedFrame', target: 'executing', actions: 'takeFrame' },
          after: {
            preAuthTimeout: {
              target: '#imapSession.logout',
              actions: { type: 'sendStatus', params: bye(byeTexts.preAuthSasl) },
            },
          },
        },
        upgrading: {
          invoke: {
            src: 'upgradeTls',
            onDone: { target: 'waiting' },
            onError: { target: '#imapSession.logout' },
          },
        },
      },
    },
    authenticated: levelStates('authenticated'),
    selected: levelStates('selected'),
    logout: { type: 'final', entry: ['endSession', 'closeConnection'] },
  },
});

function sendHeldReply() {
  return { type: 'sendStatus' as const, params: ({ context }: { context: ImapSessionContext }) => context.heldReply! };
}

function serverBug() {
  return {
    target: 'waiting',
    actions: ['readCommands' as const, { type: 'sendStatus' as const, params: ({ context }: { context: ImapSessionContext }) => serverBugStatus(context) }],
  };
}

/** The tagged OK of STARTTLS or COMPRESS, sent before the layer under it changes. */
function layerChangeReply() {
  return { type: 'sendStatus' as const, params: ({ event }: { event: unknown }) => layerChangeStatus(outcomeOf(event)) };
}

function startTlsRoute() {
  return {
    guard: 'outcomeStartTls' as const,
    target: 'upgrading',
    actions: [layerChangeReply(), 'discardInput' as const, 'clearQueue' as const],
  };
}

/** Where a finished frame leads: IDLE, SASL, STARTTLS, throttling, or the next state. */
function routeOutcome(level: 'notAuthenticated' | 'authenticated' | 'selected') {
  const sendReply = { type: 'sendStatus' as const, params: ({ event }: { event: unknown }) => replyParams(asReply(event)!) };
  const special =
    level !== 'notAuthenticated'
      ? [
          { guard: 'outcomeIdle' as const, target: 'idling', actions: 'readIdleEnd' as const },
          { guard: 'outcomeCompress' as const, target: 'compressing', actions: ['readCommands' as const, layerChangeReply()] },
        ]
      : [
          { guard: 'outcomeSasl' as const, target: 'authenticating', actions: 'readSaslResponse' as const },
          startTlsRoute(),
        ];
  return [
    ...special,
    {
      guard: 'penaltyOverLimit' as const,
      target: '#imapSession.logout',
      actions: [
        'countPenaltyWithoutDelay' as const,
        sendReply,
        { type: 'sendStatus' as const, params: bye(byeTexts.penalties) },
      ],
    },
    { guard: 'penaltyDelayed' as const, target: 'throttled', actions: ['readCommands' as const, 'holdReply' as const] },
    { guard: 'nextLogout' as const, target: '#imapSession.logout', actions: ['countPenaltyWithoutDelay' as const, sendReply] },
    // Staying at the level: back to waiting, not into the level afresh (fewer states left and entered).
    { guard: 'nextSelected' as const, target: level === 'selected' ? 'waiting' : '#imapSession.selected', actions: ['finishCommand' as const, sendReply] },
    { guard: 'nextAuthenticated' as const, target: level === 'authenticated' ? 'waiting' : '#imapSession.authenticated', actions: ['finishCommand' as const, sendReply] },
    { target: level === 'notAuthenticated' ? 'waiting' : '#imapSession.notAuthenticated', actions: ['finishCommand' as const, sendReply] },
  ];
}


/** Substates shared by authenticated and selected. */
function levelStates(level: 'authenticated' | 'selected') {
  return {
    initial: 'waiting' as const,
    // The first autologout check; outside waiting (a command, IDLE, a throttled reply) it moves on a period.
    entry: ['startAutologout' as const, 'scheduleAutologoutBusy' as const],
    exit: 'cancelAutologout' as const,
    on: { AUTOLOGOUT_CHECK: { actions: ['scheduleAutologoutBusy' as const, 'moveAutologoutBusy' as const] } },
    states: {
      waiting: waitingState(level),
      executing: {
        entry: { type: 'runFrame' as const, params: ({ context }: { context: ImapSessionContext }) => ({ frame: context.current!, mode: context.mode }) },
        on: { 'runFrame.done': routeOutcome(level), 'runFrame.error': serverBug() },
      },
      throttled: { after: { throttleDelay: { target: 'waiting', actions: sendHeldReply() } } },
      compressing: {
        invoke: { src: 'startCompression' as const, onDone: { target: 'waiting' }, onError: { target: '#imapSession.logout' } },
      },
      idling: {
        initial: 'listening' as const,
        after: {
          autologout: {
            target: '#imapSession.logout',
            actions: { type: 'sendStatus' as const, params: bye(byeTexts.idle) },
          },
        },
        states: {
          listening: {
            always: [
              { guard: 'hasQueuedFrame' as const, target: `#imapSession.${level}.executing`, actions: 'takeFrame' as const },
              { guard: 'notificationPending' as const, target: 'flushing' },
            ],
            on: { MAILBOX_CHANGED: 'flushing', NOTIFICATION_PENDING: 'flushing' },
          },
          flushing: {
            entry: ['clearChangeWhileFlushing' as const, 'clearNotificationPending' as const],
            on: {
              MAILBOX_CHANGED: { actions: 'noteChangeWhileFlushing' as const },
              NOTIFICATION_PENDING: { actions: 'noteChangeWhileFlushing' as const },
            },
            invoke: {
              src: 'flushUpdates' as const,
              onDone: [
                { guard: 'mailboxLost' as const, target: '#imapSession.logout' },
                { guard: 'changedWhileFlushing' as const, target: 'flushing', reenter: true },
                { target: 'listening' },
              ],
              onError: { target: 'listening' },
            },
          },
        },
      },
    },
  };
}

/** Waiting for a command at a level: quiet, or pushing what NOTIFY has (waiting.notifying). */
function waitingState(level: 'authenticated' | 'selected') {
  return {
    initial: 'quiet' as const,
    // On the parent: moving between quiet and notifying is not activity.
    entry: 'markIdleSince' as const,
    on: {
      AUTOLOGOUT_CHECK: [
        {
          guard: 'idleTooLong' as const,
          target: '#imapSession.logout',
          actions: { type: 'sendStatus' as const, params: bye(byeTexts.waiting) },
        },
        { actions: ['scheduleAutologoutWaiting' as const, 'moveAutologoutWaiting' as const] },
      ],
    },
    states: {
      quiet: {
        always: [
          { guard: 'hasQueuedFrame' as const, target: `#imapSession.${level}.executing`, actions: 'takeFrame' as const },
          { guard: 'notificationPending' as const, target: 'notifying' },
        ],
        on: {
          NOTIFICATION_PENDING: 'notifying',
          // Nothing queued (else always had taken it): the frame runs at once.
          FRAME: { target: `#imapSession.${level}.executing`, actions: 'runEventFrame' as const },
        },
      },
      notifying: {
        entry: 'clearNotificationPending' as const,
        on: { NOTIFICATION_PENDING: { actions: 'noteNotificationPending' as const } },
        invoke: {
          src: 'pushNotifications' as const,
          onDone: [{ guard: 'mailboxLost' as const, target: '#imapSession.logout' }, { target: 'quiet' }],
          onError: { target: 'quiet' },
        },
      },
    },
  };
}

/** The machine with `effects` provided: what the tests and the sessions bench run it with (connections run its step function). */
export function imapSessionMachineWith(effects: ImapSessionEffects) {
  return imapSessionMachine.provide({
    actions: {
      sendGreeting: () => effects.sendGreeting(),
      sendStatus: (_, params: StatusParams) => effects.sendStatus(params),
      sendLiteralContinuation: () => effects.sendLiteralContinuation(),
      discardInput: () => effects.discardInput(),
      closeConnection: () => effects.closeConnection(),
      endSession: () => effects.endSession(),
      runFrame: workEffect('runFrame', (input: RunFrameInput) => effects.runFrame(input)),
    },
    actors: {
      flushUpdates: fromPromise(() => effects.flushUpdates()),
      pushNotifications: fromPromise(() => effects.pushNotifications()),
      upgradeTls: fromPromise(() => effects.upgradeTls()),
      startCompression: fromPromise(() => effects.startCompression()),
    },
  });
}
