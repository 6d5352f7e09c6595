// Per-conversation order for short messages and XMPP chats (issue 17). Pure: the sender's numbering
// and the receiver's decision; UserApp (actors/users/userHost.ts) supplies the log state and the clock.
//
// Why: a message waits in its recipient's inbox drop until the recipient's node takes it. When that
// node and its standby hosts are all down, messages pile up on the drop's replicas; the node that
// comes back pulls them, but one stored on a replica it did not reach yet can arrive after later
// ones. Sorting a pulled batch by send time does not help across batches.
//
// How:
// - The sender numbers what it sends: `seq` is one counter per sender (its messages log's highest
//   `seq` + 1, kept in memory while its context lives), and each notification carries `prev`, the
//   `seq` of the sender's previous message to that recipient (0: none). The sender's own record of
//   the message keeps its `seq`, so a restarted node continues the count.
// - The receiver appends a message to its log only when its predecessor is there: `prev` is 0, or at
//   most the highest `seq` it holds from that sender, or the predecessor's append is in flight in this
//   context (a batch's messages are appended together). Otherwise it holds the message: the delivery
//   answers 'retry', the notification stays in the drop, and the inbox pulls again (from every replica)
//   NOTIFY_RETRY_MS later.
// - A hold is bounded: CHAT_ORDER_HOLD_MS after the message was sent (sender's clock) or first held
//   here, whichever is earlier, it is delivered anyway. A predecessor lost for good (its send failed
//   after the number was taken) delays its successor by that bound, never more; one that turns up
//   later still is delivered late, once.
// - Exactly-once is untouched: a message already in the log is "delivered" again at once (the append
//   is keyed by notification id), whatever the order says.
// - Two devices of one sender on two nodes number independently and may reuse a number: their
//   messages are then ordered among themselves only by arrival (as before), still within the bound.
import { CHAT_ORDER_HELD_MAX, CHAT_ORDER_HOLD_MS } from '../../protocol/limits';

/** What the ordering needs of the messages log: highest seq received per sender, highest sent, and per recipient. */
export interface ConversationIndex {
  /** Highest `seq` received from each sender (lower-case address). */
  readonly lastInSeq: Map<string, number>;
  /** Highest `seq` this user gave a message it sent. */
  lastOutSeq: number;
  /** Highest `seq` of what this user sent to each recipient (lower-case address). */
  readonly lastOutSeqTo: Map<string, number>;
}

export const emptyConversationIndex = (): ConversationIndex => ({ lastInSeq: new Map(), lastOutSeq: 0, lastOutSeqTo: new Map() });

/** Counts one record into the index (records without `seq` are older than numbering: they count for nothing). */
export function indexRecord(index: ConversationIndex, record: { direction: 'in' | 'out'; from: string; to: readonly string[]; seq?: number | undefined }): void {
  const seq = record.seq;
  if (seq === undefined) return;
  if (record.direction === 'in') {
    const from = record.from.toLowerCase();
    if (seq > (index.lastInSeq.get(from) ?? 0)) index.lastInSeq.set(from, seq);
    return;
  }
  if (seq > index.lastOutSeq) index.lastOutSeq = seq;
  for (const t of record.to) {
    const to = t.toLowerCase();
    if (seq > (index.lastOutSeqTo.get(to) ?? 0)) index.lastOutSeqTo.set(to, seq);
  }
}

/** The sender's side: numbers messages in the order they are sent. */
export class ConversationNumbering {
  private lastSeq: number;
  private readonly lastTo: Map<string, number>;

  constructor(index: ConversationIndex) {
    this.lastSeq = index.lastOutSeq;
    this.lastTo = new Map(index.lastOutSeqTo);
  }

  /** The next message to `to`: its seq and, per recipient, the seq of the previous message to them (0: none). */
  take(to: readonly string[]): { seq: number; prevOf: (recipient: string) => number } {
    const seq = ++this.lastSeq;
    const prev = new Map<string, number>();
    for (const t of to) {
      const r = t.toLowerCase();
      prev.set(r, this.lastTo.get(r) ?? 0);
      this.lastTo.set(r, seq);
    }
    return { seq, prevOf: (recipient) => prev.get(recipient.toLowerCase()) ?? 0 };
  }
}

/** An incoming message as the ordering sees it. */
export interface NumberedMessage {
  /** The log record's key (`n:<notification id>`). */
  readonly key: string;
  readonly from: string;
  readonly seq?: number | undefined;
  readonly prev?: number | undefined;
  readonly sentAtMs: number;
}

export type OrderDecision = 'deliver' | 'deliver-late' | 'hold';

/** The receiver's side, for one user's context: appends in flight and when each held message was first held. */
export class ConversationOrder {
  private readonly inFlight = new Map<string, Set<number>>();
  private readonly heldSinceMs = new Map<string, number>();

  /**
   * Deliver now, deliver late (the hold's bound passed), or hold. `recorded`: the log already has this
   * message; `lastInSeq`: the highest seq the log holds from its sender.
   */
  decide(m: NumberedMessage, recorded: boolean, lastInSeq: number, nowMs: number): OrderDecision {
    if (recorded || m.seq === undefined || m.prev === undefined || m.prev === 0) return this.release(m, 'deliver');
    if (m.prev <= lastInSeq || this.inFlight.get(m.from.toLowerCase())?.has(m.prev)) return this.release(m, 'deliver');
    const since = this.heldSince(m.key, nowMs);
    if (nowMs - Math.min(m.sentAtMs, since) >= CHAT_ORDER_HOLD_MS) return this.release(m, 'deliver-late');
    return 'hold';
  }

  /** The message's append started (its successors may follow it in the same commit); `settled` when it ended. */
  appending(m: NumberedMessage): { settled: () => void } {
    if (m.seq === undefined) return { settled: () => {} };
    const from = m.from.toLowerCase();
    const set = this.inFlight.get(from) ?? new Set<number>();
    set.add(m.seq);
    this.inFlight.set(from, set);
    return {
      settled: () => {
        set.delete(m.seq!);
        if (set.size === 0 && this.inFlight.get(from) === set) this.inFlight.delete(from);
      },
    };
  }

  /** Messages held now (for /state and tests). */
  get held(): number {
    return this.heldSinceMs.size;
  }

  private heldSince(key: string, nowMs: number): number {
    const known = this.heldSinceMs.get(key);
    if (known !== undefined) return known;
    // Bounded: the oldest hold is forgotten first (it is then timed from its send time alone).
    if (this.heldSinceMs.size >= CHAT_ORDER_HELD_MAX) this.heldSinceMs.delete(this.heldSinceMs.keys().next().value!);
    this.heldSinceMs.set(key, nowMs);
    return nowMs;
  }

  private release(m: NumberedMessage, decision: OrderDecision): OrderDecision {
    this.heldSinceMs.delete(m.key);
    return decision;
  }
}
