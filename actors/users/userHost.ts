// The users a node hosts (their logs' actors live under the node's logWriter: actors/users/logWriterHost.ts). A hosted user's
// credentials are sealed to this node's key; at start the node logs each of them in through the ring
// (directory record, keystore, Argon2id), then keeps for each an application context (UserApp): a
// storage client that inserts as the user, the user's logs, and notifications received at once by
// push and by pull, each delivered to its application and acknowledged only after it was recorded.
import { openAsNode } from '../../crypto/nodeSeal';
import type { RingTrust } from '../../crypto/certificates';
import { userIdOf } from '../../crypto/hash';
import type { HostedUserStore } from '../../infra/files/hostedUsers';
import type { Clock, Log, Random } from '../../infra/ports';
import { appPayloadCodec, CALENDAR_APP, hostedUserCodec, MAIL_APP, mailBodyCodec, MESSAGE_APP, messageBodyCodec, XMPP_APP, type XmppSignal, xmppSignalCodec, type XmppSignalKind, type XmppStoredMessageType } from '../../protocol/apps';
import { ROSTER_LOG_NAME, rosterModel } from '../../storage/xmpp/rosterModel';
import { inbound, isSubscriptionKind } from '../../storage/xmpp/subscriptions';
import { ErrorCodes, PostError } from '../../protocol/errors';
import { canonicalBytes } from '../../protocol/frame';
import { DIRECTORY_CACHE_ENTRIES_MAX, DIRECTORY_CACHE_MS, MESSAGES_LOG_ITEMS_MAX, NOTIFY_VISITOR_DEFER_MS, NOTIFY_VISITOR_PULL_INTERVAL_MS, USER_UNLOCK_RETRY_MS, XMPP_SIGNALS_REMEMBERED_MAX } from '../../protocol/limits';
import { contentBlockIds } from '../../storage/leases';
import type { StorageApi } from '../../storage/api';
import type { BlockRef } from '../../storage/blockRef';
import { formatBlockRef, parseBlockRef } from '../../storage/blocks';
import { messageSegments } from '../../mail/mime/messageSegments';
import type { HeadWatch } from '../../storage/log/headWatch';
import { type LogDeps, type LogRegistry, LogWriter } from '../../storage/log/logWriter';
import { logAddressFor } from '../../storage/log/logAddress';
import { ConversationNumbering, ConversationOrder } from '../../storage/messages/conversationOrder';
import { type MessageRecord, MESSAGES_LOG_NAME, messagesModel, type MessagesState, SENT_MAIL_LOG_NAME } from '../../storage/messages/messagesModel';
import { loginWithKeystore, lookupUser } from '../../storage/users/login';
import type { UnlockedUser } from '../../storage/users/unlockedUser';
import { ADDRESS_BOOKS, PostCalendars } from '../calendar/postCalendars';
import { CalendarScheduling } from '../calendar/scheduling';
import type { PostMailbox } from '../mail/postMailbox';
import type { DeliveryOutcome, Notification, Notifier, RecipientHandle } from '../notify/notifier';
import type { Federation } from '../federation/federation';
import { Decoder } from '@msgpack/msgpack';
import { Subject } from 'rxjs';

export interface UserHostDeps {
  readonly nodeSigningSecretKey: Uint8Array;
  readonly trust: RingTrust;
  readonly clock: Clock;
  readonly random: Random;
  readonly log: Log;
  readonly store: HostedUserStore;
  readonly notifier: Notifier;
  /** The node's own storage client (reads the directory and keystores). */
  readonly nodeStorage: StorageApi;
  /** A storage client that inserts as the given user. */
  readonly storageFor: (user: UnlockedUser) => StorageApi;
  readonly headWatch: HeadWatch;
  readonly mailbox: () => PostMailbox | undefined;
  /** The node's registry of open logs (the logWriter). */
  readonly logRegistry?: LogRegistry;
  /** Ready to reach the ring (the router joined): unlocking waits for it. */
  readonly ringReady: () => boolean;
  /** How often owners refresh the leases of what they reference. */
  readonly refreshIntervalMs: number;
  /** Recipients' certificates, from the ring's directory (cached briefly). */
  readonly directory: Directory;
}

/**
 * Recipients' verified certificates by address, cached for DIRECTORY_CACHE_MS: a sender notifying
 * the same people does not re-read the directory every time (a revocation takes effect within that).
 */
