// The node's local database as an actor: opening, open, failed (DESIGN 7).
//
//   opening ──OPENED──▶ open ──FAILED──▶ failed ──(hold)──▶ the actor fails: its supervisor restarts it
//      └──────FAILED────────────────────────▲                (a fresh actor reopens the database)
//
// Pure: `open` is the named effect (the actor opens, or on a restart reopens, the database and reports
// OPENED or FAILED); a write or open that fails for an operating reason (disk full, EACCES, EIO) is
// reported as FAILED by the store binding (actors/localStore.ts). While the store is not open every
// request that needs it is answered UNAVAILABLE at once. After the hold the actor fails as a crash
// would, so the supervisor's restart intensity decides: reopen, or escalate and fail the node.
import { assign, setup } from 'xstate';
import { STORE_FAILED_HOLD_MS } from '../protocol/limits';

export type StoreEvent = { type: 'OPENED' } | { type: 'FAILED'; error: string } | { type: 'CLOSED' } | { type: 'CRASH' };

export const storeMachine = setup({
  types: { events: {} as StoreEvent, context: {} as { error?: string; holdMs: number }, input: {} as { holdMs?: number } | undefined },
  actions: {
    /** Effect: open (or reopen) the database; the actor reports OPENED or FAILED. */
    open: () => {},
    recordError: assign({ error: ({ event }) => (event.type === 'FAILED' ? event.error : undefined) }),
    /** The store stays failed: fail as a crash would, so the supervisor reopens it or escalates. */
    fail: ({ context }) => {
      throw new Error(`local store failed: ${context.error ?? 'unknown error'}`);
    },
    crash: () => {
      throw new Error('injected crash (fault injection)');
    },
  },
  delays: { hold: ({ context }) => context.holdMs },
}).createMachine({
  id: 'store',
  context: ({ input }) => ({ holdMs: input?.holdMs ?? STORE_FAILED_HOLD_MS }),
  initial: 'opening',
  on: { CRASH: { actions: 'crash' } },
  states: {
    opening: { entry: 'open', on: { OPENED: 'open', FAILED: { target: 'failed', actions: 'recordError' } } },
    open: { on: { FAILED: { target: 'failed', actions: 'recordError' }, CLOSED: 'closed' } },
    failed: { after: { hold: { actions: 'fail' } }, on: { CLOSED: 'closed' } },
    closed: { type: 'final' },
  },
});
