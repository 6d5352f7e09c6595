// An OTP-style supervisor as an XState machine: children start in order, a crashed child is restarted
// alone (one-for-one), more than `maxRestarts` restarts of one child within `windowMs` escalates, and
// on STOP children are stopped in the reverse of their start order.
//
// Escalation: the supervisor stops its remaining children (reverse order) and finishes in the final
// state `escalated` with output { escalation }. A parent supervisor treats a child that finishes with
// an escalation exactly like a crashed child; the node runtime treats it as the node failing. (Throwing
// instead would skip the orderly stop: XState does not stop children in order on an actor error.)
//
// Restart intensity is counted without a clock: each restart schedules its own expiry `windowMs` later
// (a delayed event on the actor's clock), so the count is "restarts within the last window".
//
// A child spawns no actors of its own (a nested supervisor aside: it never fails, it finishes, having
// stopped its children in order). XState (5.33) leaves running the actors a failed actor spawned
// (its source: "children don't belong entirely to the actor"), and its public API cannot stop them
// (`stop()` refuses non-root actors; only their dead parent could stopChild them). So the lifecycle of
// what runs under a child is owned by the child's spec instead (OTP's child spec, libp2p's services):
// each (re)start's logic() builds a fresh service (actors/supervised.ts) after retiring the old one,
// and a service's own actors (the notifier's inboxes) are root actors it starts and stops with the
// public start() and stop(). Were a child to spawn anyway, a restart names what it left running
// (`reportRestart`'s `orphans`) rather than hide it.
import { and, type AnyActorLogic, type AnyActorRef, assign, setup, stopChild } from 'xstate';
import { SUPERVISOR_RESTARTS_MAX, SUPERVISOR_WINDOW_MS } from '../protocol/limits';

export interface ChildSpec {
  readonly id: string;
  /** A fresh logic each (re)start. */
  readonly logic: () => AnyActorLogic;
  readonly input?: unknown;
}

export interface SupervisorInput {
  readonly children: readonly ChildSpec[];
  readonly maxRestarts?: number;
  readonly windowMs?: number;
}

export interface SupervisorContext {
  readonly specs: readonly ChildSpec[];
  readonly maxRestarts: number;
  readonly windowMs: number;
  readonly refs: Readonly<Record<string, AnyActorRef>>;
  /** Restarts per child within the current window. */
  readonly recent: Readonly<Record<string, number>>;
  /** Restarts per child since start (for status pages). */
  readonly restartsTotal: Readonly<Record<string, number>>;
  readonly escalation?: { child: string; error: string };
}

export class EscalationError extends Error {
  constructor(
    readonly child: string,
    override readonly cause: unknown,
  ) {
    super(`child ${child} exceeded its restart intensity; last error: ${describe(cause)}`);
    this.name = 'EscalationError';
  }
}

const ERROR_PREFIX = 'xstate.error.actor.';
const DONE_PREFIX = 'xstate.done.actor.';
const describe = (e: unknown) => (e instanceof Error ? e.message : String(e));

type ChildErrorEvent = { type: `xstate.error.actor.${string}`; error: unknown };
type ChildDoneEvent = { type: `xstate.done.actor.${string}`; output?: { escalation?: { child: string; error: string } } };
type SupervisorEvent =
  | ChildErrorEvent
  | ChildDoneEvent
  | { type: 'restart.expire'; child: string }
  | { type: 'STOP' };

const supervisorSetup = setup({
  types: {
    context: {} as SupervisorContext,
    input: {} as SupervisorInput,
    events: {} as SupervisorEvent,
    output: {} as { escalation?: { child: string; error: string } },
  },
  actions: {
    /** Effect: a child started (first start or restart); the runtime binds it to its I/O. */
    childStarted: (_, _params: { id: string; ref: AnyActorRef; restart: boolean }) => {},
    /** Effect: a child crashed and is being restarted; `orphans`: actors it spawned that XState left running (a bug). */
    reportRestart: (_, _params: { id: string; error: unknown; recent: number; orphans: string[] }) => {},
    /** Effect: a child was stopped (STOP or escalation): its spec retires what it owns. */
    childStopped: (_, _params: { id: string }) => {},
    /** Effect: a child crashed too often; this supervisor gives up and fails. */
    reportEscalation: (_, _params: { id: string; error: unknown }) => {},
  },
  guards: {
    withinIntensity: ({ context, event }) => {
      const id = childOf(event);
      return id !== undefined && (context.recent[id] ?? 0) < context.maxRestarts;
    },
    /** One of this supervisor's children crashed, or finished because it escalated (a nested supervisor). */
    ownChildFailed: ({ context, event }) => {
      const id = childOf(event);
      const failed = event.type.startsWith(ERROR_PREFIX) || escalationOf(event) !== undefined;
      return failed && id !== undefined && context.specs.some((s) => s.id === id);
    },
  },
  delays: {
    window: ({ context }) => context.windowMs,
  },
});

/** XState's enqueue as the supervisor's actions receive it (named so helpers can take it). */
type Enqueue = Parameters<Parameters<typeof supervisorSetup.enqueueActions>[0]>[0]['enqueue'];

