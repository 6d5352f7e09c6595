// One user this node is a standby host for (issue 13), run by the node's standby host
// (actors/users/standbyHost.ts):
//
//   watching ──HOME_GONE──▶ suspecting ──(takeover delay)──▶ delivering
//      ▲                       │HOME_BACK                     active ──HOME_BACK──▶ handingBack
//      └───────────────────────┘                                ▲◀──HOME_GONE────────┘ │
//      └────────────────────────────────────────(handback delay)──────────────────────┘
//
// Pure: it names two effects, takeOver (entering delivering) and handBack (leaving it), which the
// standby host supplies. HOME_GONE means the home node and every standby ranked before this one are
// out of this node's leaf set; HOME_BACK that one of them is in it again, or that this node lost so
// much of its leaf set that it is more likely cut off than they are dead. While the ring is whole a
// wrong guess is harmless: a standby and a live home deliver together exactly once (INBOX inserts
// keyed by notification id, idempotent receipts, compare-and-swap heads). Across a partition it is
// not (each side writes at its own side's replicas), hence the cut-off rule; the delays keep a quick
// restart, or a home still unlocking its users, from moving delivery back and forth.
import { assign, setup } from 'xstate';

export interface StandbyInput {
  /** How long the home must stay gone before this node delivers. */
  readonly takeoverMs: number;
  /** How long the home must be back before this node stops delivering. */
  readonly handbackMs: number;
}

export interface StandbyContext extends StandbyInput {
  readonly takeovers: number;
}

export type StandbyEvent = { type: 'HOME_GONE' } | { type: 'HOME_BACK' };

export const standbyMachine = setup({
  types: { context: {} as StandbyContext, events: {} as StandbyEvent, input: {} as StandbyInput },
  actions: {
    /** Effect: unlock the user with the granted keys and deliver its notifications here. */
    takeOver: () => {},
    /** Effect: stop delivering (a session of the user on this node keeps delivering while it lasts). */
    handBack: () => {},
  },
  delays: {
    takeover: ({ context }) => context.takeoverMs,
    handback: ({ context }) => context.handbackMs,
  },
}).createMachine({
  id: 'standby',
  context: ({ input }) => ({ ...input, takeovers: 0 }),
  initial: 'watching',
  states: {
    watching: { on: { HOME_GONE: 'suspecting' } },
    suspecting: { on: { HOME_BACK: 'watching' }, after: { takeover: 'delivering' } },
    delivering: {
      entry: ['takeOver', assign({ takeovers: ({ context }) => context.takeovers + 1 })],
      exit: 'handBack',
      initial: 'active',
      states: {
        active: { on: { HOME_BACK: 'handingBack' } },
        handingBack: { on: { HOME_GONE: 'active' }, after: { handback: '#standby.watching' } },
      },
    },
  },
});
