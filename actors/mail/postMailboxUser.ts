// One logged-in user's mail on this node, shared by all of the user's sessions here (IMAP connections,
// the notifier): the unlocked keys, the folder index log, the open folder logs, and the change feed.
//
// Freshness: every log this node has open, and every folder whose counters it has shown, is watched
// through the HeadWatch port; a notice about a newer head (another device wrote it) makes the log catch
// up, and its changes reach the watchers. Commands therefore answer from memory, with no read of the
// ring (issue 11). Notices may be lost: a log not confirmed against storage for MAILBOX_FRESH_MS is
// re-read in the background when a command uses it (SELECT, STATUS, LIST) and, while a session watches
// its folder, by a timer (IDLE sends no commands); what that finds reaches the sessions as untagged
// updates; a write that loses its compare-and-swap catches up by itself. A user the node does not host
// (a session away from home) gets the shorter MAILBOX_VISITOR_FRESH_MS: its mail is written elsewhere.
//
// Ordering duty: a folder's watchers hear each change after its head is stored, in modseq order,
// whether this node or another device made it.
import type { FolderChange, FolderListChange } from '../../mail/backend';
import { MailBackendError } from '../../mail/backend';
import type { Clock, Log, Random, TimerHandle } from '../../infra/ports';
import { MAILBOX_FRESH_MS, MAILBOX_OPEN_FOLDERS_MAX, MAILBOX_VISITOR_FRESH_MS } from '../../protocol/limits';
import type { StorageApi } from '../../storage/api';
import { diffFolderStates, eventsOfChange } from '../../storage/folders/folderEvents';
import type { FolderIndexState } from '../../storage/folders/folderIndexModel';
import type { FolderEntry, FolderIndexChange } from '../../storage/folders/folderIndexOps';
import { ensureDefaultFolders, type FolderIndexLog, type FolderLog, folderLogAddress, folderPlacement, INBOX, newFolderId, openFolderIndex, openFolderLog, readFolderSummary } from '../../storage/folders/folderLogs';
import type { FolderChangeRecord } from '../../storage/folders/folderOps';
import type { FolderState, FolderSummary } from '../../storage/folders/folderState';
import type { HeadMarks } from '../../storage/log/headMarks';
import type { HeadWatch, HeadWatchSubscription } from '../../storage/log/headWatch';
import type { LogDeps, LogEvent, LogRegistry } from '../../storage/log/logWriter';
import type { UnlockedUser } from '../../storage/users/unlockedUser';
import { folderChangeOf, folderListChangesOf, folderListDiff } from './postMailboxViews';

export interface MailboxDeps {
  readonly storage: StorageApi;
  /** The storage client that inserts as this user (quota, scoped insertion); `storage` when absent. */
  readonly storageFor?: (user: UnlockedUser) => StorageApi;
  readonly clock: Clock;
  readonly random: Random;
  readonly headWatch: HeadWatch;
  readonly marks: HeadMarks;
  /** The node's registry of open logs (the logWriter). */
  readonly logRegistry?: LogRegistry;
  readonly log?: Log;
  /** The organisation's per-user mail storage limit (IMAP QUOTA); none when absent. */
  readonly mailQuotaBytes?: number;
  /** Whether this node hosts the user; a user it does not (a session away from home) is kept fresher. */
  readonly hosts?: (address: string) => boolean;
}

type Watcher = (change: FolderChange) => void;
type ListWatcher = (change: FolderListChange) => void;

export class UserMailbox {
  /** Committed folder index, mirrored synchronously from the index log's events. */
  private folders = new Map<string, FolderEntry>();
  private subscribed = new Set<string>();
  /** Open folder logs by folder id, least recently used first. */
  private readonly writers = new Map<string, Promise<FolderLog>>();
  private readonly watchers = new Map<string, Set<Watcher>>();
  /** Folder-list watchers of every session (IMAP NOTIFY): fed from the index log's events, local or remote. */
  private readonly listWatchers = new Set<ListWatcher>();
  private readonly headSubscriptions: HeadWatchSubscription[] = [];
  /** Head notices of folders, by folder id: for open logs and for folders whose counters are cached. */
  private readonly folderSubscriptions = new Map<string, HeadWatchSubscription>();
  /** Counters of folders that are not open, from their heads; dropped when a notice says the head moved. */
  private readonly summaries = new Map<string, { summary: FolderSummary; readAtMs: number }>();
  /** When each open log (by object id) was last known to match storage: opened, written, refreshed. */
  private readonly confirmedAtMs = new Map<string, number>();
  /** \Recent: the highest UID some session of this node claimed, per folder id (node-local, like IMAP's notion). */
  readonly recentWatermarks = new Map<string, number>();
  sessions = 0;
  /** Re-reads the watched folders that went unconfirmed too long (see keepWatchedFresh). */
  private freshnessTimer: TimerHandle | undefined;
  private released = false;
  /** Storage as this user: message data and logs. */
  readonly storage: StorageApi;