export class Directory {
  private readonly cache = new Map<string, { cert: import('../../protocol/identity').UserCertificate; untilMs: number }>();
  constructor(private readonly deps: { storage: StorageApi; trust: RingTrust; clock: Clock; federation?: Federation }) {}

  /** A user of our organisation, or of a federated one (read from its ring through the gateways). */
  async lookup(address: string) {
    const key = address.toLowerCase();
    const now = this.deps.clock.now();
    const hit = this.cache.get(key);
    if (hit && hit.untilMs > now) return hit.cert;
    const domain = key.split('@')[1] ?? '';
    const foreign = domain !== this.deps.trust.org ? this.deps.federation?.orgOf(domain) : undefined;
    if (domain !== this.deps.trust.org && !foreign) throw new PostError(ErrorCodes.UNKNOWN_USER, `${key} is not a user of ${this.deps.trust.org} or of an organisation it federates with`);
    const cert = foreign
      ? await lookupUser(this.deps.federation!.storageOf(foreign), foreign, key, now)
      : await lookupUser(this.deps.storage, this.deps.trust, key, now);
    if (this.cache.size >= DIRECTORY_CACHE_ENTRIES_MAX) this.cache.clear();
    this.cache.set(key, { cert, untilMs: now + DIRECTORY_CACHE_MS });
    return cert;
  }
}

type MessagesLog = LogWriter<MessagesState, import('../../storage/messages/messagesModel').MessagesOp, import('../../storage/messages/messagesModel').MessagesChange, { count: number }>;

const decoder = new Decoder();

/** A mail to put into a user's INBOX: its content reference (and the content itself when it came inline). */
export interface InboxMail {
  readonly ref: BlockRef;
  readonly content?: Uint8Array;
  readonly sizeOctets: number;
  readonly internalDateMs: number;
  /** The same id delivered twice is one message (a notification's entry id, or a submission's delivery id). */
  readonly deliveryId: string;
  readonly from: string;
}

/** One hosted, unlocked user: the application API over POST's three services. */
export class UserApp {
  /** Every notification delivered to this user (after it was recorded), for dashboards and benchmarks. */
  readonly delivered$ = new Subject<{ entryId: string; app: string; from: string; sentAtMs: number }>();
  /** Notifications delivered by this context since it started. */
  deliveredCount = 0;
  private messagesLog: Promise<MessagesLog> | undefined;
  private refreshTimer: unknown;
  private inbox: RecipientHandle | undefined;
  private readonly handlers = new Map<string, (n: Notification, body: Uint8Array) => Promise<DeliveryOutcome>>();

  constructor(
    private readonly deps: UserHostDeps,
    readonly user: UnlockedUser,
    readonly storage: StorageApi,
  ) {
    this.handlers.set(MESSAGE_APP, (n, body) => this.receiveMessage(n, body));
    this.handlers.set(MAIL_APP, (n, body) => this.receiveMail(n, body));
    this.handlers.set(XMPP_APP, (n, body) => this.receiveXmppSignal(n, body));
    this.handlers.set(CALENDAR_APP, (n, body) => this.calendarScheduling().receive(n, body));
  }

  get address(): string {
    return this.user.address;
  }

  // ---- the application API: store content, logs, notify, subscribe ----------------------------------

  /** Store content (convergently encrypted, replicated); returns its printable reference. */
  async store(data: Uint8Array): Promise<string> {
    return formatBlockRef(await this.storage.putData(data));
  }

  /** Read content by reference. */
  async read(ref: string): Promise<Buffer> {
    const parsed = parseBlockRef(ref);
    if (!parsed.ok) throw new PostError(parsed.code, parsed.message);
    return this.storage.getData(parsed.value);
  }

  /** Open one of the user's logs with its model (append, read, subscribe). */
  openLog<S, Op, C, Sum>(name: string, model: import('../../storage/log/logModel').LogModel<S, Op, C, Sum>): Promise<LogWriter<S, Op, C, Sum>> {
    const pause = (ms: number) => new Promise<void>((r) => this.deps.clock.setTimeout(r, ms));
    const logDeps: LogDeps = {
      storage: this.storage,
      signing: this.user.signing,
      random: this.deps.random,
      pause,
      headWatch: this.deps.headWatch,
      ...(this.deps.logRegistry ? { registry: this.deps.logRegistry } : {}),
      onFork: (fork) => this.deps.log.warn('log.fork.merged', { user: this.address, ...fork }),
    };
    return LogWriter.open(logDeps, logAddressFor(this.user, name), model);
  }

