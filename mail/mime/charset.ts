// Text in a declared charset to a JS string, by libmime's charset module (iconv-lite, plus the
// Japanese encodings): far more charsets than TextDecoder knows. An unknown label decodes as
// UTF-8 with replacement characters, which never fails, so searching a message with an odd label
// still finds its ASCII words.
import { decode, normalizeCharset } from 'libmime/lib/charset';
import iconv from 'iconv-lite';

export function decodeCharset(bytes: Uint8Array, charset: string | undefined): string {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return decode(buffer, charset ?? 'utf-8');
}

/** A charset a client may name in SEARCH CHARSET. */
export function isKnownCharset(charset: string): boolean {
  return iconv.encodingExists(normalizeCharset(charset));
}
