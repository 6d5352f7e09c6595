// Virtual time for the deterministic simulator. Time moves only when the simulation runs the clock;
// timers fire in (due time, insertion order), so a seed replays exactly.
//
// Actors use promises (async crypto, awaited replies), and their continuations must run before time
// moves on, as they would in a real process. Each timer therefore fires in its own setImmediate
// callback: Node drains the whole microtask queue (promise chains included) between two immediates.
// Scheduling the immediates in batches lets one event-loop turn fire many timers (~6M immediates/s
// against ~0.4M for one awaited immediate per timer). Code under simulation must not use the real
// setTimeout/setImmediate: what they schedule runs only between batches.
import type { Clock, TimerHandle } from '../ports';
import { SimTimer, TimerHeap } from './timer-heap';

/** 2023-11-14T22:13:20Z: a fixed start so that logs and ids of simulated runs are reproducible. */
export const SIM_EPOCH_MS = 1_700_000_000_000;

/** Timers fired per event-loop turn at most; the batch grows from 1 so short runs stay cheap. */
const BATCH_MAX = 1024;

interface Run {
  readonly untilMs: number;
  readonly predicate: (() => boolean) | undefined;
  readonly maxTimers: number;
  fired: number;
  finished: boolean;
  resolve(reachedPredicate: boolean): void;
  reject(error: unknown): void;
}

export class SimClock implements Clock {
  private nowMs: number;
  private seq = 0;
  private readonly heap = new TimerHeap();
  private run: Run | null = null;
  /** Timers fired since the clock was made (for benchmarks and run summaries). */
  firedTotal = 0;

  constructor(startMs: number = SIM_EPOCH_MS) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    // Like Node, a bad or negative delay means "as soon as possible", never synchronously.
    const delay = Number.isFinite(delayMs) && delayMs > 0 ? delayMs : 0;
    const timer = new SimTimer(this.nowMs + delay, this.seq++, fn);
    this.heap.push(timer);
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    if (handle instanceof SimTimer) this.heap.cancel(handle);
  }

  /** A timer due now: it fires after the microtasks of this step have drained, like an immediate. */
  defer(fn: () => void): void {
    this.setTimeout(fn, 0);
  }

  /** Timers still to fire. */
  get pending(): number {
    return this.heap.live;
  }

  /** Due time of the next timer, if any. */
  get nextDueMs(): number | undefined {
    return this.heap.peek()?.dueMs;
  }

  /** Advances time by `ms`, firing every timer due by then (and those they set within the window). */
  async runFor(ms: number): Promise<void> {
    await this.start(this.nowMs + Math.max(0, ms), undefined, Infinity);
  }

  /**
   * Runs until `predicate` holds (checked before each timer, after microtasks have drained) or
   * `maxMs` of virtual time has passed. Returns whether the predicate became true.
   */
  async runUntil(predicate: () => boolean, opts: { maxMs: number }): Promise<boolean> {
    return this.start(this.nowMs + Math.max(0, opts.maxMs), predicate, Infinity);
  }

  /** Fires the next timer (advancing time to it); false when none is pending. */
  async step(): Promise<boolean> {
    const next = this.heap.peek();
    if (next === undefined) return false;
    await this.start(next.dueMs, undefined, 1);
    return true;
  }

  private start(untilMs: number, predicate: (() => boolean) | undefined, maxTimers: number): Promise<boolean> {
    if (this.run !== null) throw new Error('SimClock is already running: runFor/runUntil/step may not nest');
    return new Promise<boolean>((resolve, reject) => {
      this.run = { untilMs, predicate, maxTimers, fired: 0, finished: false, resolve, reject };
      this.scheduleBatch(this.run, 1);
    });
  }

  private scheduleBatch(run: Run, size: number): void {
    for (let i = 0; i < size; i++) {
      const last = i === size - 1;
      setImmediate(() => this.advance(run, last ? Math.min(size * 2, BATCH_MAX) : 0));
    }
  }

  /** One immediate: fire the next due timer, or finish the run. `nextBatch` > 0 on a batch's last slot. */
  private advance(run: Run, nextBatch: number): void {
    if (run.finished) return;
    try {
      if (run.predicate?.()) return this.finish(run, true);
      const next = run.fired < run.maxTimers ? this.heap.peek() : undefined;
      if (next === undefined || next.dueMs > run.untilMs) {
        this.nowMs = Math.max(this.nowMs, run.untilMs);
        return this.finish(run, run.predicate?.() ?? false);
      }
      const timer = this.heap.pop()!;
      const fn = timer.fn!;
      timer.fn = null; // fired: a later clearTimeout on it is a no-op
      this.nowMs = timer.dueMs;
      run.fired++;
      this.firedTotal++;
      fn();
    } catch (error) {
      run.finished = true;
      this.run = null;
      run.reject(error);
      return;
    }
    if (nextBatch > 0) this.scheduleBatch(run, nextBatch);
  }

  private finish(run: Run, reachedPredicate: boolean): void {
    run.finished = true;
    this.run = null;
    run.resolve(reachedPredicate);
  }
}
