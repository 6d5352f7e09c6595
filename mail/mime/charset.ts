// Text in a declared charset to a JS string. Unknown charsets fall back to Latin-1, which never
// fails, so searching a message with an odd label still finds its ASCII words.
import { TextDecoder } from 'node:util';
import { imapLimits } from '../imap/limits';

const decoders = new Map<string, TextDecoder | null>();

function decoderFor(label: string): TextDecoder | null {
  const key = label.trim().toLowerCase();
  if (decoders.has(key)) return decoders.get(key)!;
  let decoder: TextDecoder | null = null;
  try {
    decoder = new TextDecoder(key === 'us-ascii' || key === 'ascii' ? 'utf-8' : key);
  } catch {
    decoder = null;
  }
  if (decoders.size < imapLimits.charsetDecodersMax) decoders.set(key, decoder);
  return decoder;
}

export function decodeCharset(bytes: Uint8Array, charset: string | undefined): string {
  const decoder = decoderFor(charset ?? 'utf-8');
  if (decoder) return decoder.decode(bytes);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

export function isKnownCharset(charset: string): boolean {
  return decoderFor(charset) !== null;
}
