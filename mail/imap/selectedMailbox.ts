// One session's view of its selected mailbox: the sequence-number map, per-message flags and
// modseq, \Recent, and the backend changes not yet reported. Changes are queued as they arrive and
// applied only where RFC 3501 7.4.1 lets the server tell the client, so sequence numbers the client
// holds stay valid (no EXPUNGE during FETCH, STORE or SEARCH by sequence number).
import type { FolderChange, FolderSnapshot, MessageMeta } from '../backend';
import { imapLimits } from './limits';
import type { SearchContext } from './search/searchContexts';
import { OrderMemo } from './sort/orderMemo';

/** A stored flag a client can be shown: "NIL" (from an older server or another client) cannot. */
export function isShowableFlag(flag: string): boolean {
  return flag.toUpperCase() !== 'NIL';
}

export interface ViewMessage {
  readonly uid: number;
  flags: readonly string[];
  modseq: number;
  readonly internalDateMs: number;
  readonly sizeOctets: number;
  readonly ref: string;
  recent: boolean;
}

export interface AppliedUpdates {
  /** Sequence numbers to report with EXPUNGE, in sending order. */
  readonly expungedSeqs: readonly number[];
  /** The same messages' UIDs, for VANISHED. */
  readonly expungedUids: readonly number[];
  /** The sequence number each had before (for REMOVEFROM, sent before EXPUNGE). */
  readonly expungedSeqByUid: ReadonlyMap<number, number>;
  /** Messages added (already in the view), to report with EXISTS/RECENT. */
  readonly added: readonly ViewMessage[];
  /** Messages whose flags changed and that the client knew before this update. */
  readonly flagChanges: readonly ViewMessage[];
  /** The mailbox disappeared (deleted, renamed) or the change queue overflowed. */
  readonly lost: boolean;
  /** UIDs the session holds may name other messages now (a new UIDVALIDITY): the session cannot go on. */
  readonly renumbered: boolean;
}

const NO_FLAGS: readonly string[] = Object.freeze([]);

/**
 * One shared array per distinct flag set of a view: a big folder has a handful of them (unread,
 * read, read and answered, ...), and an open folder of 100,000 messages otherwise held 100,000 copies.
 * Flag arrays are never changed in place (a change assigns a new one), so sharing is safe.
 */
class FlagSets {
  private readonly sets = new Map<string, readonly string[]>();

  intern(flags: readonly string[]): readonly string[] {
    if (flags.length === 0) return NO_FLAGS;
    const key = flags.length === 1 ? flags[0]! : flags.join('\n');
    let shared = this.sets.get(key);
    if (!shared) {
      if (this.sets.size >= imapLimits.viewFlagSetsMax) return [...flags];
      shared = Object.freeze([...flags]);
      this.sets.set(key, shared);
    }
    return shared;
  }
}

function toView(meta: MessageMeta, flagSets: FlagSets): ViewMessage {
  return {
    uid: meta.uid,
    flags: flagSets.intern(meta.flags),
    modseq: meta.modseq,
    internalDateMs: meta.internalDateMs,
    sizeOctets: meta.sizeOctets,
    ref: meta.ref,
    recent: false,
  };
}

export class SelectedMailbox {
  readonly messages: ViewMessage[];
  readonly uidValidity: number;
  uidNext: number;
  highestModseq: number;
  /** UIDs saved by SEARCH ... RETURN (SAVE), what "$" stands for (RFC 5182); empty at SELECT. */
  savedUids: ReadonlySet<number> = new Set();
  /** RETURN (UPDATE) searches kept up to date, by tag (RFC 5267 4.3). */
  readonly contexts = new Map<string, SearchContext>();
  /** Flags or messages changed since the contexts were last run. */
  contextsStale = false;
  /**
   * Changes whenever a message joins or leaves the view (sequence numbers move): what depends only on
   * which messages are here (sort/orderMemo.ts) is valid while it stays the same.
   */
  membershipVersion = 0;
  /** SORT and THREAD results over the whole view, while its membership holds. */
  readonly orderMemo = new OrderMemo();
  /** Keywords the client was told about with FLAGS, by lower-case name (RFC 3501 7.2.6). */
  readonly keywords = new Map<string, string>();
  private pending: FolderChange[] = [];
  private lost = false;
  private renumbered = false;
  private readonly flagSets = new FlagSets();
  /** Messages of the view marked \Recent (kept as they are marked and removed: no pass over the view). */
  private recentTotal = 0;

