// The store machine on a simulated clock: it opens through its `open` effect, a failure (at open or
// later) moves it to failed, and a store that stays failed for the hold fails the actor, so that its
// supervisor reopens the database or escalates.
import { describe, expect, test } from 'vitest';
import { createActor } from 'xstate';
import { SimClock } from '../../../infra/sim/clock';
import { storeMachine } from '../../../machines/store.machine';

function store(holdMs = 1_000) {
  const clock = new SimClock();
  let opens = 0;
  const actor = createActor(storeMachine.provide({ actions: { open: () => void opens++ } }), { clock, input: { holdMs } });
  let error: Error | undefined;
  actor.subscribe({ error: (e) => (error = e as Error) });
  actor.start();
  return { clock, actor, opens: () => opens, error: () => error };
}

describe('store machine', () => {
  test('opening runs the open effect once and is open when the actor reports OPENED', () => {
    const s = store();
    expect(s.actor.getSnapshot().value).toBe('opening');
    expect(s.opens()).toBe(1);
    s.actor.send({ type: 'OPENED' });
    expect(s.actor.getSnapshot().value).toBe('open');
  });

  test('a failed write moves an open store to failed; after the hold the actor fails with the cause', async () => {
    const s = store(1_000);
    s.actor.send({ type: 'OPENED' });
    s.actor.send({ type: 'FAILED', error: 'local store write failed: Input/output error (5)' });
    expect(s.actor.getSnapshot().value).toBe('failed');
    expect(s.actor.getSnapshot().context.error).toMatch(/Input\/output error/);
    await s.clock.runFor(999);
    expect(s.actor.getSnapshot().status).toBe('active');
    await s.clock.runFor(1);
    expect(s.actor.getSnapshot().status).toBe('error');
    expect(s.error()?.message).toBe('local store failed: local store write failed: Input/output error (5)');
  });

  test('a failed open is failed too, and a close while failed ends the actor without failing it', async () => {
    const s = store(1_000);
    s.actor.send({ type: 'FAILED', error: 'cannot open the local store: EACCES' });
    expect(s.actor.getSnapshot().value).toBe('failed');
    s.actor.send({ type: 'CLOSED' });
    await s.clock.runFor(5_000);
    expect(s.actor.getSnapshot().status).toBe('done');
    expect(s.error()).toBeUndefined();
  });
});
