// The data of one IMAP connection that commands read and change: who is logged in, the selected
// mailbox view, enabled extensions, and the way out to the client. Control flow (which state, what
// runs next, timers, throttling) is the session machine's; this object holds no timers.
import type { Clock, Log } from '../../infra/ports';
import { MailBackendError, type FolderWatch, type MailAuthenticator, type MailUserSession } from '../backend';
import type { ImapServerSettings } from './capabilities';
import { systemFlags } from '../backend';
import { atom, encodeContinuation, encodeInline, encodeStatus, encodeUntagged, type ImapValue, type StatusKind } from './encoder';
import type { LoadedMessage, MessageCache } from './messageCache';
import type { CachedSearchField } from './search/messageText';
import { isShowableFlag, SelectedMailbox, type ViewMessage } from './selectedMailbox';
import { formatSequenceSet } from './sequenceSet';
import { imapLimits } from './limits';
import { fetchItemsFor } from './fetch/fetchResponse';
import { SessionNotifier } from './notify/sessionNotifier';
import type { NotifySpec } from './notify/notifySpec';
import { reportContextChanges, reportContextRemovals } from './search/searchContexts';

/**
 * readAhead's window (exported for its tests): messages index .. index + countMax, while the bytes of
 * those the reader has not reached stay within bytesMax.
 */
export function readAheadWindow<M extends { readonly sizeOctets: number }>(messages: readonly M[], load: (message: M) => Promise<unknown>, countMax: number, bytesMax: number): (index: number) => void {
  let started = 0; // the next message to start reading
  let last = -1; // the index the reader reported last
  let aheadBytes = 0; // bytes of the messages started after `last`
  return (index) => {
    if (index >= started) {
      aheadBytes = 0; // the reader caught up (or skipped ahead): nothing started is ahead of it
      started = index;
    } else for (let j = last + 1; j <= index; j++) aheadBytes -= messages[j]!.sizeOctets;
    last = index;
    const until = Math.min(messages.length, index + 1 + countMax);
    for (; started < until; started++) {
      const message = messages[started]!;
      if (started > index) {
        if (aheadBytes + message.sizeOctets > bytesMax) break;
        aheadBytes += message.sizeOctets;
      }
      // Bigger than the window: the raw cache would not keep it, so only the command's own read counts.
      if (message.sizeOctets <= bytesMax) load(message).catch(() => undefined);
    }
  };
}

export type SessionStateName = 'notAuthenticated' | 'authenticated' | 'selected' | 'logout';

/**
 * Where responses go. A promise means: wait for it before writing more (backpressure); undefined
 * means the bytes were queued and more may follow at once.
 */
export interface ResponseOutput {
  write(chunks: readonly Buffer[]): Promise<void> | undefined;
}

export interface SessionDeps {
  readonly settings: ImapServerSettings;
  readonly authenticator: MailAuthenticator;
  readonly cache: MessageCache;
  readonly clock: Clock;
  readonly log: Log;
  readonly output: ResponseOutput;
  /** The selected mailbox changed in the backend: the actor tells the machine (drives IDLE). */
  readonly onMailboxChange: () => void;
  /**
   * NOTIFY has something to push now (RFC 5465): the actor tells the machine, which calls
   * pushUnsolicited() as soon as no command is running (or flushes it during IDLE).
   */
  readonly onNotification: () => void;
}

/** A SASL exchange waiting for the client's next response line. */
export interface SaslExchange {
  readonly tag: string;
  /** Takes the decoded client response; returns the next challenge or the credentials. */
  step(response: Buffer): { readonly challenge: string } | { readonly username: string; readonly password: string };
}

export class ImapSession {
  state: SessionStateName = 'notAuthenticated';
  user: MailUserSession | undefined;
  selected: SelectedMailbox | undefined;
  /** Extensions turned on with ENABLE. */
  readonly enabled = new Set<string>();
  /** CONDSTORE is active: enabled, or implied by a CONDSTORE-aware command (RFC 7162 3.1). */
  condstore = false;
  /** COMPRESS=DEFLATE is on (set by the connection once the deflate layer is in place). */
  compressionActive = false;
  sasl: SaslExchange | undefined;
  idleTag: string | undefined;
  /** NOTIFY SET in force (RFC 5465); undefined before NOTIFY and after NOTIFY NONE. */
  notifier: SessionNotifier | undefined;
  private watch: FolderWatch | undefined;

