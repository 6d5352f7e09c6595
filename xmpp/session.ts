// One XMPP client connection, the protocol core (RFC 6120, RFC 6121): stream headers and features,
// STARTTLS, SASL (PLAIN, SCRAM-SHA-1, SCRAM-SHA-256), resource binding, then stanzas. It reads bytes
// and writes text through its connection port and reaches the node only through xmpp/ports.ts; the
// actor (actors/xmpp/) owns the socket.
//
// Stages: `stream` (a header is expected: at the start and after each restart), `open`, `detached`
// (the connection dropped and the session is held for XEP-0198 resumption: what it is sent waits in
// its unacknowledged queue), `closed`.
// What the stream has achieved (TLS, an account, a bound resource) is kept across restarts. Stanzas
// are handled one at a time in arrival order (a bounded queue); a client over its rate gets
// policy-violation stanza errors, and one that floods the queue loses its stream.
import { XMPP_BODY_CHARS_MAX, XMPP_SASL_ATTEMPTS_MAX, XMPP_SM_ACK_REQUEST_STANZAS, XMPP_SM_UNACKED_MAX, XMPP_STANZAS_BURST, XMPP_STANZAS_PER_SECOND } from '../protocol/limits';
import { signalOf } from './chat';
import { handleIq } from './iq';
import { bareJid, parseJid } from './jid';
import type { PushOutcome, ResumableSession, SessionHandOver, XmppAccount, XmppHub, XmppLogin, XmppServerInfo } from './ports';
import { checkScramClientFinal, decodeSaslPayload, parsePlain, parseScramClientFirst, SCRAM_HASH, type SaslFailure, type SaslMechanism, type ScramExchange, scramServerFirst } from './sasl';
import { NS, STREAM_CLOSE, stanzaError, streamError, streamHeader } from './stanzas';
import { smAck, smFailed, smRequest, smResumed, StreamManagement } from './streamManagement';
import { NS_CLIENT, type StreamErrorCondition, type StreamEvent, StreamParser } from './streamParser';
import { el, type XmlElement } from './xml';

export interface XmppConnection {
  write(text: string): void;
  /** Upgrade the socket to TLS (after <proceed/> was written); the core then expects a new stream. */
  startTls(): Promise<void>;
  /** Close the socket (after the stream's end was written). */
  close(): void;
}

export interface XmppSessionDeps {
  readonly info: XmppServerInfo;
  readonly login: XmppLogin;
  readonly hub: XmppHub;
  readonly connection: XmppConnection;
  /** Told of each stream error sent and each failed step, for logs and metrics. */
  readonly observe?: (event: string, fields: Record<string, unknown>) => void;
}

const MECHANISMS: readonly SaslMechanism[] = ['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN'];

export class XmppSession implements ResumableSession {
  private parser = new StreamParser();
  private stage: 'stream' | 'open' | 'detached' | 'closed' = 'stream';
  private tls = false;
  private headerSent = false;
  account: XmppAccount | undefined;
  resource = '';
  available = false;
  carbons = false;
  private bound = false;
  /** The full JID once bound, kept after the stream closed (stanzas queued before the close still carry it). */
  private boundJid: string | undefined;
  /** XEP-0198 once enabled (or resumed): counters both ways and what the client has not acknowledged. */
  private sm: StreamManagement | undefined;
  private scram: ScramExchange | undefined;
  private saslAttempts = 0;
  private queue: Promise<void> = Promise.resolve();
  /** After a stream error, stanzas still queued are dropped; after an orderly close they are still handled (RFC 6120 4.4). */
  private discarding = false;
  private queued = 0;
  private tokens = XMPP_STANZAS_BURST;
  private tokensAtMs: number;

  constructor(private readonly deps: XmppSessionDeps) {
    this.tokensAtMs = deps.info.now();
  }

  get address(): string {
    return this.account?.address ?? '';
  }

  get fullJid(): string {
    return `${this.address}/${this.resource}`;
  }

  get isBound(): boolean {
    return this.bound;
  }

  get isClosed(): boolean {
    return this.stage === 'closed';
  }

  /** Stanzas sent to the client and not acknowledged yet (XEP-0198). */
  get unackedCount(): number {
    return this.sm?.unackedCount ?? 0;
  }

