// COPY and UID COPY (RFC 3501 6.4.7) with COPYUID (RFC 4315); a missing target gets [TRYCREATE].
import { MailBackendError } from '../../backend';
import { noReplyFor } from '../backendErrors';
import { defineCommand, no, ok } from '../command';
import { selectMessages } from '../messageSet';
import { formatSequenceSet } from '../sequenceSet';

export const copyCommand = defineCommand({
  names: ['COPY', 'UID COPY'],
  states: ['selected'],
  schema: [
    { name: 'messages', kind: 'sequenceSet' },
    { name: 'mailbox', kind: 'mailbox' },
  ],
  async handle({ session, uid }, { messages, mailbox }) {
    const view = session.selectedOrThrow();
    const uids = selectMessages(view, messages, uid).map((m) => m.message.uid);
    if (uids.length === 0) return ok('COPY completed: no messages matched');
    try {
      const result = await session.userOrThrow().copy(view.name, uids, mailbox);
      if (result.mapping.length === 0) return ok('COPY completed: the messages no longer exist');
      const code = `COPYUID ${result.uidValidity} ${formatSequenceSet(result.mapping.map((m) => m.source))} ${formatSequenceSet(result.mapping.map((m) => m.target))}`;
      return ok('COPY completed', code);
    } catch (error) {
      if (error instanceof MailBackendError) {
        const reply = noReplyFor(error, 'TRYCREATE');
        return no(reply.text, reply.code);
      }
      throw error;
    }
  },
});
