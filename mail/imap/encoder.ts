// Server responses as values, encoded with the quoting IMAP requires: strings go quoted when they
// can, as literals when they must (CR, LF, NUL, 8-bit text without UTF8=ACCEPT, long text).
// Large literals stay as separate Buffers so a 50 MB body is written without being copied.

export interface ImapAtom {
  readonly atom: string;
}

/** Bytes sent as a literal8 (~{n}, RFC 3516): binary content that may hold NUL. */
export interface ImapLiteral8 {
  readonly literal8: Buffer;
}

export type ImapValue = null | number | bigint | string | Buffer | ImapAtom | ImapLiteral8 | readonly ImapValue[];

export interface EncodeOptions {
  /** UTF8=ACCEPT enabled: UTF-8 may appear inside quoted strings. */
  readonly utf8: boolean;
}

export function atom(text: string): ImapAtom {
  return { atom: text };
}

const quotedBytesMax = 1024;
const crlf = '\r\n';

function canQuote(text: string, utf8: boolean): boolean {
  if (text.length > quotedBytesMax) return false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0 || code === 0x0a || code === 0x0d) return false;
    if (code > 0x7e && !utf8) return false;
  }
  return true;
}

/** Accumulates response text and literal buffers into an ordered list of chunks. */
class ChunkWriter {
  readonly chunks: Buffer[] = [];
  private text = '';

  write(text: string): void {
    this.text += text;
  }

  literal(data: Buffer, eightBit = false): void {
    this.text += `${eightBit ? '~' : ''}{${data.length}}${crlf}`;
    this.flushText();
    if (data.length > 0) this.chunks.push(data);
  }

  private flushText(): void {
    if (this.text.length > 0) this.chunks.push(Buffer.from(this.text, 'utf8'));
    this.text = '';
  }

  finish(): Buffer[] {
    this.flushText();
    return this.chunks;
  }
}

function encodeValue(out: ChunkWriter, value: ImapValue, options: EncodeOptions): void {
  if (value === null) out.write('NIL');
  else if (typeof value === 'number' || typeof value === 'bigint') out.write(String(value));
  else if (typeof value === 'string') {
    if (canQuote(value, options.utf8)) out.write(`"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`);
    else out.literal(Buffer.from(value, 'utf8'));
  } else if (Buffer.isBuffer(value)) {
    if (value.length === 0) out.write('""');
    else out.literal(value);
  }
  else if (Array.isArray(value)) {
    out.write('(');
    value.forEach((item, i) => {
      if (i > 0) out.write(' ');
      encodeValue(out, item, options);
    });
    out.write(')');
  } else if ('literal8' in value) out.literal(value.literal8, true);
  else out.write((value as ImapAtom).atom);
}

/** Human-readable response text: one line, no CR/LF, never empty. */
export function responseText(text: string): string {
  const clean = text.replace(/[\r\n\0]+/g, ' ').trim();
  return clean.length > 0 ? clean : 'done';
}

/** "* " followed by the values, space separated, and CRLF. */
export function encodeUntagged(values: readonly ImapValue[], options: EncodeOptions): Buffer[] {
  const out = new ChunkWriter();
  out.write('*');
  for (const value of values) {
    out.write(' ');
    encodeValue(out, value, options);
  }
  out.write(crlf);
  return out.finish();
}

export type StatusKind = 'OK' | 'NO' | 'BAD' | 'BYE' | 'PREAUTH';

/** A status response: tag (or "*"), kind, optional [code], text. */
export function encodeStatus(tag: string | undefined, kind: StatusKind, text: string, code?: string): Buffer {
  const codeText = code ? `[${code.replace(/[\r\n\]]+/g, ' ')}] ` : '';
  return Buffer.from(`${tag ?? '*'} ${kind} ${codeText}${responseText(text)}${crlf}`, 'utf8');
}

/** "+ text": the text may be empty (an empty SASL challenge is "+ "). */
export function encodeContinuation(text: string): Buffer {
  return Buffer.from(`+ ${text.replace(/[\r\n\0]+/g, ' ')}${crlf}`, 'utf8');
}

/** Encodes a value list as text (for response codes such as PERMANENTFLAGS). */
export function encodeInline(values: readonly ImapValue[], options: EncodeOptions): string {
  const out = new ChunkWriter();
  values.forEach((value, i) => {
    if (i > 0) out.write(' ');
    encodeValue(out, value, options);
  });
  return Buffer.concat(out.finish()).toString('utf8');
}
