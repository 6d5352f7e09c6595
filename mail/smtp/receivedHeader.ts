// The Received: trace header this gateway prepends (RFC 5321 4.4), and the only change it makes to
// a message's bytes. Everything in it that the client chose (the HELO name) is reduced to safe
// printable ASCII, so it cannot end the header, open a comment or inject a field.
import { smtpLimits } from './limits';

export interface ReceivedInfo {
  /** HELO/EHLO argument as the client sent it. */
  readonly helo: string;
  /** Peer IP address. */
  readonly clientAddress: string;
  /** Reverse-resolved name of the peer, when known. */
  readonly clientHostname?: string;
  /** This node's name. */
  readonly serverName: string;
  /** ESMTPSA, UTF8SMTPS, ... (see withProtocol). */
  readonly protocol: string;
  /** Session or queue id, for tracing the message through logs. */
  readonly id: string;
  /** Named only when there is exactly one: listing all would reveal Bcc recipients. */
  readonly recipients: readonly string[];
  readonly receivedAtMs: number;
  /** SMTPUTF8 message (RFC 6532): UTF-8 may appear in the header, e.g. in the recipient. */
  readonly utf8?: boolean;
}

/**
 * RFC 3848 / RFC 6531 protocol name: SMTP for HELO, ESMTP for EHLO, UTF8SMTP when SMTPUTF8 was
 * used, then S for TLS and A for an authenticated client.
 */
export function withProtocol(opts: { readonly ehlo: boolean; readonly smtpUtf8: boolean; readonly tls: boolean; readonly authenticated: boolean }): string {
  const base = opts.smtpUtf8 ? 'UTF8SMTP' : opts.ehlo ? 'ESMTP' : 'SMTP';
  return `${base}${opts.tls ? 'S' : ''}${opts.authenticated ? 'A' : ''}`;
}

const unsafeAscii = /[^\x21-\x7e]|[()\\]/g;
// Also refuses C1 controls and the invisible formatting characters (zero-width, bidi overrides).
const unsafeUtf8 = /[^\x21-\x7e\u00a0-\u200a\u2010-\u2027\u2030-\u205f\u2070-\ufefe\uff00-\uffff]|[()\\]/gu;

/** Client-chosen text made safe inside a header comment. */
function sanitize(text: string, utf8 = false): string {
  const clean = text.replace(utf8 ? unsafeUtf8 : unsafeAscii, '?');
  return (clean.length > smtpLimits.clientTextCharsMax ? clean.slice(0, smtpLimits.clientTextCharsMax) : clean) || 'unknown';
}

/** An IP as an address literal: [192.0.2.1] or [IPv6:2001:db8::1]. */
export function addressLiteral(ip: string): string {
  const bare = ip.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
  return bare.includes(':') ? `[IPv6:${bare}]` : `[${bare}]`;
}

const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number): string => String(n).padStart(2, '0');

/** RFC 5322 date-time in UTC: `Tue, 14 Nov 2023 22:13:20 +0000`. */
export function rfc5322Date(ms: number): string {
  const d = new Date(ms);
  return `${days[d.getUTCDay()]}, ${d.getUTCDate()} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/** The header field, folded, without the final line ending. */
export function receivedHeader(info: ReceivedInfo, lineEnding = '\r\n'): string {
  const literal = addressLiteral(info.clientAddress);
  const peer = info.clientHostname && info.clientHostname !== literal ? `${sanitize(info.clientHostname)} ${literal}` : literal;
  const fold = `${lineEnding}\t`;
  const single = info.recipients.length === 1 ? `${fold}for <${sanitize(info.recipients[0]!, info.utf8)}>` : '';
  return (
    `Received: from ${sanitize(info.helo)} (${peer})` +
    `${fold}by ${sanitize(info.serverName)} (ePOST) with ${info.protocol} id ${sanitize(info.id)}` +
    `${single};${fold}${rfc5322Date(info.receivedAtMs)}`
  );
}

/** The message's own line ending: bare LF messages stay bare LF, everything else gets CRLF. */
export function lineEndingOf(raw: Uint8Array): '\r\n' | '\n' {
  const lf = raw.indexOf(0x0a);
  return lf > 0 && raw[lf - 1] !== 0x0d ? '\n' : '\r\n';
}

/** The message with the header in front; every other byte as it was. */
export function prependHeader(raw: Uint8Array, header: string): Uint8Array {
  const line = Buffer.from(`${header}${lineEndingOf(raw)}`, 'utf8');
  return Buffer.concat([line, raw]);
}
