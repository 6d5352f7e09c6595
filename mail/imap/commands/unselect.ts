// UNSELECT (RFC 3691): deselects without expunging.
import { defineCommand, ok } from '../command';

export const unselectCommand = defineCommand({
  names: ['UNSELECT'],
  states: ['selected'],
  schema: [],
  async handle({ session }) {
    session.closeMailbox();
    return ok('UNSELECT completed', undefined, 'authenticated');
  },
});
