// NOTIFY (RFC 5465): NOTIFY SET [STATUS] (event groups) replaces the events this session hears of
// while no command runs; NOTIFY NONE turns them off. Parsing and the RFC's checks are in
// notify/notifySpec.ts; the feeds and what they queue in notify/sessionNotifier.ts.
import { defineCommand, ok } from '../command';
import { parseNotify } from '../notify/notifySpec';

export const notifyCommand = defineCommand({
  names: ['NOTIFY'],
  states: ['authenticated', 'selected'],
  schema: [{ name: 'args', kind: 'rest' }],
  async handle({ session }, { args }) {
    const spec = parseNotify(args, session.utf8);
    if (spec === 'none') {
      session.endNotify();
      return ok('NOTIFY NONE completed: no more notifications');
    }
    await session.startNotify(spec);
    return ok('NOTIFY completed');
  },
});
