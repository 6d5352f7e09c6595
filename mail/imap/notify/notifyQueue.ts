// What a session owes its client under NOTIFY and has not sent yet: mailbox-list notices in the order
// they happened, and the mailboxes whose STATUS is due. Pure and bounded: the notices by
// notifyQueuedNoticesMax (past it the queue overflows and keeps nothing: NOTIFICATIONOVERFLOW), the
// STATUS set by the mailboxes watched. A burst of changes in one mailbox is one STATUS, sent with the
// values of when it is sent; StatusMemory drops a STATUS that would repeat the last one.
import type { FolderListChange } from '../../backend';

/** A folder-list change as the backend reports it, queued until it can be sent. */
export type MailboxNotice = FolderListChange;

export interface QueuedNotifications {
  /** Too much came in to keep: the client must be told, and NOTIFY ends. */
  readonly overflowed: boolean;
  readonly notices: readonly MailboxNotice[];
  /** Mailboxes whose STATUS is due, in the order they first changed. */
  readonly statusDue: readonly string[];
}

export class NotificationQueue {
  private notices: MailboxNotice[] = [];
  private readonly statusDue = new Set<string>();
  private overflowed = false;

  constructor(private readonly noticesMax: number) {}

  get pending(): boolean {
    return this.overflowed || this.notices.length > 0 || this.statusDue.size > 0;
  }

  addNotice(notice: MailboxNotice): void {
    if (this.overflowed) return;
    if (this.notices.length >= this.noticesMax) this.overflow();
    else this.notices.push(notice);
  }

  statusChanged(name: string): void {
    if (!this.overflowed) this.statusDue.add(name);
  }

  /** The mailbox is gone: no STATUS for it. */
  forget(name: string): void {
    this.statusDue.delete(name);
  }

  renamed(from: string, to: string): void {
    if (this.statusDue.delete(from)) this.statusDue.add(to);
  }

  /** Nothing queued is worth sending any more (the server cannot keep up). */
  overflow(): void {
    this.overflowed = true;
    this.notices = [];
    this.statusDue.clear();
  }

  /** Everything queued, in sending order; the queue is empty afterwards. */
  take(): QueuedNotifications {
    const taken = { overflowed: this.overflowed, notices: this.notices, statusDue: [...this.statusDue] };
    this.notices = [];
    this.statusDue.clear();
    this.overflowed = false;
    return taken;
  }
}

/** The STATUS values last sent per mailbox (a key of them): bounded by the mailboxes watched. */
export class StatusMemory {
  private readonly last = new Map<string, string>();

  /** Records `key` as sent for `name`; false when it is what was sent last (nothing to tell). */
  update(name: string, key: string): boolean {
    if (this.last.get(name) === key) return false;
    this.last.set(name, key);
    return true;
  }

  forget(name: string): void {
    this.last.delete(name);
  }

  renamed(from: string, to: string): void {
    const key = this.last.get(from);
    this.last.delete(from);
    if (key !== undefined) this.last.set(to, key);
  }
}
