// One user's XMPP side on this node (issue 17), while that user has sessions here: the user's
// conversation store (the `messages` log that `post message` uses) followed for new records, and
// the roster log, which also counts the records clients have been given (`seen`).
//
// A record that arrives ('in') goes to every available session at once; with none available it
// stays unseen and is delivered, delayed, after the next initial presence, wherever the user logs
// in (the count lives in the roster log). A record the user sent from elsewhere ('out', not sent by
// a session here) goes to sessions with carbons on. Deliveries run one at a time, in log order.
import type { Log } from '../../infra/ports';
import type { LogWriter } from '../../storage/log/logWriter';
import type { MessageRecord, MessagesChange, MessagesState } from '../../storage/messages/messagesModel';
import { ROSTER_LOG_NAME, type RosterChange, type RosterItem, rosterModel, type RosterOp, type RosterState } from '../../storage/xmpp/rosterModel';
import { incomingChat, sentCarbon } from '../../xmpp/chat';
import type { ChatMeta, ChatRecord, RoutedSession, XmppAccount } from '../../xmpp/ports';
import { ErrorCodes, PostError } from '../../protocol/errors';

type MessagesLog = LogWriter<MessagesState, { type: 'add'; record: MessageRecord }, MessagesChange, { count: number }>;
type RosterLog = LogWriter<RosterState, RosterOp, RosterChange, { items: number }>;

/** What the XMPP side needs of a user's application context (actors/users/userHost.ts UserApp). */
export interface ImApp {
  readonly address: string;
  messages(): Promise<MessagesLog>;
  openLog(name: typeof ROSTER_LOG_NAME, model: typeof rosterModel): Promise<RosterLog>;
  read(ref: string): Promise<Buffer>;
  sendMessage(to: readonly string[], text: string, opts: { key?: string }): Promise<{ failed: { to: string; error: string }[] }>;
}

const metaOf = (r: MessageRecord): ChatMeta => ({ key: r.key, direction: r.direction, from: r.from, to: r.to, sentAtMs: r.sentAtMs });

export class UserThread implements XmppAccount {
  readonly sessions = new Set<RoutedSession>();
  /** Keys of records sent by sessions here: they carbon themselves. */
  private readonly localSends = new Set<string>();
  private chain: Promise<void> = Promise.resolve();
  /** Records of the messages log handed to clients (or, on open, recorded as seen). */
  private delivered = 0;
  private unsubscribe: (() => void) | undefined;

  private constructor(
    private readonly app: ImApp,
    private readonly messagesLog: MessagesLog,
    private readonly rosterLog: RosterLog,
    private readonly opts: { domain: string; lookup: (address: string) => Promise<unknown>; log: Log },
  ) {}

  static async open(app: ImApp, opts: UserThread['opts']): Promise<UserThread> {
    const [messages, roster] = await Promise.all([app.messages(), app.openLog(ROSTER_LOG_NAME, rosterModel)]);
    await Promise.all([messages.refresh(), roster.refresh()]);
    const thread = new UserThread(app, messages, roster, opts);
    thread.delivered = roster.readNow((s) => s.seen);
    let known = messages.readNow((s) => s.order.length);
    thread.unsubscribe = messages.subscribe((event) => {
      const state = event.kind === 'changes' ? event.state : event.after;
      const records = state.order.slice(known).map((k) => state.byKey.get(k)!);
      known = state.order.length;
      const from = known - records.length;
      records.forEach((r, i) => thread.serially(() => thread.arrived(r, from + i)));
    });
    return thread;
  }

  get address(): string {
    return this.app.address;
  }

  private serially(step: () => Promise<void>): void {
    this.chain = this.chain.then(step).catch((e: Error) => this.opts.log.warn('xmpp.delivery.failed', { user: this.address, error: e.message, code: (e as PostError).code }));
  }

  private async arrived(record: MessageRecord, index: number): Promise<void> {
    if (record.direction === 'out') {
      if (this.localSends.delete(record.key)) return;
      const carbons = [...this.sessions].filter((s) => s.carbons && s.available);
      if (carbons.length === 0) return;
      const [full] = await this.withText([metaOf(record)]);
      for (const s of carbons) s.push(sentCarbon(full!, `${s.address}/${s.resource}`, this.address));
      return;
    }
    const available = [...this.sessions].filter((s) => s.available);
    if (available.length === 0 || index < this.delivered) return;
    const [full] = await this.withText([metaOf(record)]);
    for (const s of available) s.push(incomingChat(full!, `${s.address}/${s.resource}`, { bare: this.address, domain: this.opts.domain, delayed: false }));
    this.markSeen(index + 1);
  }

  /** The session's initial presence: what no client has been given yet, with its delay, then live messages. */
  becameAvailable(session: RoutedSession): void {
    this.serially(async () => {
      const pending = this.messagesLog.readNow((s) => s.order.slice(this.delivered).map((k) => s.byKey.get(k)!));
      const upTo = this.delivered + pending.length;
      const incoming = await this.withText(pending.filter((r) => r.direction === 'in').map(metaOf));
      for (const r of incoming) session.push(incomingChat(r, `${session.address}/${session.resource}`, { bare: this.address, domain: this.opts.domain, delayed: true }));
      this.markSeen(upTo);
    });
  }

  private markSeen(count: number): void {
    if (count <= this.delivered) return;
    this.delivered = count;
    this.rosterLog.append([{ type: 'seen', count }]).catch((e: Error) => this.opts.log.warn('xmpp.seen.failed', { user: this.address, error: e.message }));
  }

  sending(key: string): void {
    this.localSends.add(key);
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

  async sendChat(to: string, text: string, key: string): Promise<{ sentAtMs: number }> {
    await this.opts.lookup(to); // an unknown recipient is refused before anything is stored
    const result = await this.app.sendMessage([to], text, { key });
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
    this.rosterLog.close();
  }
}
