// The node's local database as an actor: opening, open, failed. The composition root opens the
// database (LMDB on disk, or the simulator's memory disk) and reports here; while the store is failed
// the replica manager answers UNAVAILABLE instead of serving stale or partial data.
import { assign, setup } from 'xstate';

export type StoreEvent = { type: 'OPENED' } | { type: 'FAILED'; error: string } | { type: 'CLOSED' };

export const storeMachine = setup({
  types: { events: {} as StoreEvent, context: {} as { error?: string } },
  actions: { recordError: assign({ error: ({ event }) => (event.type === 'FAILED' ? event.error : undefined) }) },
}).createMachine({
  id: 'store',
  context: {},
  initial: 'opening',
  states: {
    opening: { on: { OPENED: 'open', FAILED: { target: 'failed', actions: 'recordError' } } },
    open: { on: { FAILED: { target: 'failed', actions: 'recordError' }, CLOSED: 'closed' } },
    failed: { on: { OPENED: 'open' } },
    closed: { type: 'final' },
  },
});
