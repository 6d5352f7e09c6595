// QUOTA (RFC 9208) with the STORAGE resource: one quota root per user, named "", over the user's
// storage accounting (the sum of the sizes of the user's messages against the per-user limit of
// the organisation). Limits are the organisation's: SETQUOTA is refused.
import { defineCommand, failNo, ok } from '../command';
import { atom, type ImapValue } from '../encoder';
import { encodeMailboxName } from '../mailboxNames';
import type { ImapSession } from '../session';

export const quotaRoot = '';

/** STORAGE counts units of 1024 octets (RFC 9208 5.1). */
export const storageUnits = (bytes: number): number => Math.ceil(bytes / 1024);

async function quotaResponse(session: ImapSession): Promise<ImapValue[] | undefined> {
  const quota = await session.userOrThrow().quota?.();
  if (!quota) return undefined;
  return [atom('QUOTA'), quotaRoot, [atom('STORAGE'), storageUnits(quota.usedBytes), Math.floor(quota.limitBytes / 1024)]];
}

export const getQuotaRootCommand = defineCommand({
  names: ['GETQUOTAROOT'],
  states: ['authenticated', 'selected'],
  schema: [{ name: 'mailbox', kind: 'mailbox' }],
  async handle({ session }, { mailbox }) {
    await session.userOrThrow().folderStatus(mailbox); // NO [NONEXISTENT] for a missing mailbox
    const quota = await quotaResponse(session);
    const name = encodeMailboxName(mailbox, session.utf8);
    await session.untagged(quota ? [atom('QUOTAROOT'), name, quotaRoot] : [atom('QUOTAROOT'), name]);
    if (quota) await session.untagged(quota);
    return ok('GETQUOTAROOT completed');
  },
});

export const getQuotaCommand = defineCommand({
  names: ['GETQUOTA'],
  states: ['authenticated', 'selected'],
  schema: [{ name: 'root', kind: 'astring' }],
  async handle({ session }, { root }) {
    const quota = root === quotaRoot ? await quotaResponse(session) : undefined;
    if (!quota) failNo(`no quota root "${root}"; GETQUOTAROOT INBOX names yours`, 'NONEXISTENT');
    await session.untagged(quota);
    return ok('GETQUOTA completed');
  },
});

export const setQuotaCommand = defineCommand({
  names: ['SETQUOTA'],
  states: ['authenticated', 'selected'],
  schema: [
    { name: 'root', kind: 'astring' },
    { name: 'limits', kind: 'list' },
  ],
  async handle() {
    return failNo('storage limits are set by your organisation, not over IMAP', 'NOPERM');
  },
});
