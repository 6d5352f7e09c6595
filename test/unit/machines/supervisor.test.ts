// The supervisor machine on a simulated clock: one-for-one restarts, bounded intensity, escalation,
// reverse-order stop.
import { describe, expect, test } from 'vitest';
import { createActor, fromCallback, type InspectionEvent, setup, spawnChild } from 'xstate';
import { SimClock } from '../../../infra/sim/clock';
import { supervisorMachine } from '../../../machines/supervisor.machine';
import { Supervised } from '../../../actors/supervised';

/** A child that records its starts and stops, and throws when told to CRASH. */
function recorder(id: string, events: string[]) {
  return fromCallback(({ receive }) => {
    events.push(`start ${id}`);
    receive((e) => {
      if (e.type === 'CRASH') throw new Error(`${id} crashed`);
    });
    return () => events.push(`stop ${id}`);
  });
}

function supervise(events: string[], opts: { maxRestarts?: number; windowMs?: number } = {}) {
  const clock = new SimClock();
  const restarts: string[] = [];
  const inspected: string[] = [];
  const machine = supervisorMachine.provide({
    actions: { reportRestart: (_, p) => void restarts.push(p.id) },
  });
  const actor = createActor(machine, {
    clock,
    input: { children: ['a', 'b', 'c'].map((id) => ({ id, logic: () => recorder(id, events) })), ...opts },
    inspect: (e: InspectionEvent) => {
      if (e.type === '@xstate.event' && e.event.type.startsWith('xstate.error.actor')) inspected.push(e.event.type);
    },
  });
  let failure: unknown;
  actor.subscribe({ error: (e) => (failure = e), complete: () => (failure = actor.getSnapshot().output?.escalation) });
  actor.start();
  const crash = (id: string) => (actor.getSnapshot().children as Record<string, any>)[id]!.send({ type: 'CRASH' });
  return { clock, actor, restarts, inspected, crash, failure: () => failure };
}

