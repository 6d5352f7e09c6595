// Transcripts: changes made elsewhere (another session, another device) reach a session only where
// RFC 3501 7.4.1 allows; \Recent belongs to one session; IDLE pushes changes at once.
import { afterEach, describe, expect, it } from 'vitest';
import { ImapHarness, message, newStore } from './harness';

const open: ImapHarness[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
});

async function session(store = newStore()): Promise<ImapHarness> {
  const h = await ImapHarness.loggedIn({ store });
  open.push(h);
  return h;
}

async function withMessages(count: number): Promise<ImapHarness> {
  const h = await session();
  for (let i = 1; i <= count; i++) await h.appendMessage('INBOX', message({ subject: `m${i}` }));
  await h.command('s1 SELECT INBOX');
  return h;
}

describe('expunges made elsewhere', () => {
  it('are not reported during FETCH, STORE or SEARCH, but at the next NOOP', async () => {
    const h = await withMessages(3);
    const device = await h.store.sessionFor('alice');
    await device.storeFlags('INBOX', [2], { mode: 'add', flags: ['\\Deleted'] });
    await device.expunge('INBOX');
    const fetch = await h.command('f1 FETCH 1:3 UID');
    expect(fetch.text).not.toContain('EXPUNGE');
    expect(fetch.text).toContain('* 3 FETCH (UID 3)');
    expect((await h.command('f2 STORE 3 +FLAGS.SILENT (\\Seen)')).text).not.toContain('EXPUNGE');
    expect((await h.command('f3 SEARCH ALL')).lines[0]).toBe('* SEARCH 1 2 3');
    expect((await h.command('f4 NOOP')).text).toBe('* 2 EXPUNGE\r\nf4 OK NOOP completed\r\n');
    expect((await h.command('f5 FETCH 1:* UID')).lines.slice(0, 2)).toEqual(['* 1 FETCH (UID 1)', '* 2 FETCH (UID 3)']);
  });

  it('are reported during UID FETCH (no sequence numbers are at stake)', async () => {
    const h = await withMessages(2);
    const device = await h.store.sessionFor('alice');
    await device.storeFlags('INBOX', [1], { mode: 'add', flags: ['\\Deleted'] });
    await device.expunge('INBOX');
    // The doomed message is still in this session's view until the EXPUNGE is sent with the reply.
    expect((await h.command('u1 UID FETCH 1:* UID')).text).toBe('* 1 FETCH (UID 1)\r\n* 2 FETCH (UID 2)\r\n* 1 EXPUNGE\r\nu1 OK FETCH completed\r\n');
  });

  it('FETCH of a message whose content is gone after an expunge elsewhere says EXPUNGEISSUED', async () => {
    const h = await withMessages(1);
    const device = await h.store.sessionFor('alice');
    await device.storeFlags('INBOX', [1], { mode: 'add', flags: ['\\Deleted'] });
    await device.expunge('INBOX');
    // Content stays readable in the memory backend; the fetch of the doomed message still works.
    expect((await h.command('x1 FETCH 1 BODY.PEEK[HEADER.FIELDS (Subject)]')).tagged).toBe('x1 OK FETCH completed');
  });
});

