// Several devices of one user (PostMailbox instances on different nodes sharing the ring's storage and
// head notices): a change made on one appears in another's change feed, folders and messages agree,
// and a notification is in INBOX exactly once.
import { ImapFlow } from 'imapflow';
import { describe, expect, it } from 'vitest';
import { startImapServer } from '../../../actors/mail/imapServer';
import type { FolderChange, FolderListChange, MailUserSession } from '../../../mail/backend';
import { SimRandom } from '../../../infra/sim/random';
import { LOG_CATCH_UP_ENTRIES_MAX, LOG_PENDING_OPS_MAX, LOG_SNAPSHOT_ENTRIES_MAX, MAILBOX_FRESH_MS, MAILBOX_VISITOR_FRESH_MS } from '../../../protocol/limits';
import { insertOp, openFolderIndex, openFolderLog } from '../../../storage/folders/folderLogs';
import { login } from '../../../storage/users/login';
import { testCa, TestClock } from '../users/fixtures';
import { memoryLog } from '../imap/testLog';
import { MemoryLog } from '../../../infra/log';
import { ManualClock, wallClock } from '../imap/manualClock';
import { ring, USERS } from './fixtures';
import { nextTurn, untilTrue } from '../turns';

const raw = (subject: string) => Buffer.from(`From: a@example.org\r\nTo: alice@lab.example\r\nSubject: ${subject}\r\n\r\nHello.\r\n`);
const [alice] = USERS;

/** Until `check` holds: the ring's storage is in memory, so what a change sets off finishes within turns. */
const eventually = (check: () => boolean | Promise<boolean>, what: string) => untilTrue(check, what);

async function twoDevices() {
  const r = await ring();
  const phone = await (await r.node('phone')).authenticator.authenticate(alice.username, alice.password);
  const laptop = await (await r.node('laptop')).authenticator.authenticate(alice.username, alice.password);
  return { r, phone, laptop };
}

const close = (...sessions: MailUserSession[]) => Promise.all(sessions.map((s) => s.close()));