  private calendars: PostCalendars | undefined;

  /** The user's calendars (issue 16): logs opened on first use and kept while this context lives. */
  calendarLogs(): PostCalendars {
    this.calendars ??= new PostCalendars(this, this.deps.random);
    return this.calendars;
  }

  private addressBooks: PostCalendars | undefined;

  /** The user's address books (CardDAV): the same logs as calendars, in their own family. */
  addressBookLogs(): PostCalendars {
    this.addressBooks ??= new PostCalendars(this, this.deps.random, ADDRESS_BOOKS);
    return this.addressBooks;
  }

  private scheduling: CalendarScheduling | undefined;

  /** Calendar scheduling (RFC 6638) for this user: invitations, replies and free-busy as notifications. */
  calendarScheduling(): CalendarScheduling {
    this.scheduling ??= new CalendarScheduling(this, { clock: this.deps.clock, random: this.deps.random, log: this.deps.log.child({ actor: 'caldav' }) });
    return this.scheduling;
  }

  /** Notify `to` for application `app`; resolves once the notification is durable in its inbox drop. */
  async notify(to: string, app: string, body: Uint8Array): Promise<void> {
    const recipient = await this.deps.directory.lookup(to);
    const payload = canonicalBytes(appPayloadCodec.encode({ app, body }));
    await this.deps.notifier.send({ cert: this.user.certificate, signingSecretKey: this.user.signing.secretKey }, recipient, payload);
  }

  /** Handle notifications for `app` (replaces the built-in handler of that name). */
  onNotification(app: string, handler: (n: Notification, body: Uint8Array) => Promise<DeliveryOutcome>): void {
    this.handlers.set(app, handler);
  }

  // ---- short messages ---------------------------------------------------------------------------------

  private sentMailLog: Promise<MessagesLog> | undefined;

  /**
   * Mail this user sent over SMTP: its content stays in this user's ring and this user keeps it alive
   * (refreshes its leases) for the recipients, as senders pay for content (DESIGN 5).
   */
  private sentMail(): Promise<MessagesLog> {
    this.sentMailLog ??= this.openLog(SENT_MAIL_LOG_NAME, messagesModel);
    this.sentMailLog.catch(() => (this.sentMailLog = undefined));
    return this.sentMailLog;
  }

  async recordSentMail(ref: string, to: readonly string[]): Promise<void> {
    const now = Math.floor(this.deps.clock.now());
    // Keyed by the content's block id (a reference also carries its key: too long for a record key).
    const parsed = parseBlockRef(ref);
    const key = `m:${parsed.ok ? parsed.value.id : ref}`;
    const [r] = await (await this.sentMail()).append([{ type: 'add', record: { key, direction: 'out', from: this.address, to: [...to], ref, sentAtMs: now, recordedAtMs: now } }]);
    // A full log would stop keeping the content alive for the recipients: say so, never drop it quietly.
    if (r?.change.type === 'full') throw new PostError(ErrorCodes.QUOTA_EXCEEDED, `${this.address}'s sent-mail log is full (${MESSAGES_LOG_ITEMS_MAX} records): the content of ${key} will not be refreshed for its recipients`);
  }

  /** The user's conversation store (the `messages` log): `post message` and XMPP (issue 17) read and follow it. */
  messages(): Promise<MessagesLog> {
    this.messagesLog ??= this.openLog(MESSAGES_LOG_NAME, messagesModel);
    this.messagesLog.catch(() => (this.messagesLog = undefined));
    return this.messagesLog;
  }

