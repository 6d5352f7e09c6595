// The mail gateway's storage side (DESIGN 6): MailAuthenticator and MailUserSession (mail/backend.ts)
// over the users' folder logs and the StorageApi.
//
//   const mailbox = new PostMailbox({ storage, trust, clock, random, headWatch });
//   new ImapServer({ authenticator: mailbox.authenticator, ... });
//   await mailbox.deliver('alice@rice.example', { ref, sizeOctets, internalDateMs, notificationId });  // notifier
//
// Logging in goes through the node's LoginCache (actors/users/logins.ts: the full user login the first
// time, an in-memory password check after); the user's folder index and open folders are then shared
// by all of that user's sessions on this node, and kept for MAILBOX_LINGER_MS after the last one
// closes (mail clients reconnect often). Only this object, the login cache and the sessions it hands
// out ever hold the keys.
import type { RingTrust } from '../../crypto/certificates';
import type { Clock, Log, Random, TimerHandle } from '../../infra/ports';
import { LOG_FORK_SWEEP_INTERVAL_MS, MAILBOX_LINGER_MS } from '../../protocol/limits';
import { LoginCache } from '../users/logins';
import { type AppendResult, MailBackendError, type MailAuthenticator, type MailUserSession } from '../../mail/backend';
import type { StorageApi } from '../../storage/api';
import { type BlockRef, decodeBlockRef } from '../../storage/blocks';
import { contentBlockIds } from '../../storage/leases';
import { INBOX, insertOp, notificationInsertKey, uidValidityOf } from '../../storage/folders/folderLogs';
import { HeadMarks } from '../../storage/log/headMarks';
import type { HeadWatch } from '../../storage/log/headWatch';
import type { LoginRecord } from '../../storage/users/login';
import type { UnlockedUser } from '../../storage/users/unlockedUser';
import { normaliseAddress } from '../../storage/users/userErrors';
import { guarded } from './postMailboxErrors';
import { PostMailboxSession } from './postMailboxSession';
import { type MailboxDeps, UserMailbox } from './postMailboxUser';
import type { LogRegistry } from '../../storage/log/logWriter';

export interface PostMailboxOptions {
  readonly storage: StorageApi;
  /** The organisation's CA: whose users may log in here. */
  readonly trust: RingTrust;
  readonly clock: Clock;
  readonly random: Random;
  /** "A log head changed" notices between this node and the user's other devices. */
  readonly headWatch: HeadWatch;
  /** High-water marks of the heads this node saw (one per node); a fresh set by default. */
  readonly marks?: HeadMarks;
  /** The storage client that inserts as a given user; `storage` for everyone when absent. */
  readonly storageFor?: (user: UnlockedUser) => StorageApi;
  /** The node's registry of open logs (the logWriter). */
  readonly logRegistry?: LogRegistry;
  readonly log?: Log;
  /** The node's logins (shared with SMTP AUTH); one of its own when absent. */
  readonly logins?: LoginCache;
  /** The organisation's per-user mail storage limit, reported by IMAP QUOTA; none when absent. */
  readonly mailQuotaBytes?: number;
  /** Whether this node hosts the user (UserHost); a user it does not is kept fresher (MAILBOX_VISITOR_FRESH_MS). */
  readonly hosts?: (address: string) => boolean;
  /** A user's mailbox opened on this node (a session, a hosted user, an SMTP login) and, later, was released. */
  readonly presence?: { opened(user: UnlockedUser): void; released(address: string): void };
}

export interface InboxDelivery {
  /** The message's content reference (raw MIME bytes stored with putMail, or putData before messages were stored by parts). */
  readonly ref: BlockRef;
  readonly sizeOctets: number;
  readonly internalDateMs: number;
  /** The notification's id: the same notification delivered twice is one message. */
  readonly notificationId: string;
  readonly flags?: readonly string[];
}

export class PostMailbox {
  private readonly deps: MailboxDeps;
  private readonly users = new Map<string, Promise<UserMailbox>>();
  private readonly lingering = new Map<string, TimerHandle>();
  private forkSweep: TimerHandle | undefined;
  readonly logins: LoginCache;