describe('supervisor', () => {
  test('starts children in order and stops them in reverse', () => {
    const events: string[] = [];
    const s = supervise(events);
    expect(events).toEqual(['start a', 'start b', 'start c']);
    s.actor.send({ type: 'STOP' });
    expect(events.slice(3)).toEqual(['stop c', 'stop b', 'stop a']);
    expect(s.actor.getSnapshot().status).toBe('done');
  });

  test('restarts a crashed child alone, observably', () => {
    const events: string[] = [];
    const s = supervise(events);
    s.crash('b');
    // A crashed actor is already stopped (XState runs no cleanup for it); only b starts again.
    expect(events.slice(3)).toEqual(['start b']);
    expect(s.restarts).toEqual(['b']);
    expect(s.inspected).toEqual(['xstate.error.actor.b']);
    expect(s.actor.getSnapshot().context.restartsTotal).toEqual({ b: 1 });
    expect(s.actor.getSnapshot().status).toBe('active');
  });

  test('escalates beyond the restart intensity, stopping the other children in reverse order', () => {
    const events: string[] = [];
    const s = supervise(events, { maxRestarts: 2, windowMs: 10_000 });
    s.crash('b');
    s.crash('b');
    expect(s.actor.getSnapshot().status).toBe('active');
    events.length = 0;
    s.crash('b');
    expect(events).toEqual(['stop c', 'stop a']);
    expect(s.actor.getSnapshot().value).toBe('escalated');
    expect(s.failure()).toEqual({ child: 'b', error: 'b crashed' });
  });

  test('a nested supervisor that escalates counts as its child crashing', () => {
    const events: string[] = [];
    const clock = new SimClock();
    const inner = supervisorMachine;
    const outer = createActor(supervisorMachine, {
      clock,
      input: {
        children: [
          { id: 'inner', logic: () => inner, input: { children: [{ id: 'x', logic: () => recorder('x', events) }], maxRestarts: 0 } },
          { id: 'y', logic: () => recorder('y', events) },
        ],
      },
    });
    outer.start();
    const innerRef = (outer.getSnapshot().children as Record<string, any>).inner;
    (innerRef.getSnapshot().children as Record<string, any>).x.send({ type: 'CRASH' });
    // inner escalated (no restarts allowed) and was restarted by outer: x starts again.
    expect(events.filter((e) => e === 'start x')).toHaveLength(2);
    expect(outer.getSnapshot().context.restartsTotal).toEqual({ inner: 1 });
  });

  test('restarts spread over time never escalate: the window forgets old ones', async () => {
    const events: string[] = [];
    const s = supervise(events, { maxRestarts: 2, windowMs: 1_000 });
    for (let i = 0; i < 10; i++) {
      s.crash('a');
      await s.clock.runFor(1_500);
    }
    expect(s.failure()).toBeUndefined();
    expect(s.restarts).toHaveLength(10);
    expect(s.actor.getSnapshot().context.recent).toEqual({ a: 0 });
  });

  test('a restarted child\'s former descendants are all stopped: they are root actors its service owns, retired before the new one starts', () => {
    const events: string[] = [];
    // A service that runs a tree of its own (an actor whose machine spawns a grandchild), as the notifier runs its inboxes.
    const worker = setup({ actors: { leaf: recorder('leaf', events) } }).createMachine({ entry: spawnChild('leaf', { id: 'leaf' }) });
    let built = 0;
    const child = new Supervised('svc', {
      build: () => ({ generation: ++built, owned: [] as ReturnType<typeof createActor>[] }),
      retire: (old) => old.owned.forEach((a) => a.stop()),
    });
    const logic = () => {
      const service = child.start();
      for (let i = 0; i < 2; i++) service.owned.push(createActor(worker).start());
      return recorder(`svc${service.generation}`, events);
    };
    const machine = supervisorMachine.provide({ actions: { childStopped: (_, p) => void (p.id === 'svc' && child.stop()) } });
    const actor = createActor(machine, { input: { children: [{ id: 'svc', logic }] } }).start();
    const first = child.current;
    expect(events).toEqual(['start leaf', 'start leaf', 'start svc1']);
    const leaves = first.owned.flatMap((a) => Object.values(a.getSnapshot().children as Record<string, any>));
    expect(leaves).toHaveLength(2);
    (actor.getSnapshot().children as Record<string, any>).svc.send({ type: 'CRASH' });
    // Synchronously, within the restart: every actor the crashed service ran is stopped, down to the leaves.
    expect(events.slice(3)).toEqual(['stop leaf', 'stop leaf', 'start leaf', 'start leaf', 'start svc2']);
    expect(first.owned.map((a) => a.getSnapshot().status)).toEqual(['stopped', 'stopped']);
    expect(leaves.map((c) => c.getSnapshot().status)).toEqual(['stopped', 'stopped']);
    actor.send({ type: 'STOP' });
    expect(child.current.owned.map((a) => a.getSnapshot().status)).toEqual(['stopped', 'stopped']);
    // What the service ran stops first, then the child's own actor (XState stops it after the transition).
    expect(events.slice(8)).toEqual(['stop leaf', 'stop leaf', 'stop svc2']);
  });

  test('a crashed child that spawned actors under itself has them named as orphans at its restart (XState leaves them running)', () => {
    const events: string[] = [];
    const orphans: string[][] = [];
    const parent = setup({
      actors: { grandchild: recorder('grandchild', events) },
      actions: {
        crash: () => {
          throw new Error('parent crashed');
        },
      },
    }).createMachine({ entry: spawnChild('grandchild', { id: 'g' }), on: { CRASH: { actions: 'crash' } } });
    const machine = supervisorMachine.provide({ actions: { reportRestart: (_, p) => void orphans.push(p.orphans) } });
    const actor = createActor(machine, { input: { children: [{ id: 'p', logic: () => parent }] } }).start();
    (actor.getSnapshot().children as Record<string, any>).p.send({ type: 'CRASH' });
    expect(orphans).toEqual([['g']]);
    actor.send({ type: 'STOP' });
  });

  test('a restart runs a fresh service object: the crashed one is retired first, nothing it held carries over', () => {
    let built = 0;
    const retired: number[] = [];
    const child = new Supervised('svc', { build: () => ({ generation: ++built, heard: [] as string[] }), retire: (old) => void retired.push(old.generation) });
    const logic = () => {
      const service = child.start();
      return fromCallback(({ receive }) =>
        receive((e) => {
          if (e.type === 'CRASH') throw new Error('svc crashed');
          service.heard.push(e.type);
        }),
      );
    };
    const bound: number[] = [];
    const machine = supervisorMachine.provide({ actions: { childStarted: () => void bound.push(child.current.generation) } });
    const actor = createActor(machine, { input: { children: [{ id: 'svc', logic }] } }).start();
    const svc = () => (actor.getSnapshot().children as Record<string, any>).svc;
    svc().send({ type: 'NOTE' });
    const crashed = child.current;
    expect(crashed.heard).toEqual(['NOTE']);
    svc().send({ type: 'CRASH' });
    expect(retired).toEqual([1]);
    expect(child.current).not.toBe(crashed);
    expect(child.current.heard).toEqual([]);
    expect(bound).toEqual([1, 2]); // the restarted actor was bound to the new service
    svc().send({ type: 'AFTER' });
    expect(child.current.heard).toEqual(['AFTER']);
    expect(crashed.heard).toEqual(['NOTE']);
    actor.send({ type: 'STOP' });
  });
});
