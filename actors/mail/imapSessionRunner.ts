// Runs the IMAP session's pure step function (machines/imapSession.step.ts) as an actor would: events
// one at a time (an event sent while one is being taken waits its turn), each step's effects performed
// in order once the new state is taken, timers on the given clock, work answered by events. What the
// XState interpreter did for the session machine, without its cost per event (issue 11).
import type { Clock, TimerHandle } from '../../infra/ports';
import type { CommandOutcome } from '../../mail/imap/dispatcher';
import type { ImapSessionInput, RunFrameInput, StatusParams } from '../../machines/imapSession.machine';
import { type ImapSessionEffect, type ImapSessionState, type ImapSessionStep, type ImapSessionStepEvent, type ImapSessionTimer, startImapSession, stepImapSession } from '../../machines/imapSession.step';

/** The session's effects: the machine's named actions and invoked work. */
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

/** Events the connection sends; work answers and timers are the runner's own. */
export type ImapSessionInputEvent = Exclude<ImapSessionStepEvent, { type: 'WORK_DONE' | 'WORK_FAILED' | 'TIMER' | 'runFrame.done' | 'runFrame.error' }>;

export type ImapSessionStatus = 'idle' | 'active' | 'done' | 'error';

export interface ImapSessionRunnerOptions {
  readonly effects: ImapSessionEffects;
  readonly clock: Clock;
  readonly input?: ImapSessionInput;
  /** After each event taken (a new state). */
  readonly onStep?: (state: ImapSessionState) => void;
  /** An effect or the step itself threw: the session is over ('error'). */
  readonly onCrash: (error: unknown) => void;
}

export class ImapSessionRunner {
  private current: ImapSessionState | undefined;
  private statusNow: ImapSessionStatus = 'idle';
  private taking = false;
  private readonly waiting: ImapSessionStepEvent[] = [];
  private readonly timers = new Map<ImapSessionTimer, TimerHandle>();

  constructor(private readonly options: ImapSessionRunnerOptions) {}

  get status(): ImapSessionStatus {
    return this.statusNow;
  }

  /** The state now; undefined before start(). */
  get state(): ImapSessionState | undefined {
    return this.current;
  }

  start(): void {
    if (this.statusNow !== 'idle') return;
    this.statusNow = 'active';
    this.drain(() => startImapSession(this.options.input ?? {}, this.options.clock.now()));
  }

  /** An event for the session; ignored once it is over. Sent before start(), it waits for it. */
  send(event: ImapSessionInputEvent): void {
    this.deliver(event);
  }

  private deliver(event: ImapSessionStepEvent): void {
    if (this.statusNow === 'done' || this.statusNow === 'error') return;
    this.waiting.push(event);
    if (this.statusNow === 'active' && !this.taking) this.drain();
  }

  /** Takes `first` (the start), then the waiting events in order, one at a time. */
  private drain(first?: () => ImapSessionStep): void {
    this.taking = true;
    try {
      if (first) this.take(first);
      while (this.statusNow === 'active' && this.waiting.length > 0) {
        const event = this.waiting.shift()!;
        const state = this.current!;
        this.take(() => stepImapSession(state, event, this.options.clock.now()));
      }
    } finally {
      this.taking = false;
    }
  }

  private take(step: () => ImapSessionStep): void {
    try {
      const next = step();
      this.current = next.state;
      if (next.state.value === 'logout') this.statusNow = 'done';
      for (const effect of next.effects) this.perform(effect);
      if (this.statusNow === 'done') this.clearTimers();
    } catch (error) {
      this.statusNow = 'error';
      this.waiting.length = 0;
      this.clearTimers();
      this.options.onCrash(error);
      return;
    }
    this.options.onStep?.(this.current);
  }

  private perform(effect: ImapSessionEffect): void {
    const fx = this.options.effects;
    switch (effect.type) {
      case 'sendGreeting':
        return fx.sendGreeting();
      case 'sendStatus':
        return fx.sendStatus(effect.params);
      case 'sendLiteralContinuation':
        return fx.sendLiteralContinuation();
      case 'discardInput':
        return fx.discardInput();
      case 'closeConnection':
        return fx.closeConnection();
      case 'endSession':
        return fx.endSession();
      case 'runFrame':
        return this.answer(
          () => fx.runFrame(effect.params),
          (output) => ({ type: 'runFrame.done', output }),
          (error) => ({ type: 'runFrame.error', error }),
        );
      case 'work': {
        const id = effect.id;
        const work: () => Promise<unknown> = () => fx[effect.src]();
        return this.answer(
          work,
          (output) => ({ type: 'WORK_DONE', id, output }),
          (error) => ({ type: 'WORK_FAILED', id, error }),
        );
      }
      case 'startTimer': {
        this.cancelTimer(effect.timer);
        const timer = effect.timer;
        this.timers.set(
          timer,
          this.options.clock.setTimeout(() => {
            this.timers.delete(timer);
            this.deliver({ type: 'TIMER', timer });
          }, effect.delayMs),
        );
        return;
      }
      case 'cancelTimer':
        return this.cancelTimer(effect.timer);
    }
  }

  /** Starts work; its result or failure comes back as an event (a throw while starting is a failure). */
  private answer<O>(start: () => Promise<O>, done: (output: O) => ImapSessionStepEvent, failed: (error: unknown) => ImapSessionStepEvent): void {
    let started: Promise<O>;
    try {
      started = start();
    } catch (error) {
      started = Promise.reject(error);
    }
    started.then(
      (output) => this.deliver(done(output)),
      (error: unknown) => this.deliver(failed(error)),
    );
  }

  private cancelTimer(timer: ImapSessionTimer): void {
    const handle = this.timers.get(timer);
    if (handle === undefined) return;
    this.timers.delete(timer);
    this.options.clock.clearTimeout(handle);
  }

  private clearTimers(): void {
    for (const timer of [...this.timers.keys()]) this.cancelTimer(timer);
  }
}
