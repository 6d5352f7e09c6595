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
import { and, type AnyActorLogic, type AnyActorRef, assign, enqueueActions, setup, stopChild } from 'xstate';
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

type SupervisorEvent =
  | { type: `xstate.error.actor.${string}`; error: unknown }
  | { type: `xstate.done.actor.${string}`; output?: { escalation?: { child: string; error: string } } }
  | { type: 'restart.expire'; child: string }
  | { type: 'STOP' };

export const supervisorMachine = setup({
  types: {
    context: {} as SupervisorContext,
    input: {} as SupervisorInput,
    events: {} as SupervisorEvent,
    output: {} as { escalation?: { child: string; error: string } },
  },
  actions: {
    /** Effect: a child started (first start or restart); the runtime binds it to its I/O. */
    childStarted: (_, _params: { id: string; ref: AnyActorRef; restart: boolean }) => {},
    /** Effect: a child crashed and is being restarted. */
    reportRestart: (_, _params: { id: string; error: unknown; recent: number }) => {},
    /** Effect: a child crashed too often; this supervisor gives up and fails. */
    reportEscalation: (_, _params: { id: string; error: unknown }) => {},
  },
  guards: {
    /** A child finished because it escalated (a nested supervisor): a failure, not a normal end. */
    childEscalated: ({ event }) => event.type.startsWith(DONE_PREFIX) && (event as { output?: { escalation?: unknown } }).output?.escalation !== undefined,
    withinIntensity: ({ context, event }) => {
      const id = childOf(event);
      return id !== undefined && (context.recent[id] ?? 0) < context.maxRestarts;
    },
    isOwnChild: ({ context, event }) => {
      const id = childOf(event);
      return id !== undefined && context.specs.some((s) => s.id === id);
    },
  },
  delays: {
    window: ({ context }) => context.windowMs,
  },
}).createMachine({
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
      entry: enqueueActions(({ context, enqueue }) => {
        for (const spec of context.specs) startChild(enqueue, spec, false);
      }),
      on: {
        'xstate.error.actor.*': childFailed(),
        'xstate.done.actor.*': childFailed('childEscalated'),
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

function failureOf(event: { type: string; error?: unknown; output?: { escalation?: { child: string; error: string } } }): unknown {
  const e = event.output?.escalation;
  return e ? new EscalationError(e.child, new Error(e.error)) : event.error;
}

/** Restart the failed child within the intensity, else escalate. `extra` narrows which events count. */
function childFailed(extra?: 'childEscalated'): any {
  const own: any = extra ? and(['isOwnChild', extra]) : 'isOwnChild';
  return [
    {
      guard: and([own, 'withinIntensity']),
      actions: enqueueActions(({ context, event, enqueue }: any) => {
        const id = childOf(event)!;
        const spec = context.specs.find((s: ChildSpec) => s.id === id)!;
        const recent = (context.recent[id] ?? 0) + 1;
        enqueue({ type: 'reportRestart', params: { id, error: failureOf(event), recent } });
        const failed = context.refs[id];
        // After this transition: stopping actors inside it would run their exits within ours.
        enqueue(() => queueMicrotask(() => stopDescendants(failed)));
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
      guard: own,
      target: 'escalated',
      actions: [
        assign({ escalation: ({ event }: any) => ({ child: childOf(event)!, error: describe(failureOf(event)) }) }),
        { type: 'reportEscalation', params: ({ event }: any) => ({ id: childOf(event)!, error: failureOf(event) }) },
      ],
    },
  ];
}

/**
 * An actor that fails stops, but XState (5.x) leaves the actors it spawned running, orphaned (its own
 * source says so: "children don't belong entirely to the actor"). Stop them, deepest first, before the
 * replacement starts new ones. `stop()` refuses non-root actors, and the dead parent can no longer run
 * a stopChild action, so this uses the actor's internal `_stop` (what stopChild itself calls).
 */
function stopDescendants(ref: AnyActorRef | undefined): void {
  for (const child of Object.values((ref?.getSnapshot()?.children ?? {}) as Record<string, AnyActorRef | undefined>)) {
    if (!child) continue;
    stopDescendants(child);
    (child as unknown as { _stop?: () => void })._stop?.();
  }
}

// `enqueue` is typed loosely: XState's enqueue type does not survive being passed to a helper.
function startChild(enqueue: any, spec: ChildSpec, restart: boolean): void {
  enqueue.assign({
    refs: ({ context, spawn }: any) => ({ ...context.refs, [spec.id]: spawn(spec.logic(), { id: spec.id, input: spec.input }) }),
  });
  // params are resolved after the assign above, so the ref is the new child's.
  enqueue({ type: 'childStarted', params: ({ context }: { context: SupervisorContext }) => ({ id: spec.id, ref: context.refs[spec.id]!, restart }) });
}

function stopAllReverse(): any {
  return enqueueActions(({ context, enqueue }: { context: SupervisorContext; enqueue: any }) => {
    for (const spec of [...context.specs].reverse()) if (context.refs[spec.id]) enqueue(stopChild(spec.id));
  });
}
