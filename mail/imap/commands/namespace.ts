// NAMESPACE (RFC 2342): one personal namespace, no shared or other users' folders.
import { defineCommand, ok } from '../command';
import { atom } from '../encoder';
import { hierarchyDelimiter } from '../mailboxNames';

export const namespaceCommand = defineCommand({
  names: ['NAMESPACE'],
  states: ['authenticated', 'selected'],
  schema: [],
  async handle({ session }) {
    await session.untagged([atom('NAMESPACE'), [['', hierarchyDelimiter]], null, null]);
    return ok('NAMESPACE completed');
  },
});
