// XLIST (Gmail's pre-RFC 6154 extension, used by older Outlook): LIST with \Inbox and \Spam.
import { defineCommand, ok } from '../command';
import { runList } from './list';

export const xlistCommand = defineCommand({
  names: ['XLIST'],
  states: ['authenticated', 'selected'],
  schema: [{ name: 'args', kind: 'rest' }],
  async handle({ session }, { args }) {
    await runList(session, args, 'XLIST');
    return ok('XLIST completed');
  },
});