  constructor(
    readonly name: string,
    readonly readOnly: boolean,
    snapshot: FolderSnapshot,
  ) {
    this.messages = snapshot.messages.map((meta) => toView(meta, this.flagSets));
    this.uidValidity = snapshot.folder.uidValidity;
    this.uidNext = snapshot.folder.uidNext;
    this.highestModseq = snapshot.folder.highestModseq;
    for (const message of this.messages) this.learnKeywords(message.flags);
  }

  /** Whether `flags` hold a keyword the client was not told about yet (learnKeywords then announces it). */
  keywordsNew(flags: readonly string[]): boolean {
    for (const flag of flags) if (this.unknownKeyword(flag)) return true; // no closure: called per message
    return false;
  }

  /** A keyword (not a system flag, not NIL) the client was not told about yet. */
  private unknownKeyword(flag: string): boolean {
    return !flag.startsWith('\\') && isShowableFlag(flag) && !this.keywords.has(flag.toLowerCase());
  }

  /** Adds the keywords among `flags` not known yet; returns whether there were any. */
  learnKeywords(flags: readonly string[]): boolean {
    let learned = false;
    for (const flag of flags) {
      if (!this.unknownKeyword(flag)) continue;
      this.keywords.set(flag.toLowerCase(), flag);
      learned = true;
    }
    return learned;
  }

  get exists(): number {
    return this.messages.length;
  }

