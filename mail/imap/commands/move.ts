// MOVE and UID MOVE (RFC 6851): COPYUID in an untagged OK, then the expunges, then the tagged OK.
import { MailBackendError } from '../../backend';
import { noReplyFor } from '../backendErrors';
import { defineCommand, no, ok } from '../command';
import { selectMessages } from '../messageSet';
import { formatSequenceSet } from '../sequenceSet';
import { reportExpunged } from './expunge';

export const moveCommand = defineCommand({
  names: ['MOVE', 'UID MOVE'],
  states: ['selected'],
  schema: [
    { name: 'messages', kind: 'sequenceSet' },
    { name: 'mailbox', kind: 'mailbox' },
  ],
  async handle({ session, uid }, { messages, mailbox }) {
    const view = session.selectedOrThrow();
    if (view.readOnly) return no('Mailbox is read-only', 'READ-ONLY');
    const uids = selectMessages(view, messages, uid).map((m) => m.message.uid);
    if (uids.length === 0) return ok('MOVE completed: no messages matched');
    try {
      const result = await session.userOrThrow().move(view.name, uids, mailbox);
      if (result.mapping.length > 0) {
        const code = `COPYUID ${result.uidValidity} ${formatSequenceSet(result.mapping.map((m) => m.source))} ${formatSequenceSet(result.mapping.map((m) => m.target))}`;
        await session.status(undefined, 'OK', 'Moved', code);
      }
      await reportExpunged(session, result.mapping.map((m) => m.source));
      return ok('MOVE completed');
    } catch (error) {
      if (error instanceof MailBackendError) {
        const reply = noReplyFor(error, 'TRYCREATE');
        return no(reply.text, reply.code);
      }
      throw error;
    }
  },
});
