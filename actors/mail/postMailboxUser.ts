// One logged-in user's mail on this node, shared by all of the user's sessions here (IMAP connections,
// the notifier): the unlocked keys, the folder index log, the open folder logs, and the change feed.
//
// Freshness: every log this node has open is watched through the HeadWatch port; a notice about a
// newer head (another device wrote it) makes the log catch up, and its changes reach the watchers.
// Without notices (a lost message), SELECT, STATUS and LIST re-read the heads they use, and a write
// that loses its compare-and-swap catches up by itself.
//
// Ordering duty: a folder's watchers hear each change after its head is stored, in modseq order,
// whether this node or another device made it.
import type { FolderChange } from '../../mail/backend';
import { MailBackendError } from '../../mail/backend';
import type { Clock, Random } from '../../infra/ports';
import { MAILBOX_OPEN_FOLDERS_MAX } from '../../protocol/limits';
import type { StorageApi } from '../../storage/api';
import { diffFolderStates, eventsOfChange } from '../../storage/folders/folderEvents';
import type { FolderIndexState } from '../../storage/folders/folderIndexModel';
import type { FolderEntry, FolderIndexChange } from '../../storage/folders/folderIndexOps';
import { ensureDefaultFolders, type FolderIndexLog, type FolderLog, openFolderIndex, openFolderLog, readFolderSummary } from '../../storage/folders/folderLogs';
import type { FolderChangeRecord } from '../../storage/folders/folderOps';
import type { FolderState, FolderSummary } from '../../storage/folders/folderState';
import type { HeadMarks } from '../../storage/log/headMarks';
import type { HeadWatch, HeadWatchSubscription } from '../../storage/log/headWatch';
import type { LogActors, LogDeps, LogEvent } from '../../storage/log/logWriter';
import { standaloneLogActors } from '../../machines/logAppend.machine';
import type { UnlockedUser } from '../../storage/users/unlockedUser';
import { folderChangeOf } from './postMailboxViews';

export interface MailboxDeps {
  readonly storage: StorageApi;
  /** The storage client that inserts as this user (quota, scoped insertion); `storage` when absent. */
  readonly storageFor?: (user: UnlockedUser) => StorageApi;
  readonly clock: Clock;
  readonly random: Random;
  readonly headWatch: HeadWatch;
  readonly marks: HeadMarks;
  /** Where a user's log actors live (the node's logWriter); standalone actors when absent. */
  readonly logActors?: (user: UnlockedUser) => LogActors;
  /** The organisation's per-user mail storage limit (IMAP QUOTA); none when absent. */
  readonly mailQuotaBytes?: number;
}

type Watcher = (change: FolderChange) => void;

export class UserMailbox {
  /** Committed folder index, mirrored synchronously from the index log's events. */
  private folders = new Map<string, FolderEntry>();
  private subscribed = new Set<string>();
  /** Open folder logs by folder id, least recently used first. */
  private readonly writers = new Map<string, Promise<FolderLog>>();
  private readonly watchers = new Map<string, Set<Watcher>>();
  private readonly headSubscriptions: HeadWatchSubscription[] = [];
  private readonly folderSubscriptions = new Map<string, HeadWatchSubscription>();
  /** \Recent: the highest UID some session of this node claimed, per folder id (node-local, like IMAP's notion). */
  readonly recentWatermarks = new Map<string, number>();
  sessions = 0;
  /** Storage as this user: message data and logs. */
  readonly storage: StorageApi;

  private constructor(
    readonly deps: MailboxDeps,
    readonly user: UnlockedUser,
    readonly logDeps: LogDeps,
    readonly index: FolderIndexLog,
  ) {
    this.storage = logDeps.storage;
    index.subscribe((event) => this.onIndexEvent(event));
    this.headSubscriptions.push(deps.headWatch.subscribe(index.address.objectId, (seq) => void index.refreshIfNewer(seq).catch(() => undefined)));
  }

  static async open(deps: MailboxDeps, user: UnlockedUser): Promise<UserMailbox> {
    const pause = (delayMs: number) => new Promise<void>((resolve) => deps.clock.setTimeout(resolve, delayMs));
    const actors = deps.logActors?.(user) ?? standaloneLogActors;
    const logDeps: LogDeps = { storage: deps.storageFor?.(user) ?? deps.storage, signing: user.signing, random: deps.random, pause, marks: deps.marks, headWatch: deps.headWatch, actors };
    const index = await openFolderIndex(logDeps, user, user.folderIndexLog);
    const mailbox = new UserMailbox(deps, user, logDeps, index);
    await ensureDefaultFolders(index, deps.random);
    await index.read((state) => mailbox.mirror(state));
    return mailbox;
  }

  // ---- the folder index ----------------------------------------------------------------------------

  private mirror(state: FolderIndexState): void {
    this.folders = new Map(state.byName);
    this.subscribed = new Set(state.subscriptions);
  }