  indexOfUid(uid: number): number {
    let low = 0;
    let high = this.messages.length - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const value = this.messages[mid]!.uid;
      if (value === uid) return mid;
      if (value < uid) low = mid + 1;
      else high = mid - 1;
    }
    return -1;
  }

  /**
   * Marks messages with uid in (after, through] as \Recent for this session; returns how many of the
   * view are \Recent now. UIDs ascend through the view, so the walk starts at its end and stops at
   * `afterUid`: a claim of new mail costs its own messages, not a pass over a folder of 100,000.
   */
  markRecent(afterUid: number, throughUid: number): number {
    for (let i = this.messages.length - 1; i >= 0; i--) {
      const message = this.messages[i]!;
      if (message.uid <= afterUid) break;
      if (message.uid <= throughUid && !message.recent) {
        message.recent = true;
        this.recentTotal++;
      }
    }
    return this.recentTotal;
  }

  get recentCount(): number {
    return this.recentTotal;
  }

  /** Called from the backend's change feed, at any time. */
  enqueue(change: FolderChange): void {
    if (change.kind === 'renumbered') {
      // Nothing queued before it may be shown any more: its UIDs may be the old numbering's or the new one's.
      this.renumbered = true;
      this.pending = [];
      return;
    }
    if (this.renumbered) return;
    if (this.pending.length >= imapLimits.pendingChangesMax) {
      this.lost = true;
      return;
    }
    this.pending.push(change);
  }

  /** A change made the session's UIDs unreliable: it must end before it acts on any of them (see enqueue). */
  get isRenumbered(): boolean {
    return this.renumbered;
  }

  get hasPending(): boolean {
    return this.pending.length > 0 || this.lost || this.renumbered;
  }

  /** Applies a flag change made by this session (its STORE result). */
  applyOwnFlags(uid: number, flags: readonly string[], modseq: number): ViewMessage | undefined {
    const index = this.indexOfUid(uid);
    if (index < 0) return undefined;
    const message = this.messages[index]!;
    if (modseq > message.modseq) {
      message.flags = this.flagSets.intern(flags);
      message.modseq = modseq;
      if (this.contexts.size > 0) this.contextsStale = true;
    }
    this.highestModseq = Math.max(this.highestModseq, modseq);
    return message;
  }

  /**
   * Removes messages this session expunged; returns their sequence numbers in sending order. Each
   * is also the number the client knew the message by (the highest go first), as `seqByUid` records.
   */
  removeOwn(uids: readonly number[], modseq?: number, seqByUid?: Map<number, number>): number[] {
    const seqs: number[] = [];
    for (const uid of [...uids].sort((a, b) => b - a)) {
      const index = this.indexOfUid(uid);
      if (index < 0) continue;
      if (this.messages[index]!.recent) this.recentTotal--;
      this.messages.splice(index, 1);
      this.membershipVersion++;
      seqs.push(index + 1);
      seqByUid?.set(uid, index + 1);
    }
    if (modseq !== undefined) this.highestModseq = Math.max(this.highestModseq, modseq);
    return seqs;
  }

  /** Applies queued changes; expunges stay queued when `allowExpunge` is false. */
  applyPending(allowExpunge: boolean): AppliedUpdates {
    if (this.renumbered) return { expungedSeqs: [], expungedUids: [], expungedSeqByUid: new Map(), added: [], flagChanges: [], lost: false, renumbered: true };
    const deferred: FolderChange[] = [];
    const expungedUids: number[] = [];
    const added: ViewMessage[] = [];
    const changed = new Map<number, ViewMessage>();
    let lost = this.lost;
    for (const change of this.pending) {
      if (change.kind === 'gone') {
        lost = true;
      } else if (change.kind === 'renumbered') {
        continue; // never queued (enqueue)
      } else if (change.kind === 'added') {
        if (this.indexOfUid(change.message.uid) >= 0) continue;
        const view = toView(change.message, this.flagSets);
        const last = this.messages[this.messages.length - 1];
        if (!last || last.uid < view.uid) this.messages.push(view);
        else {
          const at = this.messages.findIndex((m) => m.uid > view.uid);
          this.messages.splice(at, 0, view);
        }
        added.push(view);
        this.membershipVersion++;
        this.uidNext = Math.max(this.uidNext, view.uid + 1);
        this.highestModseq = Math.max(this.highestModseq, view.modseq);
      } else if (change.kind === 'flags') {
        const index = this.indexOfUid(change.uid);
        if (index < 0) continue;
        const message = this.messages[index]!;
        if (change.modseq <= message.modseq) continue; // already known (e.g. our own STORE)
        message.flags = this.flagSets.intern(change.flags);
        message.modseq = change.modseq;
        if (!added.includes(message)) changed.set(message.uid, message);
        this.highestModseq = Math.max(this.highestModseq, change.modseq);
      } else if (!allowExpunge) {
        deferred.push(change);
      } else {
        for (const uid of change.uids) {
          if (this.indexOfUid(uid) >= 0) expungedUids.push(uid);
          changed.delete(uid);
        }
        this.highestModseq = Math.max(this.highestModseq, change.modseq);
      }
    }
    this.pending = deferred;
    this.lost = false;
    if (this.contexts.size > 0 && (added.length > 0 || changed.size > 0)) this.contextsStale = true;
    const expungedSeqByUid = new Map<number, number>();
    const expungedSeqs = this.removeOwn(expungedUids, undefined, expungedSeqByUid);
    const addedStill = added.filter((m) => this.indexOfUid(m.uid) >= 0);
    return {
      expungedSeqs,
      expungedUids: [...expungedUids].sort((a, b) => a - b),
      expungedSeqByUid,
      added: addedStill,
      flagChanges: [...changed.values()].filter((m) => this.indexOfUid(m.uid) >= 0),
      lost,
      renumbered: false,
    };
  }

  /**
   * Applies only the queued new messages (announced before a command that reads `*` or ALL); every
   * other change stays queued, in order, for the end of the command. Undefined when there are none,
   * or when the mailbox is lost (that is reported at the end too).
   */
  applyPendingAdditions(): AppliedUpdates | undefined {
    if (this.lost || this.renumbered || !this.pending.some((c) => c.kind === 'added')) return undefined;
    const rest = this.pending.filter((c) => c.kind !== 'added');
    this.pending = this.pending.filter((c) => c.kind === 'added');
    const updates = this.applyPending(false);
    this.pending = rest;
    return updates;
  }

  /** UIDs whose expunge is known but not yet reported (their messages still hold a seq number). */
  pendingExpungedUids(): Set<number> {
    const uids = new Set<number>();
    for (const change of this.pending) if (change.kind === 'expunged') for (const uid of change.uids) uids.add(uid);
    return uids;
  }
}
