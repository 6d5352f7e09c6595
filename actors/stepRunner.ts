// Runs a session machine written as a pure step function (machines/*.step.ts) as an actor would: events
// one at a time (an event sent while one is being taken waits its turn), each step's effects performed
// in order once the new state is taken, named timers on the given clock. What the XState interpreter
// did for the IMAP and SMTP session machines, without its cost per event (issue 11). The effects other
// than timers are the session's own (`perform`); work they start answers through `send`.
import type { Clock, TimerHandle } from '../infra/ports';

export type TimerEffect<T extends string> = { readonly type: 'startTimer'; readonly timer: T; readonly delayMs: number } | { readonly type: 'cancelTimer'; readonly timer: T };

export interface Step<S, F> {
  readonly state: S;
  readonly effects: readonly F[];
}

export type RunnerStatus = 'idle' | 'active' | 'done' | 'error';

/** What a session's runner is made from: its effects, the clock its timers run on, its input, and who hears of its steps and of a crash. */
export interface SessionRunnerOptions<Fx, In, S> {
  readonly effects: Fx;
  readonly clock: Clock;
  readonly input: In;
  /** After each event taken (a new state). */
  readonly onStep?: ((state: S) => void) | undefined;
  /** An effect or the step itself threw: the session is over ('error'). */
  readonly onCrash: (error: unknown) => void;
}

export interface StepRunnerOptions<S, E, F extends { readonly type: string }, T extends string> extends Pick<SessionRunnerOptions<unknown, unknown, S>, 'clock' | 'onStep' | 'onCrash'> {
  readonly start: (now: number) => Step<S, F | TimerEffect<T>>;
  readonly step: (state: S, event: E, now: number) => Step<S, F | TimerEffect<T>>;
  /** The state is final: the session takes no more events. */
  readonly isDone: (state: S) => boolean;
  /** The event a timer sends when it fires. */
  readonly timerEvent: (timer: T) => E;
  /** Performs one of the session's own effects (not a timer's). */
  readonly perform: (effect: F) => void;
}

export class StepRunner<S, E, F extends { readonly type: string }, T extends string> {
  private current: S | undefined;
  private statusNow: RunnerStatus = 'idle';
  private taking = false;
  private readonly waiting: E[] = [];
  private readonly timers = new Map<T, TimerHandle>();

  constructor(private readonly options: StepRunnerOptions<S, E, F, T>) {}

  get status(): RunnerStatus {
    return this.statusNow;
  }

  /** The state now; undefined before start(). */
  get state(): S | undefined {
    return this.current;
  }

  start(): void {
    if (this.statusNow !== 'idle') return;
    this.statusNow = 'active';
    this.drain(() => this.options.start(this.options.clock.now()));
  }

  /** An event for the session; ignored once it is over. Sent before start(), it waits for it. */
  send(event: E): void {
    if (this.statusNow === 'done' || this.statusNow === 'error') return;
    this.waiting.push(event);
    if (this.statusNow === 'active' && !this.taking) this.drain();
  }

  /** Takes `first` (the start), then the waiting events in order, one at a time. */
  private drain(first?: () => Step<S, F | TimerEffect<T>>): void {
    this.taking = true;
    try {
      if (first) this.take(first);
      while (this.statusNow === 'active' && this.waiting.length > 0) {
        const event = this.waiting.shift()!;
        const state = this.current!;
        this.take(() => this.options.step(state, event, this.options.clock.now()));
      }
    } finally {
      this.taking = false;
    }
  }

  private take(step: () => Step<S, F | TimerEffect<T>>): void {
    try {
      const next = step();
      this.current = next.state;
      if (this.options.isDone(next.state)) this.statusNow = 'done';
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

  private perform(effect: F | TimerEffect<T>): void {
    if (effect.type === 'startTimer') {
      const { timer, delayMs } = effect as Extract<TimerEffect<T>, { type: 'startTimer' }>;
      this.cancelTimer(timer);
      this.timers.set(
        timer,
        this.options.clock.setTimeout(() => {
          this.timers.delete(timer);
          this.send(this.options.timerEvent(timer));
        }, delayMs),
      );
    } else if (effect.type === 'cancelTimer') this.cancelTimer((effect as TimerEffect<T>).timer);
    else this.options.perform(effect as F);
  }

  private cancelTimer(timer: T): void {
    const handle = this.timers.get(timer);
    if (handle === undefined) return;
    this.timers.delete(timer);
    this.options.clock.clearTimeout(handle);
  }

  private clearTimers(): void {
    for (const timer of [...this.timers.keys()]) this.cancelTimer(timer);
  }
}

/** Starts work whose result or failure comes back as an event (a throw while starting is a failure). */
export function answerWith<O, E>(send: (event: E) => void, start: () => Promise<O>, done: (output: O) => E, failed: (error: unknown) => E): void {
  let started: Promise<O>;
  try {
    started = start();
  } catch (error) {
    started = Promise.reject(error);
  }
  started.then(
    (output) => send(done(output)),
    (error: unknown) => send(failed(error)),
  );
}
