// The replica manager's housekeeping, one pass at a time (DESIGN section 3):
//
//   serving (parallel)
//   ├── pull         idle ──LEAFSET_CHANGED──▶ pulling ──PASS_DONE──▶ idle
//   │                (at once: a new replica lists and fetches the arcs it gained; a change meanwhile queues another)
//   ├── repair       idle ──LEAFSET_CHANGED──▶ settling ──(debounce)──▶ repairing ──PASS_DONE──▶ idle
//   │                (a change during a pass queues another pass; the holders' offers: the safety net)
//   ├── antiEntropy  waiting ──(interval)──▶ reconciling ──PASS_DONE──▶ waiting
//   ├── gc           waiting ──(interval)──▶ collecting ──PASS_DONE──▶ waiting
//   └── scrub        waiting ──(interval)──▶ scrubbing ──PASS_DONE──▶ waiting
//
// Pure: each pass is the named effect `runPass` that the actor performs asynchronously, reporting
// PASS_DONE (or PASS_FAILED) with the pass's name. Client reads and writes and replica requests are
// not serialised here: they run concurrently as their own sessions.
import { assign, setup } from 'xstate';
import type { StorageTimings } from '../protocol/limits';

export type PassName = 'pull' | 'repair' | 'antiEntropy' | 'gc' | 'scrub';

export type ReplicaManagerEvent =
  | { type: 'CRASH' }
  | { type: 'LEAFSET_CHANGED' }
  | { type: 'PASS_DONE'; pass: PassName }
  | { type: 'PASS_FAILED'; pass: PassName; error: string };

export interface ReplicaManagerContext {
  readonly timings: StorageTimings;
  /** A leaf-set change arrived while a repair pass ran: run another one after it. */
  readonly repairAgain: boolean;
  /** A leaf-set change arrived while a pull ran: run another one after it. */
  readonly pullAgain: boolean;
  readonly passes: Readonly<Record<PassName, number>>;
  readonly failures: Readonly<Record<PassName, number>>;
}

