// The Clock port's contract, for the wall clock and the simulated clock alike.
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../infra/ports';

export interface ClockHarness {
  clock: Clock;
  /** Lets `ms` of the clock's time pass (sim: runs it; wall: waits a little longer, for timer slack). */
  advance(ms: number): Promise<void>;
}

export function clockCompliance(label: string, make: () => ClockHarness): void {
  describe(`Clock compliance: ${label}`, () => {
    it('fires timers in order of due time, whatever the order they were set in', async () => {
      const { clock, advance } = make();
      const fired: number[] = [];
      for (const delay of [30, 10, 20]) clock.setTimeout(() => fired.push(delay), delay);
      await advance(60);
      expect(fired).toEqual([10, 20, 30]);
    });

    it('fires timers with equal delays in the order they were set', async () => {
      const { clock, advance } = make();
      const fired: string[] = [];
      for (const name of ['a', 'b', 'c', 'd']) clock.setTimeout(() => fired.push(name), 5);
      await advance(30);
      expect(fired).toEqual(['a', 'b', 'c', 'd']);
    });

    it('clearTimeout cancels a pending timer; clearing a fired or unknown handle is harmless', async () => {
      const { clock, advance } = make();
      const fired: string[] = [];
      const cancelled = clock.setTimeout(() => fired.push('cancelled'), 10);
      const kept = clock.setTimeout(() => fired.push('kept'), 10);
      clock.clearTimeout(cancelled);
      await advance(30);
      clock.clearTimeout(kept);
      clock.clearTimeout(cancelled);
      clock.clearTimeout(undefined);
      expect(fired).toEqual(['kept']);
    });

    it('never fires a timer synchronously, even with a zero or negative delay', async () => {
      const { clock, advance } = make();
      const fired: string[] = [];
      clock.setTimeout(() => fired.push('zero'), 0);
      clock.setTimeout(() => fired.push('negative'), -5);
      expect(fired).toEqual([]);
      await advance(10);
      expect(fired.sort()).toEqual(['negative', 'zero']);
    });

    it('a timer set from a timer callback fires later', async () => {
      const { clock, advance } = make();
      const fired: string[] = [];
      clock.setTimeout(() => {
        fired.push('outer');
        clock.setTimeout(() => fired.push('inner'), 5);
      }, 5);
      await advance(40);
      expect(fired).toEqual(['outer', 'inner']);
    });

    it('now() moves forward as time passes and is seen moved in a timer callback', async () => {
      const { clock, advance } = make();
      const before = clock.now();
      let inCallback: number | undefined;
      clock.setTimeout(() => (inCallback = clock.now()), 15);
      await advance(30);
      expect(inCallback).toBeGreaterThan(before);
      expect(clock.now()).toBeGreaterThanOrEqual(inCallback!);
    });

    it('promise continuations of a timer callback run before the next timer fires', async () => {
      const { clock, advance } = make();
      const order: string[] = [];
      clock.setTimeout(async () => {
        order.push('first');
        await Promise.resolve();
        await null;
        order.push('first continued');
      }, 5);
      clock.setTimeout(() => order.push('second'), 5);
      await advance(20);
      expect(order).toEqual(['first', 'first continued', 'second']);
    });
  });
}
