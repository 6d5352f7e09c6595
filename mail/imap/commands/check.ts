// CHECK (RFC 3501 6.4.1): a checkpoint; the backend persists every change as it happens, so this is
// a NOOP that reports pending changes.
import { defineCommand, ok } from '../command';

export const checkCommand = defineCommand({
  names: ['CHECK'],
  states: ['selected'],
  schema: [],
  async handle() {
    return ok('CHECK completed');
  },
});
