// The XMPP client of the IM benchmark: one raw TCP connection (TCP_NODELAY) speaking just what a chat
// client needs (RFC 6120/6121): stream, SASL PLAIN, resource binding, the session, initial presence,
// then chat messages out and in. The same client talks to POST and to Prosody, so neither side's
// figures include a different client. Incoming XML goes through the stream parser the node uses
// (saxes underneath); nothing here parses XML. Each incoming message is timestamped on arrival,
// before anything else is done with it.
import { connect, type Socket } from 'node:net';
import { NS_CLIENT, StreamParser, type StreamEvent } from '../../xmpp/streamParser';
import { el, type XmlElement } from '../../xmpp/xml';

const NS_STREAM = 'http://etherx.jabber.org/streams';
const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
const NS_BIND = 'urn:ietf:params:xml:ns:xmpp-bind';
const NS_SESSION = 'urn:ietf:params:xml:ns:xmpp-session';

export interface XmppEndpoint {
  host: string;
  port: number;
}

export interface XmppAccount {
  /** Bare JID, user@domain. */
  jid: string;
  password: string;
}

export interface ReceivedMessage {
  from: string;
  body: string;
  type: string;
  /** performance.now() when the bytes that completed the stanza arrived. */
  atMs: number;
}

/** A stanza the server refused (type='error'), with its condition. */
export interface RefusedStanza {
  name: string;
  id: string | undefined;
  condition: string;
}

export class BenchXmppClient {
  private parser = new StreamParser();
  private readonly waiters: { match: (s: XmlElement) => boolean; resolve: (s: XmlElement) => void; reject: (e: Error) => void }[] = [];
  private failure: Error | undefined;
  private nextId = 0;
  /** Told of each chat/normal/headline message with a body, as it arrives. */
  onMessage: (message: ReceivedMessage) => void = () => {};
  readonly refused: RefusedStanza[] = [];

  private constructor(
    private readonly socket: Socket,
    readonly account: XmppAccount,
    private readonly timeoutMs: number,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (bytes) => {
      const atMs = performance.now();
      for (const event of this.parser.feed(bytes)) this.event(event, atMs);
    });
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () => this.fail(new Error(`${account.jid}: the server closed the connection`)));
  }

  get domain(): string {
    return this.account.jid.split('@')[1]!;
  }

  /** Connects, logs in with PLAIN, binds a resource and sends initial presence. */
  static async login(endpoint: XmppEndpoint, account: XmppAccount, opts: { resource?: string; timeoutMs?: number } = {}): Promise<BenchXmppClient> {
    const socket = connect(endpoint.port, endpoint.host);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const client = new BenchXmppClient(socket, account, opts.timeoutMs ?? 30_000);
    try {
      await client.start(opts.resource ?? 'bench');
    } catch (e) {
      client.socket.destroy();
      throw e;
    }
    return client;
  }

  private async start(resource: string): Promise<void> {
    const [local] = this.account.jid.split('@');
    const features = (s: XmlElement) => s.name === 'features' && s.xmlns === NS_STREAM;
    this.openStream();
    await this.next(features, 'stream features');
    const auth = Buffer.from(`\0${local}\0${this.account.password}`).toString('base64');
    this.write(el('auth', { xmlns: NS_SASL, mechanism: 'PLAIN' }, auth));
    const outcome = await this.next((s) => s.xmlns === NS_SASL && (s.name === 'success' || s.name === 'failure'), 'SASL outcome');
    if (outcome.name !== 'success') throw new Error(`${this.account.jid}: SASL PLAIN refused (${outcome.elements()[0]?.name ?? 'no condition'})`);
    this.parser = new StreamParser(); // RFC 6120 6.4.6: a new stream after SASL
    this.openStream();
    const boundFeatures = await this.next(features, 'stream features after SASL');
    await this.iq(el('iq', { type: 'set' }, el('bind', { xmlns: NS_BIND }, el('resource', {}, resource))), 'bind');
    // RFC 3921's session: optional in both servers' features, still sent by many clients.
    if (boundFeatures.child('session', NS_SESSION)) await this.iq(el('iq', { type: 'set' }, el('session', { xmlns: NS_SESSION })), 'session');
    this.write(el('presence'));
  }

  private openStream(): void {
    this.socket.write(`<?xml version='1.0'?><stream:stream to='${this.domain}' xmlns='${NS_CLIENT}' xmlns:stream='${NS_STREAM}' version='1.0'>`);
  }

  private async iq(stanza: XmlElement, what: string): Promise<XmlElement> {
    const id = `q${this.nextId++}`;
    stanza.attrs.id = id;
    this.write(stanza);
    const reply = await this.next((s) => s.name === 'iq' && s.attr('id') === id, what);
    if (reply.attr('type') !== 'result') throw new Error(`${this.account.jid}: ${what} refused: ${reply.toString()}`);
    return reply;
  }

  /** Sends a message (type chat unless told otherwise); returns when it is handed to the socket. */
  send(to: string, body: string, opts: { id?: string; type?: string } = {}): void {
    this.write(el('message', { to, type: opts.type ?? 'chat', id: opts.id ?? `m${this.nextId++}` }, el('body', {}, body)));
  }

  /** The failure that ended this connection, if any (a stream error, a closed socket). */
  get error(): Error | undefined {
    return this.failure;
  }

  /** Ends the stream and the connection. */
  async close(): Promise<void> {
    if (this.socket.destroyed) return;
    this.failure ??= new Error(`${this.account.jid}: closed by the benchmark`);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.socket.destroy();
        resolve();
      }, 2000);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.socket.end('</stream:stream>');
    });
  }

  private write(stanza: XmlElement): void {
    this.socket.write(stanza.toString());
  }

  private next(match: (s: XmlElement) => boolean, what: string): Promise<XmlElement> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (s: XmlElement) => {
          clearTimeout(timer);
          resolve(s);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`${this.account.jid}: no ${what} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.waiters.push(waiter);
    });
  }

  private event(event: StreamEvent, atMs: number): void {
    if (event.kind === 'error') return this.fail(new Error(`${this.account.jid}: the server's stream is not valid XML: ${event.text}`));
    if (event.kind === 'close') return this.fail(new Error(`${this.account.jid}: the server ended the stream`));
    if (event.kind !== 'stanza') return;
    const stanza = event.element;
    if (stanza.name === 'error' && stanza.xmlns === NS_STREAM) return this.fail(new Error(`${this.account.jid}: stream error ${stanza.elements()[0]?.name ?? '?'}: ${stanza.childText('text') ?? ''}`));
    const i = this.waiters.findIndex((w) => w.match(stanza));
    if (i >= 0) {
      const [waiter] = this.waiters.splice(i, 1);
      return waiter!.resolve(stanza);
    }
    if (stanza.attr('type') === 'error') {
      const condition = stanza.child('error')?.elements()[0]?.name ?? 'unknown';
      this.refused.push({ name: stanza.name, id: stanza.attr('id'), condition });
      return;
    }
    const body = stanza.name === 'message' ? stanza.childText('body') : undefined;
    if (body !== undefined) this.onMessage({ from: stanza.attr('from') ?? '', body, type: stanza.attr('type') ?? 'normal', atMs });
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
    this.socket.destroy();
  }
}
