// IDLE (RFC 2177): reports what is pending, sends "+ idling"; from then on the machine pushes each
// backend change at once (and what NOTIFY queued, RFC 5465 4), until the client sends DONE.
import { defineCommand, ok } from '../command';

export const idleCommand = defineCommand({
  names: ['IDLE'],
  states: ['authenticated', 'selected'],
  schema: [],
  async handle({ session, tag }) {
    if (!(await session.flushUpdates(true))) return ok('IDLE not started: the mailbox is gone', undefined, 'logout');
    await session.flushNotifications();
    session.idleTag = tag;
    await session.continuation('idling');
    return { kind: 'idle' };
  },
});
