// One user's XMPP side on this node (issue 17), while that user has sessions here: the user's
// conversation store (the `messages` log that `post message` uses) followed for new records, and
// the roster log, which also counts the records clients have been given (`seen`).
//
// A record that arrives ('in') goes to every available session at once; with none available it
// stays unseen and is delivered, delayed, after the next initial presence, wherever the user logs
// in (the count lives in the roster log). A record the user sent from elsewhere ('out', not sent by
// a session here) goes to sessions with carbons on. Deliveries run one at a time, in log order.
// A record given to a stream-managed client (XEP-0198) is counted seen only once acknowledged; one
// its session never acknowledged comes back (xmpp/deliveryLedger.ts) to the next available session.
import type { Log } from '../../infra/ports';
import type { LogWriter } from '../../storage/log/logWriter';
import type { MessageRecord, MessagesChange, MessagesState } from '../../storage/messages/messagesModel';
import type { RosterChange, RosterItem, RosterOp, RosterState } from '../../storage/xmpp/rosterModel';
import { outbound } from '../../storage/xmpp/subscriptions';
import type { XmppSignal, XmppSignalKind, XmppStoredMessageType } from '../../protocol/apps';
import { rosterItemXml, rosterPush } from '../../xmpp/iq';
import { NS_CLIENT } from '../../xmpp/streamParser';
import { el } from '../../xmpp/xml';
import { incomingChat, sentCarbon, signalMessage } from '../../xmpp/chat';
import type { ChatMeta, ChatRecord, ChatSignal, RoutedSession, XmppAccount } from '../../xmpp/ports';
import { DeliveryLedger } from '../../xmpp/deliveryLedger';
import { ErrorCodes, PostError } from '../../protocol/errors';

type MessagesLog = LogWriter<MessagesState, { type: 'add'; record: MessageRecord }, MessagesChange, { count: number }>;
type RosterLog = LogWriter<RosterState, RosterOp, RosterChange, { items: number }>;

/** What the XMPP side needs of a user's application context (actors/users/userHost.ts UserApp). */
export interface ImApp {
  readonly address: string;
  messages(): Promise<MessagesLog>;
  xmppRoster(): Promise<RosterLog>;
  read(ref: string): Promise<Buffer>;
  sendMessage(to: readonly string[], text: string, opts: { key?: string; xmppId?: string; receipt?: boolean; xmppType?: XmppStoredMessageType }): Promise<{ failed: { to: string; error: string }[] }>;
  /** Presence signals delivered to this user on this node (after the roster recorded them). */
  readonly xmppSignals$: { subscribe(listener: (signal: XmppSignal) => void): { unsubscribe(): void } };
  sendXmppSignal(to: string, kind: XmppSignalKind, extra?: Pick<XmppSignal, 'id' | 'state'>): Promise<void>;
  /** Whether the user has an available XMPP session on this node (set by the thread while it is open): a headline for a user without one is dropped. */
  xmppAvailable: () => boolean;
}

const metaOf = (r: MessageRecord): ChatMeta => ({
  key: r.key,
  direction: r.direction,
  from: r.from,
  to: r.to,
  sentAtMs: r.sentAtMs,
  ...(r.xmppId !== undefined ? { xmppId: r.xmppId } : {}),
  ...(r.receipt ? { receipt: true } : {}),
  ...(r.xmppType ? { type: r.xmppType } : {}),
});

export class UserThread implements XmppAccount {
  readonly sessions = new Set<RoutedSession>();
  /** Keys of records sent by sessions here: they carbon themselves. */
  private readonly localSends = new Set<string>();
  private chain: Promise<void> = Promise.resolve();
  /** Records of the messages log handed to clients here, and which of them clients have yet to acknowledge. */
  private ledger = new DeliveryLedger<RoutedSession>(0);
  /** The seen count last written to the roster log. */
  private seenWritten = 0;
  private unsubscribe: (() => void) | undefined;

  private constructor(
    private readonly app: ImApp,
    private readonly messagesLog: MessagesLog,
    private readonly rosterLog: RosterLog,
    private readonly opts: { domain: string; lookup: (address: string) => Promise<unknown>; log: Log },
  ) {}

