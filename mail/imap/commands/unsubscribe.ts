// UNSUBSCRIBE (RFC 3501 6.3.7): works for names whose folder no longer exists.
import { defineCommand, ok } from '../command';

export const unsubscribeCommand = defineCommand({
  names: ['UNSUBSCRIBE'],
  states: ['authenticated', 'selected'],
  schema: [{ name: 'mailbox', kind: 'mailbox' }],
  async handle({ session }, { mailbox }) {
    const user = session.userOrThrow();
    const subscriptions = await user.listSubscriptions();
    if (!subscriptions.includes(mailbox)) {
      return { kind: 'done', status: 'NO', code: 'NONEXISTENT', text: `Not subscribed to "${mailbox}"` };
    }
    await user.setSubscribed(mailbox, false);
    return ok('UNSUBSCRIBE completed');
  },
});