  /** Send a short message: the text is stored once, each recipient is notified, the sender keeps a copy. */
  async sendMessage(
    to: readonly string[],
    text: string,
    opts: { key?: string; xmppId?: string; receipt?: boolean; xmppType?: XmppStoredMessageType } = {},
  ): Promise<{ ref: string; key: string; notified: string[]; failed: { to: string; error: string }[] }> {
    const ref = await this.store(Buffer.from(text, 'utf8'));
    // A headline is not part of the conversation (never stored for an offline user: RFC 6121 8.5.2): no number, never waited for.
    const numbers = opts.xmppType === 'headline' ? undefined : (await this.numbering()).take(to);
    const sentAtMs = Math.floor(this.deps.clock.now());
    const xmpp = { ...(opts.xmppId !== undefined ? { xmppId: opts.xmppId } : {}), ...(opts.receipt ? { receipt: 1 } : {}), ...(opts.xmppType ? { xmppType: opts.xmppType } : {}) };
    const notified: string[] = [];
    const failed: { to: string; error: string }[] = [];
    for (const recipient of to) {
      // One body per recipient: each carries the number of the sender's previous message to that recipient.
      const body = canonicalBytes(messageBodyCodec.encode({ ref, from: this.address, to: [...to], sentAtMs, ...xmpp, ...(numbers ? { seq: numbers.seq, prev: numbers.prevOf(recipient) } : {}) }));
      try {
        await this.notify(recipient, MESSAGE_APP, body);
        notified.push(recipient);
      } catch (e) {
        failed.push({ to: recipient, error: `${(e as PostError).code ?? 'ERROR'}: ${(e as Error).message}` });
      }
    }
    // The caller may name the record (an XMPP session, to know its own message when the log reports it).
    const key = opts.key ?? `s:${Buffer.from(this.deps.random.bytes(12)).toString('hex')}`;
    await (await this.messages()).append([{ type: 'add', record: { key, direction: 'out', from: this.address, to: [...to], ref, sentAtMs, recordedAtMs: sentAtMs, ...xmpp, ...(numbers ? { seq: numbers.seq } : {}) } }]);
    return { ref, key, notified, failed };
  }

  private numbers: Promise<ConversationNumbering> | undefined;

  /** This context's numbering of what the user sends (conversationOrder.ts), continued from the messages log. */
  private numbering(): Promise<ConversationNumbering> {
    this.numbers ??= this.messages().then((log) => log.readNow((s) => new ConversationNumbering(s.conversations)));
    this.numbers.catch(() => (this.numbers = undefined));
    return this.numbers;
  }

  /** Every recorded message with its text, oldest first. */
  async listMessages(): Promise<(MessageRecord & { text: string })[]> {
    const log = await this.messages();
    await log.refresh();
    const records = await log.read((s) => s.order.map((k) => s.byKey.get(k)!));
    return Promise.all(records.map(async (r) => ({ ...r, text: (await this.read(r.ref)).toString('utf8') })));
  }

  private async receiveMessage(n: Notification, bodyBytes: Uint8Array): Promise<DeliveryOutcome> {
    let body;
    try {
      body = messageBodyCodec.decode(decoder.decode(bodyBytes), 'message');
    } catch {
      return 'undeliverable';
    }
    if (body.from.toLowerCase() !== n.from.toLowerCase()) return 'undeliverable';
    if (body.xmppType === 'headline' && !this.xmppAvailable()) {
      // RFC 6121 8.5.2.1.1 and 8.5.2.2.1: a headline for a user with no available resource is not stored
      // for later but dropped (done with: the drop's receipt removes it). A node where the user has a
      // session delivers it there.
      this.deps.log.info('message.headline.dropped', { user: this.address, from: n.from, why: 'no available XMPP session here' });
      return 'delivered';
    }
    const log = await this.messages();
    const numbered = { key: `n:${n.entryId}`, from: n.from, seq: body.seq, prev: body.prev, sentAtMs: body.sentAtMs };
    // No wait between the decision and the append: a batch's appends are queued in send order, together.
    if (this.orderOf(log, numbered) === 'hold') {
      // Another node of this user (a standby, a session's node) may have appended the predecessor: look once more.
      await log.refresh();
      if (this.orderOf(log, numbered) === 'hold') return 'retry';
    }
    const appending = this.chatOrder.appending(numbered);
    try {
      await this.appendReceived(log, n, body);
    } finally {
      appending.settled();
    }
    return 'delivered';
  }

  /** Whether the user has an available XMPP session on this node (its XMPP thread sets this while open). */
  xmppAvailable: () => boolean = () => false;

  /** Per-conversation order of what this user receives (conversationOrder.ts). */
  private readonly chatOrder = new ConversationOrder();

  private orderOf(log: MessagesLog, m: import('../../storage/messages/conversationOrder').NumberedMessage) {
    const decision = log.readNow((s) => this.chatOrder.decide(m, s.byKey.has(m.key), s.conversations.lastInSeq.get(m.from.toLowerCase()) ?? 0, this.deps.clock.now()));
    if (decision === 'deliver-late') this.deps.log.warn('message.order.released', { user: this.address, from: m.from, seq: m.seq, prev: m.prev, why: 'its predecessor did not arrive within the hold bound (CHAT_ORDER_HOLD_MS)' });
    return decision;
  }

