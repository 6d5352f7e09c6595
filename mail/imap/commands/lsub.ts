// LSUB (RFC 3501 6.3.9): subscribed mailboxes matching a pattern.
import { defineCommand, ok } from '../command';
import { atom } from '../encoder';
import { lsubEntries } from '../listing';
import { combineListPattern, encodeMailboxName, hierarchyDelimiter } from '../mailboxNames';

export const lsubCommand = defineCommand({
  names: ['LSUB'],
  states: ['authenticated', 'selected'],
  schema: [
    { name: 'reference', kind: 'pattern' },
    { name: 'pattern', kind: 'pattern' },
  ],
  async handle({ session }, { reference, pattern }) {
    if (pattern === '') {
      await session.untagged([atom('LSUB'), [atom('\\Noselect')], hierarchyDelimiter, '']);
      return ok('LSUB completed');
    }
    const user = session.userOrThrow();
    const [folders, subscriptions] = await Promise.all([user.listFolders(), user.listSubscriptions()]);
    for (const entry of lsubEntries(folders, subscriptions, combineListPattern(reference, pattern))) {
      await session.untagged([atom('LSUB'), entry.attributes.map(atom), hierarchyDelimiter, encodeMailboxName(entry.name, session.utf8)]);
    }
    return ok('LSUB completed');
  },
});
