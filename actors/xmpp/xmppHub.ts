// The node's live XMPP routing (issue 17): bound sessions by user, one UserThread per user with
// a login here (opened by the first connection, closed with the last), presence between a user's
// own sessions, and stanzas that are not stored (chat states, receipts) between sessions on this node.
//
// XEP-0198 resumption: every resumable session by its id (live or held), and the held ones with the
// timer of their hold (XMPP_SM_RESUME_HOLD_MS at most). A held session stays bound and available: its
// contacts see it leave only when the hold runs out, and messages meanwhile wait in its queue. A new
// stream of the same user on this node takes a session over by its id (`takeOver`); a new bind of a
// held session's resource ends the held one first (the client gave up resuming it).
import type { Clock, Log, TimerHandle } from '../../infra/ports';
import { ErrorCodes, type PostError } from '../../protocol/errors';
import { stanzaError } from '../../xmpp/stanzas';
import { XMPP_RESOURCES_PER_USER_MAX, XMPP_SM_HELD_MAX } from '../../protocol/limits';
import type { ChatSignal, ResumableSession, RoutedSession, XmppAccount, XmppHub } from '../../xmpp/ports';
import { NS_CLIENT } from '../../xmpp/streamParser';
import { el, type XmlElement } from '../../xmpp/xml';
import type { UserThread } from './userThread';

export class NodeXmppHub implements XmppHub {
  /** Each user with a login here: their thread (shared by that user's connections) and how many connections hold it. */
  private readonly held = new Map<string, { opening: Promise<UserThread>; holders: number }>();
  private readonly threads = new Map<string, UserThread>();
  /** Resumable sessions by their XEP-0198 id, live or held. */
  private readonly resumables = new Map<string, ResumableSession>();
  /** Sessions held after their connection dropped: the hold's timer and the release of what their connection held. */
  private readonly holds = new Map<RoutedSession, { timer: TimerHandle; release: () => void; expire: () => void; waiting: () => number }>();

  constructor(
    private readonly log: Log,
    private readonly clock: Clock,
  ) {}

  /** Sessions held for resumption (for /metrics). */
  get heldCount(): number {
    return this.holds.size;
  }

  /** Stanzas waiting in held sessions for their clients to come back (for /metrics). */
  get heldStanzas(): number {
    let n = 0;
    for (const h of this.holds.values()) n += h.waiting();
    return n;
  }

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
    const holder = [...t.sessions].find((s) => s.resource === session.resource);
    if (holder && this.holds.has(holder)) this.endHold(holder, true);
    if ([...t.sessions].some((s) => s.resource === session.resource)) return 'conflict';
    if (t.sessions.size >= XMPP_RESOURCES_PER_USER_MAX) return 'too-many';
    t.sessions.add(session);
    this.log.info('xmpp.bound', { user: session.address, resource: session.resource });
    return 'ok';
  }

  unbind(session: RoutedSession, unacked: readonly string[] = []): void {
    for (const [id, s] of this.resumables) if (s === session) this.resumables.delete(id);
    const t = this.threads.get(session.address);
    if (!t || !t.sessions.delete(session)) return;
    t.ended(session, unacked);
    if (!session.available) return;
    this.broadcast(session, el('presence', { xmlns: NS_CLIENT, type: 'unavailable' }));
    t.presenceChanged(session, true);
  }

  acked(session: RoutedSession, records: readonly string[]): void {
    this.threads.get(session.address)?.acked(records);
  }

  resumable(session: ResumableSession, id: string): boolean {
    if (this.resumables.size >= XMPP_SM_HELD_MAX) return false;
    this.resumables.set(id, session);
    return true;
  }

  resumeTarget(address: string, previd: string): ResumableSession | undefined {
    const s = this.resumables.get(previd);
    return s && s.address === address ? s : undefined;
  }

  takeOver(old: ResumableSession, session: ResumableSession): void {
    if (this.holds.has(old)) this.endHold(old, false);
    for (const [id, s] of this.resumables) if (s === old) this.resumables.set(id, session);
    const t = this.threads.get(old.address);
    if (t?.sessions.delete(old)) {
      t.sessions.add(session);
      t.replaced(old, session);
    }
    this.log.info('xmpp.resumed', { user: session.address, resource: session.resource });
  }

  /** The connection of a resumable session dropped: hold it for its hold time; `release` frees what the connection held (the user's thread). */
  hold(session: RoutedSession & { readonly holdMs: number; readonly unackedCount: number; expire(): void }, release: () => void): void {
    const timer = this.clock.setTimeout(() => this.endHold(session, true), session.holdMs);
    this.holds.set(session, { timer, release, expire: () => session.expire(), waiting: () => session.unackedCount });
    this.log.info('xmpp.held', { user: session.address, resource: session.resource, holdMs: session.holdMs });
  }

  /** A hold ends: taken over by a resuming stream (the session lives on there), or run out (`expire`: the session ends). */
  private endHold(session: RoutedSession, expire: boolean): void {
    const hold = this.holds.get(session);
    if (!hold) return;
    this.holds.delete(session);
    this.clock.clearTimeout(hold.timer);
    if (expire) {
      this.log.info('xmpp.hold.expired', { user: session.address, resource: session.resource });
      hold.expire();
    }
    hold.release();
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
    // The node stops: held sessions end with it; what they were not acknowledged was never counted seen.
    for (const { timer } of this.holds.values()) this.clock.clearTimeout(timer);
    this.holds.clear();
    this.resumables.clear();
    for (const t of this.threads.values()) t.close();
    this.threads.clear();
    this.held.clear();
  }
}