export const supervisorMachine = supervisorSetup.createMachine({
  output: ({ context }) => ({ escalation: context.escalation }),
  id: 'supervisor',
  context: ({ input }) => ({
    specs: input.children,
    maxRestarts: input.maxRestarts ?? SUPERVISOR_RESTARTS_MAX,
    windowMs: input.windowMs ?? SUPERVISOR_WINDOW_MS,
    refs: {},
    recent: {},
    restartsTotal: {},
  }),
  initial: 'running',
  states: {
    running: {
      entry: supervisorSetup.enqueueActions(({ context, enqueue }) => {
        for (const spec of context.specs) startChild(enqueue, spec, false);
      }),
      on: {
        'xstate.error.actor.*': childFailed(),
        'xstate.done.actor.*': childFailed(),
        'restart.expire': {
          actions: assign({
            recent: ({ context, event }) => ({ ...context.recent, [event.child]: Math.max(0, (context.recent[event.child] ?? 0) - 1) }),
          }),
        },
        STOP: 'stopped',
      },
    },
    escalated: {
      entry: stopAllReverse(),
      type: 'final',
    },
    stopped: {
      entry: stopAllReverse(),
      type: 'final',
    },
  },
});

function childOf(event: { type: string }): string | undefined {
  if (event.type.startsWith(ERROR_PREFIX)) return event.type.slice(ERROR_PREFIX.length);
  if (event.type.startsWith(DONE_PREFIX)) return event.type.slice(DONE_PREFIX.length);
  return undefined;
}

/** The escalation a nested supervisor finished with (a failure, not a normal end), if it did. */
function escalationOf(event: SupervisorEvent): { child: string; error: string } | undefined {
  return event.type.startsWith(DONE_PREFIX) ? (event as ChildDoneEvent).output?.escalation : undefined;
}

function failureOf(event: SupervisorEvent): unknown {
  const e = escalationOf(event);
  if (e) return new EscalationError(e.child, new Error(e.error));
  return event.type.startsWith(ERROR_PREFIX) ? (event as ChildErrorEvent).error : undefined;
}

/** Restart the failed child within the intensity, else escalate. */
function childFailed() {
  return [
    {
      guard: and(['ownChildFailed', 'withinIntensity']),
      actions: supervisorSetup.enqueueActions(({ context, event, enqueue }) => {
        const id = childOf(event)!;
        const spec = context.specs.find((s) => s.id === id)!;
        const recent = (context.recent[id] ?? 0) + 1;
        enqueue({ type: 'reportRestart', params: { id, error: failureOf(event), recent, orphans: orphansOf(context.refs[id]) } });
        enqueue(stopChild(id));
        enqueue.assign({
          recent: { ...context.recent, [id]: recent },
          restartsTotal: { ...context.restartsTotal, [id]: (context.restartsTotal[id] ?? 0) + 1 },
        });
        enqueue.raise({ type: 'restart.expire', child: id }, { delay: context.windowMs });
        startChild(enqueue, spec, true);
      }),
    },
    {
      guard: 'ownChildFailed' as const,
      target: 'escalated',
      actions: [
        supervisorSetup.assign({ escalation: ({ event }) => ({ child: childOf(event)!, error: describe(failureOf(event)) }) }),
        { type: 'reportEscalation' as const, params: ({ event }: { event: SupervisorEvent }) => ({ id: childOf(event)!, error: failureOf(event) }) },
      ],
    },
  ];
}

/** The actors a failed child spawned that are still running (see the top of this file: there should be none). */
function orphansOf(ref: AnyActorRef | undefined): string[] {
  const children = (ref?.getSnapshot()?.children ?? {}) as Record<string, AnyActorRef | undefined>;
  return Object.entries(children)
    .filter(([, child]) => child?.getSnapshot().status === 'active')
    .map(([id]) => id);
}

/**
 * Spawning a spec's logic under the spec's id. XState's types cannot say this in a machine built with
 * setup() and no `actors` map: spawn's options for an inline logic are `id?: never`, and an assign from
 * outside setup() does not fit its enqueue (the actor type parameters differ). At run time spawn takes
 * any logic with an id, which is what this narrow view of it states.
 */
type SpawnById = (logic: AnyActorLogic, options: { id: string; input?: unknown }) => AnyActorRef;

function startChild(enqueue: Enqueue, spec: ChildSpec, restart: boolean): void {
  enqueue.assign({
    refs: ({ context, spawn }) => ({ ...context.refs, [spec.id]: (spawn as unknown as SpawnById)(spec.logic(), { id: spec.id, input: spec.input }) }),
  });
  // params are resolved after the assign above, so the ref is the new child's.
  enqueue({ type: 'childStarted', params: ({ context }: { context: SupervisorContext }) => ({ id: spec.id, ref: context.refs[spec.id]!, restart }) });
}

function stopAllReverse() {
  return supervisorSetup.enqueueActions(({ context, enqueue }) => {
    for (const spec of [...context.specs].reverse()) {
      if (!context.refs[spec.id]) continue;
      enqueue(stopChild(spec.id));
      enqueue({ type: 'childStopped', params: { id: spec.id } });
    }
  });
}
