// What SORT and THREAD need of a message, read from its header once and cached per message
// reference (Dovecot keeps the same per-message sort data): sent date, base subject, the first
// From/To/Cc mailbox, Message-ID and the references. Compact: a few short strings per message.
import { parseAddressList } from '../../mime/addresses';
import { parseDateHeader } from '../../mime/dateHeader';
import { decodeEncodedWords } from '../../mime/encodedWords';
import { findBodyStart, headerValue, parseHeaderFields } from '../../mime/headers';
import { baseSubject } from './baseSubject';

export interface SortKeys {
  /** Date: in ms UTC; undefined when missing or unreadable (SORT then uses the internal date). */
  readonly sentMs: number | undefined;
  /** Base subject, i;ascii-casemap folded (RFC 5256 2.1). */
  readonly subject: string;
  readonly subjectIsReply: boolean;
  /** addr-mailbox (local part) of the first address, folded; "" when there is none. */
  readonly from: string;
  readonly to: string;
  readonly cc: string;
  /** Message-ID without angle brackets; undefined when missing. */
  readonly messageId: string | undefined;
  /** References (or the first In-Reply-To id when there are none), oldest first. */
  readonly references: readonly string[];
}

/** i;ascii-casemap (RFC 4790): only ASCII letters fold. */
export function asciiCasemap(text: string): string {
  return text.replace(/[a-z]+/g, (letters) => letters.toUpperCase());
}

function firstMailbox(value: string | undefined): string {
  if (!value) return '';
  for (const address of parseAddressList(value)) {
    const mailbox = address.kind === 'group' ? address.members[0] : address;
    if (mailbox) return asciiCasemap(mailbox.local.replace(/^"(.*)"$/, '$1'));
  }
  return '';
}

function messageIds(value: string | undefined): string[] {
  if (!value) return [];
  return [...value.matchAll(/<([^<>\s]+)>/g)].map((m) => m[1]!);
}

export function sortKeysOf(raw: Uint8Array): SortKeys {
  const fields = parseHeaderFields(raw, 0, findBodyStart(raw, 0, raw.length));
  const get = (name: string): string | undefined => headerValue(fields, name);
  const subject = baseSubject(decodeEncodedWords(get('subject') ?? ''));
  const date = get('date');
  const references = messageIds(get('references'));
  return {
    sentMs: date === undefined ? undefined : parseDateHeader(date)?.ms,
    subject: asciiCasemap(subject.base),
    subjectIsReply: subject.isReplyOrForward,
    from: firstMailbox(get('from')),
    to: firstMailbox(get('to')),
    cc: firstMailbox(get('cc')),
    messageId: messageIds(get('message-id'))[0],
    references: references.length > 0 ? references : messageIds(get('in-reply-to')).slice(0, 1),
  };
}
