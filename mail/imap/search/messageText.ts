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
    // Without comments, quotes, encoded words or odd spacing, the parsed form adds nothing.
    if (!/[("\\]|=\?|\s\s/.test(value)) return value;
    const addresses = parseAddressList(value).flatMap((a) => (a.kind === 'group' ? [a.name, ...a.members.map(mailboxText)] : [mailboxText(a)]));
    return [value, ...addresses].join('\n');
  });
}

function mailboxText(address: Parameters<typeof mailboxAddress>[0]): string {
  const name = address.name === undefined ? '' : `${decodeEncodedWords(address.name)} `;
  return `${name}<${mailboxAddress(address)}>`;
}

/**
 * Whether a message certainly does not contain `needle` in its searchable text, judged from its raw
 * bytes alone (no MIME parsing): true only for an ASCII needle absent from the raw bytes of a
 * message that has nothing encoded (no base64, quoted-printable, encoded words or 16/32-bit
 * charsets). SEARCH BODY/TEXT over a big folder skips most messages this way.
 */
export function certainlyLacks(raw: Uint8Array, needle: string): boolean {
  if (!/^[\x21-\x7e]+$/.test(needle)) return false;
  const text = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('latin1');
  if (/base64|quoted-printable|=\?|utf-?(?:7|16|32)|ucs-?[24]/i.test(text)) return false;
  return !text.toLowerCase().includes(needle.toLowerCase());
}

/**
 * The same judgement for a header search (FROM, SUBJECT, HEADER ...): the needle is absent from a
 * header block that has no encoded words, comments, quoted strings or folded lines.
 */
export function headerCertainlyLacks(raw: Uint8Array, needle: string): boolean {
  if (!/^[\x21-\x7e]+$/.test(needle)) return false;
  const buffer = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const end = buffer.indexOf('\r\n\r\n');
  const header = buffer.toString('latin1', 0, end < 0 ? buffer.length : end);
  if (/[("\\]|=\?|\n[ \t]|[^\x00-\x7f]/.test(header)) return false;
  return !header.toLowerCase().includes(needle.toLowerCase());
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
