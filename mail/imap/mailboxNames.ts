// Mailbox names between the wire and the backend: modified UTF-7 or UTF-8 (UTF8=ACCEPT), INBOX
// case-insensitivity, validity checks, and LIST wildcard matching.
import { isUtf8 } from 'node:buffer';
import { imapLimits } from './limits';
import type { ImapToken } from './parser';
import { decodeMailboxUtf7, encodeMailboxUtf7 } from './utf7';

export const hierarchyDelimiter = '/';

export class MailboxNameError extends Error {}

/** INBOX is case-insensitive, also as the first level of a hierarchy (RFC 3501 5.1). */
export function normaliseInbox(name: string): string {
  if (name.toUpperCase() === 'INBOX') return 'INBOX';
  if (name.toUpperCase().startsWith('INBOX/')) return `INBOX${name.slice(5)}`;
  return name;
}

/** Wire form to backend form. Throws MailboxNameError on a malformed name. */
export function decodeMailboxName(wire: string, utf8: boolean): string {
  let name: string;
  try {
    name = utf8 ? wire : decodeMailboxUtf7(wire);
  } catch (error) {
    throw new MailboxNameError((error as Error).message);
  }
  return normaliseInbox(name);
}

/**
 * A name or pattern argument (atom or string) to backend form; undefined for other tokens. With
 * UTF8=ACCEPT its bytes must be UTF-8: a malformed name is refused, not rewritten to U+FFFD.
 */
export function decodeMailboxToken(token: ImapToken, utf8: boolean): string | undefined {
  let wire: string;
  if (token.kind === 'string') {
    if (utf8 && !isUtf8(token.value)) throw new MailboxNameError('mailbox name is not valid UTF-8; send it in UTF-8');
    wire = token.value.toString('utf8');
  } else if (token.kind === 'atom' && !token.section) {
    if (utf8 && token.invalidUtf8) throw new MailboxNameError('mailbox name is not valid UTF-8; send it in UTF-8');
    wire = token.value;
  } else return undefined;
  return decodeMailboxName(wire, utf8);
}

export function encodeMailboxName(name: string, utf8: boolean): string {
  return utf8 ? name : encodeMailboxUtf7(name);
}

/** Checks a name that is about to be created or renamed to; returns it without a trailing "/". */
export function validateNewMailboxName(name: string): string {
  const trimmed = name.endsWith(hierarchyDelimiter) ? name.slice(0, -1) : name;
  if (trimmed.length === 0) throw new MailboxNameError('mailbox name is empty');
  if (Buffer.byteLength(trimmed, 'utf8') > imapLimits.mailboxNameBytesMax) {
    throw new MailboxNameError(`mailbox name is longer than ${imapLimits.mailboxNameBytesMax} bytes`);
  }
  const levels = trimmed.split(hierarchyDelimiter);
  if (levels.length > imapLimits.mailboxDepthMax) throw new MailboxNameError(`mailbox names may have at most ${imapLimits.mailboxDepthMax} levels`);
  if (levels.some((level) => level.length === 0)) throw new MailboxNameError('mailbox name has an empty hierarchy level');
  if (/[*%\x00-\x1f\x7f]/.test(trimmed)) throw new MailboxNameError('mailbox name may not contain "*", "%" or control characters');
  return trimmed;
}

/** A LIST pattern as a RegExp: "*" matches anything, "%" anything but the delimiter. */
export function patternToRegExp(pattern: string): RegExp {
  let source = '';
  for (const ch of pattern) {
    if (ch === '*') source += '.*';
    else if (ch === '%') source += '[^/]*';
    else source += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}

/** The canonical pattern for reference + mailbox (RFC 3501 6.3.8), INBOX normalised. */
export function combineListPattern(reference: string, pattern: string): string {
  if (pattern.startsWith(hierarchyDelimiter) || reference.length === 0) return normaliseInbox(pattern);
  const base = reference.endsWith(hierarchyDelimiter) ? reference : `${reference}${hierarchyDelimiter}`;
  return normaliseInbox(`${base}${pattern}`);
}

export function parentName(name: string): string | undefined {
  const index = name.lastIndexOf(hierarchyDelimiter);
  return index < 0 ? undefined : name.slice(0, index);
}