describe('several devices of one user', () => {
  it("a change from a second device appears in the first device's watchFolder feed, in modseq order", async () => {
    const { phone, laptop } = await twoDevices();
    const changes: FolderChange[] = [];
    await laptop.openFolder('INBOX');
    const watch = laptop.watchFolder('INBOX', (c) => changes.push(c));
    const { uid } = await phone.append('INBOX', raw('from the phone'), [], 1_000);
    await eventually(() => changes.length === 1, 'the added message');
    await phone.storeFlags('INBOX', [uid], { mode: 'add', flags: ['\\Deleted'] });
    await phone.expunge('INBOX');
    await eventually(() => changes.length === 3, 'flag change and expunge');
    expect(changes.map((c) => c.kind)).toEqual(['added', 'flags', 'expunged']);
    const added = changes[0]!;
    if (added.kind !== 'added') throw new Error('expected added');
    expect(added.message.uid).toBe(uid);
    expect(Buffer.from(await laptop.readMessage(added.message.ref)).toString()).toContain('from the phone');
    const modseqs = changes.map((c) => (c.kind === 'added' ? c.message.modseq : c.kind === 'gone' || c.kind === 'renumbered' ? 0 : c.modseq));
    expect([...modseqs].sort((a, b) => a - b)).toEqual(modseqs);
    watch.close();
    await close(phone, laptop);
  });

  it("folders another device creates, renames, subscribes and deletes reach the first device's folder-list feed through head notices", async () => {
    const { phone, laptop } = await twoDevices();
    const changes: FolderListChange[] = [];
    laptop.watchFolderList((c) => changes.push(c));
    await phone.createFolder('Trips');
    await eventually(() => changes.length === 1, 'the created folder');
    await phone.renameFolder('Trips', 'Travel');
    await phone.setSubscribed('Travel', true);
    await phone.deleteFolder('Travel');
    await eventually(() => changes.length === 4, 'rename, subscribe and delete');
    expect(changes).toEqual([
      { kind: 'created', name: 'Trips' },
      { kind: 'renamed', from: 'Trips', to: 'Travel' },
      { kind: 'subscription', name: 'Travel', subscribed: true },
      { kind: 'deleted', name: 'Travel' },
    ]);
    // A folder the laptop watches because it was just told of it hears the phone's messages too.
    const feed: FolderChange[] = [];
    laptop.watchFolderList((c) => {
      if (c.kind === 'created' && c.name === 'Receipts') laptop.watchFolder('Receipts', (change) => feed.push(change));
    });
    await phone.createFolder('Receipts');
    await eventually(() => changes.length === 5, 'the second created folder');
    await phone.append('Receipts', raw('a receipt'), [], 0);
    await eventually(() => feed.length === 1, "the phone's message in the new folder");
    await close(phone, laptop);
  });

  it('without head notices, what a device has not confirmed for MAILBOX_FRESH_MS is re-read when used, and its watchers hear it', async () => {
    const { r, phone, laptop } = await twoDevices();
    await laptop.openFolder('INBOX');
    const changes: FolderChange[] = [];
    laptop.watchFolder('INBOX', (c) => changes.push(c));
    const publish = r.headWatch.publish.bind(r.headWatch);
    r.headWatch.publish = () => undefined; // every notice lost
    await phone.append('INBOX', raw('quiet'), ['\\Seen'], 0);
    await phone.createFolder('Projects/2025');
    // Commands answer from memory: no read of the ring while the log was confirmed lately.
    r.storage.resetCalls();
    expect((await laptop.openFolder('INBOX')).messages).toHaveLength(0);
    expect(r.storage.calls.getObject).toBe(0);
    r.clock.advance(MAILBOX_FRESH_MS);
    await laptop.openFolder('INBOX'); // re-reads in the background
    await eventually(() => changes.length === 1, 'the message the phone added, as an untagged change');
    expect((await laptop.openFolder('INBOX')).messages).toHaveLength(1);
    expect((await laptop.folderStatus('INBOX')).messages).toBe(1);
    await laptop.listFolders(); // the index, likewise
    await eventually(async () => (await laptop.listFolders()).some((f) => f.name === 'Projects/2025'), 'the folder the phone created');
    expect((await laptop.listFolders()).map((f) => f.name)).toEqual(expect.arrayContaining(['Projects', 'Projects/2025']));
    r.headWatch.publish = publish;
    await close(phone, laptop);
  });

  it('without head notices or commands, a watched folder is re-read by a timer: within the visitor bound on a node that does not host the user, the usual bound on its home', async () => {
    const clock = new ManualClock();
    const r = await ring(clock);
    const writer = await (await r.node('home', { hosts: () => true })).authenticator.authenticate(alice.username, alice.password);
    const idleAt = async (name: string, hosted: boolean) => {
      const session = await (await r.node(name, { hosts: () => hosted })).authenticator.authenticate(alice.username, alice.password);
      await session.openFolder('INBOX');
      const changes: FolderChange[] = [];
      session.watchFolder('INBOX', (c) => changes.push(c)); // an IDLE client: no command from now on
      return { session, changes };
    };
    const away = await idleAt('away', false);
    const second = await idleAt('second-home', true);
    r.headWatch.publish = () => undefined; // every notice lost
    await writer.append('INBOX', raw('written at home'), [], 0);
    const settle = nextTurn; // the re-reads a timer set off run before time moves on
    for (let waited = 0; waited <= MAILBOX_VISITOR_FRESH_MS * 1.5; waited += MAILBOX_VISITOR_FRESH_MS / 4) {
      clock.advance(MAILBOX_VISITOR_FRESH_MS / 4);
      await settle();
    }
    await eventually(() => away.changes.length === 1, 'the message, on the session away from home');
    expect(second.changes).toHaveLength(0);
    clock.advance(MAILBOX_FRESH_MS);
    await settle();
    clock.advance(MAILBOX_FRESH_MS / 2);
    await eventually(() => second.changes.length === 1, 'the message, on the home-hosted session, within 1.5 MAILBOX_FRESH_MS');
    await close(writer, away.session, second.session);
  });

  it('a watcher that throws loses only its own notification, and is reported in the log', async () => {
    const r = await ring();
    const log = new MemoryLog();
    const session = await (await r.node('laptop', { log })).authenticator.authenticate(alice.username, alice.password);
    await session.openFolder('INBOX');
    const heard: FolderChange[] = [];
    session.watchFolder('INBOX', () => {
      throw new TypeError('a bug in a session');
    });
    session.watchFolder('INBOX', (c) => heard.push(c));
    await session.append('INBOX', raw('still heard'), [], 0);
    await eventually(() => heard.length === 1, 'the change, on the watcher that did not throw');
    expect(log.entries().filter((e) => e.event === 'mailbox.watcher.failed').map((e) => String(e.error))).toEqual([expect.stringContaining('a bug in a session')]);
    await close(session);
  });

  it('a folder deleted or renamed on one device is gone for watchers on the other; UIDVALIDITY agrees', async () => {
    const { phone, laptop } = await twoDevices();
    const created = await phone.createFolder('Doomed');
    await phone.createFolder('Moving');
    const onLaptop = (await laptop.listFolders()).find((f) => f.name === 'Doomed')!;
    expect(onLaptop.uidValidity).toBe(created.uidValidity);
    const doomed: FolderChange[] = [];
    const moving: FolderChange[] = [];
    laptop.watchFolder('Doomed', (c) => doomed.push(c));
    laptop.watchFolder('Moving', (c) => moving.push(c));
    await phone.deleteFolder('Doomed');
    await phone.renameFolder('Moving', 'Moved');
    await eventually(() => doomed.length > 0 && moving.length > 0, 'gone');
    expect(doomed).toEqual([{ kind: 'gone' }]);
    expect(moving).toEqual([{ kind: 'gone' }]);
    await expect(laptop.openFolder('Doomed')).rejects.toMatchObject({ code: 'NO_SUCH_FOLDER' });
    expect((await laptop.openFolder('Moved')).folder.name).toBe('Moved');
    await close(phone, laptop);
  });

  it('both devices appending to INBOX at once: every message kept, UIDs unique, both agree', async () => {
    const { phone, laptop } = await twoDevices();
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? phone : laptop).append('INBOX', raw(`message ${i}`), [], i)),
    );
    const uids = results.map((r) => r.uid);
    expect(new Set(uids).size).toBe(40);
    // Each device catches up with the other's last head in the background (its notice): reads never wait.
    const view = async (d: typeof phone) => (await d.openFolder('INBOX')).messages.map((m) => [m.uid, m.ref]);
    await expect.poll(async () => (await view(phone)).length, { timeout: 5_000 }).toBe(40);
    await expect.poll(async () => (await view(laptop)).length, { timeout: 5_000 }).toBe(40);
    expect(await view(phone)).toEqual(await view(laptop));
    expect((await view(phone)).map(([uid]) => uid as number).sort((x, y) => x - y)).toEqual([...uids].sort((x, y) => x - y));
    await close(phone, laptop);
  });

  it('a notification delivered on two nodes (or twice) is in INBOX exactly once', async () => {
    const r = await ring();
    const nodeA = await r.node('a');
    const nodeB = await r.node('b');
    const sa = await nodeA.authenticator.authenticate(alice.username, alice.password);
    const sb = await nodeB.authenticator.authenticate(alice.username, alice.password);
    const ref = await r.storage.putData(raw('notified'));
    const delivery = { ref, sizeOctets: raw('notified').length, internalDateMs: 5, notificationId: 'n-42' };
    const [first, second, third] = await Promise.all([nodeA.deliver(alice.username, delivery), nodeB.deliver(alice.username, delivery), nodeA.deliver(alice.username, delivery)]);
    expect(second.uid).toBe(first.uid);
    expect(third.uid).toBe(first.uid);
    expect((await sa.openFolder('INBOX')).messages).toHaveLength(1);
    await expect(nodeA.deliver('bob@lab.example', delivery)).rejects.toMatchObject({ code: 'UNKNOWN_USER' });
    await close(sa, sb);
  });

  it('storage unreachable: operations fail UNAVAILABLE, then work again', async () => {
    const { r, phone } = await twoDevices();
    r.storage.unavailable = true;
    await expect(phone.append('INBOX', raw('x'), [], 0)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await expect(phone.openFolder('INBOX')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    r.storage.unavailable = false;
    await phone.append('INBOX', raw('x'), [], 0);
    expect((await phone.openFolder('INBOX')).messages).toHaveLength(1);
    await phone.close();
  });

  it('a device far behind (several snapshots) reloads from the snapshot and its watchers still get every change', async () => {
    const { r, laptop } = await twoDevices();
    await laptop.openFolder('Archive');
    const changes: FolderChange[] = [];
    laptop.watchFolder('Archive', (c) => changes.push(c));
    const publish = r.headWatch.publish.bind(r.headWatch);
    r.headWatch.publish = () => undefined; // the laptop hears nothing: a partition
    // Another device writes more than two snapshot periods of entries into Archive, directly on the log.
    const user = await login({ storage: r.storage, trust: await testCa(), address: alice.username, password: alice.password, clock: new TestClock() });
    const deps = { storage: r.storage, signing: user.signing, random: new SimRandom('bulk') };
    const folderId = await (await openFolderIndex(deps, user)).read((s) => s.byName.get('Archive')!.folderId);
    const archive = await openFolderLog(deps, user, folderId);
    const ref = await r.storage.putData(raw('bulk'));
    const entries = 2 * LOG_SNAPSHOT_ENTRIES_MAX + 10;
    for (let e = 0; e < entries; e++) {
      await archive.append(Array.from({ length: LOG_PENDING_OPS_MAX + 1 }, (_, k) => insertOp({ ref, sizeOctets: 50, flags: [], internalDateMs: 0, key: `bulk:${e}:${k}` })));
    }
    r.headWatch.publish = publish;
    const n = entries * (LOG_PENDING_OPS_MAX + 1);
    r.storage.resetCalls();
    r.clock.advance(MAILBOX_FRESH_MS);
    await laptop.folderStatus('Archive'); // not confirmed lately: re-read in the background
    await eventually(() => changes.length === n, 'every change of the reload');
    expect((await laptop.folderStatus('Archive')).messages).toBe(n);
    // Reloaded from the newest snapshot (a few blocks and its tail), not replayed entry by entry.
    expect(r.storage.calls.getBlock).toBeLessThan(LOG_CATCH_UP_ENTRIES_MAX + 20);
    expect(changes).toHaveLength(n);
    expect(changes.every((c) => c.kind === 'added')).toBe(true);
    const uids = changes.map((c) => (c.kind === 'added' ? c.message.uid : 0));
    expect(uids).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    await laptop.close();
  }, 60_000);
});

