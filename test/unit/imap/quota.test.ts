// Transcripts: QUOTA (RFC 9208) with STORAGE over the user's storage accounting: GETQUOTAROOT,
// GETQUOTA, SETQUOTA refused, OVERQUOTA on APPEND and COPY, STATUS DELETED / DELETED-STORAGE,
// every state, pipelining, and two sessions sharing one account.
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryMailStore } from '../../../mail/memory/backend';
import { ImapHarness, message } from './harness';

const open: ImapHarness[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
});

function storeWithQuota(): MemoryMailStore {
  const store = new MemoryMailStore({ uidValidityStart: 1000 });
  store.addUser('carol', 'pw', { quotaBytes: 4096 });
  store.addUser('dan', 'pw');
  return store;
}

async function session(store: MemoryMailStore, user = 'carol'): Promise<ImapHarness> {
  const h = await ImapHarness.loggedIn({ store }, user, 'pw');
  open.push(h);
  return h;
}

const lit = (text: string): string => `{${Buffer.byteLength(text)}+}\r\n${text}`;

describe('QUOTA (RFC 9208)', () => {
  it('GETQUOTAROOT and GETQUOTA report the STORAGE used and the limit, in KiB', async () => {
    const store = storeWithQuota();
    const h = await session(store);
    expect((await h.command('G1 GETQUOTAROOT INBOX')).text).toBe('* QUOTAROOT "INBOX" ""\r\n* QUOTA "" (STORAGE 0 4)\r\nG1 OK GETQUOTAROOT completed\r\n');
    await h.store.deliver('carol', 'INBOX', message({ body: 'x'.repeat(1500) }));
    await h.store.deliver('carol', 'Archive', message({ body: 'y'.repeat(500) }));
    expect((await h.command('G2 GETQUOTA ""')).text).toBe('* QUOTA "" (STORAGE 3 4)\r\nG2 OK GETQUOTA completed\r\n');
    expect((await h.command('G3 GETQUOTAROOT Archive')).lines[1]).toBe('* QUOTA "" (STORAGE 3 4)');
    expect((await h.command('G4 GETQUOTA "user.other"')).tagged).toBe('G4 NO [NONEXISTENT] no quota root "user.other"; GETQUOTAROOT INBOX names yours');
    expect((await h.command('G5 GETQUOTAROOT Nowhere')).tagged).toBe('G5 NO [NONEXISTENT] folder "Nowhere" does not exist');
    expect((await h.command('G6 SETQUOTA "" (STORAGE 512)')).tagged).toBe('G6 NO [NOPERM] storage limits are set by your organisation, not over IMAP');
  });

  it('a user without a limit has no quota root', async () => {
    const h = await session(storeWithQuota(), 'dan');
    expect((await h.command('N1 GETQUOTAROOT INBOX')).text).toBe('* QUOTAROOT "INBOX"\r\nN1 OK GETQUOTAROOT completed\r\n');
    expect((await h.command('N2 GETQUOTA ""')).tagged).toMatch(/^N2 NO \[NONEXISTENT\]/);
  });

  it('APPEND and COPY beyond the limit answer NO [OVERQUOTA]; EXPUNGE frees space', async () => {
    const store = storeWithQuota();
    const h = await session(store);
    const big = message({ body: 'z'.repeat(2500) });
    expect((await h.command(`A1 APPEND INBOX ${lit(big)}`)).tagged).toBe('A1 OK [APPENDUID 1000 1] APPEND completed');
    expect((await h.command(`A2 APPEND INBOX ${lit(big)}`)).tagged).toBe('A2 NO [OVERQUOTA] the mailbox is full (quota 4096 bytes); delete some messages');
    await h.command('A3 SELECT INBOX');
    expect((await h.command('A4 COPY 1 Archive')).tagged).toBe('A4 NO [OVERQUOTA] the mailbox is full (quota 4096 bytes); delete some messages');
    await h.command('A5 STORE 1 +FLAGS.SILENT (\\Deleted)');
    expect((await h.command('A6 STATUS INBOX (DELETED DELETED-STORAGE MESSAGES)')).lines[0]).toBe('* STATUS "INBOX" (DELETED 1 DELETED-STORAGE 3 MESSAGES 1)');
    await h.command('A7 EXPUNGE');
    expect((await h.command('A8 GETQUOTA ""')).lines[0]).toBe('* QUOTA "" (STORAGE 0 4)');
  });

  it('pipelined, and across two sessions of one account; needs authentication', async () => {
    const store = storeWithQuota();
    const first = await session(store);
    const second = await session(store);
    first.take();
    first.send(`p1 APPEND INBOX ${lit(message({ body: 'q'.repeat(1100) }))}\r\np2 GETQUOTA ""\r\n`);
    expect(await first.waitFor(/p2 OK[^\r]*\r\n/)).toContain('* QUOTA "" (STORAGE 2 4)\r\np2 OK');
    expect((await second.command('s1 GETQUOTAROOT INBOX')).lines[1]).toBe('* QUOTA "" (STORAGE 2 4)');
    const stranger = new ImapHarness({ store });
    open.push(stranger);
    expect((await stranger.command('x1 GETQUOTA ""')).tagged).toBe('x1 BAD GETQUOTA needs you to log in first');
  });
});
