// MailBackend port compliance: what every implementation (memory, log-backed) must do for the IMAP
// core to be correct. Call it from a test file with a factory:
//
//   describeMailBackendCompliance('memory', async () => { ...; return { authenticator, users } });
//
// The factory returns a fresh backend with the two users it names, each never logged in before.
import { describe, expect, it } from 'vitest';
import { MailBackendError, type FolderChange, type FolderListChange, type MailAuthenticator, type MailUserSession } from '../../../mail/backend';

export interface ComplianceBackend {
  readonly authenticator: MailAuthenticator;
  /** Two distinct users with their passwords. */
  readonly users: readonly [{ readonly username: string; readonly password: string }, { readonly username: string; readonly password: string }];
  /** Makes the backend fail UNAVAILABLE (or undefined if the backend cannot simulate it). */
  readonly setUnavailable?: (unavailable: boolean) => void;
  readonly dispose?: () => Promise<void>;
}

export type ComplianceFactory = () => Promise<ComplianceBackend>;

const raw = (subject: string, body = 'Body text.'): Uint8Array =>
  Buffer.from(`From: a@example.org\r\nTo: b@example.org\r\nSubject: ${subject}\r\n\r\n${body}\r\n`, 'utf8');

/** Waits (in real time, bounded: the log-backed runner delivers after crypto and I/O turns) until `check` holds. */
async function eventually(check: () => boolean, what: string, timeoutMs = 2_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function expectCode(promise: Promise<unknown>, code: MailBackendError['code']): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected MailBackendError ${code}`).toBeInstanceOf(MailBackendError);
  expect((error as MailBackendError).code).toBe(code);
}

export function describeMailBackendCompliance(name: string, factory: ComplianceFactory): void {
  describe(`MailBackend compliance: ${name}`, () => {
    async function login(): Promise<{ backend: ComplianceBackend; user: MailUserSession }> {
      const backend = await factory();
      const { username, password } = backend.users[0];
      return { backend, user: await backend.authenticator.authenticate(username, password) };
    }

    async function withUser(run: (user: MailUserSession, backend: ComplianceBackend) => Promise<void>): Promise<void> {
      const { backend, user } = await login();
      try {
        await run(user, backend);
      } finally {
        await user.close();
        await backend.dispose?.();
      }
    }

    it('authentication distinguishes wrong password, unknown user and success', async () => {
      const backend = await factory();
      const [first] = backend.users;
      await expectCode(backend.authenticator.authenticate(first.username, `${first.password}x`), 'WRONG_PASSWORD');
      await expectCode(backend.authenticator.authenticate('nobody-here', 'x'), 'UNKNOWN_USER');
      const user = await backend.authenticator.authenticate(first.username, first.password);
      expect(user.username.toLowerCase()).toBe(first.username.toLowerCase());
      await user.close();
      await backend.dispose?.();
    });

    it('authentication fails UNAVAILABLE while storage is unreachable', async () => {
      const backend = await factory();
      if (!backend.setUnavailable) return;
      backend.setUnavailable(true);
      await expectCode(backend.authenticator.authenticate(backend.users[0].username, backend.users[0].password), 'UNAVAILABLE');
      backend.setUnavailable(false);
      await backend.dispose?.();
    });

    it('INBOX and the five special-use folders exist from the first login, subscribed', () =>
      withUser(async (user) => {
        const folders = await user.listFolders();
        const byName = new Map(folders.map((f) => [f.name, f]));
        expect(byName.has('INBOX')).toBe(true);
        const special = folders.filter((f) => f.specialUse).map((f) => f.specialUse).sort();
        expect(special).toEqual(['\\Archive', '\\Drafts', '\\Junk', '\\Sent', '\\Trash']);
        for (const folder of folders) {
          expect(folder.uidValidity).toBeGreaterThan(0);
          expect(folder.uidValidity).toBeLessThanOrEqual(0xffffffff);
          expect(folder.uidNext).toBeGreaterThanOrEqual(1);
        }
        expect(await user.listSubscriptions()).toContain('INBOX');
      }));

    it('append assigns ascending UIDs and modseqs; status and openFolder agree', () =>
      withUser(async (user) => {
        const a = await user.append('INBOX', raw('one'), ['\\Seen'], 1_000);
        const b = await user.append('INBOX', raw('two'), ['$Label1'], 2_000);
        expect(b.uid).toBeGreaterThan(a.uid);
        expect(b.uidValidity).toBe(a.uidValidity);
        const snapshot = await user.openFolder('INBOX');
        expect(snapshot.messages.map((m) => m.uid)).toEqual([a.uid, b.uid]);
        const [first, second] = snapshot.messages;
        expect(second!.modseq).toBeGreaterThan(first!.modseq);
        expect(snapshot.folder.highestModseq).toBeGreaterThanOrEqual(second!.modseq);
        expect(first!.flags).toEqual(['\\Seen']);
        expect(first!.internalDateMs).toBe(1_000);
        expect(first!.sizeOctets).toBe(raw('one').length);
        expect(Buffer.from(await user.readMessage(first!.ref)).toString()).toBe(Buffer.from(raw('one')).toString());
        const status = await user.folderStatus('INBOX');
        expect(status.messages).toBe(2);
        expect(status.unseen).toBe(1);
        expect(status.uidNext).toBeGreaterThan(b.uid);
      }));

    it('append to a missing folder fails NO_SUCH_FOLDER', () =>
      withUser(async (user) => {
        await expectCode(user.append('Nope', raw('x'), [], 0), 'NO_SUCH_FOLDER');
      }));

    it('create makes missing superiors; duplicates fail FOLDER_EXISTS', () =>
      withUser(async (user) => {
        await user.createFolder('Projects/2024/Q1');
        const names = (await user.listFolders()).map((f) => f.name);
        expect(names).toEqual(expect.arrayContaining(['Projects', 'Projects/2024', 'Projects/2024/Q1']));
        await expectCode(user.createFolder('Projects'), 'FOLDER_EXISTS');
      }));

    it('a recreated folder gets a new uidValidity', () =>
      withUser(async (user) => {
        const first = await user.createFolder('Temp');
        await user.deleteFolder('Temp');
        const second = await user.createFolder('Temp');
        expect(second.uidValidity).not.toBe(first.uidValidity);
      }));

    it('delete refuses INBOX and folders with children, and missing folders', () =>
      withUser(async (user) => {
        await user.createFolder('Parent/Child');
        await expectCode(user.deleteFolder('INBOX'), 'CANNOT');
        await expectCode(user.deleteFolder('Parent'), 'FOLDER_HAS_CHILDREN');
        await expectCode(user.deleteFolder('Missing'), 'NO_SUCH_FOLDER');
        await user.deleteFolder('Parent/Child');
        await user.deleteFolder('Parent');
        expect((await user.listFolders()).map((f) => f.name)).not.toContain('Parent');
      }));

    it('rename moves inferiors and keeps messages', () =>
      withUser(async (user) => {
        await user.createFolder('Old/Sub');
        await user.append('Old/Sub', raw('kept'), [], 0);
        await user.renameFolder('Old', 'New/Place');
        const names = (await user.listFolders()).map((f) => f.name);
        expect(names).toEqual(expect.arrayContaining(['New', 'New/Place', 'New/Place/Sub']));
        expect(names).not.toContain('Old');
        expect((await user.openFolder('New/Place/Sub')).messages).toHaveLength(1);
        await expectCode(user.renameFolder('Missing', 'X'), 'NO_SUCH_FOLDER');
        await expectCode(user.renameFolder('New', 'INBOX'), 'FOLDER_EXISTS');
      }));

    it('renaming INBOX moves its messages to the new folder and leaves INBOX empty', () =>
      withUser(async (user) => {
        await user.append('INBOX', raw('a'), [], 0);
        await user.append('INBOX', raw('b'), ['\\Flagged'], 0);
        await user.renameFolder('INBOX', 'Saved');
        expect((await user.openFolder('INBOX')).messages).toHaveLength(0);
        const saved = await user.openFolder('Saved');
        expect(saved.messages).toHaveLength(2);
        expect(saved.messages[1]!.flags).toContain('\\Flagged');
      }));

    it('subscriptions are independent of existence', () =>
      withUser(async (user) => {
        await user.createFolder('Sub');
        await user.setSubscribed('Sub', true);
        expect((await user.listFolders()).find((f) => f.name === 'Sub')!.subscribed).toBe(true);
        await user.deleteFolder('Sub');
        expect(await user.listSubscriptions()).toContain('Sub');
        await user.setSubscribed('Sub', false);
        expect(await user.listSubscriptions()).not.toContain('Sub');
      }));

    it('storeFlags adds, removes, replaces; unchanged messages keep their modseq', () =>
      withUser(async (user) => {
        const { uid } = await user.append('INBOX', raw('f'), [], 0);
        const added = await user.storeFlags('INBOX', [uid], { mode: 'add', flags: ['\\Seen', 'Work'] });
        expect(added.changed).toHaveLength(1);
        expect([...added.changed[0]!.flags].sort()).toEqual(['Work', '\\Seen']);
        const modseq = added.changed[0]!.modseq;
        const again = await user.storeFlags('INBOX', [uid], { mode: 'add', flags: ['\\Seen'] });
        expect(again.changed).toHaveLength(0);
        expect((await user.openFolder('INBOX')).messages[0]!.modseq).toBe(modseq);
        const removed = await user.storeFlags('INBOX', [uid], { mode: 'remove', flags: ['work'] });
        expect(removed.changed[0]!.flags).toEqual(['\\Seen']);
        const replaced = await user.storeFlags('INBOX', [uid], { mode: 'replace', flags: ['\\Flagged'] });
        expect(replaced.changed[0]!.flags).toEqual(['\\Flagged']);
        expect(replaced.changed[0]!.modseq).toBeGreaterThan(modseq);
      }));

    it('storeFlags with unchangedSince fails messages modified later (CONDSTORE)', () =>
      withUser(async (user) => {
        const a = await user.append('INBOX', raw('a'), [], 0);
        const b = await user.append('INBOX', raw('b'), [], 0);
        const before = (await user.openFolder('INBOX')).folder.highestModseq;
        await user.storeFlags('INBOX', [b.uid], { mode: 'add', flags: ['\\Seen'] });
        const result = await user.storeFlags('INBOX', [a.uid, b.uid], { mode: 'add', flags: ['\\Flagged'], unchangedSince: before });
        expect(result.failed).toEqual([b.uid]);
        expect(result.changed.map((c) => c.uid)).toEqual([a.uid]);
      }));

    it('expunge removes only \\Deleted messages (within the given UIDs) and records them for QRESYNC', () =>
      withUser(async (user) => {
        const a = await user.append('INBOX', raw('a'), ['\\Deleted'], 0);
        const b = await user.append('INBOX', raw('b'), ['\\Deleted'], 0);
        const c = await user.append('INBOX', raw('c'), [], 0);
        const modseq = (await user.openFolder('INBOX')).folder.highestModseq;
        const only = await user.expunge('INBOX', [b.uid, c.uid]);
        expect(only.uids).toEqual([b.uid]);
        const rest = await user.expunge('INBOX');
        expect(rest.uids).toEqual([a.uid]);
        expect(rest.highestModseq).toBeGreaterThan(modseq);
        expect((await user.openFolder('INBOX')).messages.map((m) => m.uid)).toEqual([c.uid]);
        expect([...(await user.expungedSince('INBOX', modseq))].sort((x, y) => x - y)).toEqual([a.uid, b.uid]);
        expect(await user.expungedSince('INBOX', rest.highestModseq)).toEqual([]);
      }));

    it('copy maps source UIDs to new destination UIDs, keeping flags and dates', () =>
      withUser(async (user) => {
        const a = await user.append('INBOX', raw('a'), ['\\Flagged'], 5_000);
        const b = await user.append('INBOX', raw('b'), [], 6_000);
        const result = await user.copy('INBOX', [b.uid, a.uid, 999_999], 'Archive');
        const archive = await user.openFolder('Archive');
        expect(result.uidValidity).toBe(archive.folder.uidValidity);
        expect(result.mapping.map((m) => m.source)).toEqual([a.uid, b.uid]);
        expect(archive.messages.map((m) => m.uid)).toEqual(result.mapping.map((m) => m.target));
        expect(archive.messages[0]!.flags).toEqual(['\\Flagged']);
        expect(archive.messages[0]!.internalDateMs).toBe(5_000);
        expect((await user.openFolder('INBOX')).messages).toHaveLength(2);
        await expectCode(user.copy('INBOX', [a.uid], 'Missing'), 'NO_SUCH_FOLDER');
      }));

    it('move copies then expunges the sources', () =>
      withUser(async (user) => {
        const a = await user.append('INBOX', raw('a'), [], 0);
        const result = await user.move('INBOX', [a.uid], 'Trash');
        expect(result.mapping).toHaveLength(1);
        expect((await user.openFolder('INBOX')).messages).toHaveLength(0);
        expect((await user.openFolder('Trash')).messages).toHaveLength(1);
        await expectCode(user.move('Trash', [result.mapping[0]!.target], 'Nowhere'), 'NO_SUCH_FOLDER');
      }));

    it('move into the same folder gives new UIDs and removes the old ones (RFC 6851)', () =>
      withUser(async (user) => {
        const a = await user.append('INBOX', raw('a'), ['\\Flagged'], 7_000);
        const b = await user.append('INBOX', raw('b'), [], 8_000);
        const result = await user.move('INBOX', [a.uid], 'INBOX');
        expect(result.mapping).toHaveLength(1);
        expect(result.mapping[0]!.target).toBeGreaterThan(b.uid);
        const inbox = await user.openFolder('INBOX');
        expect(result.uidValidity).toBe(inbox.folder.uidValidity);
        expect(inbox.messages.map((m) => m.uid)).toEqual([b.uid, result.mapping[0]!.target]);
        expect(inbox.messages[1]!.flags).toEqual(['\\Flagged']);
        expect(inbox.messages[1]!.internalDateMs).toBe(7_000);
      }));

    it('quota, when offered, is the sum of the sizes of the user\'s messages in every folder', () =>
      withUser(async (user) => {
        if (!user.quota) return;
        const before = await user.quota();
        expect(before, 'the compliance users have a limit').toBeDefined();
        await user.append('INBOX', raw('one'), [], 0);
        await user.append('Archive', raw('two', 'a longer body'), [], 0);
        const after = (await user.quota())!;
        expect(after.usedBytes - before!.usedBytes).toBe(raw('one').length + raw('two', 'a longer body').length);
        expect(after.limitBytes).toBe(10_000_000);
      }));

    it('the change feed reports adds, flag changes, expunges and deletion, in modseq order', () =>
      withUser(async (user, backend) => {
        const changes: FolderChange[] = [];
        const watch = user.watchFolder('INBOX', (change) => changes.push(change));
        const other = await backend.authenticator.authenticate(backend.users[0].username, backend.users[0].password);
        const { uid } = await other.append('INBOX', raw('from another device'), [], 0);
        await other.storeFlags('INBOX', [uid], { mode: 'add', flags: ['\\Deleted'] });
        await other.expunge('INBOX');
        await eventually(() => changes.length >= 3, 'three changes');
        expect(changes.map((c) => c.kind)).toEqual(['added', 'flags', 'expunged']);
        const modseqs = changes.map((c) => (c.kind === 'added' ? c.message.modseq : c.kind === 'gone' || c.kind === 'renumbered' ? 0 : c.modseq));
        expect([...modseqs].sort((x, y) => x - y)).toEqual(modseqs);
        watch.close();
        // A watcher still open hears the next change: by then the closed one would have heard it too.
        const open: FolderChange[] = [];
        const still = user.watchFolder('INBOX', (change) => open.push(change));
        await other.append('INBOX', raw('after close'), [], 0);
        await eventually(() => open.length >= 1, 'the open watcher to hear the append');
        expect(changes).toHaveLength(3);
        still.close();

        await other.createFolder('Doomed');
        const doomed: FolderChange[] = [];
        user.watchFolder('Doomed', (change) => doomed.push(change));
        await other.deleteFolder('Doomed');
        await eventually(() => doomed.some((c) => c.kind === 'gone'), "the deleted folder's gone");
        await other.close();
      }));

    it('the folder-list feed reports creates (superiors first), renames with inferiors, deletes and subscription changes by another session, in order', () =>
      withUser(async (user, backend) => {
        const changes: FolderListChange[] = [];
        const watch = user.watchFolderList((change) => changes.push(change));
        const other = await backend.authenticator.authenticate(backend.users[0].username, backend.users[0].password);
        await other.createFolder('Work/Projects');
        await other.renameFolder('Work', 'Job');
        await other.setSubscribed('Job/Projects', true);
        await other.setSubscribed('Job/Projects', true); // no change: not reported
        await other.setSubscribed('Job/Projects', false);
        await other.deleteFolder('Job/Projects');
        const expected: FolderListChange[] = [
          { kind: 'created', name: 'Work' },
          { kind: 'created', name: 'Work/Projects' },
          { kind: 'renamed', from: 'Work', to: 'Job' },
          { kind: 'renamed', from: 'Work/Projects', to: 'Job/Projects' },
          { kind: 'subscription', name: 'Job/Projects', subscribed: true },
          { kind: 'subscription', name: 'Job/Projects', subscribed: false },
          { kind: 'deleted', name: 'Job/Projects' },
        ];
        await eventually(() => changes.length >= expected.length, 'seven folder-list changes');
        // Renames of one command may come in either order; everything else in the order applied.
        const sorted = (list: FolderListChange[]) => [...list.slice(0, 2), ...list.slice(2, 4).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))), ...list.slice(4)];
        expect(sorted(changes)).toEqual(expected);
        watch.close();
        const open: FolderListChange[] = [];
        user.watchFolderList((change) => open.push(change));
        await other.createFolder('After');
        await eventually(() => open.length >= 1, 'the open watcher to hear the create');
        expect(changes).toHaveLength(expected.length);
        await other.close();
      }));

    it("the folder-list feed reports this session's own changes, and renaming INBOX as a created folder", () =>
      withUser(async (user) => {
        const changes: FolderListChange[] = [];
        user.watchFolderList((change) => changes.push(change));
        await user.append('INBOX', raw('moves along'), [], 0);
        await user.createFolder('Mine');
        await user.renameFolder('INBOX', 'Old/Inbox');
        await eventually(() => changes.length >= 3, 'three folder-list changes');
        expect(changes).toEqual([
          { kind: 'created', name: 'Mine' },
          { kind: 'created', name: 'Old' },
          { kind: 'created', name: 'Old/Inbox' },
        ]);
      }));

    it('a folder-list watcher may watch a folder as soon as it is told it was created', () =>
      withUser(async (user, backend) => {
        const feed: FolderChange[] = [];
        let watching = false;
        user.watchFolderList((change) => {
          if (change.kind !== 'created' || change.name !== 'Fresh') return;
          user.watchFolder('Fresh', (c) => feed.push(c));
          watching = true;
        });
        const other = await backend.authenticator.authenticate(backend.users[0].username, backend.users[0].password);
        await other.createFolder('Fresh');
        await eventually(() => watching, 'the watcher to be told of the new folder');
        await other.append('Fresh', raw('first'), [], 0);
        await eventually(() => feed.length === 1, 'the message added to the new folder');
        expect(feed[0]!.kind).toBe('added');
        await other.close();
      }));

    it("a user's folder-list feed hears nothing of another user's folders", async () => {
      const backend = await factory();
      const [first, second] = backend.users;
      const a = await backend.authenticator.authenticate(first.username, first.password);
      const b = await backend.authenticator.authenticate(second.username, second.password);
      const heard: FolderListChange[] = [];
      b.watchFolderList((change) => heard.push(change));
      await a.createFolder('Private');
      await a.setSubscribed('Private', true);
      // b's own change, made after a's, is heard; a's never are.
      await b.createFolder('Mine');
      await eventually(() => heard.length >= 1, "b's own create");
      expect(heard).toEqual([{ kind: 'created', name: 'Mine' }]);
      await a.close();
      await b.close();
      await backend.dispose?.();
    });

    it('claimRecent hands each message to one claimer; a peek claims nothing', () =>
      withUser(async (user, backend) => {
        await user.append('INBOX', raw('r1'), [], 0);
        const peek = await user.claimRecent('INBOX', false);
        expect(peek.claimedThroughUid).toBeGreaterThan(peek.recentAfterUid);
        const first = await user.claimRecent('INBOX', true);
        expect(first.claimedThroughUid).toBeGreaterThan(first.recentAfterUid);
        const other = await backend.authenticator.authenticate(backend.users[0].username, backend.users[0].password);
        const second = await other.claimRecent('INBOX', true);
        expect(second.claimedThroughUid).toBe(second.recentAfterUid);
        expect((await user.folderStatus('INBOX')).recent).toBe(0);
        await other.close();
      }));

    it("users are isolated from each other's folders", async () => {
      const backend = await factory();
      const [first, second] = backend.users;
      const a = await backend.authenticator.authenticate(first.username, first.password);
      const b = await backend.authenticator.authenticate(second.username, second.password);
      await a.createFolder('Private');
      await a.append('INBOX', raw('for a'), [], 0);
      expect((await b.listFolders()).map((f) => f.name)).not.toContain('Private');
      expect((await b.openFolder('INBOX')).messages).toHaveLength(0);
      await a.close();
      await b.close();
      await backend.dispose?.();
    });
  });
}
