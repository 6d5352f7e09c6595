// APPEND (RFC 3501 6.3.11) with UIDPLUS's APPENDUID (RFC 4315), APPENDLIMIT (RFC 7889), the
// UTF8 (~{n}) form of UTF8=ACCEPT (RFC 6855) and binary ~{n} messages (RFC 3516 4.4). A missing
// folder answers [TRYCREATE].
import { MailBackendError } from '../../backend';
import { noReplyFor } from '../backendErrors';
import { defineCommand, failBad, no, ok } from '../command';
import type { ImapToken } from '../parser';

function messageBytes(tokens: readonly ImapToken[], utf8Enabled: boolean): Buffer {
  const [first, second] = tokens;
  if (tokens.length === 1 && first?.kind === 'string' && first.literal) {
    return first.value;
  }
  if (tokens.length === 2 && first?.kind === 'atom' && first.value.toUpperCase() === 'UTF8' && second?.kind === 'list') {
    if (!utf8Enabled) failBad('APPEND UTF8 needs ENABLE UTF8=ACCEPT first');
    const inner = second.items[0];
    if (second.items.length !== 1 || inner?.kind !== 'string' || !inner.literal8) failBad('APPEND UTF8 needs (~{n}) with the message');
    return inner.value;
  }
  return failBad('APPEND: the message must be sent as a literal');
}

export const appendCommand = defineCommand({
  names: ['APPEND'],
  states: ['authenticated', 'selected'],
  schema: [
    { name: 'mailbox', kind: 'mailbox' },
    { name: 'flags', kind: 'flags', optional: true },
    { name: 'internalDate', kind: 'dateTime', optional: true },
    { name: 'message', kind: 'rest' },
  ],
  async handle({ session }, { mailbox, flags, internalDate, message }) {
    const raw = messageBytes(message, session.utf8);
    const limit = session.deps.settings.appendLimitBytes;
    if (raw.length > limit) return no(`Message of ${raw.length} bytes is larger than the limit of ${limit} bytes`, 'TOOBIG');
    if (raw.length === 0) return no('Message is empty', 'CANNOT');
    try {
      const result = await session.userOrThrow().append(mailbox, raw, flags ?? [], internalDate ?? session.deps.clock.now());
      return ok('APPEND completed', `APPENDUID ${result.uidValidity} ${result.uid}`);
    } catch (error) {
      if (error instanceof MailBackendError) {
        const reply = noReplyFor(error, 'TRYCREATE');
        return no(reply.text, reply.code);
      }
      throw error;
    }
  },
});
