// The IMAP session machine as a pure step function: (state, event, now) -> (next state, effects).
// Same states, transitions, guards, context and effects as imapSession.machine.ts, which stays the
// definition the visualizer shows; test/unit/imap/sessionStep.test.ts drives both with the same seeded
// event sequences and requires the same state, context and effects after every event, and the
// machine's own tests run against both. The connection (actors/mail/imapConnection.ts) runs this one:
// a command is two events (FRAME, runFrame.done), and through the XState interpreter they cost
// 0.15-0.2 ms of the hosting node's CPU per command under load, about 9% of it (issue 11).
//
// The caller performs the effects in order, after taking the new state. Besides the machine's named
// actions there are:
// - work: start `src` (the machine's invoked actors: flushUpdates, pushNotifications, upgradeTls,
//   startCompression) and answer WORK_DONE or WORK_FAILED with its id; an answer whose id is not the
//   state's `work` any more is ignored (the state that started it was left, as an invoked actor stops);
// - startTimer / cancelTimer: one timer per name (the machine's `after` delays and its autologout
//   check); when one fires, TIMER with its name.
// A session in `logout` (the machine's final state) takes no more events.
import type { CommandOutcome } from '../mail/imap/dispatcher';
import {
  asReply,
  bye,
  byeTexts,
  countPenalty,
  finishedCommand,
  heldReply,
  initialContext,
  type ImapSessionContext,
  type ImapSessionEvent,
  type ImapSessionInput,
  layerChangeStatus,
  lineTooLongStatus,
  literalRejectedStatus,
  nextAutologoutDue,
  penaltyDelayed,
  penaltyOverLimit,
  replyParams,
  type RunFrameInput,
  serverBugStatus,
  type StatusParams,
} from './imapSession.machine';

export type ImapLevel = 'authenticated' | 'selected';
type LevelLeaf = 'waiting.quiet' | 'waiting.notifying' | 'executing' | 'throttled' | 'compressing' | 'idling.listening' | 'idling.flushing';
/** The active leaf state, as its path from the root ('selected.waiting.quiet'). */
export type ImapSessionStateValue = `notAuthenticated.${'waiting' | 'executing' | 'throttled' | 'authenticating' | 'upgrading'}` | `${ImapLevel}.${LevelLeaf}` | 'logout';

export type ImapSessionTimer = 'preAuth' | 'throttle' | 'idle' | 'autologout';
export type ImapSessionWork = 'flushUpdates' | 'pushNotifications' | 'upgradeTls' | 'startCompression';

export interface ImapSessionState {
  readonly value: ImapSessionStateValue;
  readonly context: ImapSessionContext;
  /** The id of the work running now, 0 when none. */
  readonly work: number;
  /** The last work id handed out. */
  readonly workIds: number;
}

export type ImapSessionEffect =
  | { readonly type: 'sendGreeting' }
  | { readonly type: 'sendStatus'; readonly params: StatusParams }
  | { readonly type: 'sendLiteralContinuation' }
  | { readonly type: 'runFrame'; readonly params: RunFrameInput }
  | { readonly type: 'discardInput' }
  | { readonly type: 'closeConnection' }
  | { readonly type: 'endSession' }
  | { readonly type: 'work'; readonly src: ImapSessionWork; readonly id: number }
  | { readonly type: 'startTimer'; readonly timer: ImapSessionTimer; readonly delayMs: number }
  | { readonly type: 'cancelTimer'; readonly timer: ImapSessionTimer };

export type ImapSessionStepEvent =
  | Exclude<ImapSessionEvent, { type: 'AUTOLOGOUT_CHECK' }>
  | { readonly type: 'WORK_DONE'; readonly id: number; readonly output: unknown }
  | { readonly type: 'WORK_FAILED'; readonly id: number; readonly error: unknown }
  | { readonly type: 'TIMER'; readonly timer: ImapSessionTimer };

export interface ImapSessionStep {
  readonly state: ImapSessionState;
  readonly effects: readonly ImapSessionEffect[];
}

