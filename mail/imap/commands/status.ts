// STATUS (RFC 3501 6.3.10) with HIGHESTMODSEQ (RFC 7162) and APPENDLIMIT (RFC 7889).
import { defineCommand, failBad, ok } from '../command';
import { atom, type ImapValue } from '../encoder';
import { encodeMailboxName } from '../mailboxNames';

const statusItems = new Set(['MESSAGES', 'RECENT', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN', 'HIGHESTMODSEQ', 'APPENDLIMIT']);

export const statusCommand = defineCommand({
  names: ['STATUS'],
  states: ['authenticated', 'selected'],
  schema: [
    { name: 'mailbox', kind: 'mailbox' },
    { name: 'items', kind: 'list' },
  ],
  async handle({ session }, { mailbox, items }) {
    const names = items.map((item) => {
      const name = item.kind === 'atom' ? item.value.toUpperCase() : '';
      if (!statusItems.has(name)) failBad(`STATUS: unknown status item ${name || '(non-atom)'}`);
      return name;
    });
    if (names.length === 0) failBad('STATUS needs at least one status item');
    if (names.includes('HIGHESTMODSEQ')) session.condstore = true;
    const status = await session.userOrThrow().folderStatus(mailbox);
    const values: Record<string, number> = {
      MESSAGES: status.messages,
      RECENT: status.recent,
      UIDNEXT: status.uidNext,
      UIDVALIDITY: status.uidValidity,
      UNSEEN: status.unseen,
      HIGHESTMODSEQ: status.highestModseq,
      APPENDLIMIT: session.deps.settings.appendLimitBytes,
    };
    const result: ImapValue[] = names.flatMap((name) => [atom(name), values[name]!]);
    await session.untagged([atom('STATUS'), encodeMailboxName(mailbox, session.utf8), result]);
    return ok('STATUS completed');
  },
});
