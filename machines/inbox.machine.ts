// One hosted recipient's inbox (DESIGN 5), a root actor owned by the notifier service (actors/notify/notifier.ts):
//
//   inbox (parallel)
//   ├── pull        pulling ──done/failed──▶ waiting ──(pull interval | PULL | RECONNECTED)──▶ pulling
//   └── delivery    idle ──(queue not empty)──▶ delivering ──▶ acknowledging ──▶ idle
//                   (acknowledging ──a delivery to retry, or receipts that failed──▶ backingOff
//                    ──NOTIFY_RETRY_MS, raises PULL──▶ idle: a transient failure waits seconds, not the pull interval)
//                   (delivering ──crash fault──▶ halted: the node "dies" between append and receipt)
//
// Pure: it names three effects (pullDrop, deliverBatch, acknowledge) that the notifier service
// supplies per recipient; notifications reach the queue as QUEUED events, from the live push and from
// pulls, and are dropped from `seen` once their batch was processed (a re-offer is then delivered
// again idempotently and acknowledged again).
import { assign, fromPromise, raise, setup } from 'xstate';
import { NOTIFY_DELIVER_BATCH_MAX, NOTIFY_PULL_INTERVAL_MS, NOTIFY_RETRY_MS } from '../protocol/limits';

/** One pending notification: its id in the drop and its envelope (opaque to the machine). */
export interface InboxEntry {
  readonly entryId: string;
  readonly envelope: unknown;
}

export type DeliveryOutcome = 'delivered' | 'undeliverable' | 'retry';

export interface InboxContext {
  readonly queue: readonly InboxEntry[];
  readonly seen: Readonly<Record<string, true>>;
  /** The batch being delivered and acknowledged. */
  readonly batch: readonly InboxEntry[];
  readonly outcomes: readonly DeliveryOutcome[];
  /** A reconnect or PULL arrived during a pull: pull again right after it. */
  readonly pullAgain: boolean;
  readonly counts: { readonly pulls: number; readonly pullFailures: number; readonly delivered: number; readonly undeliverable: number; readonly retried: number };
}

export type InboxEvent = { type: 'QUEUED'; entries: readonly InboxEntry[] } | { type: 'PULL' } | { type: 'RECONNECTED' };

/** Entries not seen yet (a pull from k replicas offers each entry up to k times) join the queue. */
const enqueue = (context: InboxContext, entries: readonly InboxEntry[]) => {
  let seen: Record<string, true> | undefined;
  const fresh: InboxEntry[] = [];
  for (const e of entries) {
    if ((seen ?? context.seen)[e.entryId]) continue;
    seen ??= { ...context.seen };
    seen[e.entryId] = true;
    fresh.push(e);
  }
  return seen ? { queue: [...context.queue, ...fresh], seen } : {};
};

