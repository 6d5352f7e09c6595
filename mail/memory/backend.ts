// In-memory MailBackend: the reference implementation of the port (see mail/backend.ts), used by
// the IMAP tests and by anyone who wants a gateway without a ring. Not durable.
import {
  MailBackendError,
  specialFolders,
  type AppendResult,
  type CopyResult,
  type ExpungeResult,
  type FlagUpdate,
  type FlagUpdateResult,
  type FolderChange,
  type FolderInfo,
  type FolderListChange,
  type FolderSnapshot,
  type FolderStatus,
  type FolderWatch,
  type MailAuthenticator,
  type MailUserSession,
  type MessageRef,
  type RecentClaim,
  type StorageQuota,
} from '../backend';
import { MemoryFolder } from './folder';

export interface MemoryMailStoreOptions {
  /** First UIDVALIDITY handed out; each new folder takes the next value. */
  readonly uidValidityStart?: number;
}

export interface MemoryUserOptions {
  /** Total message bytes the user may hold; appends and copies beyond it fail OVER_QUOTA. */
  readonly quotaBytes?: number;
  /** Folders the user may have; creating more fails LIMIT. */
  readonly foldersMax?: number;
}

class MemoryUser {
  readonly folders = new Map<string, MemoryFolder>();
  readonly subscriptions = new Set<string>();
  /** Every session's folder-list watchers (watchFolderList). */
  readonly listWatchers = new Set<(change: FolderListChange) => void>();
  initialised = false;
  constructor(
    readonly username: string,
    public password: string,
    readonly options: MemoryUserOptions,
  ) {}

  /** Tells every folder-list watcher; call once the folder map shows the change. */
  emitList(change: FolderListChange): void {
    for (const watcher of [...this.listWatchers]) {
      try {
        watcher(change);
      } catch {
        // A watcher must not throw; one that does loses only its own notification.
      }
    }
  }

  usedBytes(): number {
    let total = 0;
    for (const folder of this.folders.values()) for (const m of folder.messages.values()) total += m.sizeOctets;
    return total;
  }
}

