// The MIME tree of a message as byte offsets into its raw bytes: one pass over boundaries, no
// copies, so BODY[section] and partial fetches of a 50 MB message slice the original buffer.
import { imapLimits } from '../imap/limits';
import { parseParameterized, paramValue, type ParameterizedValue } from './contentType';
import { findBodyStart, headerValue, indexOfByte, parseHeaderFields, type HeaderField } from './headers';

export interface MimeEntity {
  /** Byte range of this entity's header block (blank line included) and of its body. */
  readonly headerStart: number;
  readonly bodyStart: number;
  readonly bodyEnd: number;
  /** Lower-case media type and subtype. */
  readonly type: string;
  readonly subtype: string;
  readonly params: ParameterizedValue['params'];
  readonly id: string | undefined;
  readonly description: string | undefined;
  /** Content-Transfer-Encoding as written, "7BIT" when absent. */
  readonly encoding: string;
  readonly md5: string | undefined;
  readonly disposition: ParameterizedValue | undefined;
  readonly language: readonly string[] | undefined;
  readonly location: string | undefined;
  /** Text lines in the body. */
  readonly lines: number;
  /** Header fields; kept for message entities (root and message/rfc822 bodies) only. */
  readonly fields: readonly HeaderField[] | undefined;
  readonly children: readonly MimeEntity[] | undefined;
  /** For message/rfc822 (and message/global): the encapsulated message. */
  readonly message: MimeEntity | undefined;
}

const lf = 0x0a;
const cr = 0x0d;

/** Lines in [start, end): one view of the range searched from each line's end (not a view per line). */
function countLines(raw: Uint8Array, start: number, end: number): number {
  if (end <= start) return 0;
  const range = raw.subarray(start, end);
  let lines = 0;
  for (let next = range.indexOf(lf); next >= 0; next = range.indexOf(lf, next + 1)) lines++;
  return raw[end - 1] === lf ? lines : lines + 1;
}

interface Budget {
  parts: number;
}

function isEncapsulatedMessage(type: string, subtype: string): boolean {
  return type === 'message' && (subtype === 'rfc822' || subtype === 'global');
}

/** Finds the part ranges of a multipart body between `start` and `end`. */
function findParts(raw: Uint8Array, start: number, end: number, boundary: string): { start: number; end: number }[] {
  const delimiter = Buffer.from(`--${boundary}`, 'latin1');
  const parts: { start: number; end: number }[] = [];
  let partStart = -1;
  let pos = start;
  const haystack = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  while (pos < end) {
    const at = haystack.indexOf(delimiter, pos);
    if (at < 0 || at + delimiter.length > end) break;
    pos = at + delimiter.length;
    if (at !== start && raw[at - 1] !== lf) continue;
    const closing = raw[pos] === 0x2d && raw[pos + 1] === 0x2d;
    let lineEnd = pos + (closing ? 2 : 0);
    while (lineEnd < end && (raw[lineEnd] === 0x20 || raw[lineEnd] === 0x09)) lineEnd++;
    if (lineEnd < end && raw[lineEnd] !== lf && raw[lineEnd] !== cr) continue; // a longer boundary
    if (partStart >= 0) {
      let partEnd = at;
      if (partEnd > partStart && raw[partEnd - 1] === lf) partEnd--;
      if (partEnd > partStart && raw[partEnd - 1] === cr) partEnd--;
      parts.push({ start: partStart, end: Math.max(partStart, partEnd) });
    }
    if (closing) return parts;
    const newline = indexOfByte(raw, lf, lineEnd, end);
    partStart = newline < 0 ? end : newline + 1;
    pos = partStart;
  }
  if (partStart >= 0) parts.push({ start: partStart, end }); // no closing delimiter
  return parts;
}

function parseEntity(raw: Uint8Array, start: number, end: number, depth: number, digest: boolean, isMessage: boolean, budget: Budget): MimeEntity {
  budget.parts++;
  const bodyStart = findBodyStart(raw, start, end);
  const fields = parseHeaderFields(raw, start, bodyStart);
  const contentTypeText = headerValue(fields, 'content-type');
  const contentType = contentTypeText ? parseParameterized(contentTypeText) : undefined;
  let [type, subtype] = (contentType?.value ?? '').split('/', 2) as [string, string | undefined];
  let params = contentType?.params ?? [];
  if (!type || !subtype || !/^[\w.+-]+$/.test(type) || !/^[\w.+-]+$/.test(subtype)) {
    [type, subtype] = digest && !contentTypeText ? ['message', 'rfc822'] : ['text', 'plain'];
    if (type === 'text') params = [['charset', 'us-ascii']];
  }
  const dispositionText = headerValue(fields, 'content-disposition');
  const languageText = headerValue(fields, 'content-language');
  const base = {
    headerStart: start,
    bodyStart,
    bodyEnd: end,
    type,
    subtype,
    params,
    id: headerValue(fields, 'content-id'),
    description: headerValue(fields, 'content-description'),
    encoding: headerValue(fields, 'content-transfer-encoding')?.trim() || '7BIT',
    md5: headerValue(fields, 'content-md5'),
    disposition: dispositionText ? parseParameterized(dispositionText) : undefined,
    language: languageText
      ? languageText
          .split(',')
          .map((l) => l.trim())
          .filter((l) => l.length > 0)
      : undefined,
    location: headerValue(fields, 'content-location'),
    lines: countLines(raw, bodyStart, end),
    fields: isMessage ? fields : undefined,
  };
  const deepEnough = depth >= imapLimits.mimeDepthMax || budget.parts >= imapLimits.mimePartsMax;
  if (type === 'multipart') {
    const boundary = paramValue(params, 'boundary');
    const ranges = boundary && !deepEnough ? findParts(raw, bodyStart, end, boundary) : [];
    const children: MimeEntity[] = [];
    for (const range of ranges) {
      if (budget.parts >= imapLimits.mimePartsMax) break;
      children.push(parseEntity(raw, range.start, range.end, depth + 1, subtype === 'digest', false, budget));
    }
    // IMAP needs at least one part; an empty multipart shows as one empty text part.
    if (children.length === 0) children.push(emptyTextPart(bodyStart));
    return { ...base, children, message: undefined };
  }
  const encoding = base.encoding.toLowerCase();
  if (isEncapsulatedMessage(type, subtype) && !deepEnough && (encoding === '7bit' || encoding === '8bit' || encoding === 'binary')) {
    const message = parseEntity(raw, bodyStart, end, depth + 1, false, true, budget);
    return { ...base, children: undefined, message };
  }
  return { ...base, children: undefined, message: undefined };
}

function emptyTextPart(at: number): MimeEntity {
  return {
    headerStart: at,
    bodyStart: at,
    bodyEnd: at,
    type: 'text',
    subtype: 'plain',
    params: [['charset', 'us-ascii']],
    id: undefined,
    description: undefined,
    encoding: '7BIT',
    md5: undefined,
    disposition: undefined,
    language: undefined,
    location: undefined,
    lines: 0,
    fields: undefined,
    children: undefined,
    message: undefined,
  };
}

/** Indexes a whole message. Never throws: malformed MIME degrades to text/plain leaves. */
export function parseMessageStructure(raw: Uint8Array): MimeEntity {
  return parseEntity(raw, 0, raw.length, 0, false, true, { parts: 0 });
}
