// RFC 2047 encoded words ("=?utf-8?Q?caf=C3=A9?="), with RFC 2231 language tags, decoded by
// libmime for SEARCH; kept verbatim in ENVELOPE (IMAP passes header text through; clients decode).
import libmime from 'libmime';

/** Decodes every encoded word; whitespace between two adjacent encoded words is dropped. */
export function decodeEncodedWords(text: string): string {
  if (!text.includes('=?')) return text;
  return libmime.decodeWords(text);
}