  private constructor(
    readonly deps: MailboxDeps,
    readonly user: UnlockedUser,
    readonly logDeps: LogDeps,
    readonly index: FolderIndexLog,
  ) {
    this.storage = logDeps.storage;
    this.confirm(index);
    index.subscribe((event) => this.onIndexEvent(event));
    this.headSubscriptions.push(deps.headWatch.subscribe(index.address.objectId, (seq) => this.onNotice(index, seq)));
  }

  // ---- freshness -------------------------------------------------------------------------------------

  private confirm(log: { address: { objectId: string } }): void {
    this.confirmedAtMs.set(log.address.objectId, this.deps.clock.now());
  }

  /** A head notice: catch up if it is news (the writer confirmed itself with its own write). */
  private onNotice(log: FolderIndexLog | FolderLog, seq: number): void {
    void (log as FolderLog)
      .refreshIfNewer(seq)
      .then(() => this.confirm(log))
      .catch((e: Error) => this.deps.log?.warn('mailbox.refresh.failed', { user: this.user.address, log: log.address.name, error: e.message }));
  }

  /**
   * How long a log may go unconfirmed here: MAILBOX_FRESH_MS, or MAILBOX_VISITOR_FRESH_MS where the node
   * does not host the user (the home or a standby writes most of its mail, known here only by notice).
   */
  private freshMs(): number {
    return this.deps.hosts && !this.deps.hosts(this.user.address) ? MAILBOX_VISITOR_FRESH_MS : MAILBOX_FRESH_MS;
  }

  /** Re-read a log in the background when it has not been confirmed against storage lately. */
  private keepFresh(log: FolderIndexLog | FolderLog): void {
    const at = this.confirmedAtMs.get(log.address.objectId) ?? 0;
    if (this.deps.clock.now() - at < this.freshMs()) return;
    this.confirm(log); // one background read at a time per log
    void (log as FolderLog)
      .refresh()
      .then(() => this.confirm(log))
      .catch((e: Error) => {
        this.confirmedAtMs.delete(log.address.objectId);
        this.deps.log?.warn('mailbox.refresh.failed', { user: this.user.address, log: log.address.name, error: e.message });
      });
  }

  /**
   * While some session watches a folder (selected, IDLE or not), its log is re-read when unconfirmed for
   * the fresh bound, checked every half bound: a lost notice delays what another node wrote by at most
   * about 1.5 bounds, even for a client that sends no commands.
   */
  private keepWatchedFresh(): void {
    if (this.freshnessTimer !== undefined || this.released || this.watchers.size === 0) return;
    this.freshnessTimer = this.deps.clock.setTimeout(() => {
      this.freshnessTimer = undefined;
      for (const folderId of this.watchers.keys()) void this.writers.get(folderId)?.then((log) => this.keepFresh(log), () => undefined);
      this.keepWatchedFresh();
    }, this.freshMs() / 2);
  }

  /** The folder index, as this node knows it (LIST); re-read in the background when not confirmed lately. */
  freshIndex(): FolderIndexLog {
    this.keepFresh(this.index);
    return this.index;
  }

