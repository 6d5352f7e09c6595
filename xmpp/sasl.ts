// SASL for XMPP (RFC 6120 section 6): PLAIN (RFC 4616) and the server side of SCRAM-SHA-1 and
// SCRAM-SHA-256 (RFC 5802, RFC 7677) without channel binding. Pure: the credentials come from the
// caller (the node derives them from a password it verified through the keystore), nonces from its
// random source. The messages are the base64-decoded payloads of <auth>, <challenge>, <response>.
import { type ScramCredentials, type ScramHash, scramProofValid, scramServerSignature } from '../crypto/scram';

export type SaslMechanism = 'PLAIN' | 'SCRAM-SHA-1' | 'SCRAM-SHA-256';
export const SCRAM_HASH: Record<Exclude<SaslMechanism, 'PLAIN'>, ScramHash> = { 'SCRAM-SHA-1': 'sha1', 'SCRAM-SHA-256': 'sha256' };

/** RFC 6120 6.5: the SASL failure conditions this server sends. */
export type SaslFailure = 'aborted' | 'incorrect-encoding' | 'invalid-authzid' | 'invalid-mechanism' | 'malformed-request' | 'not-authorized' | 'temporary-auth-failure';

export type PlainCredentials = { readonly ok: true; readonly authzid: string; readonly username: string; readonly password: string } | { readonly ok: false; readonly failure: SaslFailure };

/** RFC 4616: [authzid] NUL authcid NUL passwd. An authzid other than the user's own is refused (no proxy logins). */
export function parsePlain(message: Uint8Array): PlainCredentials {
  const parts = Buffer.from(message).toString('utf8').split('\0');
  if (parts.length !== 3 || !parts[1] || !parts[2]) return { ok: false, failure: 'malformed-request' };
  return { ok: true, authzid: parts[0]!, username: parts[1], password: parts[2] };
}

/** Base64 of an <auth>/<response> body: '=' is an empty message (RFC 6120 6.4.2); anything but base64 is incorrect-encoding. */
export function decodeSaslPayload(text: string): Uint8Array | undefined {
  const t = text.trim();
  if (t === '=' || t === '') return new Uint8Array(0);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(t) || t.length % 4 !== 0) return undefined;
  return Buffer.from(t, 'base64');
}

/** RFC 5802 5.1: `=2C` and `=3D` stand for ',' and '=' in a username; any other '=' is malformed. */
function decodeSaslName(name: string): string | undefined {
  if (/=(?!2C|3D)/.test(name)) return undefined;
  return name.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

function attributes(message: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of message.split(',')) {
    const eq = part.indexOf('=');
    if (eq === 1) out.set(part[0]!, part.slice(2));
  }
  return out;
}

export type ScramFirst =
  | { readonly ok: true; readonly username: string; readonly clientNonce: string; readonly clientFirstBare: string; readonly gs2Header: string }
  | { readonly ok: false; readonly failure: SaslFailure; readonly text: string };

/** The client-first-message: gs2 header ('n,,' or 'y,,'; channel binding 'p=' is not offered) and n=, r=. */
export function parseScramClientFirst(message: Uint8Array): ScramFirst {
  const text = Buffer.from(message).toString('utf8');
  const m = /^([ny]),(a=[^,]*)?,(.*)$/.exec(text);
  if (!m) return { ok: false, failure: 'malformed-request', text: 'expected a gs2 header without channel binding (n,, or y,,)' };
  const bare = m[3]!;
  const attrs = attributes(bare);
  const username = decodeSaslName(attrs.get('n') ?? '');
  const clientNonce = attrs.get('r') ?? '';
  if (!username || !clientNonce || /[^\x21-\x2b\x2d-\x7e]/.test(clientNonce)) return { ok: false, failure: 'malformed-request', text: 'the first message needs n= and r=' };
  if (attrs.has('m')) return { ok: false, failure: 'malformed-request', text: 'no SCRAM extension is supported' };
  return { ok: true, username, clientNonce, clientFirstBare: bare, gs2Header: `${m[1]},${m[2] ?? ''},` };
}

export interface ScramExchange {
  readonly mechanism: Exclude<SaslMechanism, 'PLAIN'>;
  readonly username: string;
  readonly credentials: ScramCredentials;
  readonly nonce: string;
  readonly clientFirstBare: string;
  readonly serverFirst: string;
  readonly gs2Header: string;
}

/** The server-first-message: r=client nonce + server nonce, s=salt, i=iterations. */
export function scramServerFirst(first: Extract<ScramFirst, { ok: true }>, mechanism: ScramExchange['mechanism'], credentials: ScramCredentials, serverNonce: string): ScramExchange {
  const nonce = first.clientNonce + serverNonce;
  const serverFirst = `r=${nonce},s=${Buffer.from(credentials.salt).toString('base64')},i=${credentials.iterations}`;
  return { mechanism, username: first.username, credentials, nonce, clientFirstBare: first.clientFirstBare, serverFirst, gs2Header: first.gs2Header };
}

export type ScramFinal = { readonly ok: true; readonly serverFinal: string } | { readonly ok: false; readonly failure: SaslFailure; readonly text: string; readonly guess: boolean };

/** The client-final-message checked: channel binding echo, the nonce, the proof. `guess` marks a wrong proof (a failed password guess). */
export function checkScramClientFinal(exchange: ScramExchange, message: Uint8Array): ScramFinal {
  const text = Buffer.from(message).toString('utf8');
  const proofAt = text.lastIndexOf(',p=');
  if (proofAt < 0) return { ok: false, failure: 'malformed-request', text: 'the final message needs p=', guess: false };
  const withoutProof = text.slice(0, proofAt);
  const attrs = attributes(withoutProof);
  if (attrs.get('c') !== Buffer.from(exchange.gs2Header).toString('base64')) return { ok: false, failure: 'malformed-request', text: 'c= does not echo the gs2 header', guess: false };
  if (attrs.get('r') !== exchange.nonce) return { ok: false, failure: 'malformed-request', text: 'r= is not the nonce of this exchange', guess: false };
  const proof = decodeSaslPayload(text.slice(proofAt + 3));
  if (!proof) return { ok: false, failure: 'incorrect-encoding', text: 'p= is not base64', guess: false };
  const authMessage = `${exchange.clientFirstBare},${exchange.serverFirst},${withoutProof}`;
  if (!scramProofValid(exchange.credentials, authMessage, proof)) return { ok: false, failure: 'not-authorized', text: 'wrong password', guess: true };
  return { ok: true, serverFinal: `v=${scramServerSignature(exchange.credentials, authMessage).toString('base64')}` };
}
