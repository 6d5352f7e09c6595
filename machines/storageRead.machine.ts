// One replicated read of an id from its candidate replicas, nearest first.
//
//   'first' (immutable blocks): asking(i) ──verified copy──▶ found
//                                  └──missing / bad / lost──▶ asking(i+1) … ──▶ notFound
//   'all' (signed objects): ask every candidate at once; when all answered (or a majority did and the
//                           rest are lost) ──▶ found (the newest verified version) | notFound
//
// The actor verifies what a replica returns before reporting GOT (a bad copy counts as BAD), so the
// machine only orders the asking. Effects: `ask` (one request), `settle` (answer the caller once).
import { assign, enqueueActions, setup } from 'xstate';

export type ReadMode = 'first' | 'all';

export interface ReadInput {
  readonly candidates: readonly string[];
  readonly mode: ReadMode;
  readonly attemptsMax: number;
}

export interface ReadContext extends ReadInput {
  /** Next candidate to ask ('first' mode). */
  readonly next: number;
  readonly attempts: Readonly<Record<string, number>>;
  /** Nodes that returned a verified value, in answer order, with a rank (higher is newer). */
  readonly got: readonly { node: string; rank: number }[];
  readonly misses: readonly string[];
  readonly bad: readonly string[];
  readonly lost: readonly string[];
}

export type ReadEvent =
  | { type: 'GOT'; node: string; rank: number }
  | { type: 'MISSING'; node: string }
  | { type: 'BAD'; node: string }
  | { type: 'LOST'; node: string };

export interface ReadOutcome {
  /** The node whose value to use (the first verified, or the newest), if any. */
  readonly from?: string;
  readonly misses: readonly string[];
  readonly bad: readonly string[];
  readonly lost: readonly string[];
}

const answeredCount = (c: ReadContext) => c.got.length + c.misses.length + c.bad.length + c.lost.length;

function best(c: ReadContext): string | undefined {
  let b: { node: string; rank: number } | undefined;
  for (const g of c.got) if (!b || g.rank > b.rank) b = g;
  return b?.node;
}

const outcome = (c: ReadContext): ReadOutcome => ({ from: best(c), misses: c.misses, bad: c.bad, lost: c.lost });

export const storageReadMachine = setup({
  types: { context: {} as ReadContext, input: {} as ReadInput, events: {} as ReadEvent, output: {} as ReadOutcome },
  actions: {
    ask: (_, _params: { node: string; attempt: number }) => {},
    settle: (_, _params: ReadOutcome) => {},
  },
  guards: {
    firstMode: ({ context }) => context.mode === 'first',
    haveValue: ({ context }) => context.got.length > 0,
    exhausted: ({ context }) => context.next >= context.candidates.length,
    allAnswered: ({ context }) => answeredCount(context) >= context.candidates.length,
  },
}).createMachine({
  id: 'storageRead',
  context: ({ input }) => ({ ...input, next: 0, attempts: {}, got: [], misses: [], bad: [], lost: [] }),
  initial: 'choosing',
  on: {
    GOT: { actions: assign({ got: ({ context, event }) => [...context.got, { node: event.node, rank: event.rank }] }) },
    MISSING: { actions: assign({ misses: ({ context, event }) => [...context.misses, event.node] }) },
    BAD: { actions: assign({ bad: ({ context, event }) => [...context.bad, event.node] }) },
    LOST: {
      actions: enqueueActions(({ context, event, enqueue }) => {
        const attempt = (context.attempts[event.node] ?? 1) + 1;
        if (attempt <= context.attemptsMax) {
          enqueue.assign({ attempts: { ...context.attempts, [event.node]: attempt } });
          enqueue({ type: 'ask', params: { node: event.node, attempt } });
        } else enqueue.assign({ lost: [...context.lost, event.node] });
      }),
    },
  },
  states: {
    choosing: {
      always: [{ guard: 'firstMode', target: 'asking' }, { target: 'gathering' }],
    },
    // 'first': one candidate at a time, nearest first.
    asking: {
      entry: enqueueActions(({ context, enqueue }) => {
        enqueue({ type: 'ask', params: { node: context.candidates[context.next]!, attempt: 1 } });
        enqueue.assign({ next: context.next + 1 });
      }),
      always: [
        { guard: 'haveValue', target: 'found' },
        { guard: ({ context }) => answeredCount(context) >= context.next, target: 'nextCandidate' },
      ],
    },
    nextCandidate: {
      always: [{ guard: 'exhausted', target: 'notFound' }, { target: 'asking' }],
    },
    // 'all': every candidate at once; the newest verified answer wins.
    gathering: {
      entry: enqueueActions(({ context, enqueue }) => {
        for (const node of context.candidates) enqueue({ type: 'ask', params: { node, attempt: 1 } });
      }),
      always: { guard: 'allAnswered', target: 'deciding' },
    },
    deciding: {
      always: [{ guard: 'haveValue', target: 'found' }, { target: 'notFound' }],
    },
    found: { type: 'final', entry: { type: 'settle', params: ({ context }) => outcome(context) } },
    notFound: { type: 'final', entry: { type: 'settle', params: ({ context }) => outcome(context) } },
  },
  output: ({ context }) => outcome(context),
});