function parentNames(name: string): string[] {
  const parts = name.split('/');
  return parts.slice(1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

function isInferior(name: string, of: string): boolean {
  return name.startsWith(`${of}/`);
}

/** Every user's mail, in memory. `authenticator` is what the IMAP server is given. */
export class MemoryMailStore {
  private readonly users = new Map<string, MemoryUser>();
  private readonly contents = new Map<MessageRef, Uint8Array>();
  private nextUidValidity: number;
  private nextRef = 1;
  /** When set, authenticate and every operation fail UNAVAILABLE (tests of outages). */
  unavailable = false;

  constructor(options: MemoryMailStoreOptions = {}) {
    this.nextUidValidity = options.uidValidityStart ?? 1;
  }

  addUser(username: string, password: string, options: MemoryUserOptions = {}): void {
    this.users.set(username.toLowerCase(), new MemoryUser(username, password, options));
  }

  readonly authenticator: MailAuthenticator = {
    authenticate: async (username, password) => {
      if (this.unavailable) throw new MailBackendError('UNAVAILABLE', 'mail storage is unreachable; try again shortly');
      const user = this.users.get(username.toLowerCase());
      if (!user) throw new MailBackendError('UNKNOWN_USER', `no user ${username}`);
      if (user.password !== password) throw new MailBackendError('WRONG_PASSWORD', 'wrong password');
      this.initialise(user);
      return new MemoryUserSession(this, user);
    },
  };

  /** Delivers a message as another device or the notifier would (tests inject changes this way). */
  async deliver(username: string, folder: string, raw: Uint8Array | string, flags: readonly string[] = [], internalDateMs = 0): Promise<AppendResult> {
    const user = this.userOrThrow(username);
    this.initialise(user);
    const bytes = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
    return this.appendTo(user, folder, bytes, flags, internalDateMs);
  }

  /** A session as if logged in elsewhere (another device): for tests that change state behind IMAP. */
  async sessionFor(username: string): Promise<MailUserSession> {
    const user = this.userOrThrow(username);
    this.initialise(user);
    return new MemoryUserSession(this, user);
  }

  private userOrThrow(username: string): MemoryUser {
    const user = this.users.get(username.toLowerCase());
    if (!user) throw new MailBackendError('UNKNOWN_USER', `no user ${username}`);
    return user;
  }

  checkAvailable(): void {
    if (this.unavailable) throw new MailBackendError('UNAVAILABLE', 'mail storage is unreachable; try again shortly');
  }

  private initialise(user: MemoryUser): void {
    if (user.initialised) return;
    user.initialised = true;
    this.newFolder(user, 'INBOX', undefined);
    user.subscriptions.add('INBOX');
    for (const special of specialFolders) {
      this.newFolder(user, special.name, special.specialUse);
      user.subscriptions.add(special.name);
    }
  }

  newFolder(user: MemoryUser, name: string, specialUse: MemoryFolder['specialUse']): MemoryFolder {
    if (user.options.foldersMax !== undefined && user.folders.size >= user.options.foldersMax) {
      throw new MailBackendError('LIMIT', `a user may have at most ${user.options.foldersMax} folders`);
    }
    const folder = new MemoryFolder(name, this.nextUidValidity++ >>> 0, specialUse);
    user.folders.set(name, folder);
    user.emitList({ kind: 'created', name });
    return folder;
  }

  storeContent(raw: Uint8Array): MessageRef {
    const ref = `mem:${this.nextRef++}`;
    this.contents.set(ref, raw);
    return ref;
  }

  content(ref: MessageRef): Uint8Array {
    const raw = this.contents.get(ref);
    if (!raw) throw new MailBackendError('INTERNAL', `message content ${ref} is missing`);
    return raw;
  }

  appendTo(user: MemoryUser, folderName: string, raw: Uint8Array, flags: readonly string[], internalDateMs: number): AppendResult {
    this.checkAvailable();
    const folder = folderOf(user, folderName);
    checkQuota(user, raw.length);
    const message = folder.add(this.storeContent(Uint8Array.from(raw)), raw.length, flags, internalDateMs);
    return { uidValidity: folder.uidValidity, uid: message.uid };
  }
}

function folderOf(user: MemoryUser, name: string): MemoryFolder {
  const folder = user.folders.get(name);
  if (!folder) throw new MailBackendError('NO_SUCH_FOLDER', `folder "${name}" does not exist`);
  return folder;
}

/** The messages of `uids` that exist in `folder`, each once, ascending (what COPY and MOVE act on). */
function existing(folder: MemoryFolder, uids: readonly number[]) {
  return [...new Set(uids)]
    .sort((a, b) => a - b)
    .map((uid) => folder.messages.get(uid))
    .filter((m) => m !== undefined);
}

function checkQuota(user: MemoryUser, addedBytes: number): void {
  const quota = user.options.quotaBytes;
  if (quota !== undefined && user.usedBytes() + addedBytes > quota) {
    throw new MailBackendError('OVER_QUOTA', `the mailbox is full (quota ${quota} bytes); delete some messages`);
  }
}

class MemoryUserSession implements MailUserSession {
  private closed = false;
  private readonly watches = new Set<() => void>();

  constructor(
    private readonly store: MemoryMailStore,
    private readonly user: MemoryUser,
  ) {}

  get username(): string {
    return this.user.username;
  }

  private ready(): void {
    if (this.closed) throw new MailBackendError('CANNOT', 'the session is closed');
    this.store.checkAvailable();
  }

  private folderInfo(folder: MemoryFolder): FolderInfo {
    return folder.info(this.user.subscriptions.has(folder.name));
  }

  async listFolders(): Promise<readonly FolderInfo[]> {
    this.ready();
    return [...this.user.folders.values()].map((f) => this.folderInfo(f));
  }

  async listSubscriptions(): Promise<readonly string[]> {
    this.ready();
    return [...this.user.subscriptions];
  }

  async createFolder(name: string): Promise<FolderInfo> {
    this.ready();
    if (this.user.folders.has(name)) throw new MailBackendError('FOLDER_EXISTS', `folder "${name}" already exists`);
    for (const parent of parentNames(name)) {
      if (!this.user.folders.has(parent)) this.store.newFolder(this.user, parent, undefined);
    }
    return this.folderInfo(this.store.newFolder(this.user, name, undefined));
  }

  async renameFolder(from: string, to: string): Promise<void> {
    this.ready();
    const source = folderOf(this.user, from);
    if (from === to) throw new MailBackendError('CANNOT', 'a folder cannot be renamed to its own name');
    if (this.user.folders.has(to)) throw new MailBackendError('FOLDER_EXISTS', `folder "${to}" already exists`);
    if (isInferior(to, from)) throw new MailBackendError('CANNOT', 'a folder cannot be moved inside itself');
    if (from === 'INBOX') {
      this.renameInbox(source, to);
      return;
    }
    const moving = [...this.user.folders.values()].filter((f) => f.name === from || isInferior(f.name, from));
    for (const folder of moving) {
      const newName = to + folder.name.slice(from.length);
      if (this.user.folders.has(newName) && newName !== folder.name) {
        throw new MailBackendError('FOLDER_EXISTS', `folder "${newName}" already exists`);
      }
    }
    for (const parent of parentNames(to)) {
      if (!this.user.folders.has(parent)) this.store.newFolder(this.user, parent, undefined);
    }
    const moves: { from: string; to: string }[] = [];
    for (const folder of moving) {
      const oldName = folder.name;
      const newName = to + oldName.slice(from.length);
      this.user.folders.delete(oldName);
      folder.gone();
      folder.name = newName;
      this.user.folders.set(newName, folder);
      if (this.user.subscriptions.delete(oldName)) this.user.subscriptions.add(newName);
      moves.push({ from: oldName, to: newName });
    }
    for (const move of moves) this.user.emitList({ kind: 'renamed', ...move });
  }

  private renameInbox(inbox: MemoryFolder, to: string): void {
    for (const parent of parentNames(to)) {
      if (!this.user.folders.has(parent)) this.store.newFolder(this.user, parent, undefined);
    }
    const target = this.store.newFolder(this.user, to, undefined);
    const messages = inbox.sorted();
    for (const m of messages) target.add(m.ref, m.sizeOctets, m.flags, m.internalDateMs);
    inbox.remove(messages.map((m) => m.uid));
  }

  async deleteFolder(name: string): Promise<void> {
    this.ready();
    if (name === 'INBOX') throw new MailBackendError('CANNOT', 'INBOX cannot be deleted');
    const folder = folderOf(this.user, name);
    if ([...this.user.folders.keys()].some((n) => isInferior(n, name))) {
      throw new MailBackendError('FOLDER_HAS_CHILDREN', `folder "${name}" has subfolders; delete them first`);
    }
    this.user.folders.delete(name);
    folder.gone();
    this.user.emitList({ kind: 'deleted', name });
  }

  async setSubscribed(name: string, subscribed: boolean): Promise<void> {
    this.ready();
    if (this.user.subscriptions.has(name) === subscribed) return;
    if (subscribed) this.user.subscriptions.add(name);
    else this.user.subscriptions.delete(name);
    this.user.emitList({ kind: 'subscription', name, subscribed });
  }

  async folderStatus(name: string): Promise<FolderStatus> {
    this.ready();
    const folder = folderOf(this.user, name);
    let unseen = 0;
    let recent = 0;
    for (const m of folder.messages.values()) {
      if (!m.flags.includes('\\Seen')) unseen++;
      if (m.uid > folder.recentWatermarkUid) recent++;
    }
    return { ...this.folderInfo(folder), messages: folder.messages.size, unseen, recent };
  }

  async openFolder(name: string): Promise<FolderSnapshot> {
    this.ready();
    const folder = folderOf(this.user, name);
    return { folder: this.folderInfo(folder), messages: folder.sorted().map((m) => folder.meta(m)) };
  }

  watchFolder(name: string, onChange: (change: FolderChange) => void): FolderWatch {
    const folder = folderOf(this.user, name);
    folder.watchers.add(onChange);
    const close = (): void => {
      folder.watchers.delete(onChange);
      this.watches.delete(close);
    };
    this.watches.add(close);
    return { close };
  }

  watchFolderList(onChange: (change: FolderListChange) => void): FolderWatch {
    // A fresh function per watch: the same callback watched twice is two watches.
    const watcher = (change: FolderListChange): void => onChange(change);
    this.user.listWatchers.add(watcher);
    const close = (): void => {
      this.user.listWatchers.delete(watcher);
      this.watches.delete(close);
    };
    this.watches.add(close);
    return { close };
  }

  async claimRecent(name: string, claim: boolean): Promise<RecentClaim> {
    this.ready();
    const folder = folderOf(this.user, name);
    const recentAfterUid = folder.recentWatermarkUid;
    const claimedThroughUid = folder.uidNext - 1;
    if (claim) folder.recentWatermarkUid = Math.max(folder.recentWatermarkUid, claimedThroughUid);
    return { recentAfterUid, claimedThroughUid };
  }

  async expungedSince(name: string, modseq: number): Promise<readonly number[]> {
    this.ready();
    const folder = folderOf(this.user, name);
    return folder.tombstones.filter((t) => t.modseq > modseq).map((t) => t.uid).sort((a, b) => a - b);
  }

  async append(folder: string, raw: Uint8Array, flags: readonly string[], internalDateMs: number): Promise<AppendResult> {
    this.ready();
    return this.store.appendTo(this.user, folder, raw, flags, internalDateMs);
  }

  async storeFlags(name: string, uids: readonly number[], update: FlagUpdate): Promise<FlagUpdateResult> {
    this.ready();
    return folderOf(this.user, name).storeFlags(uids, update);
  }

  async expunge(name: string, uids?: readonly number[]): Promise<ExpungeResult> {
    this.ready();
    const folder = folderOf(this.user, name);
    const only = uids ? new Set(uids) : undefined;
    const doomed = folder
      .sorted()
      .filter((m) => m.flags.includes('\\Deleted') && (!only || only.has(m.uid)))
      .map((m) => m.uid);
    return { uids: folder.remove(doomed), highestModseq: folder.highestModseq };
  }

  async copy(name: string, uids: readonly number[], destination: string): Promise<CopyResult> {
    this.ready();
    const source = folderOf(this.user, name);
    const target = folderOf(this.user, destination);
    const messages = existing(source, uids);
    checkQuota(this.user, messages.reduce((sum, m) => sum + m.sizeOctets, 0));
    const mapping = messages.map((m) => ({ source: m.uid, target: target.add(m.ref, m.sizeOctets, m.flags, m.internalDateMs).uid }));
    return { uidValidity: target.uidValidity, mapping };
  }

  async move(name: string, uids: readonly number[], destination: string): Promise<CopyResult> {
    this.ready();
    const source = folderOf(this.user, name);
    const target = folderOf(this.user, destination);
    // RFC 6851 allows a move into the same folder: new UIDs, the old ones expunged.
    const messages = existing(source, uids);
    const mapping = messages.map((m) => ({ source: m.uid, target: target.add(m.ref, m.sizeOctets, m.flags, m.internalDateMs).uid }));
    source.remove(messages.map((m) => m.uid));
    return { uidValidity: target.uidValidity, mapping };
  }

  async readMessage(ref: MessageRef): Promise<Uint8Array> {
    this.ready();
    return this.store.content(ref);
  }

  async quota(): Promise<StorageQuota | undefined> {
    this.ready();
    const limitBytes = this.user.options.quotaBytes;
    return limitBytes === undefined ? undefined : { usedBytes: this.user.usedBytes(), limitBytes };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const close of [...this.watches]) close();
  }
}
