// Real time for real nodes: the process's wall clock and Node's timers.
import type { Clock, TimerHandle } from './ports';
import { atTurnEnd } from './turnEnd';

export class WallClock implements Clock {
  now(): number {
    return Date.now();
  }

  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    return globalThis.setTimeout(fn, delayMs);
  }

  clearTimeout(handle: TimerHandle): void {
    globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>);
  }

  /** At the end of the turn, before its publishes are handed to the NATS client (infra/turnEnd.ts). */
  defer(fn: () => void): void {
    atTurnEnd(fn, 'gather');
  }
}

/** One shared instance: the wall clock has no state. */
export const wallClock: Clock = new WallClock();
