// CREATE (RFC 3501 6.3.3): a trailing delimiter is dropped; missing superiors are created.
import { defineCommand, failBad, ok } from '../command';
import { MailboxNameError, validateNewMailboxName } from '../mailboxNames';

export const createCommand = defineCommand({
  names: ['CREATE'],
  states: ['authenticated', 'selected'],
  schema: [{ name: 'mailbox', kind: 'mailbox', creates: true }],
  async handle({ session }, { mailbox }) {
    let name: string;
    try {
      name = validateNewMailboxName(mailbox);
    } catch (error) {
      if (error instanceof MailboxNameError) failBad(`CREATE: ${error.message}`);
      throw error;
    }
    if (name === 'INBOX') return { kind: 'done', status: 'NO', code: 'ALREADYEXISTS', text: 'INBOX always exists' };
    await session.userOrThrow().createFolder(name);
    return ok('CREATE completed');
  },
});