export const inboxMachine = setup({
  types: { context: {} as InboxContext, events: {} as InboxEvent },
  actors: {
    /** Effect: every pending entry of the drop, from all its replicas (the union). */
    pullDrop: fromPromise<InboxEntry[]>(async () => []),
    /** Effect: verify, open and hand each entry to its application; `halt` is the crash fault. */
    deliverBatch: fromPromise<{ outcomes: DeliveryOutcome[]; halt: boolean }, { batch: readonly InboxEntry[] }>(async ({ input }) => ({ outcomes: input.batch.map(() => 'retry' as const), halt: false })),
    /**
     * Effect: signed receipts to the drop's replicas, one per outcome that is final. The notifier sends
     * them without waiting for the replicas (a lost receipt only means a later re-offer, delivered again
     * idempotently), so the next batch does not wait a replicated round.
     */
    acknowledge: fromPromise<void, { batch: readonly InboxEntry[]; outcomes: readonly DeliveryOutcome[] }>(async () => {}),
  },
  actions: {
    countBatch: assign(({ context }) => {
      const n = (o: DeliveryOutcome) => context.outcomes.filter((x) => x === o).length;
      return { counts: { ...context.counts, delivered: context.counts.delivered + n('delivered'), undeliverable: context.counts.undeliverable + n('undeliverable'), retried: context.counts.retried + n('retry') } };
    }),
    forgetBatch: assign(({ context }) => {
      const seen = { ...context.seen };
      for (const e of context.batch) delete seen[e.entryId];
      return { seen, batch: [], outcomes: [] };
    }),
  },
  guards: {
    hasQueue: ({ context }) => context.queue.length > 0,
    pullAgain: ({ context }) => context.pullAgain,
    anyRetry: ({ context }) => context.outcomes.includes('retry'),
  },
  delays: { pullInterval: NOTIFY_PULL_INTERVAL_MS, retry: NOTIFY_RETRY_MS },
}).createMachine({
  id: 'inbox',
  context: { queue: [], seen: {}, batch: [], outcomes: [], pullAgain: false, counts: { pulls: 0, pullFailures: 0, delivered: 0, undeliverable: 0, retried: 0 } },
  type: 'parallel',
  on: { QUEUED: { actions: assign(({ context, event }) => enqueue(context, event.entries)) } },
  states: {
    pull: {
      initial: 'pulling',
      states: {
        pulling: {
          entry: assign({ pullAgain: false }),
          on: { PULL: { actions: assign({ pullAgain: true }) }, RECONNECTED: { actions: assign({ pullAgain: true }) } },
          invoke: {
            src: 'pullDrop',
            onDone: {
              target: 'afterPull',
              actions: assign(({ context, event }) => ({ ...enqueue(context, event.output), counts: { ...context.counts, pulls: context.counts.pulls + 1 } })),
            },
            onError: { target: 'afterPull', actions: assign(({ context }) => ({ counts: { ...context.counts, pullFailures: context.counts.pullFailures + 1 } })) },
          },
        },
        afterPull: { always: [{ guard: 'pullAgain', target: 'pulling' }, { target: 'waiting' }] },
        waiting: { after: { pullInterval: 'pulling' }, on: { PULL: 'pulling', RECONNECTED: 'pulling' } },
      },
    },
    delivery: {
      initial: 'idle',
      states: {
        idle: { always: { guard: 'hasQueue', target: 'delivering' } },
        delivering: {
          entry: assign(({ context }) => ({ batch: context.queue.slice(0, NOTIFY_DELIVER_BATCH_MAX), queue: context.queue.slice(NOTIFY_DELIVER_BATCH_MAX), outcomes: [] })),
          invoke: {
            src: 'deliverBatch',
            input: ({ context }) => ({ batch: context.batch }),
            onDone: [
              { guard: ({ event }) => event.output.halt, target: 'halted' },
              { target: 'acknowledging', actions: assign({ outcomes: ({ event }) => event.output.outcomes }) },
            ],
            // Not expected (deliverBatch turns failures into 'retry'); forget the batch, the next pull re-offers it.
            onError: { target: 'idle', actions: 'forgetBatch' },
          },
        },
        acknowledging: {
          invoke: {
            src: 'acknowledge',
            input: ({ context }) => ({ batch: context.batch, outcomes: context.outcomes }),
            onDone: [
              { guard: 'anyRetry', target: 'backingOff', actions: ['countBatch', 'forgetBatch'] },
              { target: 'idle', actions: ['countBatch', 'forgetBatch'] },
            ],
            // Receipts that did not reach every replica: the entries are re-offered and acknowledged again.
            onError: { target: 'backingOff', actions: ['countBatch', 'forgetBatch'] },
          },
        },
        // Some of the batch failed for now (storage unsettled, a restarting router): pull again soon, which re-offers it.
        backingOff: { after: { retry: { target: 'idle', actions: raise({ type: 'PULL' }) } } },
        halted: {},
      },
    },
  },
});

