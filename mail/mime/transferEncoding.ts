// Content-Transfer-Encoding decoding, for SEARCH inside encoded parts and for BINARY (RFC 3516).
// Quoted-printable is libqp's (kept); base64 is Node's own decoder, which skips line breaks and
// stops at padding, as RFC 2045 readers must.
import { decode as decodeQuotedPrintable } from 'libqp';

/** Encodings a server can undo; any other makes BINARY answer [UNKNOWN-CTE]. */
export function isKnownTransferEncoding(encoding: string): boolean {
  return ['7bit', '8bit', 'binary', 'base64', 'quoted-printable'].includes(encoding.trim().toLowerCase());
}

export function decodeTransfer(bytes: Uint8Array, encoding: string): Uint8Array {
  const name = encoding.trim().toLowerCase();
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (name === 'base64') return Buffer.from(buffer.toString('latin1'), 'base64');
  if (name === 'quoted-printable') return decodeQuotedPrintable(buffer);
  return bytes;
}