  static async open(app: ImApp, opts: UserThread['opts']): Promise<UserThread> {
    const [messages, roster] = await Promise.all([app.messages(), app.xmppRoster()]);
    await Promise.all([messages.refresh(), roster.refresh()]);
    const thread = new UserThread(app, messages, roster, opts);
    thread.seenWritten = roster.readNow((s) => s.seen);
    thread.ledger = new DeliveryLedger(thread.seenWritten);
    let known = messages.readNow((s) => s.order.length);
    thread.unsubscribe = messages.subscribe((event) => {
      const state = event.kind === 'changes' ? event.state : event.after;
      const records = state.order.slice(known).map((k) => state.byKey.get(k)!);
      known = state.order.length;
      const from = known - records.length;
      records.forEach((r, i) => thread.serially(() => thread.arrived(r, from + i)));
    });
    const signals = app.xmppSignals$.subscribe((signal) => thread.serially(() => thread.signalled(signal)));
    const available = () => [...thread.sessions].some((s) => s.available);
    app.xmppAvailable = available;
    const unsubscribeMessages = thread.unsubscribe;
    thread.unsubscribe = () => {
      unsubscribeMessages();
      signals.unsubscribe();
      if (app.xmppAvailable === available) app.xmppAvailable = () => false;
    };
    return thread;
  }

  get address(): string {
    return this.app.address;
  }

  /** Settles once the deliveries queued so far are done (tests). */
  idle(): Promise<void> {
    return this.chain;
  }

  private serially(step: () => Promise<void>): void {
    this.chain = this.chain.then(step).catch((e: Error) => this.opts.log.warn('xmpp.delivery.failed', { user: this.address, error: e.message, code: (e as PostError).code }));
  }

  private async arrived(record: MessageRecord, index: number): Promise<void> {
    if (record.direction === 'out') {
      // XEP-0280 6: headlines are not carbon-copied.
      if (this.localSends.delete(record.key) || record.xmppType === 'headline') return;
      const carbons = [...this.sessions].filter((s) => s.carbons && s.available);
      if (carbons.length === 0) return;
      const [full] = await this.withText([metaOf(record)]);
      for (const s of carbons) s.push(sentCarbon(full!, `${s.address}/${s.resource}`, this.address));
      return;
    }
    const available = [...this.sessions].filter((s) => s.available);
    if (available.length === 0 || index < this.ledger.given) return;
    const [full] = await this.withText([metaOf(record)]);
    this.deliver(full!, index, available, false);
    this.markSeen();
  }

  /** One record to these sessions; the ledger learns who took it and who must still acknowledge it. */
  private deliver(record: ChatRecord, index: number, to: readonly RoutedSession[], delayed: boolean): void {
    const holders: RoutedSession[] = [];
    let safe = false;
    for (const s of to) {
      const outcome = s.push(incomingChat(record, `${s.address}/${s.resource}`, { bare: this.address, domain: this.opts.domain, delayed }), record.key);
      if (outcome === 'unacked') holders.push(s);
      else if (outcome === 'written') safe = true;
    }
    this.ledger.handed(record.key, index, holders, safe);
  }

  /** The session's initial presence: what no client has been given yet (or was given and never acknowledged), with its delay, then live messages. */
  becameAvailable(session: RoutedSession): void {
    this.serially(async () => {
      const given = this.ledger.given;
      const { pending, upTo } = this.messagesLog.readNow((s) => ({ pending: s.order.slice(given).map((k, i) => ({ r: s.byKey.get(k)!, index: given + i })), upTo: s.order.length }));
      const incoming = [...this.returnedRecords(), ...pending].filter((x) => x.r.direction === 'in');
      const texts = await this.withText(incoming.map((x) => metaOf(x.r)));
      texts.forEach((r, i) => this.deliver(r, incoming[i]!.index, [session], true));
      this.ledger.reached(upTo);
      this.markSeen();
    });
  }

  /** A stream-managed session acknowledged these records. */
  acked(records: readonly string[]): void {
    this.ledger.acked(records);
    this.markSeen();
  }