  private async appendReceived(log: MessagesLog, n: Notification, body: import('../../protocol/apps').MessageBody): Promise<void> {
    await log.append([
      {
        type: 'add',
        record: {
          key: `n:${n.entryId}`,
          direction: 'in',
          from: n.from,
          to: body.to,
          ref: body.ref,
          sentAtMs: body.sentAtMs,
          recordedAtMs: Math.floor(this.deps.clock.now()),
          ...(body.xmppId !== undefined ? { xmppId: body.xmppId } : {}),
          ...(body.receipt ? { receipt: body.receipt } : {}),
          ...(body.xmppType ? { xmppType: body.xmppType } : {}),
          ...(body.seq !== undefined ? { seq: body.seq } : {}),
        },
      },
    ]);
  }

  // ---- XMPP presence (issue 17) ----------------------------------------------------------------------

  /** Presence signals that reached this user here, after the roster recorded them (the XMPP sessions on this node listen). */
  readonly xmppSignals$ = new Subject<XmppSignal>();
  private readonly signalsHandled = new Set<string>();
  private rosterLog: Promise<LogWriter<any, any, any, any>> | undefined;

  /** The user's XMPP roster log, opened once and kept while this context lives. */
  xmppRoster(): Promise<LogWriter<import('../../storage/xmpp/rosterModel').RosterState, import('../../storage/xmpp/rosterModel').RosterOp, import('../../storage/xmpp/rosterModel').RosterChange, { items: number }>> {
    this.rosterLog ??= this.openLog(ROSTER_LOG_NAME, rosterModel);
    this.rosterLog.catch(() => (this.rosterLog = undefined));
    return this.rosterLog;
  }

  /** Send a presence signal to `to` (durable like any notification: a subscription request waits for its recipient). */
  async sendXmppSignal(to: string, kind: XmppSignalKind, extra: Pick<XmppSignal, 'id' | 'state'> = {}): Promise<void> {
    const body = canonicalBytes(xmppSignalCodec.encode({ kind, from: this.address, sentAtMs: Math.floor(this.deps.clock.now()), ...extra }));
    await this.notify(to, XMPP_APP, body);
  }

  /** A contact's subscription change is recorded in the roster before anyone is told; a pre-approved request is answered at once. */
  private async receiveXmppSignal(n: Notification, bodyBytes: Uint8Array): Promise<DeliveryOutcome> {
    let signal: XmppSignal;
    try {
      signal = xmppSignalCodec.decode(decoder.decode(bodyBytes), 'xmppSignal');
    } catch {
      return 'undeliverable';
    }
    if (signal.from.toLowerCase() !== n.from.toLowerCase()) return 'undeliverable';
    // Unlike messages (keyed in the log), signals leave no record: remember the ones handled here, so a
    // notification handed over by both push and pull is shown once.
    if (this.signalsHandled.has(n.entryId)) return 'delivered';
    if (this.signalsHandled.size >= XMPP_SIGNALS_REMEMBERED_MAX) this.signalsHandled.delete(this.signalsHandled.values().next().value!);
    this.signalsHandled.add(n.entryId);
    const from = signal.from.toLowerCase();
    if (isSubscriptionKind(signal.kind)) {
      const roster = await this.xmppRoster();
      await roster.refresh();
      const current = roster.readNow((s) => s.items.get(from));
      const step = inbound(current, from, signal.kind);
      if (step.item) await roster.append([{ type: 'set', item: step.item }]);
      if (step.answer) await this.sendXmppSignal(from, step.answer);
      if (!step.deliver) return 'delivered';
    }
    this.xmppSignals$.next({ ...signal, from });
    return 'delivered';
  }

  private async receiveMail(n: Notification, bodyBytes: Uint8Array): Promise<DeliveryOutcome> {
    let body;
    try {
      body = mailBodyCodec.decode(decoder.decode(bodyBytes), 'mail');
    } catch {
      return 'undeliverable';
    }
    const parsed = parseBlockRef(body.ref);
    if (!parsed.ok) return 'undeliverable';
    return this.deliverMail({ ref: parsed.value, content: body.content, sizeOctets: body.sizeOctets, internalDateMs: body.internalDateMs, deliveryId: n.entryId, from: n.from });
  }