/** The session as the machine starts it: greeting sent, notAuthenticated.waiting. */
export function startImapSession(input: ImapSessionInput, now: number): ImapSessionStep {
  // At the root ('', before any state is entered): the machine's entry action, then its initial states.
  const run = new Run({ value: '', context: initialContext(input), work: 0, workIds: 0 }, now);
  run.effects.push({ type: 'sendGreeting' });
  run.enterDown('', 'notAuthenticated');
  run.settle();
  return run.result();
}

/** One event: the next state and the effects to perform, in order. */
export function stepImapSession(state: ImapSessionState, event: ImapSessionStepEvent, now: number): ImapSessionStep {
  if (state.value === 'logout') return { state, effects: [] };
  const run = new Run(state, now);
  run.handle(event);
  run.settle();
  return run.result();
}

/** The machine's state value (XState's shape) of a state: { selected: { waiting: 'quiet' } }. */
export function imapMachineValueOf(state: ImapSessionState): unknown {
  const parts = state.value.split('.');
  let shaped: unknown = parts.pop();
  while (parts.length > 0) shaped = { [parts.pop()!]: shaped };
  return shaped;
}

const LOGOUT = 'logout';

/** The parent's path of a state path; the root is ''. */
function parentOf(path: string): string {
  const dot = path.lastIndexOf('.');
  return dot < 0 ? '' : path.slice(0, dot);
}

function isDescendant(path: string, ancestor: string): boolean {
  return ancestor === '' ? path !== '' : path.startsWith(`${ancestor}.`);
}

/** The child a compound state enters by default; undefined for a leaf. */
function initialChild(path: string): string | undefined {
  switch (path) {
    case '':
      return 'notAuthenticated';
    case 'notAuthenticated':
      return 'notAuthenticated.waiting';
    case 'authenticated':
    case 'selected':
      return `${path}.waiting`;
    case 'authenticated.waiting':
    case 'selected.waiting':
      return `${path}.quiet`;
    case 'authenticated.idling':
    case 'selected.idling':
      return `${path}.listening`;
    default:
      return undefined;
  }
}

/** The level ('notAuthenticated', 'authenticated', 'selected') a path is in. */
function levelOf(path: string): string {
  const dot = path.indexOf('.');
  return dot < 0 ? path : path.slice(0, dot);
}

/** One step in the making: a private copy of the context, the effects so far. */
class Run {
  value: string;
  private context: ImapSessionContext;
  private work: number;
  private workIds: number;
  readonly effects: ImapSessionEffect[] = [];

  constructor(
    state: Omit<ImapSessionState, 'value'> & { readonly value: string },
    private readonly now: number,
  ) {
    this.value = state.value;
    this.context = state.context;
    this.work = state.work;
    this.workIds = state.workIds;
  }

  result(): ImapSessionStep {
    return { state: { value: this.value as ImapSessionStateValue, context: this.context, work: this.work, workIds: this.workIds }, effects: this.effects };
  }

  private set(patch: Partial<ImapSessionContext>): void {
    this.context = { ...this.context, ...patch };
  }

  private send(params: StatusParams): void {
    this.effects.push({ type: 'sendStatus', params });
  }

  private startWork(src: ImapSessionWork): void {
    this.work = ++this.workIds;
    this.effects.push({ type: 'work', src, id: this.work });
  }

  private startTimer(timer: ImapSessionTimer, delayMs: number): void {
    this.effects.push({ type: 'startTimer', timer, delayMs });
  }

  /**
   * A transition defined on `source` to `target` (undefined: none; its actions only), as XState takes
   * it: the active states under the transition's domain are left innermost first, then the actions
   * run, then the states down to the target and its initial descendants are entered outermost first.
   */
  go(source: string, target: string | undefined, actions?: () => void, reenter = false): void {
    if (target === undefined) {
      actions?.();
      return;
    }
    let domain: string;
    if (!reenter && (target === source || isDescendant(target, source))) domain = source;
    else {
      domain = parentOf(source);
      while (domain !== '' && !isDescendant(target, domain)) domain = parentOf(domain);
    }
    for (let path = this.value; path !== domain && path !== ''; path = parentOf(path)) this.exit(path);
    actions?.();
    this.enterDown(domain, target);
  }

