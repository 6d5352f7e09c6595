// In-memory ports for the XMPP core's tests: a login with one password per user, accounts whose
// conversation store is a list, a hub routing between the sessions of one process.
import { deriveScramCredentials, type ScramCredentials, type ScramHash } from '../../../crypto/scram';
import type { ChatMeta, ChatRecord, ChatSignal, LoginResult, ResumableSession, RoutedSession, XmppAccount, XmppHub, XmppLogin, XmppServerInfo } from '../../../xmpp/ports';
import { XmppSession } from '../../../xmpp/session';
import { StreamParser, type StreamEvent } from '../../../xmpp/streamParser';
import type { XmlElement } from '../../../xmpp/xml';
import type { RosterItem } from '../../../storage/xmpp/rosterModel';
import type { XmppStoredMessageType } from '../../../protocol/apps';

export const DOMAIN = 'lab.example';

export class FakeAccount implements XmppAccount {
  readonly rosterItems = new Map<string, RosterItem>();
  readonly records: ChatRecord[] = [];
  constructor(readonly address: string, private readonly world: FakeWorld) {}
  async roster() {
    return [...this.rosterItems.values()];
  }
  async setRosterItem(item: RosterItem) {
    this.rosterItems.set(item.jid, item);
    return 'ok' as const;
  }
  async removeRosterItem(jid: string) {
    return this.rosterItems.delete(jid);
  }
  async sendChat(to: string, text: string, key: string, opts: { xmppId?: string; receipt?: boolean; type?: XmppStoredMessageType } = {}) {
    const recipient = this.world.accounts.get(to);
    if (!recipient) throw Object.assign(new Error(`${to} is not a user`), { code: 'UNKNOWN_USER' });
    const sentAtMs = this.world.nowMs;
    this.records.push({ key, direction: 'out', from: this.address, to: [to], text, sentAtMs });
    const record: ChatRecord = { key: `n:${this.world.nextId()}`, direction: 'in', from: this.address, to: [to], text, sentAtMs, ...opts };
    recipient.records.push(record);
    this.world.hub.arrived(to, record);
    return { sentAtMs };
  }
  async history() {
    return [...this.records];
  }
  async withText(records: readonly ChatMeta[]) {
    return records as ChatRecord[];
  }
}

export class FakeHub implements XmppHub {
  readonly sessions = new Set<RoutedSession>();
  readonly seen = new Map<string, number>();
  constructor(private readonly world: FakeWorld) {}
  bind(session: RoutedSession) {
    if ([...this.sessions].some((s) => s.address === session.address && s.resource === session.resource)) return 'conflict' as const;
    this.sessions.add(session);
    return 'ok' as const;
  }
  /** Records acknowledged, and records handed back by sessions that ended without acknowledging them. */
  readonly ackedRecords: string[] = [];
  readonly returnedRecords: string[] = [];
  readonly resumables = new Map<string, ResumableSession>();
  unbind(session: RoutedSession, unacked: readonly string[] = []) {
    this.sessions.delete(session);
    this.returnedRecords.push(...unacked);
    for (const [id, s] of this.resumables) if (s === session) this.resumables.delete(id);
  }
  acked(_session: RoutedSession, records: readonly string[]) {
    this.ackedRecords.push(...records);
  }
  resumable(session: ResumableSession, id: string) {
    this.resumables.set(id, session);
    return true;
  }
  resumeTarget(address: string, previd: string) {
    const s = this.resumables.get(previd);
    return s?.address === address ? s : undefined;
  }
  takeOver(old: ResumableSession, session: ResumableSession) {
    for (const [id, s] of this.resumables) if (s === old) this.resumables.set(id, session);
    if (this.sessions.delete(old)) this.sessions.add(session);
  }
  becameAvailable(session: RoutedSession) {
    const records = this.world.accounts.get(session.address)!.records;
    for (const r of records.slice(this.seen.get(session.address) ?? 0)) if (r.direction === 'in') session.push(this.world.render(r, session, true));
    this.seen.set(session.address, records.length);
  }
  readonly subscriptions: string[] = [];
  sending() {}
  presence() {}
  async subscription(session: RoutedSession, kind: string, to: string) {
    this.subscriptions.push(`${session.address} ${kind} ${to}`);
  }
  readonly signals: string[] = [];
  async signal(session: RoutedSession, to: string, signal: ChatSignal) {
    this.signals.push(`${session.address} ${to} ${JSON.stringify(signal)}`);
  }
  sessionsOf(address: string) {
    return [...this.sessions].filter((s) => s.address === address);
  }
  arrived(to: string, record: ChatRecord) {
    const live = this.sessionsOf(to).filter((s) => s.available);
    for (const s of live) s.push(this.world.render(record, s, false), record.key);
    if (live.length) this.seen.set(to, this.world.accounts.get(to)!.records.length);
  }
}

