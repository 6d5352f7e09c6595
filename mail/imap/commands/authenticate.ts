// AUTHENTICATE (RFC 3501 6.2.2) with PLAIN and LOGIN, and SASL-IR initial responses (RFC 4959).
import { logIn, plaintextLoginRefused, privacyRequired } from '../authentication';
import { defineCommand, no } from '../command';
import { decodeSaslBase64, saslMechanisms, startSasl } from '../sasl';

export const authenticateCommand = defineCommand({
  names: ['AUTHENTICATE'],
  states: ['notAuthenticated'],
  schema: [
    { name: 'mechanism', kind: 'atom' },
    { name: 'initialResponse', kind: 'atom', optional: true },
  ],
  async handle({ session, tag }, { mechanism, initialResponse }) {
    const name = mechanism.toUpperCase();
    if (!(saslMechanisms as readonly string[]).includes(name)) {
      return no(`Authentication mechanism ${mechanism} is not supported; use PLAIN or LOGIN`, 'CANNOT');
    }
    if (plaintextLoginRefused(session)) return privacyRequired;
    const initial = initialResponse === undefined ? undefined : decodeSaslBase64(initialResponse);
    const { exchange, first } = startSasl(tag, name, initial);
    if (first && 'username' in first) return logIn(session, first.username, first.password);
    session.sasl = exchange;
    await session.continuation(first?.challenge ?? '');
    return { kind: 'saslContinue' };
  },
});