  static async open(deps: MailboxDeps, user: UnlockedUser): Promise<UserMailbox> {
    const pause = (delayMs: number) => new Promise<void>((resolve) => deps.clock.setTimeout(resolve, delayMs));
    const logDeps: LogDeps = {
      storage: deps.storageFor?.(user) ?? deps.storage,
      signing: user.signing,
      random: deps.random,
      pause,
      marks: deps.marks,
      headWatch: deps.headWatch,
      ...(deps.logRegistry ? { registry: deps.logRegistry } : {}),
      onFork: (fork) => deps.log?.warn('log.fork.merged', { user: user.address, ...fork }),
      ...(deps.log ? { log: deps.log } : {}),
    };
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
    let listChanges: FolderListChange[];
    if (event.kind === 'changes') {
      for (const c of event.changes) {
        if (c.type === 'rename') for (const m of c.moves) gone.push({ folderId: m.entry.folderId, deleted: false });
        if (c.type === 'delete' && c.entry) gone.push({ folderId: c.entry.folderId, deleted: true });
      }
      this.mirror(event.state);
      listChanges = this.listWatchers.size > 0 ? folderListChangesOf(event.changes) : [];
    } else {
      for (const [folderId, entry] of event.before.byId) {
        const now = event.after.byId.get(folderId);
        if (now?.name !== entry.name) gone.push({ folderId, deleted: now === undefined });
      }
      this.mirror(event.after);
      listChanges = this.listWatchers.size > 0 ? folderListDiff(event.before, event.after) : [];
    }
    for (const { folderId, deleted } of gone) this.folderGone(folderId, deleted);
    // After the mirror: a watcher told of a new name may watch that folder at once.
    for (const change of listChanges) for (const watcher of [...this.listWatchers]) this.tellList(watcher, change);
  }

  /** Watch the folder list (create, delete, rename, subscribe), whoever changes it; returns the unwatch. */
  watchList(watcher: ListWatcher): () => void {
    this.listWatchers.add(watcher);
    return () => this.listWatchers.delete(watcher);
  }

  /** A selected folder was renamed away or deleted: its sessions must leave it (FolderChange 'gone'). */
  private folderGone(folderId: string, deleted: boolean): void {
    const set = this.watchers.get(folderId);
    this.watchers.delete(folderId);
    for (const watcher of set ?? []) this.tell(watcher, { kind: 'gone' });
    if (deleted) this.closeWriter(folderId);
  }

  entry(name: string): FolderEntry | undefined {
    return this.folders.get(name);
  }

