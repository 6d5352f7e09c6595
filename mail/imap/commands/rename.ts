// RENAME (RFC 3501 6.3.5): subfolders move along; renaming INBOX moves its messages to the new
// folder and leaves INBOX empty.
import { defineCommand, failBad, ok } from '../command';
import { MailboxNameError, validateNewMailboxName } from '../mailboxNames';

export const renameCommand = defineCommand({
  names: ['RENAME'],
  states: ['authenticated', 'selected'],
  schema: [
    { name: 'from', kind: 'mailbox' },
    { name: 'to', kind: 'mailbox', creates: true },
  ],
  async handle({ session }, { from, to }) {
    let target: string;
    try {
      target = validateNewMailboxName(to);
    } catch (error) {
      if (error instanceof MailboxNameError) failBad(`RENAME: ${error.message}`);
      throw error;
    }
    if (target === 'INBOX') return { kind: 'done', status: 'NO', code: 'ALREADYEXISTS', text: 'INBOX always exists' };
    const selected = session.selected?.name;
    const movesSelected = from !== 'INBOX' && selected !== undefined && (selected === from || selected.startsWith(`${from}/`));
    if (movesSelected) {
      session.closeMailbox();
      session.state = 'authenticated';
    }
    await session.userOrThrow().renameFolder(from, target);
    return movesSelected ? ok('RENAME completed; the selected mailbox was closed', 'CLOSED', 'authenticated') : ok('RENAME completed');
  },
});
