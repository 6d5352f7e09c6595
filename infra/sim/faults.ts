// The faults a simulated network injects, all changeable while a run is going on.
import type { Random } from '../ports';

/** One hop of one message copy, as the delay function sees it. */
export interface Link {
  readonly from: string;
  readonly to: string;
  readonly subject: string;
  readonly bytes: number;
}

/** Uniform delay in [minMs, maxMs] per copy; jitter (min < max) is what reorders messages. */
export interface DelayRange {
  minMs: number;
  maxMs: number;
}

/** A delay computed per copy; use the given random source so that runs stay reproducible. */
export type DelayFn = (link: Link, random: Random) => number;

export interface NetworkFaults {
  delay: DelayRange | DelayFn;
  /** Probability that a copy is lost. */
  lossProbability: number;
  /** Probability that a copy is delivered twice (each copy with its own delay). */
  duplicateProbability: number;
}

export const NO_FAULTS: NetworkFaults = {
  // One millisecond keeps messages ordered (equal delays fire in send order) and time moving.
  delay: { minMs: 1, maxMs: 1 },
  lossProbability: 0,
  duplicateProbability: 0,
};

export function drawDelayMs(delay: DelayRange | DelayFn, link: Link, random: Random): number {
  if (typeof delay === 'function') return Math.max(0, delay(link, random));
  if (delay.maxMs <= delay.minMs) return Math.max(0, delay.minMs);
  return delay.minMs + random.float() * (delay.maxMs - delay.minMs);
}

export function assertFaults(faults: NetworkFaults): void {
  const probability = (name: string, p: number) => {
    if (!(p >= 0 && p <= 1)) throw new RangeError(`${name} must be within [0, 1], got ${p}`);
  };
  probability('lossProbability', faults.lossProbability);
  probability('duplicateProbability', faults.duplicateProbability);
  if (typeof faults.delay !== 'function' && !(faults.delay.minMs >= 0 && faults.delay.maxMs >= 0)) {
    throw new RangeError(`delay bounds must be non-negative, got ${JSON.stringify(faults.delay)}`);
  }
}

/**
 * Which endpoints can reach which. Endpoints named in no group share one implicit group, so
 * `partition([[a]])` cuts `a` off from everybody else and leaves the others connected.
 */
export class Partitions {
  private groupOf = new Map<string, number>();
  private nextGroup = 1;

  get active(): boolean {
    return this.groupOf.size > 0;
  }

  /** Replaces the current partition: each list is one side. */
  partition(groups: readonly (readonly string[])[]): void {
    this.groupOf = new Map();
    for (const group of groups) {
      const id = this.nextGroup++;
      for (const name of group) {
        if (this.groupOf.has(name)) throw new Error(`partition: '${name}' is listed in two groups`);
        this.groupOf.set(name, id);
      }
    }
  }

  /** Cuts `name` off from everybody, keeping the other cuts in place. */
  isolate(name: string): void {
    this.groupOf.set(name, this.nextGroup++);
  }

  heal(): void {
    this.groupOf.clear();
  }

  cut(a: string, b: string): boolean {
    if (this.groupOf.size === 0 || a === b) return false;
    return (this.groupOf.get(a) ?? 0) !== (this.groupOf.get(b) ?? 0);
  }
}
