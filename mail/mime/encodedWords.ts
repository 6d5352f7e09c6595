// RFC 2047 encoded words ("=?utf-8?Q?caf=C3=A9?="): decoded for SEARCH, kept verbatim in ENVELOPE
// (IMAP passes header text through; clients decode).
import { decodeCharset } from './charset';

const encodedWord = /=\?([^?\s*]+)(?:\*[^?\s]*)?\?([bBqQ])\?([^?\s]*)\?=/g;

function decodeQ(text: string): Uint8Array {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '_') bytes.push(0x20);
    else if (ch === '=' && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(ch.charCodeAt(0) & 0xff);
  }
  return Uint8Array.from(bytes);
}

/** Decodes every encoded word; whitespace between two adjacent encoded words is dropped. */
export function decodeEncodedWords(text: string): string {
  if (!text.includes('=?')) return text;
  const collapsed = text.replace(/(\?=)\s+(?==\?)/g, '$1');
  return collapsed.replace(encodedWord, (whole, charset: string, encoding: string, payload: string) => {
    try {
      const bytes = encoding.toUpperCase() === 'B' ? Buffer.from(payload, 'base64') : decodeQ(payload);
      return decodeCharset(bytes, charset);
    } catch {
      return whole;
    }
  });
}
