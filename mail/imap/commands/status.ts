// STATUS (RFC 3501 6.3.10) with HIGHESTMODSEQ (RFC 7162), APPENDLIMIT (RFC 7889), SIZE (RFC
// 8438) and DELETED / DELETED-STORAGE (RFC 9208); the same items serve LIST ... RETURN (STATUS
// (...)) (LIST-STATUS, RFC 5819).
import { defineCommand, failBad, ok } from '../command';
import { atom, type ImapValue } from '../encoder';
import { encodeMailboxName } from '../mailboxNames';
import type { ImapToken } from '../parser';
import { hasFlag } from '../flags';
import type { ImapSession } from '../session';
import { storageUnits } from './quota';

const statusItems = new Set(['MESSAGES', 'RECENT', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN', 'HIGHESTMODSEQ', 'APPENDLIMIT', 'SIZE', 'DELETED', 'DELETED-STORAGE']);

export function parseStatusItems(items: readonly ImapToken[], command: string): string[] {
  const names = items.map((item) => {
    const name = item.kind === 'atom' ? item.value.toUpperCase() : '';
    if (!statusItems.has(name)) failBad(`${command}: unknown status item ${name || '(non-atom)'}`);
    return name;
  });
  if (names.length === 0) failBad(`${command} needs at least one status item`);
  return names;
}

/** Writes "* STATUS mailbox (items)". */
export async function writeStatus(session: ImapSession, mailbox: string, names: readonly string[]): Promise<void> {
  if (names.includes('HIGHESTMODSEQ')) session.condstore = true;
  const user = session.userOrThrow();
  const status = await user.folderStatus(mailbox);
  let snapshot: Awaited<ReturnType<typeof user.openFolder>> | undefined;
  const messages = async () => (snapshot ??= await user.openFolder(mailbox)).messages;
  const deleted = async () => (await messages()).filter((m) => hasFlag(m.flags, '\\Deleted'));
  const values: Record<string, () => Promise<number> | number> = {
    MESSAGES: () => status.messages,
    RECENT: () => status.recent,
    UIDNEXT: () => status.uidNext,
    UIDVALIDITY: () => status.uidValidity,
    UNSEEN: () => status.unseen,
    HIGHESTMODSEQ: () => status.highestModseq,
    APPENDLIMIT: () => session.deps.settings.appendLimitBytes,
    // STATUS=SIZE (RFC 8438): the folder's messages' total size.
    SIZE: async () => (await messages()).reduce((sum, m) => sum + m.sizeOctets, 0),
    // RFC 9208 4.2: what EXPUNGE would free, in messages and in STORAGE units.
    DELETED: async () => (await deleted()).length,
    'DELETED-STORAGE': async () => storageUnits((await deleted()).reduce((sum, m) => sum + m.sizeOctets, 0)),
  };
  const result: ImapValue[] = [];
  for (const name of names) result.push(atom(name), await values[name]!());
  await session.untagged([atom('STATUS'), encodeMailboxName(mailbox, session.utf8), result]);
}

export const statusCommand = defineCommand({
  names: ['STATUS'],
  states: ['authenticated', 'selected'],
  schema: [
    { name: 'mailbox', kind: 'mailbox' },
    { name: 'items', kind: 'list' },
  ],
  async handle({ session }, { mailbox, items }) {
    await writeStatus(session, mailbox, parseStatusItems(items, 'STATUS'));
    return ok('STATUS completed');
  },
});