  constructor(
    readonly deps: SessionDeps,
    public tlsActive: boolean,
  ) {}

  /** Mailbox names and quoted strings in UTF-8: UTF8=ACCEPT (RFC 6855 3), or IMAP4rev2 (RFC 9051 5.1). */
  get utf8(): boolean {
    return this.enabled.has('UTF8=ACCEPT') || this.rev2;
  }

  /**
   * ENABLE IMAP4rev2 (RFC 9051): no \Recent flag nor RECENT response, SEARCH answers with ESEARCH,
   * SELECT sends LIST and no UNSEEN code (its appendix E). Off, the session is IMAP4rev1.
   */
  get rev2(): boolean {
    return this.enabled.has('IMAP4rev2');
  }

  get qresync(): boolean {
    return this.enabled.has('QRESYNC');
  }

  get log(): Log {
    return this.deps.log;
  }

  userOrThrow(): MailUserSession {
    if (!this.user) throw new Error('command ran without an authenticated user');
    return this.user;
  }

  selectedOrThrow(): SelectedMailbox {
    if (!this.selected) throw new Error('command ran without a selected mailbox');
    return this.selected;
  }

  untagged(values: readonly ImapValue[]): Promise<void> | undefined {
    return this.deps.output.write(encodeUntagged(values, { utf8: this.utf8 }));
  }

  /** Response lines already encoded (each ending in CRLF), written as they are. */
  encoded(text: string): Promise<void> | undefined {
    return this.deps.output.write([Buffer.from(text, 'utf8')]);
  }

  status(tag: string | undefined, kind: StatusKind, text: string, code?: string): Promise<void> | undefined {
    return this.deps.output.write([encodeStatus(tag, kind, text, code)]);
  }

  continuation(text: string): Promise<void> | undefined {
    return this.deps.output.write([encodeContinuation(text)]);
  }

  /** Opens a mailbox view and starts its change feed; the previous one is closed first. */
  async openMailbox(name: string, readOnly: boolean): Promise<SelectedMailbox> {
    this.closeMailbox();
    const user = this.userOrThrow();
    let view: SelectedMailbox | undefined;
    const early: Parameters<SelectedMailbox['enqueue']>[0][] = [];
    // Watch before reading, so nothing that happens in between is missed; duplicates are ignored.
    const watch = user.watchFolder(name, (change) => {
      if (view) view.enqueue(change);
      else early.push(change);
      if (!view) return;
      this.deps.onMailboxChange();
      if (this.notifier?.pushesSelected(change)) this.deps.onNotification();
    });
    try {
      const snapshot = await user.openFolder(name);
      view = new SelectedMailbox(name, readOnly, snapshot);
      for (const change of early) view.enqueue(change);
      const claim = await user.claimRecent(name, !readOnly);
      view.markRecent(claim.recentAfterUid, claim.claimedThroughUid);
    } catch (error) {
      watch.close();
      throw error;
    }
    this.watch = watch;
    this.selected = view;
    return view;
  }

  closeMailbox(): void {
    this.watch?.close();
    this.watch = undefined;
    this.selected = undefined;
  }

  loadRaw(message: ViewMessage): Promise<Uint8Array> {
    const user = this.userOrThrow();
    return this.deps.cache.raw(message.ref, () => user.readMessage(message.ref));
  }

  /**
   * For a command that reads many messages in order: call the returned function with the index it
   * is about to read, and the messages after it are already being read, so the command waits about
   * one storage round trip per window rather than one per message (a SEARCH BODY or FETCH ENVELOPE
   * over a cold 100,000-message folder). The window is bounded in messages (messageReadAheadMax) and
   * in bytes (messageReadAheadBytesMax, by RFC822.SIZE): what is read ahead waits in the shared raw
   * cache, which must not evict it before the command gets there. A message bigger than the byte
   * window is not read ahead (the cache would not keep it): the command reads it itself. A read that
   * fails here is not hidden: the command's own read of that message tries again and reports it.
   * `load`: what to read ahead (the raw bytes, or only what a header search needs).
   */
  readAhead(messages: readonly ViewMessage[], load: (message: ViewMessage) => Promise<unknown> = (m) => this.loadRaw(m)): (index: number) => void {
    return readAheadWindow(messages, load, imapLimits.messageReadAheadMax, imapLimits.messageReadAheadBytesMax);
  }