  /** Enter the states below `domain` down to `target`, then target's initial descendants. */
  enterDown(domain: string, target: string): void {
    const below = domain === '' ? target : target.slice(domain.length + 1);
    let path = domain;
    for (const part of below.split('.')) {
      path = path === '' ? part : `${path}.${part}`;
      this.enter(path);
    }
    for (let child = initialChild(path); child !== undefined; child = initialChild(path)) {
      path = child;
      this.enter(path);
    }
    this.value = path;
  }

  private enter(path: string): void {
    const limits = this.context.limits;
    switch (path.slice(path.indexOf('.') + 1)) {
      case 'authenticated':
      case 'selected':
        // startAutologout, scheduleAutologoutBusy
        this.set({ idleSinceMs: this.now, autologoutDueMs: this.now + limits.autologoutMs });
        return this.startTimer('autologout', limits.autologoutMs);
      case 'waiting':
        if (path === 'notAuthenticated.waiting') return this.startTimer('preAuth', limits.preAuthTimeoutMs);
        return this.set({ idleSinceMs: this.now }); // markIdleSince
      case 'authenticating':
        return this.startTimer('preAuth', limits.preAuthTimeoutMs);
      case 'executing':
        this.effects.push({ type: 'runFrame', params: { frame: this.context.current!, mode: this.context.mode } });
        return;
      case 'throttled':
        return this.startTimer('throttle', this.context.throttleDelayMs);
      case 'upgrading':
        return this.startWork('upgradeTls');
      case 'compressing':
        return this.startWork('startCompression');
      case 'waiting.notifying':
        this.set({ notificationPending: false });
        return this.startWork('pushNotifications');
      case 'idling':
        return this.startTimer('idle', limits.autologoutMs);
      case 'idling.flushing':
        this.set({ changedWhileFlushing: false, notificationPending: false });
        return this.startWork('flushUpdates');
      case LOGOUT:
        this.effects.push({ type: 'endSession' }, { type: 'closeConnection' });
        return;
    }
  }

  private exit(path: string): void {
    switch (path.slice(path.indexOf('.') + 1)) {
      case 'authenticated':
      case 'selected':
        return void this.effects.push({ type: 'cancelTimer', timer: 'autologout' });
      case 'waiting':
        if (path === 'notAuthenticated.waiting') this.effects.push({ type: 'cancelTimer', timer: 'preAuth' });
        return;
      case 'authenticating':
        return void this.effects.push({ type: 'cancelTimer', timer: 'preAuth' });
      case 'throttled':
        return void this.effects.push({ type: 'cancelTimer', timer: 'throttle' });
      case 'idling':
        return void this.effects.push({ type: 'cancelTimer', timer: 'idle' });
      case 'upgrading':
      case 'compressing':
      case 'waiting.notifying':
      case 'idling.flushing':
        this.work = 0;
        return;
    }
  }

