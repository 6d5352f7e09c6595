// One replicated write (a block, a signed object or a lease refresh) to the k replicas of an id:
//
//   writing ──majority acked──▶ committed ──everyone answered──▶ done
//      └──a majority can no longer ack──▶ failed
//
// The caller is answered (`settle`) as soon as the outcome is known: at a majority of acks, or when a
// majority became impossible. Writes to the remaining replicas go on in the background (committed).
// A request lost in transit (timeout, NATS failover) is sent again: every write is idempotent.
// Effects: `send` (one request to one replica), `settle` (answer the caller once).
import { assign, enqueueActions, setup } from 'xstate';

export interface WriteRefusal {
  readonly code: string;
  readonly message: string;
  /** Extra data a refusal carries (e.g. the current version on CAS_MISMATCH). */
  readonly detail?: unknown;
}

export type WriteOutcome =
  | { readonly ok: true; readonly acked: readonly string[] }
  | { readonly ok: false; readonly code: string; readonly message: string; readonly refusals: Readonly<Record<string, WriteRefusal>>; readonly acked: readonly string[] };

export interface WriteInput {
  readonly targets: readonly string[];
  readonly quorum: number;
  readonly attemptsMax: number;
}

export interface WriteContext extends WriteInput {
  readonly attempts: Readonly<Record<string, number>>;
  readonly acked: readonly string[];
  readonly refused: Readonly<Record<string, WriteRefusal>>;
  /** Replicas that never answered within their attempts. */
  readonly lost: readonly string[];
  readonly settled: boolean;
}

export type WriteEvent =
  | { type: 'ACK'; node: string }
  | { type: 'REFUSED'; node: string; refusal: WriteRefusal }
  | { type: 'LOST'; node: string; code: string };

const answered = (c: WriteContext) => c.acked.length + Object.keys(c.refused).length + c.lost.length;
const pending = (c: WriteContext) => c.targets.length - answered(c);

/** The refusal most replicas gave (ties: the first seen), for the caller's error. */
export function dominantRefusal(refused: Readonly<Record<string, WriteRefusal>>): WriteRefusal | undefined {
  const counts = new Map<string, { n: number; r: WriteRefusal }>();
  for (const r of Object.values(refused)) {
    const c = counts.get(r.code);
    if (c) c.n++;
    else counts.set(r.code, { n: 1, r });
  }
  let best: { n: number; r: WriteRefusal } | undefined;
  for (const c of counts.values()) if (!best || c.n > best.n) best = c;
  return best?.r;
}

export function failureOf(c: WriteContext): WriteOutcome {
  const refusal = dominantRefusal(c.refused);
  if (refusal && Object.keys(c.refused).length >= c.lost.length)
    return { ok: false, code: refusal.code, message: refusal.message, refusals: c.refused, acked: c.acked };
  return {
    ok: false,
    code: 'UNAVAILABLE',
    message: `only ${c.acked.length} of ${c.targets.length} replicas stored it (${c.quorum} needed); ${c.lost.length} did not answer`,
    refusals: c.refused,
    acked: c.acked,
  };
}

export const storageWriteMachine = setup({
  types: {
    context: {} as WriteContext,
    input: {} as WriteInput,
    events: {} as WriteEvent,
    output: {} as WriteOutcome,
  },
  actions: {
    send: (_, _params: { node: string; attempt: number }) => {},
    settle: (_, _params: WriteOutcome) => {},
  },
  guards: {
    quorumReached: ({ context }) => context.acked.length >= context.quorum,
    quorumImpossible: ({ context }) => context.acked.length + pending(context) < context.quorum,
    allAnswered: ({ context }) => pending(context) === 0,
  },
}).createMachine({
  id: 'storageWrite',
  context: ({ input }) => ({ ...input, attempts: {}, acked: [], refused: {}, lost: [], settled: false }),
  initial: 'writing',
  on: {
    ACK: { actions: assign({ acked: ({ context, event }) => (context.acked.includes(event.node) ? context.acked : [...context.acked, event.node]) }) },
    REFUSED: { actions: assign({ refused: ({ context, event }) => ({ ...context.refused, [event.node]: event.refusal }) }) },
    LOST: {
      actions: enqueueActions(({ context, event, enqueue }) => {
        const attempt = (context.attempts[event.node] ?? 1) + 1;
        if (attempt <= context.attemptsMax) {
          enqueue.assign({ attempts: { ...context.attempts, [event.node]: attempt } });
          enqueue({ type: 'send', params: { node: event.node, attempt } });
        } else enqueue.assign({ lost: [...context.lost, event.node] });
      }),
    },
  },
  states: {
    writing: {
      entry: enqueueActions(({ context, enqueue }) => {
        for (const node of context.targets) enqueue({ type: 'send', params: { node, attempt: 1 } });
      }),
      always: [
        {
          guard: 'quorumReached',
          target: 'committed',
          actions: [assign({ settled: true }), { type: 'settle', params: ({ context }) => ({ ok: true as const, acked: context.acked }) }],
        },
        { guard: 'quorumImpossible', target: 'failed', actions: [assign({ settled: true }), { type: 'settle', params: ({ context }) => failureOf(context) }] },
      ],
    },
    committed: {
      always: { guard: 'allAnswered', target: 'done' },
    },
    done: { type: 'final' },
    failed: { type: 'final' },
  },
  output: ({ context }) => (context.acked.length >= context.quorum ? { ok: true as const, acked: context.acked } : failureOf(context)),
});