export const replicaManagerMachine = setup({
  types: { context: {} as ReplicaManagerContext, input: {} as { timings: StorageTimings }, events: {} as ReplicaManagerEvent },
  actions: {
    runPass: (_, _params: { pass: PassName }) => {},
    crash: () => {
      throw new Error('injected crash (fault injection)');
    },
    countPass: assign(({ context, event }, params: { pass: PassName }) =>
      event.type === 'PASS_FAILED'
        ? { failures: { ...context.failures, [params.pass]: context.failures[params.pass] + 1 } }
        : { passes: { ...context.passes, [params.pass]: context.passes[params.pass] + 1 } },
    ),
  },
  guards: {
    /** The event reports the end (done or failed) of this pass. */
    ended: ({ event }, params: { pass: PassName }) => (event.type === 'PASS_DONE' || event.type === 'PASS_FAILED') && event.pass === params.pass,
  },
  delays: {
    repairDebounce: ({ context }) => context.timings.repairDebounceMs,
    antiEntropyInterval: ({ context }) => context.timings.antiEntropyIntervalMs,
    gcInterval: ({ context }) => context.timings.gcIntervalMs,
    scrubInterval: ({ context }) => context.timings.scrubIntervalMs,
  },
}).createMachine({
  id: 'replicaManager',
  context: ({ input }) => ({
    timings: input.timings,
    repairAgain: false,
    pullAgain: false,
    passes: { pull: 0, repair: 0, antiEntropy: 0, gc: 0, scrub: 0 },
    failures: { pull: 0, repair: 0, antiEntropy: 0, gc: 0, scrub: 0 },
  }),
  type: 'parallel',
  // Fault injection: the actor fails as a bug would, and its supervisor restarts it.
  on: { CRASH: { actions: 'crash' } },
  states: {
    // A node that became a replica of keys pulls them from their surviving holders at once, without
    // the debounce: the holders' repair passes (below) come only after it, and offer the same keys.
    pull: {
      initial: 'idle',
      states: {
        idle: { on: { LEAFSET_CHANGED: 'pulling' } },
        pulling: {
          entry: [assign({ pullAgain: false }), { type: 'runPass', params: { pass: 'pull' } }],
          on: {
            LEAFSET_CHANGED: { actions: assign({ pullAgain: true }) },
            PASS_DONE: { guard: { type: 'ended', params: { pass: 'pull' } }, target: 'afterPull', actions: { type: 'countPass', params: { pass: 'pull' } } },
            PASS_FAILED: { guard: { type: 'ended', params: { pass: 'pull' } }, target: 'afterPull', actions: { type: 'countPass', params: { pass: 'pull' } } },
          },
        },
        afterPull: {
          always: [{ guard: ({ context }) => context.pullAgain, target: 'pulling' }, { target: 'idle' }],
        },
      },
    },
    repair: {
      initial: 'idle',
      states: {
        idle: { on: { LEAFSET_CHANGED: 'settling' } },
        // Leaf sets change in bursts (a death is followed by repairs): wait for the burst to end.
        settling: { on: { LEAFSET_CHANGED: { target: 'settling', reenter: true } }, after: { repairDebounce: 'repairing' } },
        repairing: {
          entry: [assign({ repairAgain: false }), { type: 'runPass', params: { pass: 'repair' } }],
          on: {
            LEAFSET_CHANGED: { actions: assign({ repairAgain: true }) },
            PASS_DONE: { guard: { type: 'ended', params: { pass: 'repair' } }, target: 'afterPass', actions: { type: 'countPass', params: { pass: 'repair' } } },
            PASS_FAILED: { guard: { type: 'ended', params: { pass: 'repair' } }, target: 'afterPass', actions: { type: 'countPass', params: { pass: 'repair' } } },
          },
        },
        afterPass: {
          always: [{ guard: ({ context }) => context.repairAgain, target: 'settling' }, { target: 'idle' }],
        },
      },
    },
    antiEntropy: {
      initial: 'waiting',
      states: {
        waiting: { after: { antiEntropyInterval: 'reconciling' } },
        reconciling: {
          entry: { type: 'runPass', params: { pass: 'antiEntropy' } },
          on: {
            PASS_DONE: { guard: { type: 'ended', params: { pass: 'antiEntropy' } }, target: 'waiting', actions: { type: 'countPass', params: { pass: 'antiEntropy' } } },
            PASS_FAILED: { guard: { type: 'ended', params: { pass: 'antiEntropy' } }, target: 'waiting', actions: { type: 'countPass', params: { pass: 'antiEntropy' } } },
          },
        },
      },
    },
    gc: {
      initial: 'waiting',
      states: {
        waiting: { after: { gcInterval: 'collecting' } },
        collecting: {
          entry: { type: 'runPass', params: { pass: 'gc' } },
          on: {
            PASS_DONE: { guard: { type: 'ended', params: { pass: 'gc' } }, target: 'waiting', actions: { type: 'countPass', params: { pass: 'gc' } } },
            PASS_FAILED: { guard: { type: 'ended', params: { pass: 'gc' } }, target: 'waiting', actions: { type: 'countPass', params: { pass: 'gc' } } },
          },
        },
      },
    },
    scrub: {
      initial: 'waiting',
      states: {
        waiting: { after: { scrubInterval: 'scrubbing' } },
        scrubbing: {
          entry: { type: 'runPass', params: { pass: 'scrub' } },
          on: {
            PASS_DONE: { guard: { type: 'ended', params: { pass: 'scrub' } }, target: 'waiting', actions: { type: 'countPass', params: { pass: 'scrub' } } },
            PASS_FAILED: { guard: { type: 'ended', params: { pass: 'scrub' } }, target: 'waiting', actions: { type: 'countPass', params: { pass: 'scrub' } } },
          },
        },
      },
    },
  },
});
