// One log's append queue and compare-and-swap protocol (DESIGN 4), a child of its user's actor under the
// node's logWriter (machines/logWriter.machine.ts); storage/log/logWriter.ts supplies the effects.
//
//   idle ──KICK──▶ writing ──stored / nothing to write──▶ idle (then the next batch, if any)
//                     │ lost the compare-and-swap
//                     ├── attempts left ──▶ catchingUp ──▶ backingOff ──▶ writing (same batch, re-applied)
//                     └── none left ─────▶ idle (the batch fails with LOG_CONTENTION)
//
// A batch is every append queued since the last one began (group commit). Each round applies it to the
// state, stores the blocks and the new head with putObject(next, replacesSeq); a round that loses the
// compare-and-swap reverts, catches up with the winner's head and tries again after a pause that grows
// with the lost rounds. Errors fail the batch's callers and return to idle.
import { type AnyActorRef, assign, createActor, fromPromise, setup } from 'xstate';
import { LOG_CAS_ATTEMPTS_MAX } from '../protocol/limits';
import type { AppendEffects, LogActors, RoundOutcome } from '../storage/log/logWriter';

export interface LogAppendContext {
  /** Rounds tried for the current batch (1 in the first). */
  readonly attempt: number;
  readonly counts: { readonly batches: number; readonly headsWritten: number; readonly casLost: number; readonly failed: number };
}

export const logAppendMachine = setup({
  types: { context: {} as LogAppendContext, events: {} as { type: 'KICK' } },
  actors: {
    /** Effect: apply the batch and store the next head. */
    writeRound: fromPromise<RoundOutcome>(async () => 'nothing'),
    /** Effect: catch up with the head that won the compare-and-swap. */
    catchUp: fromPromise<void>(async () => {}),
    /** Effect: a random pause that grows with the lost rounds. */
    backoff: fromPromise<void, { attempt: number }>(async () => {}),
  },
  actions: {
    /** Effect: take every queued append as the next batch. */
    takeBatch: () => {},
    /** Effect: the batch is over (written, or failed): start the next one if appends are queued. */
    batchEnded: () => {},
    /** Effect: fail the batch's callers (`attempts`: the compare-and-swap was lost that many times). */
    failBatch: (_, _params: { error: unknown; attempts?: number }) => {},
    countLost: assign(({ context }) => ({ counts: { ...context.counts, casLost: context.counts.casLost + 1 } })),
    countFailed: assign(({ context }) => ({ counts: { ...context.counts, failed: context.counts.failed + 1 } })),
  },
  guards: {
    attemptsLeft: ({ context }) => context.attempt < LOG_CAS_ATTEMPTS_MAX,
  },
}).createMachine({
  id: 'logAppend',
  context: { attempt: 0, counts: { batches: 0, headsWritten: 0, casLost: 0, failed: 0 } },
  initial: 'idle',
  states: {
    idle: {
      entry: 'batchEnded',
      on: {
        KICK: {
          target: 'writing',
          actions: ['takeBatch', assign(({ context }) => ({ attempt: 0, counts: { ...context.counts, batches: context.counts.batches + 1 } }))],
        },
      },
    },
    writing: {
      entry: assign({ attempt: ({ context }) => context.attempt + 1 }),
      invoke: {
        src: 'writeRound',
        onDone: [
          { guard: ({ event }) => event.output === 'stored', target: 'idle', actions: assign(({ context }) => ({ counts: { ...context.counts, headsWritten: context.counts.headsWritten + 1 } })) },
          { guard: ({ event }) => event.output === 'nothing', target: 'idle' },
          { guard: 'attemptsLeft', target: 'catchingUp', actions: 'countLost' },
          { target: 'idle', actions: ['countLost', 'countFailed', { type: 'failBatch', params: ({ context }) => ({ error: undefined, attempts: context.attempt }) }] },
        ],
        onError: { target: 'idle', actions: ['countFailed', { type: 'failBatch', params: ({ event }) => ({ error: event.error }) }] },
      },
    },
    catchingUp: {
      invoke: {
        src: 'catchUp',
        onDone: 'backingOff',
        onError: { target: 'idle', actions: ['countFailed', { type: 'failBatch', params: ({ event }) => ({ error: event.error }) }] },
      },
    },
    backingOff: {
      invoke: { src: 'backoff', input: ({ context }) => ({ attempt: context.attempt }), onDone: 'writing', onError: 'writing' },
    },
  },
});

/** The machine with one log's effects. */
export function logAppendLogic(effects: AppendEffects) {
  return logAppendMachine.provide({
    actors: {
      writeRound: fromPromise(() => effects.writeRound()),
      catchUp: fromPromise(() => effects.catchUp()),
      backoff: fromPromise(({ input }) => effects.backoff(input.attempt)),
    },
    actions: {
      takeBatch: () => effects.takeBatch(),
      batchEnded: () => effects.batchEnded(),
      failBatch: (_, p) => effects.failBatch(p.error, p.attempts),
    },
  });
}

/** Log actors outside a node (tools, tests): each its own root actor. */
export const standaloneLogActors: LogActors = {
  start: (_id, effects) => createActor(logAppendLogic(effects)).start(),
  release: (ref: AnyActorRef) => ref.stop?.(),
};