  constructor(private readonly options: PostMailboxOptions) {
    this.logins = options.logins ?? new LoginCache({ storage: options.storage, trust: options.trust, clock: options.clock });
    this.deps = {
      storage: options.storage,
      storageFor: options.storageFor,
      clock: options.clock,
      random: options.random,
      headWatch: options.headWatch,
      marks: options.marks ?? new HeadMarks(),
      ...(options.logRegistry ? { logRegistry: options.logRegistry } : {}),
      ...(options.log ? { log: options.log } : {}),
      ...(options.mailQuotaBytes !== undefined ? { mailQuotaBytes: options.mailQuotaBytes } : {}),
      ...(options.hosts ? { hosts: options.hosts } : {}),
    };
  }

  readonly authenticator: MailAuthenticator = {
    authenticate: (username, password) => guarded(() => this.authenticate(username, password)),
  };

  private async authenticate(username: string, password: string): Promise<MailUserSession> {
    const { user } = await this.logins.login(username, password);
    return this.newSession(user.address, await this.userMailbox(user.address, () => UserMailbox.open(this.deps, user)));
  }

  private newSession(address: string, mailbox: UserMailbox): MailUserSession {
    mailbox.sessions++;
    this.stopLingering(address);
    return new PostMailboxSession(mailbox, () => this.sessionClosed(address, mailbox));
  }

  private userMailbox(address: string, open: () => Promise<UserMailbox>): Promise<UserMailbox> {
    let mailbox = this.users.get(address);
    if (!mailbox) {
      mailbox = open();
      this.users.set(address, mailbox);
      this.scheduleForkSweep();
      const opening = mailbox;
      opening.then(
        (m) => this.options.presence?.opened(m.user),
        () => this.users.get(address) === opening && this.users.delete(address),
      );
    }
    return mailbox;
  }

  /**
   * An SMTP login: keep the user's mailbox open here for MAILBOX_LINGER_MS, as after an IMAP session,
   * so that the user's mail is delivered on this node meanwhile (their home node may be down).
   */
  async visit(record: LoginRecord): Promise<void> {
    const { user } = record;
    const mailbox = await this.userMailbox(user.address, () => UserMailbox.open(this.deps, user));
    mailbox.sessions++;
    this.stopLingering(user.address);
    this.sessionClosed(user.address, mailbox);
  }

  /** The last session closed: keep the keys and folders for MAILBOX_LINGER_MS (a client reconnecting), then drop them. */
  private sessionClosed(address: string, mailbox: UserMailbox): void {
    if (--mailbox.sessions > 0) return;
    this.stopLingering(address);
    this.lingering.set(
      address,
      this.options.clock.setTimeout(() => {
        this.lingering.delete(address);
        void this.users.get(address)?.then((current) => {
          if (current !== mailbox || mailbox.sessions > 0) return;
          this.releaseMailbox(address, mailbox);
        });
      }, MAILBOX_LINGER_MS),
    );
  }

  /** Put a mailbox away: what only its writers wrote (the far side of a partition) is reconciled first, then it is closed. */
  private releaseMailbox(address: string, mailbox: UserMailbox): void {
    this.users.delete(address);
    this.options.presence?.released(address);
    void mailbox.reconcile().finally(() => mailbox.release());
  }

  private stopLingering(address: string): void {
    const timer = this.lingering.get(address);
    if (timer === undefined) return;
    this.options.clock.clearTimeout(timer);
    this.lingering.delete(address);
  }

  /**
   * Keep a user's mailbox open on this node without a session: the node hosts the user (holds its
   * keys) so notifications reach its INBOX while no client is connected. With the password it was
   * unlocked with, the user's logins here take the fast path.
   */
  async host(record: LoginRecord, password?: string): Promise<void> {
    const { user } = record;
    if (password !== undefined) this.logins.keep(record, password);
    const mailbox = await this.userMailbox(user.address, () => UserMailbox.open(this.deps, user));
    mailbox.sessions++;
  }

  /**
   * A standby host taking over a user's delivery (actors/users/standbyHost.ts): keep the user's mailbox
   * open here without a session, as for a hosted user, until `letGo`.
   */
  async hold(user: UnlockedUser): Promise<void> {
    const mailbox = await this.userMailbox(user.address, () => UserMailbox.open(this.deps, user));
    mailbox.sessions++;
    this.stopLingering(user.address);
  }