describe('flag changes and new messages from elsewhere', () => {
  it('arrive as FETCH FLAGS and EXISTS/RECENT at the next command', async () => {
    const h = await withMessages(2);
    const device = await h.store.sessionFor('alice');
    await device.storeFlags('INBOX', [1], { mode: 'add', flags: ['\\Flagged'] });
    await h.appendMessage('INBOX', message({ subject: 'new' }));
    expect((await h.command('n1 NOOP')).text).toBe('* 3 EXISTS\r\n* 3 RECENT\r\n* 1 FETCH (UID 1 FLAGS (\\Flagged \\Recent))\r\nn1 OK NOOP completed\r\n');
  });

  it('a new message is announced before FETCH 1:* and SEARCH ALL, which then include it (a client polling with FETCH sees it one FETCH sooner)', async () => {
    const h = await withMessages(2);
    await h.appendMessage('INBOX', message({ subject: 'new' }));
    expect((await h.command('f1 FETCH 1:* UID')).text).toBe('* 3 EXISTS\r\n* 3 RECENT\r\n* 1 FETCH (UID 1)\r\n* 2 FETCH (UID 2)\r\n* 3 FETCH (UID 3)\r\nf1 OK FETCH completed\r\n');
    await h.appendMessage('INBOX', message({ subject: 'newer' }));
    expect((await h.command('f2 SEARCH ALL')).text).toBe('* 4 EXISTS\r\n* 4 RECENT\r\n* SEARCH 1 2 3 4\r\nf2 OK SEARCH completed\r\n');
  });

  it('\\Recent goes to the first session that sees a message, not to the next one', async () => {
    const store = newStore();
    const first = await session(store);
    const second = await session(store);
    await first.command('a1 SELECT INBOX');
    await second.command('b1 SELECT INBOX');
    await first.appendMessage('INBOX', message());
    expect((await first.command('a2 NOOP')).text).toBe('* 1 EXISTS\r\n* 1 RECENT\r\na2 OK NOOP completed\r\n');
    expect((await second.command('b2 NOOP')).text).toBe('* 1 EXISTS\r\n* 0 RECENT\r\nb2 OK NOOP completed\r\n');
    expect((await first.command('a3 FETCH 1 FLAGS')).lines[0]).toBe('* 1 FETCH (FLAGS (\\Recent))');
    expect((await second.command('b3 FETCH 1 FLAGS')).lines[0]).toBe('* 1 FETCH (FLAGS ())');
    const third = await session(store);
    expect((await third.command('c1 SELECT INBOX')).text).toContain('* 0 RECENT');
  });

  it('a mailbox deleted elsewhere ends the session with BYE', async () => {
    const h = await session();
    await h.command('c0 CREATE Doomed');
    await h.command('c1 SELECT Doomed');
    await (await h.store.sessionFor('alice')).deleteFolder('Doomed');
    const reply = await h.command('c2 NOOP');
    expect(reply.text).toBe('* BYE The selected mailbox was deleted or renamed elsewhere; reconnect to continue\r\nc2 OK NOOP completed\r\n');
    await h.settle();
    expect(h.closed).toBe(true);
  });
});

describe('IDLE', () => {
  it('pushes a new message at once, then DONE ends it with OK', async () => {
    const h = await withMessages(1);
    expect((await h.command('i1 IDLE', /\+ idling\r\n/)).text).toBe('+ idling\r\n');
    await h.appendMessage('INBOX', message({ subject: 'pushed' }));
    expect(await h.waitFor(/RECENT\r\n/)).toBe('* 2 EXISTS\r\n* 2 RECENT\r\n');
    h.take();
    const device = await h.store.sessionFor('alice');
    await device.storeFlags('INBOX', [1], { mode: 'add', flags: ['\\Deleted'] });
    await device.expunge('INBOX');
    expect(await h.waitFor(/EXPUNGE\r\n/)).toBe('* 1 FETCH (UID 1 FLAGS (\\Deleted \\Recent))\r\n* 1 EXPUNGE\r\n');
    expect((await h.command('DONE', /i1 /)).text).toBe('i1 OK IDLE terminated\r\n');
    expect((await h.command('i2 NOOP')).tagged).toBe('i2 OK NOOP completed');
  });

  it('reports changes that happened before IDLE first', async () => {
    const h = await withMessages(1);
    await h.appendMessage('INBOX', message());
    expect((await h.command('i1 IDLE', /\+ idling\r\n/)).text).toBe('* 2 EXISTS\r\n* 2 RECENT\r\n+ idling\r\n');
    await h.command('DONE', /i1 OK/);
  });

  it('works in the authenticated state, and ends with BAD on anything but DONE', async () => {
    const h = await session();
    await h.command('i1 IDLE', /\+ idling\r\n/);
    expect((await h.command('i2 NOOP', /i1 /)).text).toBe('i1 BAD Expected DONE to end IDLE\r\n');
  });

  it('times out with BYE after 30 minutes', async () => {
    const h = await withMessages(0);
    await h.command('i1 IDLE', /\+ idling\r\n/);
    h.clock.advance(30 * 60_000);
    expect(await h.waitFor(/BYE/)).toBe('* BYE Autologout: IDLE for too long\r\n');
  });

  it('pipelined DONE right after IDLE is honoured', async () => {
    const h = await withMessages(0);
    h.take();
    h.send('i1 IDLE\r\nDONE\r\ni2 NOOP\r\n');
    expect(await h.waitFor(/i2 OK/)).toBe('+ idling\r\ni1 OK IDLE terminated\r\ni2 OK NOOP completed\r\n');
  });
});
