// NOOP (RFC 3501 6.1.2): does nothing but gives the server a chance to report mailbox changes,
// which the dispatcher does after every command.
import { defineCommand, ok } from '../command';

export const noopCommand = defineCommand({
  names: ['NOOP'],
  states: ['notAuthenticated', 'authenticated', 'selected'],
  schema: [],
  async handle() {
    return ok('NOOP completed');
  },
});
