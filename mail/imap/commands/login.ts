// LOGIN (RFC 3501 6.2.3): user name and password as astrings.
import { logIn, plaintextLoginRefused, privacyRequired } from '../authentication';
import { defineCommand } from '../command';

export const loginCommand = defineCommand({
  names: ['LOGIN'],
  states: ['notAuthenticated'],
  schema: [
    { name: 'username', kind: 'astring' },
    { name: 'password', kind: 'astring' },
  ],
  async handle({ session }, { username, password }) {
    if (plaintextLoginRefused(session)) return privacyRequired;
    return logIn(session, username, password);
  },
});