  private onIndexEvent(event: LogEvent<FolderIndexState, FolderIndexChange>): void {
    const gone: { folderId: string; deleted: boolean }[] = [];
    if (event.kind === 'changes') {
      for (const c of event.changes) {
        if (c.type === 'rename') for (const m of c.moves) gone.push({ folderId: m.entry.folderId, deleted: false });
        if (c.type === 'delete' && c.entry) gone.push({ folderId: c.entry.folderId, deleted: true });
      }
      this.mirror(event.state);
    } else {
      for (const [folderId, entry] of event.before.byId) {
        const now = event.after.byId.get(folderId);
        if (now?.name !== entry.name) gone.push({ folderId, deleted: now === undefined });
      }
      this.mirror(event.after);
    }
    for (const { folderId, deleted } of gone) this.folderGone(folderId, deleted);
  }

  /** A selected folder was renamed away or deleted: its sessions must leave it (FolderChange 'gone'). */
  private folderGone(folderId: string, deleted: boolean): void {
    const set = this.watchers.get(folderId);
    this.watchers.delete(folderId);
    for (const watcher of set ?? []) safely(watcher, { kind: 'gone' });
    if (deleted) this.closeWriter(folderId);
  }

  entry(name: string): FolderEntry | undefined {
    return this.folders.get(name);
  }

  entries(): FolderEntry[] {
    return [...this.folders.values()];
  }

  isSubscribed(name: string): boolean {
    return this.subscribed.has(name);
  }

  subscriptions(): string[] {
    return [...this.subscribed];
  }

  /** The folder called `name`, re-reading the index once if it is not known here (another device may have just created it). */
  async requireEntry(name: string): Promise<FolderEntry> {
    let entry = this.folders.get(name);
    if (!entry) {
      await this.index.refresh();
      entry = this.folders.get(name);
    }
    if (!entry) throw new MailBackendError('NO_SUCH_FOLDER', `folder "${name}" does not exist`);
    return entry;
  }

  async ensureDefaults(): Promise<void> {
    await ensureDefaultFolders(this.index, this.deps.random);
  }

  // ---- folder logs ---------------------------------------------------------------------------------

  /** The folder's log, opened once and shared; `fresh` re-reads its head first (SELECT, STATUS). */
  async folder(entry: FolderEntry, fresh = false): Promise<FolderLog> {
    const cached = this.writers.get(entry.folderId);
    if (cached) {
      this.writers.delete(entry.folderId);
      this.writers.set(entry.folderId, cached);
      const log = await cached;
      if (fresh) await log.refresh();
      return log;
    }
    const opening = openFolderLog(this.logDeps, this.user, entry.folderId);
    this.writers.set(entry.folderId, opening);
    opening.catch(() => this.writers.get(entry.folderId) === opening && this.writers.delete(entry.folderId));
    const log = await opening;
    log.subscribe((event) => this.onFolderEvent(entry.folderId, event));
    this.folderSubscriptions.set(
      entry.folderId,
      this.deps.headWatch.subscribe(log.address.objectId, (seq) => void log.refreshIfNewer(seq).catch(() => undefined)),
    );
    this.evictIdle();
    return log;
  }

  /** The counters of a folder: from its open log, or from its head alone. */
  async summary(entry: FolderEntry, fresh: boolean): Promise<FolderSummary> {
    const open = this.writers.get(entry.folderId);
    if (open) return (await this.folder(entry, fresh)).summary;
    return readFolderSummary(this.storage, this.user, entry.folderId, this.deps.marks);
  }

  private onFolderEvent(folderId: string, event: LogEvent<FolderState, FolderChangeRecord>): void {
    const set = this.watchers.get(folderId);
    if (!set || set.size === 0) return;
    const events = event.kind === 'changes' ? event.changes.flatMap(eventsOfChange) : diffFolderStates(event.before, event.after);
    for (const e of events) {
      const change = folderChangeOf(e);
      for (const watcher of [...set]) safely(watcher, change);
    }
  }

  private closeWriter(folderId: string): void {
    void this.writers.get(folderId)?.then((log) => log.close(), () => undefined);
    this.writers.delete(folderId);
    this.folderSubscriptions.get(folderId)?.unsubscribe();
    this.folderSubscriptions.delete(folderId);
  }

  /** Keep at most MAILBOX_OPEN_FOLDERS_MAX folder states in memory; watched folders stay. */
  private evictIdle(): void {
    for (const folderId of this.writers.keys()) {
      if (this.writers.size <= MAILBOX_OPEN_FOLDERS_MAX) return;
      if (!this.watchers.get(folderId)?.size) this.closeWriter(folderId);
    }
  }

  // ---- change feed ---------------------------------------------------------------------------------

  watch(entry: FolderEntry, watcher: Watcher): () => void {
    let set = this.watchers.get(entry.folderId);
    if (!set) this.watchers.set(entry.folderId, (set = new Set()));
    set.add(watcher);
    // Open (and watch) the log now, so changes from now on reach the watcher.
    void this.folder(entry).catch(() => undefined);
    return () => {
      set.delete(watcher);
      if (set.size === 0 && this.watchers.get(entry.folderId) === set) this.watchers.delete(entry.folderId);
    };
  }

  /** The last session left: stop listening for heads and drop the folder states. */
  release(): void {
    for (const s of this.headSubscriptions) s.unsubscribe();
    for (const folderId of [...this.writers.keys()]) this.closeWriter(folderId);
    this.watchers.clear();
  }
}

function safely(watcher: Watcher, change: FolderChange): void {
  try {
    watcher(change);
  } catch {
    // Watchers must not throw; one that does loses only its own notification.
  }
}
