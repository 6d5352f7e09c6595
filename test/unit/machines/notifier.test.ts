// The inbox machine on a simulated clock, with scripted effects: pulls on start, on the interval and
// after a reconnect; batches bounded by NOTIFY_DELIVER_BATCH_MAX; duplicates (a push and a pull of the
// same entry) delivered once per offer; receipts only after delivery; the crash fault halts before the
// receipt. (The notifier service starts, replaces and stops inboxes: test/sim/supervision.sim.test.ts.)
import { describe, expect, test } from 'vitest';
import { createActor, fromPromise } from 'xstate';
import { SimClock } from '../../../infra/sim/clock';
import { type DeliveryOutcome, type InboxEntry, inboxMachine } from '../../../machines/inbox.machine';
import { NOTIFY_DELIVER_BATCH_MAX, NOTIFY_PULL_INTERVAL_MS, NOTIFY_RETRY_MS } from '../../../protocol/limits';

const entry = (n: number): InboxEntry => ({ entryId: `e${String(n).padStart(4, '0')}`, envelope: { n } });

function inbox(opts: { drop?: InboxEntry[]; hold?: Promise<void>; halt?: boolean; outcome?: (e: InboxEntry) => DeliveryOutcome; failPull?: boolean } = {}) {
  const clock = new SimClock();
  const log = { pulls: 0, batches: [] as string[][], receipts: [] as { ids: string[]; outcomes: DeliveryOutcome[] }[] };
  let releasePull: (() => void) | undefined;
  const logic = inboxMachine.provide({
    actors: {
      pullDrop: fromPromise(async () => {
        log.pulls++;
        if (opts.failPull) throw new Error('no replica answered');
        await new Promise<void>((r) => (releasePull = r));
        return opts.drop ?? [];
      }),
      deliverBatch: fromPromise(async ({ input }) => {
        log.batches.push(input.batch.map((e) => e.entryId));
        await opts.hold;
        return { outcomes: input.batch.map((e) => opts.outcome?.(e) ?? 'delivered'), halt: opts.halt ?? false };
      }),
      acknowledge: fromPromise(async ({ input }) => void log.receipts.push({ ids: input.batch.map((e) => e.entryId), outcomes: [...input.outcomes] })),
    },
  });
  const actor = createActor(logic, { clock }).start();
  /** Runs what is ready at this simulated instant (the stubs' promise continuations); time does not move. */
  const settle = () => clock.runFor(0);
  const finishPull = async () => {
    await settle();
    releasePull?.();
    releasePull = undefined;
    await settle();
  };
  return { clock, actor, log, finishPull, settle, value: () => actor.getSnapshot().value as Record<string, string> };
}

describe('inbox machine', () => {
  test('pulls at start, delivers what it found in bounded batches, then acknowledges each batch', async () => {
    const drop = Array.from({ length: NOTIFY_DELIVER_BATCH_MAX + 5 }, (_, i) => entry(i));
    const t = inbox({ drop });
    expect(t.value().pull).toBe('pulling');
    await t.finishPull();
    expect(t.log.batches.map((b) => b.length)).toEqual([NOTIFY_DELIVER_BATCH_MAX, 5]);
    expect(t.log.receipts.map((r) => r.ids)).toEqual(t.log.batches);
    expect(t.value()).toEqual({ pull: 'waiting', delivery: 'idle' });
    expect(t.actor.getSnapshot().context.counts.delivered).toBe(drop.length);
    expect(t.actor.getSnapshot().context.seen).toEqual({});
  });

  test('a pushed entry that is also pulled while it is being delivered is delivered once', async () => {
    let release!: () => void;
    const t = inbox({ drop: [entry(1), entry(2)], hold: new Promise<void>((r) => (release = r)) });
    t.actor.send({ type: 'QUEUED', entries: [entry(1), entry(1)] });
    await t.finishPull();
    release();
    await t.settle();
    expect(t.log.batches).toEqual([['e0001'], ['e0002']]);
  });

  test('pulls again on the interval, on PULL and right after a pull that a reconnect interrupted', async () => {
    const t = inbox();
    await t.finishPull();
    expect(t.log.pulls).toBe(1);
    await t.clock.runFor(NOTIFY_PULL_INTERVAL_MS);
    expect(t.log.pulls).toBe(2);
    t.actor.send({ type: 'RECONNECTED' }); // during the second pull
    await t.finishPull();
    expect(t.log.pulls).toBe(3);
    await t.finishPull();
    t.actor.send({ type: 'PULL' });
    await t.settle();
    expect(t.log.pulls).toBe(4);
  });

  test('a failed pull is counted and retried on the interval', async () => {
    const t = inbox({ failPull: true });
    await t.settle();
    expect(t.value().pull).toBe('waiting');
    expect(t.actor.getSnapshot().context.counts.pullFailures).toBe(1);
    await t.clock.runFor(NOTIFY_PULL_INTERVAL_MS);
    await t.settle();
    expect(t.actor.getSnapshot().context.counts.pullFailures).toBe(2);
  });

  test('outcomes go to the receipt; a retry is forgotten and the drop pulled again after NOTIFY_RETRY_MS, which delivers it', async () => {
    let first = true;
    const t = inbox({ drop: [entry(2)], outcome: (e) => (e.entryId === 'e0002' && first ? ((first = false), 'retry') : 'delivered') });
    await t.finishPull();
    expect(t.log.receipts[0]).toEqual({ ids: ['e0002'], outcomes: ['retry'] });
    expect(t.value()).toEqual({ pull: 'waiting', delivery: 'backingOff' });
    t.actor.send({ type: 'QUEUED', entries: [entry(1)] });
    await t.settle();
    expect(t.log.receipts).toHaveLength(1); // backing off: nothing delivered meanwhile
    const pulls = t.log.pulls;
    await t.clock.runFor(NOTIFY_RETRY_MS);
    expect(t.log.pulls).toBe(pulls + 1); // well before the pull interval
    await t.finishPull();
    expect(t.log.receipts.slice(1)).toEqual([{ ids: ['e0001'], outcomes: ['delivered'] }, { ids: ['e0002'], outcomes: ['delivered'] }]);
    expect(t.value()).toEqual({ pull: 'waiting', delivery: 'idle' });
  });

  test('the crash fault halts after delivery and before the receipt', async () => {
    const t = inbox({ halt: true, drop: [entry(1)] });
    await t.finishPull();
    expect(t.log.batches).toEqual([['e0001']]);
    expect(t.log.receipts).toEqual([]);
    expect(t.value().delivery).toBe('halted');
    t.actor.send({ type: 'QUEUED', entries: [entry(2)] });
    await t.settle();
    expect(t.log.batches).toHaveLength(1);
  });
});