  /** The event's transition: the innermost active state that takes it, else the root's. */
  handle(event: ImapSessionStepEvent): void {
    const leaf = this.value;
    const level = levelOf(leaf);
    const ctx = this.context;
    switch (event.type) {
      case 'FRAME':
        if (leaf === 'notAuthenticated.waiting' || leaf.endsWith('.waiting.quiet')) return this.go(leaf, `${level}.executing`, () => this.set({ current: event.frame }));
        if (ctx.queue.length >= ctx.limits.pipelinedCommandsMax) return this.go('', LOGOUT, () => this.send(bye(byeTexts.pipelined)));
        return this.set({ queue: [...ctx.queue, event.frame] });
      case 'LITERAL_CONTINUE':
        return void this.effects.push({ type: 'sendLiteralContinuation' });
      case 'LITERAL_REJECTED':
        if (ctx.badCommands + 1 >= ctx.limits.badCommandsMax)
          return this.go('', LOGOUT, () => {
            this.send(literalRejectedStatus(event));
            this.send(bye(byeTexts.badCommands));
          });
        this.set({ badCommands: ctx.badCommands + 1 });
        return this.send(literalRejectedStatus(event));
      case 'LINE_TOO_LONG':
        return this.go('', LOGOUT, () => {
          this.send(lineTooLongStatus(event.tag));
          this.send(bye(byeTexts.lineTooLong));
        });
      case 'CONNECTION_CLOSED':
        return this.go('', LOGOUT);
      case 'SHUTDOWN':
        return this.go('', LOGOUT, () => this.send(bye(event.text ?? byeTexts.shutdown)));
      case 'NOTIFICATION_PENDING':
        if (leaf.endsWith('.waiting.quiet')) return this.go(leaf, `${level}.waiting.notifying`);
        if (leaf.endsWith('.idling.listening')) return this.go(leaf, `${level}.idling.flushing`);
        if (leaf.endsWith('.idling.flushing')) return this.set({ changedWhileFlushing: true });
        return this.set({ notificationPending: true });
      case 'MAILBOX_CHANGED':
        if (leaf.endsWith('.idling.listening')) return this.go(leaf, `${level}.idling.flushing`);
        if (leaf.endsWith('.idling.flushing')) return this.set({ changedWhileFlushing: true });
        return;
      case 'runFrame.done':
        if (leaf.endsWith('.executing')) this.routeOutcome(leaf, level, event.output);
        return;
      case 'runFrame.error':
        if (leaf.endsWith('.executing'))
          this.go(leaf, `${level}.waiting`, () => {
            this.set({ mode: 'command' });
            this.send(serverBugStatus(this.context));
          });
        return;
      case 'WORK_DONE':
      case 'WORK_FAILED':
        if (event.id === this.work) this.workAnswered(leaf, level, event);
        return;
      case 'TIMER':
        return this.timerFired(leaf, level, event.timer);
    }
  }

  /** Where a finished frame leads (the machine's routeOutcome): IDLE, SASL, STARTTLS, COMPRESS, throttling, or the next state. */
  private routeOutcome(leaf: string, level: string, outcome: CommandOutcome): void {
    if (level !== 'notAuthenticated') {
      if (outcome.kind === 'idle') return this.go(leaf, `${level}.idling`, () => this.set({ mode: 'idle' }));
      if (outcome.kind === 'compress')
        return this.go(leaf, `${level}.compressing`, () => {
          this.set({ mode: 'command' });
          this.send(layerChangeStatus(outcome));
        });
    } else {
      if (outcome.kind === 'saslContinue') return this.go(leaf, 'notAuthenticated.authenticating', () => this.set({ mode: 'sasl' }));
      if (outcome.kind === 'startTls')
        return this.go(leaf, 'notAuthenticated.upgrading', () => {
          this.send(layerChangeStatus(outcome));
          this.effects.push({ type: 'discardInput' });
          this.set({ queue: [], current: undefined });
        });
    }
    const reply = asReply({ output: outcome });
    const ctx = this.context;
    if (penaltyOverLimit(ctx, reply))
      return this.go(leaf, LOGOUT, () => {
        this.set(countPenalty(this.context, reply));
        this.send(replyParams(reply!));
        this.send(bye(byeTexts.penalties));
      });
    if (penaltyDelayed(ctx, reply))
      return this.go(leaf, `${level}.throttled`, () => {
        this.set({ mode: 'command' });
        this.set(heldReply(this.context, reply!));
      });
    const finish = () => {
      this.set(finishedCommand(this.context, reply));
      this.send(replyParams(reply!));
    };
    if (reply?.next === 'logout')
      return this.go(leaf, LOGOUT, () => {
        this.set(countPenalty(this.context, reply));
        this.send(replyParams(reply));
      });
    if (reply?.next === 'selected') return this.go(leaf, level === 'selected' ? 'selected.waiting' : 'selected', finish);
    if (reply?.next === 'authenticated') return this.go(leaf, level === 'authenticated' ? 'authenticated.waiting' : 'authenticated', finish);
    return this.go(leaf, level === 'notAuthenticated' ? 'notAuthenticated.waiting' : 'notAuthenticated', finish);
  }

