// APPEND (RFC 3501 6.3.11) with UIDPLUS's APPENDUID (RFC 4315), APPENDLIMIT (RFC 7889), the
// UTF8 (~{n}) form of UTF8=ACCEPT (RFC 6855), binary ~{n} messages (RFC 3516 4.4), several
// messages in one command (MULTIAPPEND, RFC 3502) and messages assembled from text and parts of
// stored messages (CATENATE, RFC 4469). A missing folder answers [TRYCREATE].
import { MailBackendError, type MailUserSession } from '../../backend';
import { noReplyFor } from '../backendErrors';
import { canonicalFlags, FlagError } from '../flags';
import { CommandFailure, defineCommand, failBad, no, ok } from '../command';
import { parseImapDateTime } from '../dateTime';
import type { ImapToken } from '../parser';
import { formatSequenceSet } from '../sequenceSet';
import type { ImapSession } from '../session';
import { catenate } from './catenate';

interface MessageToAppend {
  readonly flags: readonly string[];
  readonly internalDateMs: number | undefined;
  readonly raw: Buffer;
}

function isAtom(token: ImapToken | undefined, value: string): boolean {
  return token?.kind === 'atom' && !token.section && token.value.toUpperCase() === value;
}

/** Reads "[flags] [date-time] message" groups until the tokens run out (one group without MULTIAPPEND). */
async function readMessages(session: ImapSession, tokens: readonly ImapToken[]): Promise<MessageToAppend[]> {
  const messages: MessageToAppend[] = [];
  let i = 0;
  while (i < tokens.length) {
    let flags: string[] = [];
    let internalDateMs: number | undefined;
    let token = tokens[i];
    if (token?.kind === 'list') {
      if (token.items.some((item) => item.kind !== 'atom' || item.section)) failBad('APPEND: flags must be atoms');
      try {
        flags = canonicalFlags(token.items.map((item) => (item as { value: string }).value));
      } catch (error) {
        if (error instanceof FlagError) failBad(`APPEND: ${error.message}`);
        throw error;
      }
      token = tokens[++i];
    }
    if (token?.kind === 'string' && !token.literal) {
      internalDateMs = parseImapDateTime(token.value.toString('latin1'));
      if (internalDateMs === undefined) failBad('APPEND: internalDate is not a valid date-time (expected "dd-Mon-yyyy hh:mm:ss +zzzz")');
      token = tokens[++i];
    }
    let raw: Buffer;
    if (token?.kind === 'string' && token.literal) {
      raw = token.value;
      i++;
    } else if (isAtom(token, 'UTF8') && tokens[i + 1]?.kind === 'list') {
      if (!session.utf8) failBad('APPEND UTF8 needs ENABLE UTF8=ACCEPT first');
      const inner = (tokens[i + 1] as { items: readonly ImapToken[] }).items;
      if (inner.length !== 1 || inner[0]?.kind !== 'string' || !inner[0].literal8) failBad('APPEND UTF8 needs (~{n}) with the message');
      raw = inner[0].value;
      i += 2;
    } else if (isAtom(token, 'CATENATE') && tokens[i + 1]?.kind === 'list') {
      raw = await catenate(session, (tokens[i + 1] as { items: readonly ImapToken[] }).items);
      i += 2;
    } else {
      failBad('APPEND: the message must be sent as a literal');
    }
    messages.push({ flags, internalDateMs, raw });
  }
  if (messages.length === 0) failBad('APPEND: the message must be sent as a literal');
  return messages;
}

/** Undoes the appends of a MULTIAPPEND that failed part way: none of its messages may stay. */
async function rollBack(user: MailUserSession, mailbox: string, uids: readonly number[]): Promise<void> {
  if (uids.length === 0) return;
  await user.storeFlags(mailbox, uids, { mode: 'add', flags: ['\\Deleted'] });
  await user.expunge(mailbox, uids);
}

export const appendCommand = defineCommand({
  names: ['APPEND'],
  states: ['authenticated', 'selected'],
  schema: [
    { name: 'mailbox', kind: 'mailbox' },
    { name: 'messages', kind: 'rest' },
  ],
  async handle({ session }, { mailbox, messages: tokens }) {
    const messages = await readMessages(session, tokens);
    const limit = session.deps.settings.appendLimitBytes;
    for (const { raw } of messages) {
      if (raw.length > limit) return no(`Message of ${raw.length} bytes is larger than the limit of ${limit} bytes`, 'TOOBIG');
      if (raw.length === 0) return no('Message is empty', 'CANNOT');
    }
    const user = session.userOrThrow();
    const uids: number[] = [];
    let uidValidity = 0;
    try {
      for (const message of messages) {
        const result = await user.append(mailbox, message.raw, message.flags, message.internalDateMs ?? session.deps.clock.now());
        // The client usually fetches what it just appended: keep the bytes rather than read them back from storage.
        if (result.ref !== undefined) session.deps.cache.remember(result.ref, message.raw);
        uids.push(result.uid);
        uidValidity = result.uidValidity;
      }
    } catch (error) {
      if (!(error instanceof MailBackendError)) throw error;
      await rollBack(user, mailbox, uids).catch((rollBackError: unknown) =>
        session.log.warn('imap.append.rollback_failed', { mailbox, uids: uids.join(','), error: String(rollBackError) }),
      );
      const reply = noReplyFor(error, 'TRYCREATE');
      const text = messages.length > 1 ? `${reply.text}; none of the ${messages.length} messages was appended` : reply.text;
      throw new CommandFailure('NO', text, reply.code);
    }
    return ok('APPEND completed', `APPENDUID ${uidValidity} ${formatSequenceSet(uids)}`);
  },
});
