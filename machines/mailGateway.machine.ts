// The mail gateway's listeners (IMAP, SMTP submission, and the inbound MX on a gateway node) as one
// actor: stopped → starting → listening, or failed (a port taken, a bad certificate). The listeners'
// sessions are actors of their own (machines/imapSession.machine.ts, machines/smtpSession.machine.ts).
import { assign, setup } from 'xstate';

export type MailGatewayEvent =
  | { type: 'START' }
  | { type: 'LISTENING'; endpoints: Record<string, number> }
  | { type: 'FAILED'; error: string }
  | { type: 'STOP' }
  | { type: 'STOPPED' }
  | { type: 'CRASH' };

export const mailGatewayMachine = setup({
  types: { events: {} as MailGatewayEvent, context: {} as { endpoints: Record<string, number>; error?: string } },
  actions: {
    /** Effects the gateway actor performs. */
    openListeners: () => {},
    closeListeners: () => {},
    crash: () => {
      throw new Error('injected crash (fault injection)');
    },
  },
}).createMachine({
  id: 'mailGateway',
  context: { endpoints: {} },
  initial: 'stopped',
  // Fault injection: the actor fails as a bug would, and its supervisor restarts it.
  on: { CRASH: { actions: 'crash' } },
  states: {
    stopped: { on: { START: 'starting' } },
    starting: {
      entry: 'openListeners',
      on: {
        LISTENING: { target: 'listening', actions: assign({ endpoints: ({ event }) => event.endpoints }) },
        FAILED: { target: 'failed', actions: assign({ error: ({ event }) => event.error }) },
      },
    },
    listening: { on: { STOP: 'stopping' } },
    stopping: { entry: 'closeListeners', on: { STOPPED: 'stopped' } },
    failed: { on: { START: 'starting' } },
  },
});