  /** A fresh id for a folder being created: its log placed next to INBOX's (storage/folders/folderLogs.ts). */
  newFolderId(): string {
    return newFolderId(this.deps.random, folderPlacement(this.index.address, this.folders.get(INBOX)?.folderId));
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

  /**
   * The folder's log, opened once and shared. `fresh` (SELECT, STATUS, EXPUNGE): a log not confirmed
   * against storage lately is re-read in the background; the command answers from memory now.
   */
  async folder(entry: FolderEntry, fresh = false): Promise<FolderLog> {
    const cached = this.writers.get(entry.folderId);
    if (cached) {
      this.writers.delete(entry.folderId);
      this.writers.set(entry.folderId, cached);
      const log = await cached;
      if (fresh) this.keepFresh(log);
      return log;
    }
    const opening = openFolderLog(this.logDeps, this.user, entry.folderId);
    this.writers.set(entry.folderId, opening);
    opening.catch(() => this.writers.get(entry.folderId) === opening && this.writers.delete(entry.folderId));
    const log = await opening;
    this.confirm(log);
    this.summaries.delete(entry.folderId);
    log.subscribe((event) => {
      if (event.kind === 'changes' && event.origin === 'local') this.confirm(log);
      this.onFolderEvent(entry.folderId, event);
    });
    this.watchHead(entry.folderId, log.address.objectId);
    this.evictIdle();
    return log;
  }

  /** Head notices of one folder: an open log catches up; cached counters are dropped (read again when asked). */
  private watchHead(folderId: string, objectId: string): void {
    if (this.folderSubscriptions.has(folderId)) return;
    const onHead = (seq: number) => {
      const open = this.writers.get(folderId);
      if (open) void open.then((log) => this.onNotice(log, seq), () => undefined);
      else this.summaries.delete(folderId);
    };
    this.folderSubscriptions.set(folderId, this.deps.headWatch.subscribe(objectId, onHead));
  }

  /** The counters of a folder: from its open log, or from its head alone (cached while notices say it has not moved). */
  async summary(entry: FolderEntry, fresh: boolean): Promise<FolderSummary> {
    const open = this.writers.get(entry.folderId);
    if (open) return (await this.folder(entry, fresh)).summary;
    const cached = this.summaries.get(entry.folderId);
    if (cached && (!fresh || this.deps.clock.now() - cached.readAtMs < MAILBOX_FRESH_MS)) return cached.summary;
    const objectId = folderLogAddress(this.user, entry.folderId).objectId;
    this.watchHead(entry.folderId, objectId);
    const readAtMs = this.deps.clock.now();
    const summary = await readFolderSummary(this.storage, this.user, entry.folderId, this.deps.marks);
    if (!this.writers.has(entry.folderId)) this.summaries.set(entry.folderId, { summary, readAtMs });
    return summary;
  }

  private onFolderEvent(folderId: string, event: LogEvent<FolderState, FolderChangeRecord>): void {
    const set = this.watchers.get(folderId);
    if (!set || set.size === 0) return;
    const events = event.kind === 'changes' ? event.changes.flatMap(eventsOfChange) : diffFolderStates(event.before, event.after);
    for (const e of events) {
      const change = folderChangeOf(e);
      for (const watcher of [...set]) this.tell(watcher, change);
    }
  }

  private closeWriter(folderId: string): void {
    void this.writers.get(folderId)?.then((log) => {
      log.close();
      this.confirmedAtMs.delete(log.address.objectId);
    }, () => undefined);
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
    // Open (and watch) the log now, so changes from now on reach the watcher. If it cannot be opened
    // now, the session's next command opens it again (and reports why it cannot).
    void this.folder(entry).catch((e: Error) => this.deps.log?.warn('mailbox.watch.open_failed', { user: this.user.address, folder: entry.name, error: e.message }));
    this.keepWatchedFresh();
    return () => {
      set.delete(watcher);
      if (set.size === 0 && this.watchers.get(entry.folderId) === set) this.watchers.delete(entry.folderId);
    };
  }

  /** The last session left: stop listening for heads and drop the folder states. */
  /**
   * Catch every open log up with its newest head before the mailbox is put away: a log this node wrote
   * on the losing side of a fork carries its entries over now, while it still can (LogWriter.reconcile).
   */
  async reconcile(): Promise<void> {
    const logs = await this.openLogs();
    await Promise.all(
      logs.map((log) => log.reconcile().catch((e: Error) => this.deps.log?.warn('mailbox.reconcile.failed', { user: this.user.address, log: log.address.name, error: e.message }))),
    );
  }

  private async openLogs(): Promise<(FolderIndexLog | FolderLog)[]> {
    const logs: (FolderIndexLog | FolderLog)[] = [this.index];
    for (const opening of this.writers.values()) {
      const log = await opening.catch(() => undefined);
      if (log) logs.push(log);
    }
    return logs;
  }

  /** Settle a fork left at the newest sequence of each open log (LogWriter.settleForks); failures are logged. */
  async settleForks(): Promise<void> {
    for (const log of await this.openLogs()) {
      await log.settleForks().catch((e: Error) => this.deps.log?.warn('mailbox.fork.settle.failed', { user: this.user.address, log: log.address.name, error: e.message }));
    }
  }

  /** A watcher must not throw; one that does (a bug in a session) loses only its own notification, and is reported. */
  private tell(watcher: Watcher, change: FolderChange): void {
    try {
      watcher(change);
    } catch (error) {
      this.deps.log?.error('mailbox.watcher.failed', { user: this.user.address, change: change.kind, error: String((error as Error)?.stack ?? error) });
    }
  }

  private tellList(watcher: ListWatcher, change: FolderListChange): void {
    try {
      watcher(change);
    } catch (error) {
      this.deps.log?.error('mailbox.list_watcher.failed', { user: this.user.address, change: change.kind, error: String((error as Error)?.stack ?? error) });
    }
  }

  release(): void {
    this.released = true;
    this.listWatchers.clear();
    this.deps.clock.clearTimeout(this.freshnessTimer);
    this.freshnessTimer = undefined;
    for (const s of this.headSubscriptions) s.unsubscribe();
    for (const folderId of [...this.writers.keys()]) this.closeWriter(folderId);
    for (const s of this.folderSubscriptions.values()) s.unsubscribe();
    this.folderSubscriptions.clear();
    this.summaries.clear();
    this.watchers.clear();
  }
}