  /** The running work answered (the machine's onDone / onError of the state invoking it). */
  private workAnswered(leaf: string, level: string, event: Extract<ImapSessionStepEvent, { type: 'WORK_DONE' | 'WORK_FAILED' }>): void {
    const done = event.type === 'WORK_DONE';
    const mailboxLost = done && event.output === false;
    switch (leaf.slice(level.length + 1)) {
      case 'upgrading':
        return this.go(leaf, done ? 'notAuthenticated.waiting' : LOGOUT);
      case 'compressing':
        return this.go(leaf, done ? `${level}.waiting` : LOGOUT);
      case 'waiting.notifying':
        return this.go(leaf, mailboxLost ? LOGOUT : `${level}.waiting.quiet`);
      case 'idling.flushing':
        if (mailboxLost) return this.go(leaf, LOGOUT);
        if (done && this.context.changedWhileFlushing) return this.go(leaf, leaf, undefined, true);
        return this.go(leaf, `${level}.idling.listening`);
    }
  }

  private timerFired(leaf: string, level: string, timer: ImapSessionTimer): void {
    const ctx = this.context;
    switch (timer) {
      case 'preAuth':
        if (leaf === 'notAuthenticated.waiting') return this.go(leaf, LOGOUT, () => this.send(bye(byeTexts.preAuth)));
        if (leaf === 'notAuthenticated.authenticating') return this.go(leaf, LOGOUT, () => this.send(bye(byeTexts.preAuthSasl)));
        return;
      case 'throttle':
        if (leaf.endsWith('.throttled')) this.go(leaf, `${level}.waiting`, () => this.send(ctx.heldReply!));
        return;
      case 'idle':
        if (leaf.startsWith(`${level}.idling.`)) this.go(`${level}.idling`, LOGOUT, () => this.send(bye(byeTexts.idle)));
        return;
      case 'autologout':
        if (level === 'notAuthenticated') return;
        if (leaf.startsWith(`${level}.waiting.`)) {
          if (nextAutologoutDue(ctx, true) <= ctx.autologoutDueMs) return this.go(`${level}.waiting`, LOGOUT, () => this.send(bye(byeTexts.waiting)));
          this.startTimer('autologout', nextAutologoutDue(ctx, true) - ctx.autologoutDueMs);
          return this.set({ autologoutDueMs: nextAutologoutDue(ctx, true) });
        }
        this.startTimer('autologout', ctx.limits.autologoutMs);
        return this.set({ autologoutDueMs: nextAutologoutDue(ctx, false) });
    }
  }

  /** The eventless transitions (the machine's `always`), until none is enabled. */
  settle(): void {
    for (let rounds = 0; rounds < 8; rounds++) {
      const leaf = this.value;
      const level = levelOf(leaf);
      const { queue, notificationPending } = this.context;
      const takeFrame = () => this.set({ current: this.context.queue[0], queue: this.context.queue.slice(1) });
      if (leaf === 'notAuthenticated.waiting' || leaf === 'notAuthenticated.authenticating' || leaf.endsWith('.waiting.quiet') || leaf.endsWith('.idling.listening')) {
        if (queue.length > 0) {
          this.go(leaf, `${level}.executing`, takeFrame);
          continue;
        }
        if (notificationPending && leaf.endsWith('.waiting.quiet')) {
          this.go(leaf, `${level}.waiting.notifying`);
          continue;
        }
        if (notificationPending && leaf.endsWith('.idling.listening')) {
          this.go(leaf, `${level}.idling.flushing`);
          continue;
        }
      }
      return;
    }
    throw new Error(`imap session: eventless transitions did not settle (in ${this.value})`);
  }
}