  /**
   * A mail submitted on this node for this user, who is hosted here: straight into INBOX, with no inbox
   * drop, push or receipt between (those are for recipients elsewhere). Durable at k replicas once it
   * resolves (the INBOX head), as a drop entry is.
   */
  async deliverSubmittedMail(mail: InboxMail): Promise<'delivered' | 'retry'> {
    const outcome = await this.deliverMail(mail);
    if (outcome === 'delivered') this.counted({ entryId: mail.deliveryId, app: MAIL_APP, from: mail.from, sentAtMs: Math.floor(this.deps.clock.now()) });
    return outcome;
  }

  /** One more delivery to this user, notified or direct: counted and told to whoever watches. */
  private counted(delivery: { entryId: string; app: string; from: string; sentAtMs: number }): void {
    this.deliveredCount++;
    this.delivered$.next(delivery);
  }

  /**
   * Put a mail into this user's INBOX on this node, exactly once per `deliveryId`. Mail that came
   * with its content (inline) is stored first, as the blocks `ref` names (convergent); if they differ
   * (another version's layout), ours is the one stored. 'retry' when this node runs no mailbox.
   */
  private async deliverMail(mail: InboxMail): Promise<'delivered' | 'retry'> {
    const mailbox = this.deps.mailbox();
    if (!mailbox?.holds(this.address)) return 'retry';
    let { ref } = mail;
    if (mail.content) {
      ref = await this.storage.putMail(messageSegments(mail.content));
      if (ref.id !== mail.ref.id) this.deps.log.warn('mail.inline.ref.differs', { user: this.address, from: mail.from, sent: formatBlockRef(mail.ref).slice(0, 40), stored: formatBlockRef(ref).slice(0, 40) });
    }
    await mailbox.deliver(this.address, { ref, sizeOctets: mail.sizeOctets, internalDateMs: mail.internalDateMs, notificationId: mail.deliveryId });
    return 'delivered';
  }

  // ---- lifecycle -----------------------------------------------------------------------------------

  /**
   * Receive this user's notifications on this node (push and pull, delivered and acknowledged) and,
   * where the node hosts the user, refresh the leases of what the user references. A visitor's drop
   * is pulled more often (NOTIFY_VISITOR_PULL_INTERVAL_MS), and a visitor leaves each new notification
   * to the home node for NOTIFY_VISITOR_DEFER_MS before it delivers what is still pending, unless an
   * XMPP client is connected here: its chats, receipts and presence are pushed from this node's own
   * deliveries, so it takes them at once.
   */
  start(opts: { refreshLeases: boolean; visitor?: boolean } = { refreshLeases: true }): void {
    this.inbox = this.deps.notifier.receive(
      { cert: this.user.certificate, signingSecretKey: this.user.signing.secretKey, box: this.user.box },
      async (n) => {
        let payload;
        try {
          payload = appPayloadCodec.decode(decoder.decode(n.payload), 'payload');
        } catch {
          return 'undeliverable';
        }
        const handler = this.handlers.get(payload.app);
        if (!handler) {
          this.deps.log.warn('notify.undeliverable', { user: this.address, app: payload.app, why: 'no application of that name' });
          return 'undeliverable';
        }
        const outcome = await handler(n, payload.body);
        if (outcome === 'delivered') this.counted({ entryId: n.entryId, app: payload.app, from: n.from, sentAtMs: n.timeMs });
        return outcome;
      },
      opts.visitor ? { pullIntervalMs: NOTIFY_VISITOR_PULL_INTERVAL_MS, deferMs: () => (this.xmppSignals$.observed ? 0 : NOTIFY_VISITOR_DEFER_MS) } : {},
    );
    if (opts.refreshLeases) this.refreshPeriodically();
  }

  /** Refresh the leases of what the user references every refresh interval from now on (idempotent). */
  refreshPeriodically(): void {
    if (this.refreshTimer === undefined) this.scheduleRefresh();
  }

