// CAPABILITY (RFC 3501 6.1.1): what this server supports, given TLS and login state.
import { capabilityList } from '../capabilities';
import { defineCommand, ok } from '../command';
import { atom } from '../encoder';

export const capabilityCommand = defineCommand({
  names: ['CAPABILITY'],
  states: ['notAuthenticated', 'authenticated', 'selected'],
  schema: [],
  async handle({ session }) {
    const caps = capabilityList(session.deps.settings, session.tlsActive, session.state !== 'notAuthenticated');
    await session.untagged([atom('CAPABILITY'), ...caps.map(atom)]);
    return ok('CAPABILITY completed');
  },
});