  /** The raw bytes for a pass over a folder the message cache cannot keep (MessageCache.rawPassing). */
  loadRawPassing(message: ViewMessage): Promise<Uint8Array> {
    const user = this.userOrThrow();
    return this.deps.cache.rawPassing(message.ref, () => user.readMessage(message.ref));
  }

  /** What a header search of the common fields looks in (cached per message across sessions). */
  loadHeaderSearch(message: ViewMessage): Promise<Record<CachedSearchField, string[]>> {
    const user = this.userOrThrow();
    return this.deps.cache.headerSearch(message.ref, () => user.readMessage(message.ref));
  }

  loadMessage(message: ViewMessage): Promise<LoadedMessage> {
    const user = this.userOrThrow();
    return this.deps.cache.message(message.ref, () => user.readMessage(message.ref));
  }

  /**
   * The FLAGS value of a message. A keyword the client has not been told about yet is announced
   * first with FLAGS and PERMANENTFLAGS (RFC 3501 7.2.6), so call this before writing the FETCH.
   */
  async flagsValue(message: ViewMessage): Promise<ImapValue> {
    await this.announceKeywordsOf(message);
    return this.flagAtoms(message);
  }

  /** Announces the message's keywords the client has not been told about yet; undefined when there are none. */
  announceKeywordsOf(message: ViewMessage): Promise<void> | undefined {
    const view = this.selected;
    return view?.learnKeywords(message.flags) ? this.announceFlags(view) : undefined;
  }

  /** The FLAGS value as it stands (announce new keywords first: announceKeywordsOf). */
  flagAtoms(message: ViewMessage): ImapValue[] {
    const flags: ImapValue[] = [];
    for (const flag of message.flags) if (isShowableFlag(flag)) flags.push(atom(flag));
    if (message.recent && !this.rev2) flags.push(atom('\\Recent'));
    return flags;
  }

  /** FLAGS and PERMANENTFLAGS for the view's known keywords (SELECT, and when a keyword appears). */
  async announceFlags(view: SelectedMailbox): Promise<void> {
    const flags: ImapValue[] = [...systemFlags, ...view.keywords.values()].map(atom);
    await this.untagged([atom('FLAGS'), flags]);
    const permanent = view.readOnly ? '()' : `(${encodeInline([...flags, atom('\\*')], { utf8: this.utf8 })})`;
    await this.status(undefined, 'OK', view.readOnly ? 'No permanent flags: read-only' : 'Flags permitted', `PERMANENTFLAGS ${permanent}`);
  }

  /**
   * Reports queued backend changes: EXPUNGE (or VANISHED with QRESYNC), EXISTS and RECENT (not in
   * IMAP4rev2), FETCH for flag changes, and what they changed in live search results (RFC 5267).
   * Returns false when the mailbox is lost and the connection must end.
   */
  async flushUpdates(allowExpunge: boolean): Promise<boolean> {
    const view = this.selected;
    if (!view) return true;
    if (view.hasPending && !(await this.reportPending(view, allowExpunge))) return false;
    if (view.contextsStale && this.selected === view) await reportContextChanges(this, view);
    return true;
  }

  /**
   * Before a command that reads `*` or ALL (FETCH, SEARCH, SORT, THREAD): new messages that reached
   * the selected mailbox since the last command are announced (EXISTS) and included now, not only at
   * its end; a client that polls with FETCH 1:* and no NOOP sees new mail one FETCH sooner (issue 13:
   * a 5,000-message FETCH takes seconds under load). Flag changes and expunges wait for the end.
   */
  async announceAdditions(): Promise<void> {
    const view = this.selected;
    const updates = view?.applyPendingAdditions();
    if (view && updates && updates.added.length > 0) await this.reportAdded(view, updates.added);
  }

  private async reportAdded(view: SelectedMailbox, added: readonly ViewMessage[]): Promise<void> {
    const claim = await this.userOrThrow().claimRecent(view.name, !view.readOnly);
    const recent = view.markRecent(claim.recentAfterUid, claim.claimedThroughUid);
    await this.untagged([view.exists, atom('EXISTS')]);
    if (!this.rev2) await this.untagged([recent, atom('RECENT')]);
    await this.fetchNewMessages(view, added);
  }

