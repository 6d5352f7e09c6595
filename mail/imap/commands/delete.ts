// DELETE (RFC 3501 6.3.4): INBOX cannot be deleted; a folder with subfolders must be emptied of
// them first (this server does not keep \Noselect placeholders).
import { defineCommand, ok } from '../command';

export const deleteCommand = defineCommand({
  names: ['DELETE'],
  states: ['authenticated', 'selected'],
  schema: [{ name: 'mailbox', kind: 'mailbox' }],
  async handle({ session }, { mailbox }) {
    if (mailbox === 'INBOX') return { kind: 'done', status: 'NO', code: 'CANNOT', text: 'INBOX cannot be deleted' };
    if (session.selected?.name === mailbox) {
      // Deleting the selected mailbox: leave it first, so no BYE for our own deletion.
      session.closeMailbox();
      session.state = 'authenticated';
      await session.userOrThrow().deleteFolder(mailbox);
      return ok('DELETE completed; the selected mailbox was closed', 'CLOSED', 'authenticated');
    }
    await session.userOrThrow().deleteFolder(mailbox);
    return ok('DELETE completed');
  },
});