  /** A session ended (already out of `sessions`) with these records unacknowledged: they go to the available sessions left, or wait for the next. */
  ended(session: RoutedSession, unacked: readonly string[]): void {
    const back = this.ledger.ended(session, unacked);
    if (back.length === 0) return;
    this.opts.log.info('xmpp.unacked.returned', { user: this.address, resource: session.resource, records: back.length });
    this.serially(async () => {
      const available = [...this.sessions].filter((s) => s.available);
      const returned = available.length > 0 ? this.returnedRecords() : [];
      const texts = await this.withText(returned.map((x) => metaOf(x.r)));
      texts.forEach((r, i) => this.deliver(r, returned[i]!.index, available, true));
      this.markSeen();
    });
  }

  /** Records given and never acknowledged by any session (in log order), to hand out again. */
  private returnedRecords(): { r: MessageRecord; index: number }[] {
    return this.ledger.returned().flatMap(({ key, index }) => {
      const r = this.messagesLog.readNow((s) => s.byKey.get(key));
      return r ? [{ r, index }] : [];
    });
  }

  /** A resumed stream took a held session's place. */
  replaced(old: RoutedSession, next: RoutedSession): void {
    this.ledger.replace(old, next);
  }

  private markSeen(): void {
    const count = this.ledger.seen();
    if (count <= this.seenWritten) return;
    this.seenWritten = count;
    this.rosterLog.append([{ type: 'seen', count }]).catch((e: Error) => this.opts.log.warn('xmpp.seen.failed', { user: this.address, error: e.message }));
  }

  sending(key: string): void {
    this.localSends.add(key);
  }

  // ---- presence (RFC 6121 3 and 4) -------------------------------------------------------------------

  /** Contacts that announced themselves available here, with their last presence (a session that comes later sees them). */
  private readonly contactsOnline = new Set<string>();
  private pushes = 0;

  private toAvailable(stanza: (s: RoutedSession) => ReturnType<typeof el>): void {
    for (const s of this.sessions) if (s.available) s.push(stanza(s));
  }

  private pushRosterItem(item: RosterItem | undefined, jid: string): void {
    const xml = item ? rosterItemXml(item) : el('item', { jid, subscription: 'remove' });
    for (const s of this.sessions) s.push(rosterPush(xml, `${s.address}/${s.resource}`, `push-r${++this.pushes}`));
  }

  /** A receipt or chat state to `to`: a signed notification like presence (the recipient's sessions may be on any node). */
  async signalOut(to: string, signal: ChatSignal): Promise<void> {
    await this.app.sendXmppSignal(to, signal.kind, signal.kind === 'receipt' ? { id: signal.id } : { state: signal.state });
  }

  private async signalled(signal: XmppSignal): Promise<void> {
    const from = signal.from;
    if (signal.kind === 'receipt' || signal.kind === 'chatstate') {
      const chat: ChatSignal | undefined = signal.kind === 'receipt' ? (signal.id !== undefined ? { kind: 'receipt', id: signal.id } : undefined) : signal.state ? { kind: 'chatstate', state: signal.state } : undefined;
      if (chat) this.toAvailable((s) => signalMessage(chat, from, `${s.address}/${s.resource}`));
      return;
    }
    if (signal.kind === 'probe') {
      const item = await this.rosterLog.read((s) => s.items.get(from));
      if ([...this.sessions].some((s) => s.available) && (item?.subscription === 'from' || item?.subscription === 'both')) await this.app.sendXmppSignal(from, 'available');
      return;
    }
    if (signal.kind === 'available' || signal.kind === 'unavailable') {
      if (signal.kind === 'available') this.contactsOnline.add(from);
      else this.contactsOnline.delete(from);
      this.toAvailable((s) => el('presence', { xmlns: NS_CLIENT, from: `${from}/post`, to: `${s.address}/${s.resource}`, type: signal.kind === 'unavailable' ? 'unavailable' : undefined }));
      return;
    }
    this.pushRosterItem(await this.rosterLog.read((s) => s.items.get(from)), from);
    this.toAvailable((s) => el('presence', { xmlns: NS_CLIENT, from, to: `${s.address}/${s.resource}`, type: signal.kind }));
  }

