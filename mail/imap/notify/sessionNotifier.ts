// NOTIFY (RFC 5465) for one session: the feeds it holds on the backend (the folder list, and one folder
// feed per watched mailbox, at most notifyWatchedMailboxesMax), what they queued, and writing it out.
// Feeds only queue (they run at any time); flush() writes, and is called only where a response may go:
// after a command's own responses, between commands, and during IDLE (the session machine decides).
//
// Readings of RFC 5465 this class takes:
// - Changes this session made itself are reported like any other for mailboxes other than the
//   selected one (an APPEND to a watched mailbox gives its STATUS; CREATE gives the LIST); those of
//   the selected mailbox are reported by the commands' own responses, as without NOTIFY.
// - No STATUS is sent for the selected mailbox (its changes go as EXISTS, EXPUNGE and FETCH).
// - A STATUS that would repeat the last one sent for the mailbox is not sent: a flag change that
//   changes no counter the client sees (without CONDSTORE) goes unreported, as 5.1 allows.
// - NOTIFICATIONOVERFLOW: queued notices past notifyQueuedNoticesMax, or more mailboxes to watch than
//   notifyWatchedMailboxesMax, end NOTIFY (untagged OK [NOTIFICATIONOVERFLOW]) as NOTIFY NONE would.
import { MailBackendError, type FolderChange, type FolderListChange, type FolderWatch, type SpecialUse } from '../../backend';
import { failNo } from '../command';
import { imapLimits } from '../limits';
import type { ImapSession } from '../session';
import { NotificationQueue, StatusMemory, type MailboxNotice } from './notifyQueue';
import { noticeResponse, notifyStatusItems, statusResponse } from './notifyResponses';
import { anyGroupWants, groupFor, wants, watchTargets } from './notifyScope';
import type { NotifyEvent, NotifySpec } from './notifySpec';

const eventOf: Record<Exclude<FolderChange['kind'], 'gone' | 'renumbered'>, NotifyEvent> = { added: 'MessageNew', expunged: 'MessageExpunge', flags: 'FlagChange' };

export class SessionNotifier {
  /**
   * The folder list as the feed told it: names with their special use (a created folder has none, a
   * renamed one keeps its own), and subscriptions: which mailboxes the groups cover, LIST's attributes.
   */
  private readonly folders = new Map<string, SpecialUse | undefined>();
  private readonly subscriptions = new Set<string>();
  private readonly watches = new Map<string, FolderWatch>();
  private listWatch: FolderWatch | undefined;
  private readonly queue = new NotificationQueue(imapLimits.notifyQueuedNoticesMax);
  private readonly sent = new StatusMemory();
  /** Folder-list changes that came while the list was being read (applied on top of what was read). */
  private early: FolderListChange[] | undefined = [];
  private stopped = false;

  constructor(
    private readonly session: ImapSession,
    readonly spec: NotifySpec,
  ) {}

  /** Starts the feeds. NO [NOTIFICATIONOVERFLOW] when the groups cover more mailboxes than one session may watch. */
  async start(): Promise<void> {
    const user = this.session.userOrThrow();
    const needsList = anyGroupWants(this.spec, ['MessageNew', 'MessageExpunge', 'FlagChange', 'MailboxName', 'SubscriptionChange']);
    if (!needsList) return; // SELECTED only, or every group NONE
    // Watch before reading, so nothing that happens in between is missed.
    this.listWatch = user.watchFolderList((change) => this.onListChange(change));
    try {
      const [folders, subscriptions] = await Promise.all([user.listFolders(), user.listSubscriptions()]);
      for (const folder of folders) this.folders.set(folder.name, folder.specialUse);
      for (const name of subscriptions) this.subscriptions.add(name);
      const early = this.early ?? [];
      this.early = undefined;
      for (const change of early) this.onListChange(change);
      const targets = watchTargets(this.spec, this.folders.keys(), this.subscriptions);
      if (targets.length > imapLimits.notifyWatchedMailboxesMax) {
        failNo(`NOTIFY would watch ${targets.length} mailboxes; one session may watch at most ${imapLimits.notifyWatchedMailboxesMax}: name fewer`, 'NOTIFICATIONOVERFLOW');
      }
      this.refreshWatches();
    } catch (error) {
      this.stop();
      throw error;
    }
  }

  /** Closes every feed; nothing more is queued. */
  stop(): void {
    this.stopped = true;
    this.listWatch?.close();
    this.listWatch = undefined;
    for (const watch of this.watches.values()) watch.close();
    this.watches.clear();
  }

  get pending(): boolean {
    return !this.stopped && this.queue.pending;
  }

  /** Whether a change of the selected mailbox is to be pushed at once (SELECTED / SELECTED-DELAYED). */
  pushesSelected(change: FolderChange): boolean {
    const selected = this.spec.selected;
    if (!selected || this.stopped) return false;
    if (change.kind === 'gone' || change.kind === 'renumbered') return selected.events.size > 0;
    if (change.kind === 'expunged' && selected.delayed) return false; // held until a command may report it
    return selected.events.has(eventOf[change.kind]);
  }

  /** SET STATUS: a STATUS for each mailbox with message events other than the selected one (RFC 5465 3). */
  async sendInitialStatus(): Promise<void> {
    const names = watchTargets(this.spec, this.sortedFolders(), this.subscriptions);
    for (const name of names) {
      if (name === this.session.selected?.name) continue;
      await this.writeStatus(name, true);
    }
  }

