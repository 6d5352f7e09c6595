// The searchable text of a message: header values with encoded words decoded, and the decoded
// text of its text parts (transfer encoding and charset undone), so BODY "café" finds a
// quoted-printable ISO-8859-1 body.
import { mailboxAddress, parseAddressList } from '../../mime/addresses';
import { decodeCharset } from '../../mime/charset';
import { paramValue } from '../../mime/contentType';
import { decodeEncodedWords } from '../../mime/encodedWords';
import { parseHeaderFields, type HeaderField } from '../../mime/headers';
import type { MimeEntity } from '../../mime/structure';
import { decodeTransfer } from '../../mime/transferEncoding';

function fieldsOf(raw: Uint8Array, entity: MimeEntity): readonly HeaderField[] {
  return entity.fields ?? parseHeaderFields(raw, entity.headerStart, entity.bodyStart);
}

/** Decoded values of every field with this name (lower case). */
export function headerValues(raw: Uint8Array, root: MimeEntity, name: string): string[] {
  return fieldsOf(raw, root)
    .filter((f) => f.name === name)
    .map((f) => decodeEncodedWords(f.value));
}

const addressFields = new Set(['from', 'sender', 'reply-to', 'to', 'cc', 'bcc', 'resent-from', 'resent-sender', 'resent-to', 'resent-cc', 'resent-bcc']);

/**
 * What SEARCH FROM/TO/CC/BCC (and HEADER on an address field) look in: the decoded value, and each
 * address as "name <local@domain>", so comments and folding whitespace inside an address
 * ("<user (comment)@ (comment) domain.org>") do not hide it.
 */
export function headerSearchValues(raw: Uint8Array, root: MimeEntity, name: string): string[] {
  const values = headerValues(raw, root, name);
  if (!addressFields.has(name)) return values;
  return values.map((value) => {
    const addresses = parseAddressList(value).flatMap((a) => (a.kind === 'group' ? [a.name, ...a.members.map(mailboxText)] : [mailboxText(a)]));
    return [value, ...addresses].join('\n');
  });
}

function mailboxText(address: Parameters<typeof mailboxAddress>[0]): string {
  const name = address.name === undefined ? '' : `${decodeEncodedWords(address.name)} `;
  return `${name}<${mailboxAddress(address)}>`;
}

export function headerBlockText(raw: Uint8Array, entity: MimeEntity): string {
  return fieldsOf(raw, entity)
    .map((f) => `${f.name}: ${decodeEncodedWords(f.value)}`)
    .join('\n');
}

function leafText(raw: Uint8Array, entity: MimeEntity): string {
  const bytes = raw.subarray(entity.bodyStart, entity.bodyEnd);
  const decoded = decodeTransfer(bytes, entity.encoding);
  return decodeCharset(decoded, paramValue(entity.params, 'charset'));
}

/** Text of the body: text parts decoded, encapsulated messages with their headers. */
export function bodyText(raw: Uint8Array, entity: MimeEntity): string {
  const pieces: string[] = [];
  const visit = (node: MimeEntity, isRoot: boolean): void => {
    if (node.children) {
      for (const child of node.children) visit(child, false);
    } else if (node.message) {
      pieces.push(headerBlockText(raw, node.message));
      visit(node.message, true);
    } else if (node.type === 'text' || (isRoot && node.type !== 'multipart' && node.type !== 'image' && node.type !== 'audio' && node.type !== 'video')) {
      pieces.push(leafText(raw, node));
    }
  };
  visit(entity, true);
  return pieces.join('\n');
}