  /** How long the node holds this session after its connection drops (XEP-0198 resumption); 0: not at all. */
  get holdMs(): number {
    return this.sm?.resumable ? this.sm.holdMs : 0;
  }

  /** Bytes from the client. */
  receive(bytes: Uint8Array): void {
    if (this.stage === 'closed') return;
    for (const event of this.parser.feed(bytes)) this.enqueue(event);
  }

  /**
   * A stanza for this client, from the node's router. With stream management it is kept until the
   * client acknowledges it, an ack is asked for with each chat message (in the same write, so a
   * client that reads the message reads the request) and every few other stanzas, and while the
   * session is held it only waits in that queue.
   */
  push(stanza: XmlElement, record?: string): PushOutcome {
    if (!this.bound || (this.stage !== 'open' && this.stage !== 'detached')) return 'dropped';
    const text = stanza.toString();
    if (!this.sm) {
      this.deps.connection.write(text);
      return 'written';
    }
    this.sm.sent(text, record);
    if (this.sm.unackedCount > XMPP_SM_UNACKED_MAX) queueMicrotask(() => this.overflowed());
    if (this.stage === 'open') this.deps.connection.write(record !== undefined || this.sm.outbound % XMPP_SM_ACK_REQUEST_STANZAS === 0 ? text + smRequest().toString() : text);
    return 'unacked';
  }

  /** An answer to the client's stanza (written like any stanza for it). */
  private reply(stanza: XmlElement): void {
    this.push(stanza);
  }

  /** A client that does not acknowledge (or a held session that is sent too much) is given up: what it did not acknowledge goes back for delivery. */
  private overflowed(): void {
    if (!this.sm || this.sm.unackedCount <= XMPP_SM_UNACKED_MAX) return;
    if (this.stage === 'detached') return this.closeNow();
    this.fail('resource-constraint', `more than ${XMPP_SM_UNACKED_MAX} stanzas unacknowledged`);
  }

  /** The connection dropped: a resumable session is held (true; the node's hub times the hold), any other ends. */
  detach(): boolean {
    if (this.stage !== 'open' || !this.bound || !this.sm?.resumable) return false;
    this.stage = 'detached';
    return true;
  }

  /** The hold ran out (or the node gave the session up): it ends, its contacts see it leave, its unacknowledged records go back. */
  expire(): void {
    if (this.stage === 'detached') this.closeNow();
  }

  canResumeAt(h: string | undefined): boolean {
    return this.sm?.canAck(h) ?? false;
  }

  handOver(): SessionHandOver {
    const state = { resource: this.resource, available: this.available, carbons: this.carbons, sm: this.sm! };
    if (this.stage === 'open') this.deps.connection.write(streamError('conflict', 'this session was resumed on another connection') + STREAM_CLOSE);
    this.discarding = true;
    this.stage = 'closed';
    this.bound = false;
    this.available = false;
    this.sm = undefined;
    this.deps.connection.close();
    return state;
  }

  /** The socket closed or the node is stopping: end the stream (with `condition` when the server ends it). */
  end(condition?: StreamErrorCondition, text?: string): void {
    if (this.stage === 'closed') return;
    if (condition) this.fail(condition, text);
    else this.finish();
  }

  private enqueue(event: StreamEvent): void {
    if (event.kind === 'error') return this.fail(event.condition, event.text);
    if (this.queued >= XMPP_STANZAS_BURST) return this.fail('policy-violation', 'too many stanzas waiting; slow down');
    this.queued++;
    this.queue = this.queue
      .then(() => (this.discarding ? undefined : this.handle(event)))
      .catch((e: Error) => {
        this.deps.observe?.('xmpp.failed', { error: e.message, code: (e as { code?: string }).code });
        this.fail('internal-server-error', 'the server failed; try again');
      })
      .finally(() => this.queued--);
  }

  /** Settles once every stanza received so far has been handled (tests, and the actor's orderly close). */
  idle(): Promise<void> {
    return this.queue;
  }