  private async reportPending(view: SelectedMailbox, allowExpunge: boolean): Promise<boolean> {
    const updates = view.applyPending(allowExpunge);
    if (updates.lost) {
      await this.untagged([atom('BYE'), atom('The selected mailbox was deleted or renamed elsewhere; reconnect to continue')]);
      this.closeMailbox();
      return false;
    }
    if (updates.renumbered) {
      // RFC 3501 2.3.1.1: a UID names one message for the whole session; the folder's UIDs were
      // renumbered (a new UIDVALIDITY) after two copies of it were merged. Nothing of it may be shown
      // under the numbering this session holds, so the session ends; a new one selects it afresh.
      await this.status(undefined, 'BYE', 'The selected mailbox was renumbered (new UIDVALIDITY) after two copies of it were merged; reconnect and select it again', 'UNAVAILABLE');
      this.closeMailbox();
      return false;
    }
    if (updates.expungedUids.length > 0) {
      await reportContextRemovals(this, view, updates.expungedSeqByUid);
      if (this.qresync) await this.untagged([atom('VANISHED'), atom(formatSequenceSet(updates.expungedUids))]);
      else for (const seq of updates.expungedSeqs) await this.untagged([seq, atom('EXPUNGE')]);
    }
    if (updates.added.length > 0) await this.reportAdded(view, updates.added);
    for (const message of updates.flagChanges) {
      const seq = view.indexOfUid(message.uid) + 1;
      const items: ImapValue[] = [atom('UID'), message.uid, atom('FLAGS'), await this.flagsValue(message)];
      if (this.condstore) items.push(atom('MODSEQ'), [message.modseq]);
      await this.untagged([seq, atom('FETCH'), items]);
    }
    return true;
  }

  /**
   * NOTIFY SET ... (SELECTED (MessageNew (fetch-att ...) ...)): a FETCH of those attributes for each new
   * message, after its EXISTS (RFC 5465 5.2). Never sets \Seen: BODY[] is read as BODY.PEEK[].
   */
  private async fetchNewMessages(view: SelectedMailbox, added: readonly ViewMessage[]): Promise<void> {
    const items = this.notifier?.spec.selected?.fetch;
    if (!items) return;
    for (const message of added) {
      const index = view.indexOfUid(message.uid);
      if (index < 0) continue;
      let values: ImapValue[];
      try {
        values = await fetchItemsFor(this, message, items, { uid: false, addFlags: false, addModseq: false });
      } catch (error) {
        // Expunged elsewhere meanwhile, its content gone: its EXPUNGE follows.
        if (error instanceof MailBackendError) continue;
        throw error;
      }
      await this.untagged([index + 1, atom('FETCH'), values]);
    }
  }

  /** NOTIFY SET: replaces what is in force once the new feeds are up (a failure leaves the old one). */
  async startNotify(spec: NotifySpec): Promise<void> {
    const next = new SessionNotifier(this, spec);
    await next.start();
    this.notifier?.stop();
    this.notifier = next;
    if (spec.status) await next.sendInitialStatus();
  }

  /** NOTIFY NONE, or NOTIFY ended by the server (`only`: end it only if that one is still in force). */
  endNotify(only?: SessionNotifier): void {
    if (only && this.notifier !== only) return;
    this.notifier?.stop();
    this.notifier = undefined;
  }

  /** Writes what NOTIFY queued about other mailboxes and the folder list (a response may go now). */
  async flushNotifications(): Promise<void> {
    await this.notifier?.flush();
  }

  /**
   * Between commands, under NOTIFY: what the client asked to hear at once. The selected mailbox's
   * changes only with a SELECTED group (expunges held back with SELECTED-DELAYED, as RFC 3501 7.4.1
   * wants them held while no command runs). Returns false when the mailbox is lost (BYE sent).
   */
  async pushUnsolicited(): Promise<boolean> {
    const notifier = this.notifier;
    if (!notifier) return true;
    const selected = notifier.spec.selected;
    if (this.selected && selected && selected.events.size > 0 && !(await this.flushUpdates(!selected.delayed))) return false;
    await this.flushNotifications();
    return true;
  }

  /** During IDLE: every change of the selected mailbox, and what NOTIFY queued. */
  async pushIdle(): Promise<boolean> {
    if (!(await this.flushUpdates(true))) return false;
    await this.flushNotifications();
    return true;
  }

  /** Ends the session's hold on the backend (logout, connection lost). */
  async release(): Promise<void> {
    this.endNotify();
    this.closeMailbox();
    const user = this.user;
    this.user = undefined;
    if (user) await user.close();
  }
}