describe('a real IMAP client over the log-backed mailbox', () => {
  it('imapflow: login, append, fetch; IDLE sees a message appended by another device at once', async () => {
    const r = await ring(new ManualClock());
    const gateway = await r.node('gateway');
    const server = await startImapServer({ authenticator: gateway.authenticator, clock: wallClock, log: memoryLog(), port: 0 });
    const client = new ImapFlow({ host: '127.0.0.1', port: server.port, secure: false, auth: { user: alice.username, pass: alice.password }, logger: false });
    try {
      await client.connect();
      const folders = await client.list();
      expect(folders.map((f) => f.path)).toEqual(expect.arrayContaining(['INBOX', 'Sent', 'Drafts', 'Trash', 'Junk', 'Archive']));
      const appended = await client.append('INBOX', raw('over IMAP'), ['\\Seen']);
      expect(appended).toMatchObject({ uid: 1 });
      const lock = await client.getMailboxLock('INBOX');
      try {
        const m = await client.fetchOne('1', { source: true, flags: true, envelope: true });
        expect(m && m.envelope?.subject).toBe('over IMAP');
        const existsTwo = new Promise<void>((resolve) => client.on('exists', (data: { count: number }) => data.count === 2 && resolve()));
        const idling = client.idle();
        const phone = await (await r.node('phone')).authenticator.authenticate(alice.username, alice.password);
        await phone.append('INBOX', raw('pushed'), [], 0);
        await existsTwo; // the ring's clock never moves: no re-read timer can fire, only the head notice can tell
        await phone.close();
        void idling;
      } finally {
        lock.release();
      }
    } finally {
      await client.logout().catch(() => client.close());
      await server.close();
    }
  });
});
