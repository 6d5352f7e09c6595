// Header blocks as byte ranges: where a header ends, and each field's exact bytes (needed for
// HEADER.FIELDS responses) with its unfolded value (needed for ENVELOPE, BODYSTRUCTURE, SEARCH).

export interface HeaderField {
  /** Field name in lower case. */
  readonly name: string;
  /** Unfolded value, leading whitespace removed, decoded as UTF-8 (RFC 6532 allows 8-bit). */
  readonly value: string;
  /** Byte range of the whole field, folding and line ending included. */
  readonly start: number;
  readonly end: number;
}

const lf = 0x0a;
const cr = 0x0d;

/**
 * Where the header block that starts at `start` ends: `bodyStart` is the first byte after the blank
 * line (or `end` when there is none; then the whole range is header).
 */
export function findBodyStart(raw: Uint8Array, start: number, end: number): number {
  // An entity with no header at all starts with the blank line itself.
  if (raw[start] === lf) return start + 1;
  if (raw[start] === cr && raw[start + 1] === lf) return start + 2;
  let pos = start;
  while (pos < end) {
    const next = indexOfByte(raw, lf, pos, end);
    if (next < 0) return end;
    const after = next + 1;
    if (after >= end) return end;
    if (raw[after] === lf) return after + 1;
    if (raw[after] === cr && after + 1 < end && raw[after + 1] === lf) return after + 2;
    pos = after;
  }
  return end;
}

/** First `byte` in [from, end), or -1. Searches only that range: a header line without a colon must not scan the rest of a 50 MB message. */
export function indexOfByte(raw: Uint8Array, byte: number, from: number, end: number): number {
  if (from >= end) return -1;
  const index = raw.subarray(from, end).indexOf(byte);
  return index < 0 ? -1 : from + index;
}

function toText(raw: Uint8Array, start: number, end: number): string {
  return Buffer.from(raw.buffer, raw.byteOffset + start, end - start).toString('utf8');
}

/** Splits the header block [start, end) into fields. Lines that are not fields are skipped. */
export function parseHeaderFields(raw: Uint8Array, start: number, end: number): HeaderField[] {
  const fields: HeaderField[] = [];
  let pos = start;
  let current: { start: number; colon: number } | undefined;
  const close = (fieldEnd: number): void => {
    if (!current) return;
    const name = toText(raw, current.start, current.colon).trim().toLowerCase();
    const value = toText(raw, current.colon + 1, fieldEnd)
      .replace(/\r?\n([ \t])/g, '$1')
      .replace(/\r?\n$/, '')
      .replace(/^[ \t]+/, '');
    if (name.length > 0) fields.push({ name, value, start: current.start, end: fieldEnd });
    current = undefined;
  };
  while (pos < end) {
    const newline = indexOfByte(raw, lf, pos, end);
    const lineEnd = newline < 0 ? end : newline + 1;
    const first = raw[pos];
    const contentEnd = newline < 0 ? end : raw[newline - 1] === cr ? newline - 1 : newline;
    if (contentEnd === pos) break; // blank line: end of header
    if ((first === 0x20 || first === 0x09) && current) {
      pos = lineEnd;
      continue;
    }
    close(pos);
    const colon = indexOfByte(raw, 0x3a, pos, contentEnd);
    if (colon > pos) current = { start: pos, colon };
    pos = lineEnd;
  }
  close(pos);
  return fields;
}

export function headerValue(fields: readonly HeaderField[], name: string): string | undefined {
  return fields.find((f) => f.name === name)?.value;
}