  private async handle(event: StreamEvent): Promise<void> {
    // The client closed its stream (or its socket) behind a chat message: the message is still sent.
    if (this.stage === 'closed') return event.kind === 'stanza' && this.boundJid && event.element.name === 'message' && event.element.xmlns === NS_CLIENT ? this.message(this.stamped(event.element)) : undefined;
    if (event.kind === 'open') return this.openStream(event.attrs);
    if (event.kind === 'close') return this.finish();
    if (event.kind === 'stanza') return this.stanza(event.element);
  }

  private openStream(attrs: Readonly<Record<string, string>>): void {
    if (this.stage !== 'stream') return this.fail('not-well-formed', 'a stream is already open');
    this.deps.connection.write(streamHeader(this.deps.info.domain, this.deps.info.newId(), this.account ? this.address : undefined));
    this.headerSent = true;
    this.stage = 'open';
    if (attrs.to !== undefined && attrs.to.toLowerCase() !== this.deps.info.domain) return this.fail('host-unknown', `this server serves ${this.deps.info.domain}`);
    if (attrs.version === undefined || !/^1\.\d+$/.test(attrs.version)) return this.fail('unsupported-version', 'this server speaks XMPP 1.0');
    this.deps.connection.write(this.features().toString());
  }

  private features(): XmlElement {
    if (!this.account)
      return el(
        'stream:features',
        {},
        this.deps.info.tlsAvailable && !this.tls && el('starttls', { xmlns: NS.tls }),
        el('mechanisms', { xmlns: NS.sasl }, ...MECHANISMS.map((m) => el('mechanism', {}, m))),
      );
    return el('stream:features', {}, el('bind', { xmlns: NS.bind }), el('session', { xmlns: NS.session }, el('optional')), el('sm', { xmlns: NS.sm }));
  }

  private async stanza(stanza: XmlElement): Promise<void> {
    if (stanza.xmlns === NS.tls && stanza.name === 'starttls') return this.startTls();
    if (stanza.xmlns === NS.sasl) return this.sasl(stanza);
    if (stanza.xmlns === NS.sm) return this.streamManagement(stanza);
    if (stanza.xmlns !== NS_CLIENT || !['iq', 'message', 'presence'].includes(stanza.name)) return this.fail('unsupported-stanza-type', `<${stanza.name}/> in ${stanza.xmlns} is not a stanza`);
    if (!this.account) return this.fail('not-authorized', 'log in first');
    if (!this.bound) {
      if (stanza.name === 'iq' && stanza.child('bind', NS.bind)) return this.bind(stanza);
      return this.fail('not-authorized', 'bind a resource first');
    }
    // XEP-0198 counts every stanza the server took care of, refused ones included (they were answered).
    this.sm?.handled();
    if (!this.admit()) {
      if (stanza.name !== 'presence' && stanza.attr('type') !== 'error' && stanza.attr('type') !== 'result')
        this.push(stanzaError(this.stamped(stanza), 'policy-violation', 'too many stanzas; slow down'));
      return;
    }
    const from = stanza.attr('from');
    if (from !== undefined && from !== this.fullJid && from !== this.address) return this.fail('invalid-from', 'from is not this stream\'s address');
    const stamped = this.stamped(stanza);
    if (stanza.name === 'iq') return handleIq(stamped, { session: this, account: this.account, hub: this.deps.hub, info: this.deps.info });
    if (stanza.name === 'message') return this.message(stamped);
    return this.presence(stamped);
  }

  /** The stanza as routed: from = this session's full JID (RFC 6120 8.1.2.1). */
  private stamped(stanza: XmlElement): XmlElement {
    stanza.attrs.from = this.boundJid ?? this.fullJid;
    return stanza;
  }

  /** Token bucket: XMPP_STANZAS_PER_SECOND sustained, XMPP_STANZAS_BURST at once. */
  private admit(): boolean {
    const now = this.deps.info.now();
    this.tokens = Math.min(XMPP_STANZAS_BURST, this.tokens + ((now - this.tokensAtMs) * XMPP_STANZAS_PER_SECOND) / 1000);
    this.tokensAtMs = now;
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }

  /**
   * XEP-0198: acknowledgements both ways, so a client knows what the server handled (a stanza handled
   * here is stored or answered) and the server what the client got; with resumption, a stream lost
   * is held for the client to resume on a new connection (`resume`).
   */
  private async streamManagement(element: XmlElement): Promise<void> {
    const write = (e: XmlElement) => void this.deps.connection.write(e.toString());
    if (element.name === 'resume') return this.resume(element);
    if (element.name === 'enable') {
      if (!this.bound || this.sm) return write(smFailed('unexpected-request'));
      const { sm, reply } = StreamManagement.enable(element, () => {
        const id = `${this.deps.info.newId()}${this.deps.info.newId()}`;
        return this.deps.hub.resumable(this, id) ? id : undefined;
      });
      this.sm = sm;
      return write(reply);
    }
    if (!this.sm) return this.fail('unsupported-stanza-type', 'enable stream management first');
    if (element.name === 'r') return write(smAck(this.sm));
    if (element.name === 'a') {
      const acked = this.sm.ack(element.attr('h'));
      if (!acked.ok) return this.fail('undefined-condition', 'h acknowledges stanzas never sent');
      if (acked.records.length > 0) this.deps.hub.acked(this, acked.records);
      return;
    }
    this.fail('unsupported-stanza-type', `<${element.name}/> is not a stream management element`);
  }

  /**
   * <resume previd h/> after login, before binding: the held (or still live) session of this user on
   * this node takes this connection. Unknown, expired or another user's: item-not-found, and the
   * client binds anew. The client's h acknowledges what it got; the rest is sent again.
   */
  private async resume(element: XmlElement): Promise<void> {
    const write = (e: XmlElement) => void this.deps.connection.write(e.toString());
    if (!this.account || this.bound || this.sm) return write(smFailed('unexpected-request'));
    const previd = element.attr('previd') ?? '';
    const old = this.deps.hub.resumeTarget(this.address, previd);
    if (old) await old.idle(); // what the old connection delivered is counted before h is compared
    if (!old || this.deps.hub.resumeTarget(this.address, previd) !== old || this.stage !== 'open') return write(smFailed('item-not-found'));
    if (!old.canResumeAt(element.attr('h'))) return write(smFailed('undefined-condition'));
    const state = old.handOver();
    this.deps.hub.takeOver(old, this);
    this.resource = state.resource;
    this.bound = true;
    this.boundJid = this.fullJid;
    this.available = state.available;
    this.carbons = state.carbons;
    this.sm = state.sm;
    const acked = this.sm.ack(element.attr('h'));
    if (acked.ok && acked.records.length > 0) this.deps.hub.acked(this, acked.records);
    const resend = this.sm.pending();
    this.deps.connection.write(smResumed(this.sm).toString() + resend.join('') + (resend.length > 0 ? smRequest().toString() : ''));
  }

  private async startTls(): Promise<void> {
    if (!this.deps.info.tlsAvailable || this.tls || this.account) {
      this.deps.connection.write(el('failure', { xmlns: NS.tls }).toString());
      return this.finish();
    }
    this.deps.connection.write(el('proceed', { xmlns: NS.tls }).toString());
    await this.deps.connection.startTls();
    this.tls = true;
    this.restart();
  }

  /** A stream restart (RFC 6120 4.3.3): a fresh parser, a new header expected. */
  private restart(): void {
    this.parser = new StreamParser();
    this.stage = 'stream';
  }

  // ---- SASL --------------------------------------------------------------------------------------

  private saslFailure(failure: SaslFailure, text?: string): void {
    this.scram = undefined;
    this.deps.connection.write(el('failure', { xmlns: NS.sasl }, el(failure), text ? el('text', { 'xml:lang': 'en' }, text) : undefined).toString());
  }

  private async sasl(stanza: XmlElement): Promise<void> {
    if (this.account) return this.fail('policy-violation', 'already logged in');
    if (stanza.name === 'abort') return this.saslFailure('aborted');
    const payload = decodeSaslPayload(stanza.text());
    if (!payload) return this.saslFailure('incorrect-encoding');
    if (stanza.name === 'response') return this.scramFinal(payload);
    if (stanza.name !== 'auth') return this.fail('unsupported-stanza-type', `<${stanza.name}/> is not a SASL element`);
    if (++this.saslAttempts > XMPP_SASL_ATTEMPTS_MAX) return this.fail('policy-violation', 'too many login attempts on this connection');
    const mechanism = stanza.attr('mechanism') as SaslMechanism;
    if (mechanism === 'PLAIN') return this.plain(payload);
    if (mechanism === 'SCRAM-SHA-1' || mechanism === 'SCRAM-SHA-256') return this.scramFirst(mechanism, payload);
    return this.saslFailure('invalid-mechanism');
  }