  /**
   * The owner's lease refresh: every block this user still references (live log blocks, message and
   * text content) gets a new lease. Runs every refresh interval while the user is hosted.
   */
  async refreshLeases(): Promise<number> {
    const ids = new Set<string>();
    for (const log of [await this.messages(), await this.sentMail()]) {
      for (const id of log.liveBlockIds()) ids.add(id);
      const refs = await log.read((s) => s.order.map((k) => s.byKey.get(k)!.ref));
      for (const text of refs) {
        const parsed = parseBlockRef(text);
        if (parsed.ok) for (const id of await contentBlockIds(this.storage, parsed.value)) ids.add(id);
      }
    }
    for (const id of (await this.deps.mailbox()?.liveBlockIds(this.address, this.storage)) ?? []) ids.add(id);
    // Calendars too, whether or not a CalDAV client came by since the node started: their content must not expire.
    const calendarContent = async (ref: string) => {
      const parsed = parseBlockRef(ref);
      return parsed.ok ? contentBlockIds(this.storage, parsed.value) : [];
    };
    try {
      // The XMPP roster too, whichever node the user's clients wrote it from.
      for (const id of (await this.xmppRoster()).liveBlockIds()) ids.add(id);
      for (const id of await this.calendarLogs().liveBlockIds(calendarContent)) ids.add(id);
      for (const id of await this.addressBookLogs().liveBlockIds(calendarContent)) ids.add(id);
    } catch (e) {
      // The rest is still refreshed now; the calendars are tried again at the next interval, well within a lease.
      this.deps.log.warn('user.leases.calendars_failed', { user: this.address, error: (e as Error).message, code: (e as PostError).code });
    }
    if (ids.size) await this.storage.refresh([...ids]);
    this.deps.log.info('user.leases.refreshed', { user: this.address, blocks: ids.size });
    return ids.size;
  }

  private scheduleRefresh(): void {
    // Spread hosted users over the interval, so a node does not refresh everyone at once.
    const delay = this.deps.refreshIntervalMs * (0.5 + this.deps.random.float() / 2);
    this.refreshTimer = this.deps.clock.setTimeout(() => {
      void this.refreshLeases()
        .catch((e: Error) => this.deps.log.warn('user.leases.failed', { user: this.address, error: e.message }))
        .finally(() => this.scheduleRefresh());
    }, delay);
  }

  /** Pull pending notifications now (also done on start, on reconnect and periodically). */
  pull(): Promise<number> {
    return this.inbox?.pull() ?? Promise.resolve(0);
  }

  stop(): void {
    this.inbox?.stop();
    this.deps.clock.clearTimeout(this.refreshTimer);
    for (const log of [this.messagesLog, this.sentMailLog, this.rosterLog]) void log?.then((l) => l.close(), () => undefined);
    this.calendars?.close();
    this.addressBooks?.close();
  }
}

/**
 * The users this node hosts, and the users visiting it: a user with a session here (IMAP, or an SMTP
 * login) whom the node does not host. A visitor's notifications are delivered here too while the
 * session lasts (DESIGN 5: every node where the user is active delivers; issue 13): the home node and
 * any visited node deliver concurrently, exactly once, as two devices append to one log (INBOX inserts
 * are keyed by notification id, receipts are idempotent).
 */
export class UserHost {
  readonly users = new Map<string, UserApp>();
  private readonly visitors = new Map<string, UserApp>();
  private readonly pending = new Map<string, string>();
  private timer: unknown;
  private stopped = false;
  private readonly log: Log;

  constructor(private readonly deps: UserHostDeps) {
    this.log = deps.log.child({ actor: 'logWriter' });
  }

  get directory(): Directory {
    return this.deps.directory;
  }

  /** Load every hosted user and unlock them as soon as the ring can be reached. */
  async start(): Promise<void> {
    for (const { address, sealed } of await this.deps.store.list()) {
      const creds = this.open(sealed);
      if (creds) this.pending.set(address, creds.password);
      else this.log.error('user.host.unreadable', { address, why: 'not sealed to this node\'s key' });
    }
    this.tryUnlock();
  }

  /** Host a user from credentials sealed to this node; resolves once it is unlocked. */
  async host(sealed: Uint8Array): Promise<UserApp> {
    const creds = this.open(sealed);
    if (!creds) throw new PostError(ErrorCodes.BAD_REQUEST, 'the credentials are not sealed to this node\'s key');
    const app = await this.unlock(creds.address, creds.password);
    await this.deps.store.save(creds.address, sealed);
    return app;
  }

  /** The application context for a user unlocked elsewhere (an SMTP login): the hosted one, or a fresh one that only stores and sends. */
  appFor(user: UnlockedUser): UserApp {
    return this.users.get(user.address) ?? new UserApp(this.deps, user, this.deps.storageFor(user));
  }

