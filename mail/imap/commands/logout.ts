// LOGOUT (RFC 3501 6.1.3): BYE, then the tagged OK, then the machine closes the connection.
import { defineCommand, ok } from '../command';
import { atom } from '../encoder';

export const logoutCommand = defineCommand({
  names: ['LOGOUT'],
  states: ['notAuthenticated', 'authenticated', 'selected'],
  schema: [],
  async handle({ session }) {
    await session.untagged([atom('BYE'), atom('Logging out')]);
    await session.release();
    return ok('LOGOUT completed', undefined, 'logout');
  },
});
