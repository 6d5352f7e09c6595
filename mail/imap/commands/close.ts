// CLOSE (RFC 3501 6.4.2): expunges \Deleted messages silently (unless read-only), deselects.
import { defineCommand, ok } from '../command';

export const closeCommand = defineCommand({
  names: ['CLOSE'],
  states: ['selected'],
  schema: [],
  async handle({ session }) {
    const view = session.selectedOrThrow();
    session.closeMailbox();
    if (!view.readOnly) await session.userOrThrow().expunge(view.name);
    return ok('CLOSE completed', undefined, 'authenticated');
  },
});