export class FakeWorld {
  readonly passwords = new Map<string, string>();
  readonly accounts = new Map<string, FakeAccount>();
  readonly scram = new Map<string, ScramCredentials>();
  readonly hub = new FakeHub(this);
  nowMs = 1_750_000_000_000;
  private id = 0;
  /** Login outcomes, in order: what the throttle would have counted. */
  readonly attempts: string[] = [];

  constructor(readonly render: (r: ChatRecord, to: RoutedSession, delayed: boolean) => XmlElement) {}

  nextId = (): string => `id${++this.id}`;

  addUser(address: string, password: string): FakeAccount {
    this.passwords.set(address, password);
    const account = new FakeAccount(address, this);
    this.accounts.set(address, account);
    return account;
  }

  login: XmppLogin = {
    plain: async (username, password): Promise<LoginResult> => {
      const address = username.includes('@') ? username : `${username}@${DOMAIN}`;
      if (this.passwords.get(address) !== password) {
        this.attempts.push('failure');
        return { ok: false, failure: 'not-authorized', text: 'wrong password' };
      }
      this.attempts.push('success');
      for (const hash of ['sha1', 'sha256'] as ScramHash[]) this.scram.set(`${address}:${hash}`, deriveScramCredentials(hash, password, Buffer.from(`salt-${address}`), 4096));
      return { ok: true, account: this.accounts.get(address)! };
    },
    scramCredentials: (username, hash) => this.scram.get(`${username.includes('@') ? username : `${username}@${DOMAIN}`}:${hash}`),
    scram: async (username, proofValid): Promise<LoginResult> => {
      const address = username.includes('@') ? username : `${username}@${DOMAIN}`;
      if (!proofValid()) {
        this.attempts.push('failure');
        return { ok: false, failure: 'not-authorized', text: 'wrong password' };
      }
      this.attempts.push('success');
      return { ok: true, account: this.accounts.get(address)! };
    },
  };

  info = (tlsAvailable = false): XmppServerInfo => ({ domain: DOMAIN, tlsAvailable, newId: this.nextId, now: () => this.nowMs });
}

/** A client on one session: writes XML, reads the server's replies as parsed elements. */
export class TestClient {
  readonly session: XmppSession;
  private reader = new StreamParser();
  readonly received: StreamEvent[] = [];
  closed = false;
  tlsStarted = false;

  constructor(world: FakeWorld, opts: { tls?: boolean } = {}) {
    this.session = new XmppSession({
      info: world.info(opts.tls ?? false),
      login: world.login,
      hub: world.hub,
      connection: {
        write: (text) => this.received.push(...this.reader.feed(Buffer.from(text, 'utf8'))),
        startTls: async () => {
          this.tlsStarted = true;
        },
        close: () => {
          this.closed = true;
        },
      },
    });
  }

  /** Send text and wait until the session handled it; returns the elements it answered with. */
  async send(text: string): Promise<StreamEvent[]> {
    const before = this.received.length;
    this.session.receive(Buffer.from(text, 'utf8'));
    await this.session.idle();
    return this.received.slice(before);
  }

  /** The server restarts its stream after TLS and SASL: read its next header afresh. */
  restartReader(): void {
    this.reader = new StreamParser();
  }

  stanzas(events: StreamEvent[]): XmlElement[] {
    return events.filter((e): e is Extract<StreamEvent, { kind: 'stanza' }> => e.kind === 'stanza').map((e) => e.element);
  }

  static header = (to = DOMAIN) => `<stream:stream to='${to}' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`;

  /** Open, PLAIN login, restart: the client logged in, no resource bound yet. */
  async login(user: string, password: string): Promise<XmlElement[]> {
    await this.send(TestClient.header());
    const auth = await this.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${Buffer.from(`\0${user}\0${password}`).toString('base64')}</auth>`);
    this.restartReader();
    await this.send(TestClient.header());
    return this.stanzas(auth);
  }

  /** Open, PLAIN login, restart, bind `resource`: the client ready to send stanzas. */
  async loginPlain(user: string, password: string, resource: string): Promise<XmlElement[]> {
    const auth = await this.login(user, password);
    const bound = await this.send(`<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>${resource}</resource></bind></iq>`);
    return [...auth, ...this.stanzas(bound)];
  }
}
