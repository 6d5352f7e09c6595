// Modified UTF-7 (RFC 3501 5.1.3): how IMAP4rev1 mailbox names carry non-ASCII characters when the
// client has not enabled UTF8=ACCEPT. The codec is iconv-lite's "utf-7-imap" (kept, and what
// imapflow uses); what we add is strictness: a name is valid only in its one canonical encoding.
import iconv from 'iconv-lite';

const codec = 'utf-7-imap';

export class Utf7Error extends Error {
  constructor(
    message: string,
    /** The name is 7-bit and well formed as an IMAP string, but not valid modified UTF-7. */
    readonly notModifiedUtf7: boolean,
  ) {
    super(message);
    this.name = 'Utf7Error';
  }
}

export function encodeMailboxUtf7(name: string): string {
  return iconv.encode(name, codec).toString('latin1');
}

/**
 * Decodes a modified UTF-7 name. Throws Utf7Error on 8-bit characters, and on any "&" sequence
 * that is not the canonical encoding of what it decodes to (unterminated, bad base64, ASCII
 * encoded in base64, ...): RFC 3501 lets the server refuse such names.
 */
export function decodeMailboxUtf7(encoded: string): string {
  if (/[^\x00-\x7e]/.test(encoded)) {
    throw new Utf7Error('mailbox name has 8-bit characters; enable UTF8=ACCEPT or use modified UTF-7', false);
  }
  if (!encoded.includes('&')) return encoded;
  const decoded = iconv.decode(Buffer.from(encoded, 'latin1'), codec);
  if (encodeMailboxUtf7(decoded) !== encoded) {
    throw new Utf7Error(`mailbox name "${encoded}" is not valid modified UTF-7 (write "&" as "&-")`, true);
  }
  return decoded;
}
