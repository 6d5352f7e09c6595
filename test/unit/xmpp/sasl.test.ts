import { describe, expect, test } from 'vitest';
import { deriveScramCredentials } from '../../../crypto/scram';
import { checkScramClientFinal, decodeSaslPayload, parsePlain, parseScramClientFirst, scramServerFirst } from '../../../xmpp/sasl';

const b = (s: string) => Buffer.from(s, 'utf8');

describe('xmpp SASL', () => {
  // The RFCs' own exchanges: user "user", password "pencil".
  const vectors = [
    {
      mechanism: 'SCRAM-SHA-1' as const,
      hash: 'sha1' as const,
      clientFirst: 'n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL',
      serverNonce: '3rfcNHYJY1ZVvWVs7j',
      salt: 'QSXCR+Q6sek8bf92',
      clientFinal: 'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=',
      serverFinal: 'v=rmF9pqV8S7suAoZWja4dJRkFsKQ=',
    },
    {
      mechanism: 'SCRAM-SHA-256' as const,
      hash: 'sha256' as const,
      clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
      serverNonce: '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
      salt: 'W22ZaJ0SNY7soEsUEjb6gQ==',
      clientFinal: 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
      serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
    },
  ];
  for (const v of vectors)
    test(`${v.mechanism}: the RFC's example exchange verifies and yields its server signature`, () => {
      const first = parseScramClientFirst(b(v.clientFirst));
      if (!first.ok) throw new Error(first.text);
      const creds = deriveScramCredentials(v.hash, 'pencil', Buffer.from(v.salt, 'base64'), 4096);
      const exchange = scramServerFirst(first, v.mechanism, creds, v.serverNonce);
      expect(checkScramClientFinal(exchange, b(v.clientFinal))).toEqual({ ok: true, serverFinal: v.serverFinal });
      const wrong = deriveScramCredentials(v.hash, 'pencil!', Buffer.from(v.salt, 'base64'), 4096);
      expect(checkScramClientFinal({ ...exchange, credentials: wrong }, b(v.clientFinal))).toMatchObject({ ok: false, failure: 'not-authorized', guess: true });
      expect(checkScramClientFinal(exchange, b(v.clientFinal.replace('r=', 'r=x')))).toMatchObject({ ok: false, guess: false });
    });

  test('channel binding (p=) and SCRAM extensions are refused; a nonce is required', () => {
    expect(parseScramClientFirst(b('p=tls-unique,,n=user,r=abc')).ok).toBe(false);
    expect(parseScramClientFirst(b('n,,n=user,r=abc,m=ext')).ok).toBe(false);
    expect(parseScramClientFirst(b('n,,n=user')).ok).toBe(false);
    expect(parseScramClientFirst(b('n,,n=a=2Cb,r=x'))).toMatchObject({ ok: true, username: 'a,b' });
  });

  test('PLAIN splits authzid, user and password; anything else is malformed', () => {
    expect(parsePlain(b('\0alice\0pw'))).toEqual({ ok: true, authzid: '', username: 'alice', password: 'pw' });
    expect(parsePlain(b('alice\0pw'))).toEqual({ ok: false, failure: 'malformed-request' });
    expect(decodeSaslPayload('=')).toEqual(new Uint8Array(0));
    expect(decodeSaslPayload('not base64!')).toBeUndefined();
  });
});
