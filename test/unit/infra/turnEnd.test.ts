// The end of a turn (infra/turnEnd.ts): what the turn's gather callbacks publish is handed over in the
// same check phase, not one event-loop iteration later (an immediate queued inside an immediate waits
// for the next iteration's poll phase: under load, a millisecond on every storage put).
import { describe, expect, it } from 'vitest';
import { atTurnEnd } from '../../../infra/turnEnd';
import { TURN_END_PASSES_MAX } from '../../../protocol/limits';
import { nextTurn } from '../turns';

describe('atTurnEnd', () => {
  it('runs the gather stage before the send stage, whatever order they were queued in', async () => {
    const order: string[] = [];
    atTurnEnd(() => order.push('send'), 'send');
    atTurnEnd(() => order.push('gather 1'));
    atTurnEnd(() => order.push('gather 2'), 'gather');
    await nextTurn();
    expect(order).toEqual(['gather 1', 'gather 2', 'send']);
  });

  it('hands over what a gather callback sends in the same check phase, before the next immediate', async () => {
    const order: string[] = [];
    atTurnEnd(() => {
      order.push('batch gathered');
      atTurnEnd(() => order.push('batch sent'), 'send');
    });
    // Queued after the drain, in the same check phase: a separate immediate for the send would run after it.
    setImmediate(() => order.push('next immediate'));
    await nextTurn();
    await nextTurn();
    expect(order).toEqual(['batch gathered', 'batch sent', 'next immediate']);
  });

  it('runs what a send callback gathers in the same turn too', async () => {
    const order: string[] = [];
    atTurnEnd(() => {
      order.push('send');
      atTurnEnd(() => order.push('gather after send'));
    }, 'send');
    setImmediate(() => order.push('next immediate'));
    await nextTurn();
    await nextTurn();
    expect(order).toEqual(['send', 'gather after send', 'next immediate']);
  });

  it('leaves a callback that always defers again to later turns rather than spinning', async () => {
    let runs = 0;
    let stop = false;
    const again = (): void => {
      runs++;
      if (!stop) atTurnEnd(again);
    };
    atTurnEnd(again);
    let other = false;
    setImmediate(() => (other = true));
    await nextTurn();
    expect(runs).toBe(TURN_END_PASSES_MAX);
    await nextTurn();
    expect(other).toBe(true);
    expect(runs).toBeGreaterThan(TURN_END_PASSES_MAX);
    stop = true;
    await nextTurn();
    await nextTurn();
    const settled = runs;
    await nextTurn();
    expect(runs).toBe(settled);
  });

  it('a callback that throws does not keep the others from running', async () => {
    const ran: string[] = [];
    const thrown: unknown[] = [];
    const onUncaught = (e: unknown) => thrown.push(e);
    const listeners = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    process.on('uncaughtException', onUncaught);
    try {
      atTurnEnd(() => {
        throw new Error('a bug');
      });
      atTurnEnd(() => ran.push('after'));
      atTurnEnd(() => ran.push('send'), 'send');
      await nextTurn();
      await nextTurn();
    } finally {
      process.off('uncaughtException', onUncaught);
      for (const l of listeners) process.on('uncaughtException', l);
    }
    expect(ran).toEqual(['after', 'send']);
    expect(thrown).toHaveLength(1);
    expect((thrown[0] as Error).message).toBe('a bug');
  });
});
