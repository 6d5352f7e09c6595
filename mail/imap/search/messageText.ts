// The searchable text of a message: header values with encoded words decoded, and the decoded
// text of its text parts (transfer encoding and charset undone), so BODY "café" finds a
// quoted-printable ISO-8859-1 body.
import { mailboxAddress, parseAddressList } from '../../mime/addresses';
import { decodeCharset } from '../../mime/charset';
import { paramValue } from '../../mime/contentType';
import { decodeEncodedWords } from '../../mime/encodedWords';
import { findBodyStart, parseHeaderFields, type HeaderField } from '../../mime/headers';
import type { MimeEntity } from '../../mime/structure';
import { decodeTransfer } from '../../mime/transferEncoding';

function fieldsOf(raw: Uint8Array, entity: MimeEntity): readonly HeaderField[] {
  return entity.fields ?? parseHeaderFields(raw, entity.headerStart, entity.bodyStart);
}

/** Decoded values of every field with this name (lower case). */
export function headerValues(raw: Uint8Array, root: MimeEntity, name: string): string[] {
  return valuesOf(fieldsOf(raw, root), name);
}

const valuesOf = (fields: readonly HeaderField[], name: string): string[] => fields.filter((f) => f.name === name).map((f) => decodeEncodedWords(f.value));

const addressFields = new Set(['from', 'sender', 'reply-to', 'to', 'cc', 'bcc', 'resent-from', 'resent-sender', 'resent-to', 'resent-cc', 'resent-bcc']);

/**
 * What SEARCH FROM/TO/CC/BCC (and HEADER on an address field) look in: the decoded value, and each
 * address as "name <local@domain>", so comments and folding whitespace inside an address
 * ("<user (comment)@ (comment) domain.org>") do not hide it.
 */
export function headerSearchValues(raw: Uint8Array, root: MimeEntity, name: string): string[] {
  return searchValuesOf(fieldsOf(raw, root), name);
}

