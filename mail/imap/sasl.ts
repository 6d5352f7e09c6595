// SASL mechanisms PLAIN (RFC 4616) and LOGIN, with SASL-IR initial responses (RFC 4959).
import { failBad } from './command';
import type { SaslExchange } from './session';

export const saslMechanisms = ['PLAIN', 'LOGIN'] as const;

export type SaslCredentials = { readonly username: string; readonly password: string };

/** Strict base64 ("=" alone is the empty initial response). Throws BAD on garbage. */
export function decodeSaslBase64(text: string): Buffer {
  const trimmed = text.trim();
  if (trimmed === '=') return Buffer.alloc(0);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(trimmed) || trimmed.length % 4 !== 0) failBad('SASL response is not valid base64');
  return Buffer.from(trimmed, 'base64');
}

function plainCredentials(response: Buffer): SaslCredentials {
  const parts = response.toString('utf8').split('\0');
  if (parts.length !== 3) failBad('PLAIN response must be authzid NUL authcid NUL password');
  const [authzid, username, password] = parts as [string, string, string];
  if (authzid.length > 0 && authzid !== username) failBad('PLAIN: acting as another user is not supported');
  return { username, password };
}

export function startSasl(tag: string, mechanism: string, initial: Buffer | undefined): { exchange: SaslExchange; first: ReturnType<SaslExchange['step']> | undefined } {
  if (mechanism === 'PLAIN') {
    const exchange: SaslExchange = { tag, step: (response) => plainCredentials(response) };
    return { exchange, first: initial ? exchange.step(initial) : { challenge: '' } };
  }
  // LOGIN: "Username:" then "Password:".
  let username: string | undefined;
  const exchange: SaslExchange = {
    tag,
    step: (response) => {
      if (username === undefined) {
        username = response.toString('utf8');
        return { challenge: Buffer.from('Password:').toString('base64') };
      }
      return { username, password: response.toString('utf8') };
    },
  };
  return { exchange, first: initial ? exchange.step(initial) : { challenge: Buffer.from('Username:').toString('base64') } };
}
