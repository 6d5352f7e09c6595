// The simulated clock passes the Clock contract and keeps exact, deterministic time (the wall clock's
// run of the contract waits on real time: test/integration/infra/wallClock.test.ts).
import { describe, expect, it } from 'vitest';
import { createActor, createMachine } from 'xstate';
import { SIM_EPOCH_MS, SimClock } from '../../../infra/sim/clock';
import { clockCompliance } from '../../compliance/clock';
import { nextTurn } from '../turns';

clockCompliance('simulated clock', () => {
  const clock = new SimClock();
  return { clock, advance: (ms) => clock.runFor(ms) };
});

describe('SimClock', () => {
  it('starts at the fixed epoch and moves only when run', async () => {
    const clock = new SimClock();
    expect(clock.now()).toBe(SIM_EPOCH_MS);
    let fired = false;
    clock.setTimeout(() => (fired = true), 0);
    await nextTurn(); // the process goes on; the simulated clock does not
    expect(fired).toBe(false);
    expect(clock.now()).toBe(SIM_EPOCH_MS);
    await clock.runFor(1234);
    expect(clock.now()).toBe(SIM_EPOCH_MS + 1234);
  });

  it('fires each timer at exactly its due time', async () => {
    const clock = new SimClock(0);
    const seen: number[] = [];
    for (const delay of [7, 3, 3, 100]) clock.setTimeout(() => seen.push(clock.now()), delay);
    await clock.runFor(50);
    expect(seen).toEqual([3, 3, 7]);
    expect(clock.pending).toBe(1);
    await clock.runFor(50);
    expect(seen).toEqual([3, 3, 7, 100]);
    expect(clock.pending).toBe(0);
  });

  it('step() fires one timer and advances to it; false when nothing is pending', async () => {
    const clock = new SimClock(0);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('a'), 10);
    clock.setTimeout(() => fired.push('b'), 20);
    expect(await clock.step()).toBe(true);
    expect(fired).toEqual(['a']);
    expect(clock.now()).toBe(10);
    expect(await clock.step()).toBe(true);
    expect(await clock.step()).toBe(false);
    expect(clock.now()).toBe(20);
  });

  it('runUntil stops when the predicate holds, or at maxMs', async () => {
    const clock = new SimClock(0);
    let ticks = 0;
    const tick = () => {
      ticks++;
      clock.setTimeout(tick, 10);
    };
    clock.setTimeout(tick, 10);
    expect(await clock.runUntil(() => ticks === 5, { maxMs: 1000 })).toBe(true);
    expect(clock.now()).toBe(50);
    expect(await clock.runUntil(() => ticks === 1000, { maxMs: 100 })).toBe(false);
    expect(clock.now()).toBe(150);
  });

  it('runUntil sees the outcome of promise chains started by timers', async () => {
    const clock = new SimClock(0);
    let result: string | undefined;
    const delayed = (ms: number) => new Promise<void>((resolve) => clock.setTimeout(resolve, ms));
    void (async () => {
      await delayed(10);
      await delayed(10);
      result = 'done';
    })();
    expect(await clock.runUntil(() => result !== undefined, { maxMs: 1000 })).toBe(true);
    expect(clock.now()).toBe(20);
  });

  it('cancelled timers do not count as pending and never fire, even in bulk', async () => {
    const clock = new SimClock(0);
    let fired = 0;
    const handles = Array.from({ length: 5000 }, (_, i) => clock.setTimeout(() => fired++, i % 100));
    handles.forEach((handle, i) => i % 5 !== 0 && clock.clearTimeout(handle));
    expect(clock.pending).toBe(1000);
    await clock.runFor(100);
    expect(fired).toBe(1000);
    expect(clock.pending).toBe(0);
  });

  it('a timer that throws fails the run, and the clock stays usable', async () => {
    const clock = new SimClock(0);
    clock.setTimeout(() => {
      throw new Error('timer bug (expected by this test)');
    }, 5);
    await expect(clock.runFor(10)).rejects.toThrow('timer bug');
    let later = false;
    clock.setTimeout(() => (later = true), 1);
    await clock.runFor(10);
    expect(later).toBe(true);
  });

  it('refuses to run twice at once', async () => {
    const clock = new SimClock(0);
    clock.setTimeout(() => {}, 10);
    const running = clock.runFor(20);
    await expect(clock.runFor(5)).rejects.toThrow(/already running/);
    await running;
  });

  it("runs XState's delayed transitions on virtual time", async () => {
    const clock = new SimClock(0);
    const machine = createMachine({
      initial: 'waiting',
      states: { waiting: { after: { 4000: 'suspected' } }, suspected: {} },
    });
    const actor = createActor(machine, { clock }).start();
    await clock.runFor(3999);
    expect(actor.getSnapshot().value).toBe('waiting');
    await clock.runFor(1);
    expect(actor.getSnapshot().value).toBe('suspected');
    actor.stop();
  });
});