  private async plain(payload: Uint8Array): Promise<void> {
    const creds = parsePlain(payload);
    if (!creds.ok) return this.saslFailure(creds.failure);
    const result = await this.deps.login.plain(creds.username, creds.password);
    if (!result.ok) return this.saslFailure(result.failure, result.text);
    if (creds.authzid && bareJid(creds.authzid) !== result.account.address) return this.saslFailure('invalid-authzid', 'log in as yourself');
    this.succeed(result.account);
  }

  private scramFirst(mechanism: 'SCRAM-SHA-1' | 'SCRAM-SHA-256', payload: Uint8Array): void {
    const first = parseScramClientFirst(payload);
    if (!first.ok) return this.saslFailure(first.failure, first.text);
    const credentials = this.deps.login.scramCredentials(first.username, SCRAM_HASH[mechanism]);
    // The node keeps SCRAM keys only for a password it verified itself: the client falls back to PLAIN.
    if (!credentials) return this.saslFailure('temporary-auth-failure', 'this server has no SCRAM keys for you yet: log in once with PLAIN');
    this.scram = scramServerFirst(first, mechanism, credentials, this.deps.info.newId());
    this.deps.connection.write(el('challenge', { xmlns: NS.sasl }, Buffer.from(this.scram.serverFirst).toString('base64')).toString());
  }

  private async scramFinal(payload: Uint8Array): Promise<void> {
    const exchange = this.scram;
    if (!exchange) return this.saslFailure('malformed-request', 'no SCRAM exchange is under way');
    this.scram = undefined;
    let final: ReturnType<typeof checkScramClientFinal> | undefined;
    const result = await this.deps.login.scram(exchange.username, () => {
      final = checkScramClientFinal(exchange, payload);
      return final.ok || !final.guess;
    });
    if (!result.ok) return this.saslFailure(result.failure, result.text);
    if (!final?.ok) return this.saslFailure(final?.failure ?? 'not-authorized', final?.text);
    this.succeed(result.account, final.serverFinal);
  }

  private succeed(account: XmppAccount, additional?: string): void {
    this.account = account;
    this.deps.connection.write(el('success', { xmlns: NS.sasl }, additional ? Buffer.from(additional).toString('base64') : undefined).toString());
    this.restart();
  }

  // ---- binding, messages, presence -----------------------------------------------------------------

  private bind(iq: XmlElement): void {
    const wanted = iq.child('bind', NS.bind)?.childText('resource')?.trim();
    this.resource = wanted && wanted.length <= 256 && !/[\s/]/.test(wanted) ? wanted : this.deps.info.newId();
    let outcome = this.deps.hub.bind(this, this.account!);
    if (outcome === 'conflict') {
      // RFC 6120 7.7.2.2: the server may give the new session a resource of its own choosing.
      this.resource = `${this.resource}-${this.deps.info.newId().slice(0, 8)}`;
      outcome = this.deps.hub.bind(this, this.account!);
    }
    if (outcome !== 'ok') return void this.deps.connection.write(stanzaError(iq, outcome === 'too-many' ? 'resource-constraint' : 'conflict').toString());
    this.bound = true;
    this.boundJid = this.fullJid;
    this.deps.connection.write(el('iq', { xmlns: NS_CLIENT, type: 'result', id: iq.attr('id') }, el('bind', { xmlns: NS.bind }, el('jid', {}, this.fullJid))).toString());
  }

