// The transport's connection as the node sees it. The NATS client reconnects by itself; this machine
// makes its state visible (dashboard, inspector) and lets other actors wait for `connected`.
import { setup } from 'xstate';
import type { TransportStatus } from '../infra/ports';

export type TransportEvent = { type: 'STATUS'; status: TransportStatus };

export const transportMachine = setup({
  types: { events: {} as TransportEvent },
  guards: {
    is: ({ event }, status: TransportStatus) => event.status === status,
  },
}).createMachine({
  id: 'transport',
  initial: 'connecting',
  states: {
    connecting: {
      on: {
        STATUS: [
          { guard: { type: 'is', params: 'connected' }, target: 'connected' },
          { guard: { type: 'is', params: 'closed' }, target: 'closed' },
        ],
      },
    },
    connected: {
      on: {
        STATUS: [
          { guard: { type: 'is', params: 'reconnecting' }, target: 'reconnecting' },
          { guard: { type: 'is', params: 'closed' }, target: 'closed' },
        ],
      },
    },
    reconnecting: {
      on: {
        STATUS: [
          { guard: { type: 'is', params: 'connected' }, target: 'connected' },
          { guard: { type: 'is', params: 'closed' }, target: 'closed' },
        ],
      },
    },
    closed: { type: 'final' },
  },
});