  /** The user's own request or answer: the roster first (and pushed), then the contact is told. */
  async subscription(kind: 'subscribe' | 'subscribed' | 'unsubscribe' | 'unsubscribed', to: string): Promise<void> {
    await this.rosterLog.refresh();
    const step = outbound(this.rosterLog.readNow((s) => s.items.get(to)), to, kind);
    if (step.item) {
      await this.rosterLog.append([{ type: 'set', item: step.item }]);
      this.pushRosterItem(step.item, to);
    }
    if (!step.send) return;
    await this.app.sendXmppSignal(to, kind);
    // Approving a request also tells the contact we are here (RFC 6121 3.1.5).
    if (kind === 'subscribed' && [...this.sessions].some((s) => s.available)) await this.app.sendXmppSignal(to, 'available');
  }

  /**
   * The user's availability changed on this node: the first available session announces it to the
   * contacts subscribed to the user and probes those the user is subscribed to; the last one leaving
   * says unavailable. A new session also sees pending requests and contacts already known online.
   */
  presenceChanged(session: RoutedSession, wasAnyAvailable: boolean): void {
    const anyAvailable = [...this.sessions].some((s) => s.available);
    this.serially(async () => {
      const items = await this.rosterLog.read((s) => [...s.items.values()]);
      if (session.available) {
        for (const item of items) if (item.pendingIn) session.push(el('presence', { xmlns: NS_CLIENT, from: item.jid, to: `${session.address}/${session.resource}`, type: 'subscribe' }));
        for (const contact of this.contactsOnline) session.push(el('presence', { xmlns: NS_CLIENT, from: `${contact}/post`, to: `${session.address}/${session.resource}` }));
      }
      if (anyAvailable === wasAnyAvailable) return;
      const kind = anyAvailable ? 'available' : 'unavailable';
      const tell = items.filter((i) => i.subscription === 'from' || i.subscription === 'both');
      const probe = anyAvailable ? items.filter((i) => i.subscription === 'to' || i.subscription === 'both') : [];
      await Promise.all([...tell.map((i) => this.app.sendXmppSignal(i.jid, kind)), ...probe.map((i) => this.app.sendXmppSignal(i.jid, 'probe'))]);
    });
  }

  // ---- XmppAccount ----------------------------------------------------------------------------------

  async roster(): Promise<RosterItem[]> {
    return this.rosterLog.read((s) => [...s.items.values()]);
  }

  async setRosterItem(item: RosterItem): Promise<'ok' | 'full'> {
    const [r] = await this.rosterLog.append([{ type: 'set', item }]);
    return r!.change.type === 'full' ? 'full' : 'ok';
  }

  async removeRosterItem(jid: string): Promise<boolean> {
    const [r] = await this.rosterLog.append([{ type: 'remove', jid }]);
    return r!.change.type === 'remove';
  }

  async sendChat(to: string, text: string, key: string, opts: { xmppId?: string; receipt?: boolean; type?: XmppStoredMessageType } = {}): Promise<{ sentAtMs: number }> {
    await this.opts.lookup(to); // an unknown recipient is refused before anything is stored
    const { type, ...rest } = opts;
    const result = await this.app.sendMessage([to], text, { key, ...rest, ...(type ? { xmppType: type } : {}) });
    const failure = result.failed[0];
    if (failure) throw new PostError(ErrorCodes.UNAVAILABLE, `not delivered to ${to}: ${failure.error}`);
    return { sentAtMs: this.messagesLog.readNow((s) => s.byKey.get(key)?.sentAtMs ?? 0) };
  }

  async history(): Promise<ChatMeta[]> {
    await this.messagesLog.refresh();
    return this.messagesLog.read((s) => s.order.map((k) => metaOf(s.byKey.get(k)!)));
  }

  async withText(records: readonly ChatMeta[]): Promise<ChatRecord[]> {
    const refs = this.messagesLog.readNow((s) => records.map((r) => s.byKey.get(r.key)?.ref));
    return Promise.all(records.map(async (r, i) => ({ ...r, text: refs[i] ? (await this.app.read(refs[i]!)).toString('utf8') : '' })));
  }

  close(): void {
    this.unsubscribe?.();
  }
}
