// Modified UTF-7 (RFC 3501 5.1.3): how IMAP4rev1 mailbox names carry non-ASCII characters
// when the client has not enabled UTF8=ACCEPT.

const base64Chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,';
const base64Values = new Map([...base64Chars].map((ch, i) => [ch, i]));

function isDirect(code: number): boolean {
  return code >= 0x20 && code <= 0x7e && code !== 0x26; // '&' is escaped as "&-"
}

export function encodeMailboxUtf7(name: string): string {
  let out = '';
  let pending: number[] = [];
  const flush = (): void => {
    if (pending.length === 0) return;
    const bytes: number[] = [];
    for (const unit of pending) bytes.push(unit >> 8, unit & 0xff);
    let bits = 0;
    let value = 0;
    out += '&';
    for (const byte of bytes) {
      value = (value << 8) | byte;
      bits += 8;
      while (bits >= 6) {
        bits -= 6;
        out += base64Chars[(value >> bits) & 0x3f];
      }
    }
    if (bits > 0) out += base64Chars[(value << (6 - bits)) & 0x3f];
    out += '-';
    pending = [];
  };
  for (let i = 0; i < name.length; i++) {
    const unit = name.charCodeAt(i);
    if (isDirect(unit)) {
      flush();
      out += name[i];
    } else if (unit === 0x26) {
      flush();
      out += '&-';
    } else {
      pending.push(unit);
    }
  }
  flush();
  return out;
}

export class Utf7Error extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Utf7Error';
  }
}

/** Decodes a modified UTF-7 name; throws Utf7Error on a malformed one (the command gets BAD). */
export function decodeMailboxUtf7(encoded: string): string {
  let out = '';
  let i = 0;
  while (i < encoded.length) {
    const ch = encoded[i]!;
    const code = ch.charCodeAt(0);
    if (ch !== '&') {
      if (code > 0x7e) {
        throw new Utf7Error('mailbox name has 8-bit characters; enable UTF8=ACCEPT or use modified UTF-7');
      }
      out += ch;
      i++;
      continue;
    }
    const end = encoded.indexOf('-', i + 1);
    if (end < 0) throw new Utf7Error('mailbox name has an unterminated "&" shift sequence');
    if (end === i + 1) {
      out += '&';
      i = end + 1;
      continue;
    }
    let bits = 0;
    let value = 0;
    const units: number[] = [];
    let byteHigh = -1;
    for (let j = i + 1; j < end; j++) {
      const sextet = base64Values.get(encoded[j]!);
      if (sextet === undefined) throw new Utf7Error('mailbox name has an invalid modified UTF-7 character');
      value = ((value << 6) | sextet) & 0xffffff;
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        const byte = (value >> bits) & 0xff;
        if (byteHigh < 0) byteHigh = byte;
        else {
          units.push((byteHigh << 8) | byte);
          byteHigh = -1;
        }
      }
    }
    if (byteHigh >= 0 || units.length === 0) throw new Utf7Error('mailbox name has a truncated modified UTF-7 sequence');
    const decoded = String.fromCharCode(...units);
    if ([...decoded].some((c) => isDirect(c.codePointAt(0)!) || c === '&')) {
      throw new Utf7Error('mailbox name encodes a printable ASCII character in modified UTF-7');
    }
    out += decoded;
    i = end + 1;
  }
  return out;
}