  /** The standby handed delivery back: drop the mailbox at once, unless a session of the user still uses it. */
  async letGo(address: string): Promise<void> {
    const mailbox = await this.users.get(address);
    if (!mailbox || --mailbox.sessions > 0) return;
    this.stopLingering(address);
    this.releaseMailbox(address, mailbox);
  }

  /** Stop lingering timers (the node is stopping). */
  close(): void {
    for (const address of [...this.lingering.keys()]) this.stopLingering(address);
    if (this.forkSweep !== undefined) this.options.clock.clearTimeout(this.forkSweep);
    this.forkSweep = undefined;
  }

  /**
   * While mailboxes are open here, every LOG_FORK_SWEEP_INTERVAL_MS settle the forks their logs were
   * left with (a hosted user's mailbox is never released, so its reconcile alone would never run).
   */
  private scheduleForkSweep(): void {
    if (this.forkSweep !== undefined) return;
    this.forkSweep = this.options.clock.setTimeout(() => {
      void (async () => {
        for (const opening of [...this.users.values()]) await (await opening.catch(() => undefined))?.settleForks();
      })().finally(() => {
        this.forkSweep = undefined;
        if (this.users.size > 0) this.scheduleForkSweep();
      });
    }, LOG_FORK_SWEEP_INTERVAL_MS);
  }

  /**
   * Every block a hosted user's mailbox still references: the live blocks of its folder index and
   * folder logs, and every block of every message in them (for the owner's lease refresh).
   */
  async liveBlockIds(address: string, storage: StorageApi): Promise<string[]> {
    const opening = this.users.get(normaliseAddress(address, this.options.trust.org));
    if (!opening) return [];
    const mailbox = await opening;
    const ids = [...mailbox.index.liveBlockIds()];
    for (const entry of mailbox.entries()) {
      const log = await mailbox.folder(entry);
      ids.push(...log.liveBlockIds());
      const refs = await log.read((state) => [...state.messages.values()].map((m) => m.ref));
      for (const bytes of refs) {
        const ref = decodeBlockRef(bytes);
        if (ref.ok) ids.push(...(await contentBlockIds(storage, ref.value)));
      }
    }
    return ids;
  }

  /** Whether the user's mailbox is open (or opening) on this node: deliver() can take their mail. */
  holds(address: string): boolean {
    return this.users.has(normaliseAddress(address, this.options.trust.org));
  }

  /**
   * Append a notified message to a logged-in user's INBOX, exactly once per notification id.
   * UNKNOWN_USER when the user has no session on this node (their keys are not here).
   */
  deliver(address: string, delivery: InboxDelivery): Promise<AppendResult> {
    return guarded(async () => {
      const opening = this.users.get(normaliseAddress(address, this.options.trust.org));
      if (!opening) throw new MailBackendError('UNKNOWN_USER', `${address} is not logged in on this node`);
      const mailbox = await opening;
      const inbox = await mailbox.requireEntry(INBOX);
      const log = await mailbox.folder(inbox);
      const key = notificationInsertKey(delivery.notificationId);
      const [r] = await log.append([insertOp({ ref: delivery.ref, sizeOctets: delivery.sizeOctets, flags: delivery.flags ?? [], internalDateMs: delivery.internalDateMs, key })]);
      const change = r!.change;
      // Delivered before and since expunged by the user: delivered, not to be appended again.
      if (change.type === 'insert' && change.outcome === 'expunged') return { uidValidity: uidValidityOf(inbox.folderId, log.summary.uidEpoch), uid: 0 };
      if (change.type === 'insert' && change.outcome === 'full') throw new MailBackendError('LIMIT', `${address}'s INBOX is full`);
      if (change.type !== 'insert' || !change.message) throw new MailBackendError('INTERNAL', `notification ${delivery.notificationId} was not inserted (${change.type === 'insert' ? change.outcome : change.type})`);
      return { uidValidity: uidValidityOf(inbox.folderId, log.summary.uidEpoch), uid: change.message.uid };
    });
  }
}