function searchValuesOf(fields: readonly HeaderField[], name: string): string[] {
  const values = valuesOf(fields, name);
  if (!addressFields.has(name)) return values;
  return values.map((value) => {
    // Without comments, quotes, encoded words or odd spacing, the parsed form adds nothing.
    if (!/[("\\]|=\?|\s\s/.test(value)) return value;
    const addresses = parseAddressList(value).flatMap((a) => (a.kind === 'group' ? [a.name, ...a.members.map(mailboxText)] : [mailboxText(a)]));
    return [value, ...addresses].join('\n');
  });
}

/** The header fields whose search values a server keeps per message (MessageCache.headerSearch): what mail clients search. */
export const CACHED_SEARCH_FIELDS = ['subject', 'from', 'to', 'cc', 'bcc'] as const;
export type CachedSearchField = (typeof CACHED_SEARCH_FIELDS)[number];
export const isCachedSearchField = (name: string): name is CachedSearchField => (CACHED_SEARCH_FIELDS as readonly string[]).includes(name);

/** headerSearchValues of each cached field, read from the message's top-level header alone (no MIME parse). */
export function cachedSearchValues(raw: Uint8Array): Record<CachedSearchField, string[]> {
  const fields = parseHeaderFields(raw, 0, findBodyStart(raw, 0, raw.length));
  return { subject: searchValuesOf(fields, 'subject'), from: searchValuesOf(fields, 'from'), to: searchValuesOf(fields, 'to'), cc: searchValuesOf(fields, 'cc'), bcc: searchValuesOf(fields, 'bcc') };
}

function mailboxText(address: Parameters<typeof mailboxAddress>[0]): string {
  const name = address.name === undefined ? '' : `${decodeEncodedWords(address.name)} `;
  return `${name}<${mailboxAddress(address)}>`;
}

/**
 * SEARCH BODY or TEXT judged from the raw bytes alone, without MIME parsing or decoding, when that
 * is certain: for an ASCII needle without spaces, in a message with nothing encoded (no base64,
 * quoted-printable, encoded words, or charsets that are not ASCII-compatible). Absent from the raw
 * bytes means absent from the decoded text; present in a single text part means present. Undefined
 * when only the full evaluation can tell. SEARCH over a big folder decides most messages this way.
 */
export function rawSearchVerdict(raw: Uint8Array, needle: string, bodyOnly: boolean): boolean | undefined {
  if (!/^[\x21-\x7e]+$/.test(needle)) return undefined;
  // One lower-cased copy, searched with plain includes: a case-insensitive alternation over every
  // message's bytes was a tenth of a big folder's SEARCH BODY.
  const lower = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('latin1').toLowerCase();
  if (mayBeEncoded(lower)) return undefined;
  const blank = /\r?\n\r?\n/.exec(lower);
  const headerEnd = blank ? blank.index : lower.length;
  const from = bodyOnly ? (blank ? blank.index + blank[0].length : lower.length) : 0;
  if (lower.indexOf(needle.toLowerCase(), from) < 0) return false;
  // Found: certain only when the body is one text part (no MIME headers or binary parts inside).
  return /content-type:[ \t]*(?:multipart|message|image|audio|video|application)/.test(lower.slice(0, headerEnd)) ? undefined : true;
}

/**
 * Whether lower-cased message text may hold encoded searchable text: a text part (or a single-part
 * message) in base64, quoted-printable or another transfer encoding, encoded words, or a charset that
 * is not ASCII-compatible. An encoded attachment (image, audio, video, application ... inside a
 * multipart) is not searched by BODY or TEXT, so it does not count: most mail with attachments is
 * then judged from its bytes.
 */
function mayBeEncoded(lower: string): boolean {
  if (lower.includes('=?') || lower.includes('iso-2022')) return true;
  if ((lower.includes('utf') || lower.includes('ucs')) && /utf-?(?:7|16|32)|ucs-?[24]/.test(lower)) return true;
  for (let at = lower.indexOf(TRANSFER_ENCODING); at >= 0; at = lower.indexOf(TRANSFER_ENCODING, at + TRANSFER_ENCODING.length)) {
    if (at > 0 && lower[at - 1] !== '\n') continue; // not a header field: text that mentions one
    const encoding = /^[ \t]*:[ \t]*"?([^\s";]*)/.exec(lower.slice(at + TRANSFER_ENCODING.length, at + TRANSFER_ENCODING.length + 64))?.[1];
    if (encoding === '7bit' || encoding === '8bit' || encoding === 'binary') continue; // the bytes are the text
    if (!isUnsearchedPart(lower, at)) return true;
  }
  return false;
}

const TRANSFER_ENCODING = 'content-transfer-encoding';
/** Media types whose parts inside a multipart are not searched (bodyText); a single-part message of them is, except image, audio and video. */
const UNSEARCHED_PART_TYPES = new Set(['image', 'audio', 'video', 'application', 'font', 'model']);
const UNSEARCHED_ROOT_TYPES = new Set(['image', 'audio', 'video']);

/** Whether the header block holding position `at` is that of a part whose body BODY and TEXT do not search. */
function isUnsearchedPart(lower: string, at: number): boolean {
  const blankBefore = Math.max(lower.lastIndexOf('\n\n', at), lower.lastIndexOf('\n\r\n', at));
  const isRoot = blankBefore < 0;
  // A part's header starts after its boundary line (a header line never starts with "--").
  const start = isRoot ? 0 : Math.max(blankBefore, lower.lastIndexOf('\n--', at));
  const ends = [lower.indexOf('\n\n', at), lower.indexOf('\n\r\n', at)].filter((i) => i >= 0);
  const header = lower.slice(start, ends.length > 0 ? Math.min(...ends) : lower.length);
  const type = /(?:^|\n)content-type:[ \t]*([^\s/;]+)/.exec(header)?.[1];
  if (type === undefined) return false; // text/plain by default
  return (isRoot ? UNSEARCHED_ROOT_TYPES : UNSEARCHED_PART_TYPES).has(type);
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
