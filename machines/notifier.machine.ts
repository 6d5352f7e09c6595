// The notifier (DESIGN 5 and 7): the node-level actor, a parent for one `inbox:<address>` child per
// hosted user (machines/inbox.machine.ts). RECEIVE spawns a user's inbox (replacing an older one),
// RELEASE stops it, and an inbox that fails is reported (the service spawns it again).
import { hostMachine } from './host';

export const notifierMachine = hostMachine('notifier');