  private async message(stanza: XmlElement): Promise<void> {
    const type = stanza.attr('type') ?? 'normal';
    // An error is never answered with an error (RFC 6120 8.3.1); nothing here is waiting for one.
    if (type === 'error') return;
    const to = parseJid(stanza.attr('to') ?? this.address);
    if (!to) return this.reply(stanzaError(stanza, 'bad-request', 'to is not a JID'));
    // RFC 6121 8.5.2.1.1 and 8.5.3.2.1: groupchat to a user's JID is service-unavailable (there are no rooms yet).
    if (to.local === undefined || type === 'groupchat') return this.reply(stanzaError(stanza, 'service-unavailable', 'this server has no service at that address'));
    // RFC 6121 5.2.2: a type this server does not know is normal. Kept with the message when not chat.
    const kept = type === 'chat' ? undefined : type === 'headline' ? 'headline' : 'normal';
    const bareTo = `${to.local}@${to.domain}`;
    const body = stanza.childText('body');
    if (body === undefined) {
      // Receipts and chat states are not stored in the conversation: carried to the recipient's sessions.
      const signal = signalOf(stanza);
      if (signal && !(signal.kind === 'receipt' && signal.id.length > 256)) await this.deps.hub.signal(this, bareTo, signal);
      return;
    }
    if (body.length > XMPP_BODY_CHARS_MAX) return this.reply(stanzaError(stanza, 'policy-violation', `a message body is at most ${XMPP_BODY_CHARS_MAX} characters`));
    const key = `s:${this.deps.info.newId()}`;
    this.deps.hub.sending(this.address, key);
    try {
      const xmppId = stanza.attr('id');
      await this.account!.sendChat(bareTo, body, key, { ...(xmppId && xmppId.length <= 256 ? { xmppId } : {}), receipt: stanza.child('request', NS.receipts) !== undefined, ...(kept ? { type: kept } : {}) });
    } catch (e) {
      this.deps.observe?.('xmpp.message.failed', { to: bareTo, error: (e as Error).message, code: (e as { code?: string }).code });
      return this.reply(stanzaError(stanza, (e as { code?: string }).code === 'UNKNOWN_USER' ? 'service-unavailable' : 'recipient-unavailable', (e as Error).message));
    }
    if (kept !== 'headline') this.carbonSent(stanza); // XEP-0280 6: headlines are not carbon-copied
  }

  /** XEP-0280: the other sessions of this account with carbons on get a copy of what this one sent. */
  private carbonSent(stanza: XmlElement): void {
    if (stanza.child('private', NS.carbons)) return;
    for (const s of this.deps.hub.sessionsOf(this.address)) {
      if (s === this || !s.carbons) continue;
      s.push(el('message', { xmlns: NS_CLIENT, from: this.address, to: `${s.address}/${s.resource}`, type: stanza.attr('type') ?? 'normal' }, el('sent', { xmlns: NS.carbons }, el('forwarded', { xmlns: NS.forward }, stanza))));
    }
  }

  private async presence(stanza: XmlElement): Promise<void> {
    const type = stanza.attr('type');
    const to = stanza.attr('to');
    if (to !== undefined) {
      const bareTo = bareJid(to);
      if (type === 'subscribe' || type === 'subscribed' || type === 'unsubscribe' || type === 'unsubscribed') {
        if (!bareTo || !bareTo.includes('@') || bareTo === this.address) return this.reply(stanzaError(stanza, 'bad-request', 'subscriptions are between users'));
        return this.deps.hub.subscription(this, type, bareTo);
      }
      return; // directed presence and probes from clients: not served
    }
    if (type !== undefined && type !== 'unavailable') return;
    const wasAvailable = this.available;
    this.available = type !== 'unavailable';
    this.deps.hub.presence(this, stanza, wasAvailable);
    if (this.available && !wasAvailable) this.deps.hub.becameAvailable(this);
  }

  // ---- the end -----------------------------------------------------------------------------------

  private fail(condition: StreamErrorCondition, text?: string): void {
    if (this.stage === 'closed') return;
    this.discarding = true;
    this.deps.observe?.('xmpp.stream.error', { condition, text });
    if (!this.headerSent) this.deps.connection.write(streamHeader(this.deps.info.domain, this.deps.info.newId()));
    this.deps.connection.write(streamError(condition, text) + STREAM_CLOSE);
    this.closeNow();
  }

  private finish(): void {
    if (this.stage === 'closed') return;
    this.deps.connection.write(STREAM_CLOSE);
    this.closeNow();
  }

  private closeNow(): void {
    this.stage = 'closed';
    if (this.bound) this.deps.hub.unbind(this, this.sm?.unackedRecords() ?? []);
    this.bound = false;
    this.available = false;
    this.deps.connection.close();
  }
}