  /** Writes what is queued: LIST notices in order, then one STATUS per changed mailbox. */
  async flush(): Promise<void> {
    if (!this.pending) return;
    const { overflowed, notices, statusDue } = this.queue.take();
    if (overflowed) {
      await this.session.status(undefined, 'OK', 'Too many changes to report; NOTIFY is off: STATUS or LIST what you need, then NOTIFY SET again', 'NOTIFICATIONOVERFLOW');
      this.session.endNotify(this);
      return;
    }
    for (const notice of notices) await this.session.untagged(noticeResponse(notice, this.folders, this.session.utf8));
    for (const name of statusDue) if (name !== this.session.selected?.name) await this.writeStatus(name, false);
  }

  private sortedFolders(): string[] {
    return [...this.folders.keys()].sort((a, b) => (a === 'INBOX' ? -1 : b === 'INBOX' ? 1 : a < b ? -1 : a > b ? 1 : 0));
  }

  private async writeStatus(name: string, always: boolean): Promise<void> {
    const group = groupFor(this.spec, name, this.subscriptions.has(name));
    const items = notifyStatusItems(this.session.condstore || (group?.events.has('FlagChange') ?? false));
    let status;
    try {
      status = await this.session.userOrThrow().folderStatus(name);
    } catch (error) {
      // Gone meanwhile: the folder-list feed reports that, if the client asked.
      if (error instanceof MailBackendError && error.code === 'NO_SUCH_FOLDER') return;
      throw error;
    }
    const response = statusResponse(name, status, items, this.session.utf8);
    if (!this.sent.update(name, response.key) && !always) return;
    await this.session.untagged(response.values);
  }

  private queued(): void {
    if (this.queue.pending) this.session.deps.onNotification();
  }

  private onListChange(change: FolderListChange): void {
    if (this.stopped) return;
    if (this.early) {
      this.early.push(change);
      return;
    }
    const notice = this.mirror(change);
    if (notice) this.queue.addNotice(notice);
    this.refreshWatches();
    this.queued();
  }

  /** Applies a change to the mirrored list; returns the notice the client asked for, if any. */
  private mirror(change: FolderListChange): MailboxNotice | undefined {
    const wanted = (name: string, subscribed: boolean, event: NotifyEvent) => wants(this.spec, name, subscribed, event);
    switch (change.kind) {
      case 'created':
        this.folders.set(change.name, undefined);
        return wanted(change.name, this.subscriptions.has(change.name), 'MailboxName') ? change : undefined;
      case 'deleted': {
        this.folders.delete(change.name);
        this.unwatch(change.name);
        this.queue.forget(change.name);
        this.sent.forget(change.name);
        return wanted(change.name, this.subscriptions.has(change.name), 'MailboxName') ? change : undefined;
      }
      case 'renamed': {
        this.folders.set(change.to, this.folders.get(change.from));
        this.folders.delete(change.from);
        // Subscriptions move along with a rename.
        const subscribed = this.subscriptions.delete(change.from);
        if (subscribed) this.subscriptions.add(change.to);
        this.unwatch(change.from); // the backend ended that feed; the new name is watched afresh
        this.queue.renamed(change.from, change.to);
        this.sent.renamed(change.from, change.to);
        return wanted(change.to, subscribed, 'MailboxName') || wanted(change.from, subscribed, 'MailboxName') ? change : undefined;
      }
      case 'subscription':
        if (change.subscribed) this.subscriptions.add(change.name);
        else this.subscriptions.delete(change.name);
        // The name was subscribed before or after: SUBSCRIBED covers it for this event.
        return wanted(change.name, true, 'SubscriptionChange') ? change : undefined;
    }
  }

  private unwatch(name: string): void {
    this.watches.get(name)?.close();
    this.watches.delete(name);
  }

  /** Watches exactly the mailboxes the groups cover for message events; too many ends NOTIFY (overflow). */
  private refreshWatches(): void {
    const targets = new Set(watchTargets(this.spec, this.folders.keys(), this.subscriptions));
    if (targets.size > imapLimits.notifyWatchedMailboxesMax) {
      this.queue.overflow();
      for (const name of [...this.watches.keys()]) this.unwatch(name);
      return;
    }
    for (const name of [...this.watches.keys()]) if (!targets.has(name)) this.unwatch(name);
    const user = this.session.userOrThrow();
    for (const name of targets) {
      if (this.watches.has(name)) continue;
      try {
        this.watches.set(name, user.watchFolder(name, (change) => this.onFolderChange(name, change)));
      } catch (error) {
        // Deleted again already: its own change follows. Anything else is logged: this runs inside the
        // backend's feed, which must not throw; the mailbox goes unwatched until the list changes again.
        if (error instanceof MailBackendError && error.code === 'NO_SUCH_FOLDER') continue;
        this.session.log.warn('imap.notify.watch_failed', { mailbox: name, error: String((error as Error)?.message ?? error) });
      }
    }
  }

  private onFolderChange(name: string, change: FolderChange): void {
    if (this.stopped || change.kind === 'gone') return; // gone: the folder-list feed tells what happened
    // Renumbered: a new UIDVALIDITY, which a STATUS tells (RFC 5465 5.1 sends it with MessageNew).
    if (!wants(this.spec, name, this.subscriptions.has(name), change.kind === 'renumbered' ? 'MessageNew' : eventOf[change.kind])) return;
    this.queue.statusChanged(name);
    this.queued();
  }
}
