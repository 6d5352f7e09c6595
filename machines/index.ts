// Every machine definition of POST, by name: what `post machines export` writes for the XState
// visualizer, and what the dashboard and tests can list. A new machine goes in machines/<name>.machine.ts
// and gets one entry here (a unit test fails for a *.machine.ts file that has none).
import type { AnyStateMachine } from 'xstate';
import { imapSessionMachine } from './imapSession.machine';
import { inboxMachine } from './inbox.machine';
import { mailGatewayMachine } from './mailGateway.machine';
import { replicaManagerMachine } from './replicaManager.machine';
import { routerMachine } from './router.machine';
import { smtpSessionMachine } from './smtpSession.machine';
import { standbyMachine } from './standby.machine';
import { storeMachine } from './store.machine';
import { supervisorMachine } from './supervisor.machine';
import { transportMachine } from './transport.machine';

export interface MachineEntry {
  readonly machine: AnyStateMachine;
  /** One line: what the machine is the protocol of, and its top-level states. */
  readonly description: string;
}

/** Name → machine; the name is also its file: machines/<name>.machine.ts. */
export const machineRegistry = {
  supervisor: {
    machine: supervisorMachine,
    description: 'OTP-style node supervisor: children start in order, one-for-one restarts within a bounded intensity, then escalate; stop in reverse order',
  },
  transport: { machine: transportMachine, description: 'the NATS connection as the node sees it: connecting, connected, reconnecting, closed' },
  store: { machine: storeMachine, description: 'the local database (LMDB or the simulated disk): opening, open, failed, closed' },
  router: {
    machine: routerMachine,
    description: 'Pastry membership and routing: joining (seeking, awaitingReply, backoff, announcing), ready (heartbeat ∥ leafSet), failed',
  },
  replicaManager: { machine: replicaManagerMachine, description: 'replica housekeeping, one pass at a time per region: repair ∥ antiEntropy ∥ gc ∥ scrub' },
  inbox: {
    machine: inboxMachine,
    description: 'one hosted user\'s notifications: pull (pulling, waiting) ∥ delivery (idle, delivering, acknowledging, halted)',
  },
  mailGateway: { machine: mailGatewayMachine, description: 'the mail listeners (IMAP, SMTP submission, inbound MX): stopped, starting, listening, stopping, failed' },
  imapSession: { machine: imapSessionMachine, description: 'one IMAP connection (RFC 3501): notAuthenticated, authenticated, selected, logout; IDLE, SASL, STARTTLS, throttling' },
  smtpSession: { machine: smtpSessionMachine, description: 'one SMTP connection: protocol (greeting to delivering) ∥ conduct (calm ⇄ throttled), then closing, closed' },
  standby: { machine: standbyMachine, description: 'one user this node is a standby host for: watching, suspecting, delivering (active, handingBack) while the user\'s home node is gone' },
} as const satisfies Record<string, MachineEntry>;

export type MachineName = keyof typeof machineRegistry;

export const machineNames = Object.keys(machineRegistry) as MachineName[];

/** The source file of a registered machine, relative to machines/. */
export const machineFile = (name: MachineName): string => `${name}.machine.ts`;
