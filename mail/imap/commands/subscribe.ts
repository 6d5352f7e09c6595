// SUBSCRIBE (RFC 3501 6.3.6): the folder must exist now (it may vanish later).
import { defineCommand, ok } from '../command';

export const subscribeCommand = defineCommand({
  names: ['SUBSCRIBE'],
  states: ['authenticated', 'selected'],
  schema: [{ name: 'mailbox', kind: 'mailbox' }],
  async handle({ session }, { mailbox }) {
    const user = session.userOrThrow();
    const folders = await user.listFolders();
    if (!folders.some((f) => f.name === mailbox)) {
      return { kind: 'done', status: 'NO', code: 'NONEXISTENT', text: `Folder "${mailbox}" does not exist` };
    }
    await user.setSubscribed(mailbox, true);
    return ok('SUBSCRIBE completed');
  },
});