  /**
   * The context that receives `user`'s notifications on this node: the hosted one, or a visitor started
   * now (a user logged in here over XMPP or CalDAV is delivered for here, as for IMAP: DESIGN 5).
   */
  receiving(user: UnlockedUser): UserApp {
    const hosted = this.users.get(user.address);
    if (hosted) return hosted;
    this.visit(user);
    return this.visitor(user.address) ?? this.appFor(user);
  }

  get(address: string): UserApp {
    const app = this.users.get(address.toLowerCase());
    if (!app) throw new PostError(ErrorCodes.UNKNOWN_USER, `${address} is not hosted on this node${this.pending.has(address.toLowerCase()) ? ' (it is still being unlocked; try again shortly)' : ''}`);
    return app;
  }

  status() {
    return { hosted: [...this.users.keys()], unlocking: [...this.pending.keys()], visiting: [...this.visitors.keys()] };
  }

  /**
   * A user's mailbox opened on this node: deliver its notifications here while it stays open (unless
   * hosted: done already). A standby host standing in for the user's home also refreshes its leases.
   */
  visit(user: UnlockedUser, opts: { refreshLeases: boolean } = { refreshLeases: false }): void {
    if (this.stopped || this.users.has(user.address)) return;
    const visiting = this.visitors.get(user.address);
    if (visiting) {
      if (opts.refreshLeases) visiting.refreshPeriodically();
      return;
    }
    const app = new UserApp(this.deps, user, this.deps.storageFor(user));
    this.visitors.set(user.address, app);
    app.start({ ...opts, visitor: true });
    this.log.info('user.visiting', { user: user.address });
  }

  /** The application context delivering for a visiting user (a session here, or a standby standing in). */
  visitor(address: string): UserApp | undefined {
    return this.visitors.get(address);
  }

  /** The visitor's mailbox closed (its last session ended and lingered): its home node and other sessions deliver. */
  leave(address: string): void {
    const app = this.visitors.get(address);
    if (!app) return;
    this.visitors.delete(address);
    app.stop();
    this.log.info('user.left', { user: address });
  }

  stop(): void {
    this.stopped = true;
    this.deps.clock.clearTimeout(this.timer);
    for (const app of this.users.values()) app.stop();
    for (const app of this.visitors.values()) app.stop();
    this.visitors.clear();
  }

  private open(sealed: Uint8Array): { address: string; password: string } | undefined {
    const plain = openAsNode(this.deps.nodeSigningSecretKey, sealed);
    if (!plain) return undefined;
    try {
      const c = hostedUserCodec.decode(decoder.decode(plain), 'hostedUser');
      return { address: c.address.toLowerCase(), password: c.password };
    } catch {
      return undefined;
    }
  }

  private async unlock(address: string, password: string): Promise<UserApp> {
    const record = await loginWithKeystore({ storage: this.deps.nodeStorage, trust: this.deps.trust, address, password, clock: this.deps.clock });
    const { user } = record;
    this.users.get(user.address)?.stop();
    this.leave(user.address); // hosted from now on: the hosted app delivers
    const app = new UserApp(this.deps, user, this.deps.storageFor(user));
    this.users.set(user.address, app);
    this.pending.delete(user.address);
    await this.deps.mailbox()?.host(record, password);
    app.start();
    this.log.info('user.hosted', { user: user.address, userId: userIdOf(user.address) });
    return app;
  }

  /** Unlock what is pending; retry later what cannot be yet (the ring not joined, a replica away). */
  private tryUnlock(): void {
    if (this.stopped || this.pending.size === 0) return;
    const attempt = async () => {
      if (!this.deps.ringReady()) return;
      for (const [address, password] of [...this.pending]) {
        try {
          await this.unlock(address, password);
        } catch (e) {
          const code = (e as PostError).code;
          this.log.warn('user.unlock.failed', { user: address, code, error: (e as Error).message });
          if (code === 'WRONG_PASSWORD' || code === 'UNKNOWN_USER' || code === 'CERT_REVOKED') this.pending.delete(address);
        }
      }
    };
    void attempt().finally(() => {
      if (this.pending.size > 0 && !this.stopped) this.timer = this.deps.clock.setTimeout(() => this.tryUnlock(), USER_UNLOCK_RETRY_MS);
    });
  }
}
