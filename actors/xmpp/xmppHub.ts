// The node's live XMPP routing (issue 17): bound sessions by user, one UserThread per user with
// a login here (opened by the first connection, closed with the last), presence between a user's
// own sessions, and stanzas that are not stored (chat states, receipts) between sessions on this node.
import type { Log } from '../../infra/ports';
import { ErrorCodes, type PostError } from '../../protocol/errors';
import { stanzaError } from '../../xmpp/stanzas';
import { XMPP_RESOURCES_PER_USER_MAX } from '../../protocol/limits';
import type { ChatSignal, RoutedSession, XmppAccount, XmppHub } from '../../xmpp/ports';
import { NS_CLIENT } from '../../xmpp/streamParser';
import { el, type XmlElement } from '../../xmpp/xml';
import type { UserThread } from './userThread';

export class NodeXmppHub implements XmppHub {
  /** Each user with a login here: their thread (shared by that user's connections) and how many connections hold it. */
  private readonly held = new Map<string, { opening: Promise<UserThread>; holders: number }>();
  private readonly threads = new Map<string, UserThread>();

  constructor(private readonly log: Log) {}

  /** Sessions bound on this node (for /metrics). */
  get sessionCount(): number {
    let n = 0;
    for (const t of this.threads.values()) n += t.sessions.size;
    return n;
  }

  /** A connection logged in as `address`: the user's thread, opened by the first and shared with later ones. */
  acquire(address: string, open: () => Promise<UserThread>): Promise<UserThread> {
    let entry = this.held.get(address);
    if (!entry) {
      const opening = open().then((t) => {
        if (this.held.get(address)?.opening === opening) this.threads.set(address, t);
        else t.close();
        return t;
      });
      entry = { opening, holders: 0 };
      this.held.set(address, entry);
      opening.catch(() => this.held.get(address)?.opening === opening && this.held.delete(address));
    }
    entry.holders++;
    return entry.opening;
  }

  /** A connection of `address` ended (after unbinding its session): the last one closes the thread. */
  release(address: string): void {
    const entry = this.held.get(address);
    if (!entry || --entry.holders > 0) return;
    this.held.delete(address);
    this.threads.get(address)?.close();
    this.threads.delete(address);
  }

  bind(session: RoutedSession, account: XmppAccount): 'ok' | 'conflict' | 'too-many' {
    const t = account as UserThread;
    if ([...t.sessions].some((s) => s.resource === session.resource)) return 'conflict';
    if (t.sessions.size >= XMPP_RESOURCES_PER_USER_MAX) return 'too-many';
    t.sessions.add(session);
    this.log.info('xmpp.bound', { user: session.address, resource: session.resource });
    return 'ok';
  }

  unbind(session: RoutedSession): void {
    const t = this.threads.get(session.address);
    if (!t || !t.sessions.delete(session)) return;
    if (!session.available) return;
    this.broadcast(session, el('presence', { xmlns: NS_CLIENT, type: 'unavailable' }));
    t.presenceChanged(session, true);
  }

  becameAvailable(session: RoutedSession): void {
    this.threads.get(session.address)?.becameAvailable(session);
  }

  sending(address: string, key: string): void {
    this.threads.get(address)?.sending(key);
  }

  presence(session: RoutedSession, stanza: XmlElement, wasAvailable: boolean): void {
    const t = this.threads.get(session.address);
    const othersAvailable = this.sessionsOf(session.address).some((s) => s !== session && s.available);
    this.broadcast(session, stanza);
    t?.presenceChanged(session, othersAvailable || wasAvailable);
  }

  /** A request to an address that is no user (or a ring away) is answered with a presence error, not the end of the stream. */
  async subscription(session: RoutedSession, kind: 'subscribe' | 'subscribed' | 'unsubscribe' | 'unsubscribed', to: string): Promise<void> {
    try {
      await this.threads.get(session.address)?.subscription(kind, to);
    } catch (e) {
      const unknown = (e as PostError).code === ErrorCodes.UNKNOWN_USER;
      this.log.info('xmpp.subscription.failed', { user: session.address, to, kind, error: (e as Error).message });
      session.push(stanzaError(el('presence', { type: kind, from: `${session.address}/${session.resource}`, to }), unknown ? 'item-not-found' : 'remote-server-not-found', (e as Error).message));
    }
  }

  /** RFC 6121 4.2.2 and 4.4.2: a session's presence goes to every available session of the account, itself included. */
  private broadcast(session: RoutedSession, stanza: XmlElement): void {
    const from = `${session.address}/${session.resource}`;
    for (const s of this.sessionsOf(session.address)) {
      if (!s.available && s !== session) continue;
      s.push(el('presence', { ...stanza.attrs, xmlns: NS_CLIENT, from, to: `${s.address}/${s.resource}` }, ...stanza.children));
    }
  }

  /** Receipts and chat states are best effort: one that cannot be sent is logged, the stream goes on. */
  async signal(session: RoutedSession, to: string, signal: ChatSignal): Promise<void> {
    await this.threads
      .get(session.address)
      ?.signalOut(to, signal)
      .catch((e: Error) => this.log.info('xmpp.signal.failed', { user: session.address, to, kind: signal.kind, error: e.message, code: (e as PostError).code }));
  }

  sessionsOf(address: string): readonly RoutedSession[] {
    return [...(this.threads.get(address)?.sessions ?? [])];
  }

  close(): void {
    for (const t of this.threads.values()) t.close();
    this.threads.clear();
    this.held.clear();
  }
}
