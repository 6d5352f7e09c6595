// What the XMPP core (xmpp/session.ts) needs from the node, as ports: logging in, one account's
// roster and conversations (POST's `messages` log and notifications, the same store `post message`
// uses), and the node's live routing between sessions (actors/xmpp/). The core holds no I/O itself.
import type { ScramCredentials, ScramHash } from '../crypto/scram';
import type { XmppStoredMessageType } from '../protocol/apps';
import type { RosterItem } from '../storage/xmpp/rosterModel';
import type { SaslFailure } from './sasl';
import type { StreamManagement } from './streamManagement';
import type { XmlElement } from './xml';

/** One record of the user's conversation store, its text not read yet. */
export interface ChatMeta {
  /** The record's key in the `messages` log: the XMPP stanza-id and MAM id. */
  readonly key: string;
  readonly direction: 'in' | 'out';
  readonly from: string;
  readonly to: readonly string[];
  readonly sentAtMs: number;
  /** The sending client's message id (XMPP senders only), and whether it asked for a receipt (XEP-0184). */
  readonly xmppId?: string;
  readonly receipt?: boolean;
  /** The message's type when not chat (RFC 6121 5.2.2), as its sender gave it. */
  readonly type?: XmppStoredMessageType;
}

/** A message without stored content: a delivery receipt (XEP-0184) or a chat state (XEP-0085). */
export type ChatSignal = { readonly kind: 'receipt'; readonly id: string } | { readonly kind: 'chatstate'; readonly state: 'active' | 'composing' | 'paused' | 'inactive' | 'gone' };

/** A record with its text (read from the ring). */
export interface ChatRecord extends ChatMeta {
  readonly text: string;
}

export type LoginResult = { readonly ok: true; readonly account: XmppAccount } | { readonly ok: false; readonly failure: SaslFailure; readonly text: string };

export interface XmppLogin {
  /** Check a password through the node's login path and throttle (the IMAP one). */
  plain(username: string, password: string): Promise<LoginResult>;
  /** The SCRAM keys this node holds for the user (derived when it last verified their password), if any. */
  scramCredentials(username: string, hash: ScramHash): ScramCredentials | undefined;
  /** Finish a SCRAM login: `proofValid` runs behind the throttle (a wrong proof is a failed guess). */
  scram(username: string, proofValid: () => boolean): Promise<LoginResult>;
}

export interface XmppAccount {
  /** The user's POST address: the bare JID. */
  readonly address: string;
  roster(): Promise<RosterItem[]>;
  setRosterItem(item: RosterItem): Promise<'ok' | 'full'>;
  removeRosterItem(jid: string): Promise<boolean>;
  /** Send a chat message through POST (stored once, the recipient notified); `key` is the record's key in the sender's log. */
  sendChat(to: string, text: string, key: string, opts?: { readonly xmppId?: string; readonly receipt?: boolean; readonly type?: XmppStoredMessageType }): Promise<{ readonly sentAtMs: number }>;
  /** The conversation store, oldest first, without the texts (MAM pages it, then reads only the page's). */
  history(): Promise<ChatMeta[]>;
  withText(records: readonly ChatMeta[]): Promise<ChatRecord[]>;
}

/** A bound session as the node's router sees it. */
export interface RoutedSession {
  readonly address: string;
  readonly resource: string;
  readonly available: boolean;
  readonly carbons: boolean;
  /**
   * Write a stanza to this session's client (already addressed); `record`: the key of the conversation
   * record it delivers. 'unacked': the client must still acknowledge it (XEP-0198), and the hub hears
   * of it through `acked` or, when the session ends without, `unbind`.
   */
  push(stanza: XmlElement, record?: string): PushOutcome;
}

export type PushOutcome = 'written' | 'unacked' | 'dropped';

/** What a session hands a stream that resumes it (XEP-0198): everything but the connection. */
export interface SessionHandOver {
  readonly resource: string;
  readonly available: boolean;
  readonly carbons: boolean;
  readonly sm: StreamManagement;
}

/** A stream-managed session that may be resumed, live or held after its connection dropped. */
export interface ResumableSession extends RoutedSession {
  /** Settles once the stanzas it received so far are handled. */
  idle(): Promise<void>;
  /** Whether the client's h acknowledges no more than it was sent. */
  canResumeAt(h: string | undefined): boolean;
  /** Give its state to the resuming stream and end without unbinding (a live connection is told `conflict`). */
  handOver(): SessionHandOver;
}

export interface XmppHub {
  /** Bind `resource` for the session's account: 'conflict' when another session holds it, 'too-many' beyond the per-user bound. */
  bind(session: RoutedSession, account: XmppAccount): 'ok' | 'conflict' | 'too-many';
  /** The session ended; `unacked`: records it was given and never acknowledged (XEP-0198), handed back for delivery. */
  unbind(session: RoutedSession, unacked?: readonly string[]): void;
  /** A stream-managed session acknowledged the stanzas delivering these records. */
  acked(session: RoutedSession, records: readonly string[]): void;
  /** Resumption asked for: register the session under `id`; false when the node holds too many already. */
  resumable(session: ResumableSession, id: string): boolean;
  /** The resumable session `previd` of `address` on this node, live or held; undefined when unknown, expired or another user's. */
  resumeTarget(address: string, previd: string): ResumableSession | undefined;
  /** `session` (a new stream, logged in) takes `old`'s place: in the account's sessions, its unacknowledged deliveries, its hold. */
  takeOver(old: ResumableSession, session: ResumableSession): void;
  /** The session sent its initial presence: give it the messages no client has seen yet, then live ones. */
  becameAvailable(session: RoutedSession): void;
  /** A message record this session just sent (by key): its own sessions get a carbon from the session itself, not from the log. */
  sending(address: string, key: string): void;
  /** Presence of a session to broadcast to the account's other sessions and, as it comes and goes, to subscribed contacts. */
  presence(session: RoutedSession, stanza: XmlElement, wasAvailable: boolean): void;
  /** A subscription request or answer (RFC 6121 3) from the session's user to `to`: recorded in the roster, then sent. */
  subscription(session: RoutedSession, kind: 'subscribe' | 'subscribed' | 'unsubscribe' | 'unsubscribed', to: string): Promise<void>;
  /** A receipt or chat state for `to`: carried to its sessions wherever they are. */
  signal(session: RoutedSession, to: string, signal: ChatSignal): Promise<void>;
  /** Every bound session of `address` on this node. */
  sessionsOf(address: string): readonly RoutedSession[];
}

export interface XmppServerInfo {
  /** The organisation's domain: users log in as local@domain. */
  readonly domain: string;
  readonly tlsAvailable: boolean;
  /** Fresh ids (stream ids, nonces, resources, message keys): from the node's random source. */
  newId(): string;
  now(): number;
}
