// A scenario's history (Jepsen style): every operation is recorded when invoked and again when it
// completes as ok, failed, or unknown (a timeout: it may or may not have happened). Checkers judge
// the history against the final state, never the operations' own claims alone.
export type Outcome = 'ok' | 'failed' | 'unknown';

export interface MailOp {
  readonly id: number;
  readonly kind: 'mail';
  readonly from: string;
  readonly to: string;
  readonly subject: string;
  readonly invokedAtMs: number;
  completedAtMs?: number;
  outcome?: Outcome;
  error?: string;
}

/** A chat message of a conversation (chat-churn): `text` is unique to it, as a mail's subject is. */
export interface ChatOp {
  readonly id: number;
  readonly kind: 'chat';
  readonly from: string;
  readonly to: string;
  readonly text: string;
  readonly invokedAtMs: number;
  completedAtMs?: number;
  outcome?: Outcome;
  error?: string;
}

/**
 * A calendar write of one device (calendar-churn): a PUT of `name` with `summary` (new, or an edit with
 * If-Match), or its DELETE. A summary is unique to its write, so the final state says which write it is.
 */
export interface CalendarOp {
  readonly id: number;
  readonly kind: 'calendar';
  readonly device: string;
  readonly action: 'put' | 'delete';
  readonly name: string;
  readonly summary?: string;
  readonly invokedAtMs: number;
  completedAtMs?: number;
  outcome?: Outcome;
  error?: string;
}

export interface FaultOp {
  readonly id: number;
  readonly kind: 'fault' | 'heal';
  readonly what: string;
  readonly invokedAtMs: number;
}

export type Operation = MailOp | ChatOp | CalendarOp | FaultOp;

/** A sender's mails that did not go through (History.failuresBySender). */
export interface SenderFailures {
  from: string;
  failed: number;
  unknown: number;
  firstFailed?: string;
  firstUnknown?: string;
}

export class History {
  private readonly list: Operation[] = [];
  private next = 1;
  private readonly subjects = new Set<string>();

  /**
   * @param run a tag unique to this run, in every subject it writes: a lab keeps its mailboxes
   * between runs, and one run must never find (or be judged by) another's mail.
   */
  constructor(
    private readonly now: () => number,
    readonly run: string,
  ) {}

  /**
   * Record a mail about to be sent. Its subject must be new to this history: the checkers find mail
   * by subject, so two mails with one subject would read as a duplicate (a soak repeats scenarios).
   */
  mail(from: string, to: string, subject: string): MailOp {
    return this.record({ id: this.claim(subject, 'subject'), kind: 'mail', from, to, subject, invokedAtMs: this.now() });
  }

  /** Record a chat message about to be sent; its text must be new to this history (the checkers find messages by text). */
  chat(from: string, to: string, text: string): ChatOp {
    return this.record({ id: this.claim(text, 'text'), kind: 'chat', from, to, text, invokedAtMs: this.now() });
  }

  /** Record a calendar write about to be sent; a PUT's summary must be new to this history. */
  calendar(device: string, action: 'put' | 'delete', name: string, summary?: string): CalendarOp {
    const id = summary === undefined ? this.next++ : this.claim(summary, 'summary');
    return this.record({ id, kind: 'calendar', device, action, name, ...(summary === undefined ? {} : { summary }), invokedAtMs: this.now() });
  }

  /** The next id, once `unique` (a subject or a text) is known to be new to this history. */
  private claim(unique: string, what: string): number {
    if (this.subjects.has(unique)) throw new Error(`scenario bug: the ${what} "${unique}" was used before in this history; make it unique (History.nextId)`);
    this.subjects.add(unique);
    return this.next++;
  }

  private record<T extends Operation>(op: T): T {
    this.list.push(op);
    return op;
  }

  complete(op: MailOp | ChatOp | CalendarOp, outcome: Outcome, error?: string): void {
    op.completedAtMs = this.now();
    op.outcome = outcome;
    if (error) op.error = error;
  }

  fault(what: string, kind: 'fault' | 'heal' = 'fault'): FaultOp {
    const op: FaultOp = { id: this.next++, kind, what, invokedAtMs: this.now() };
    this.list.push(op);
    return op;
  }

  /** The id the next recorded operation gets: tells a repeated scenario's round from an earlier one. */
  get nextId(): number {
    return this.next;
  }

  get operations(): readonly Operation[] {
    return this.list;
  }

  mails(): MailOp[] {
    return this.list.filter((o): o is MailOp => o.kind === 'mail');
  }

  chats(): ChatOp[] {
    return this.list.filter((o): o is ChatOp => o.kind === 'chat');
  }

  calendarWrites(): CalendarOp[] {
    return this.list.filter((o): o is CalendarOp => o.kind === 'calendar');
  }

  summary() {
    const mails = this.mails();
    const count = (o: Outcome) => mails.filter((m) => m.outcome === o).length;
    return { mails: mails.length, ok: count('ok'), failed: count('failed'), unknown: count('unknown'), faults: this.list.filter((o) => o.kind === 'fault' || o.kind === 'heal').length };
  }

  /**
   * The mails that did not go through, by sender: how many failed and were unknown, and the first error
   * of each outcome (the heaviest senders first, at most `max`): one sender failing throughout points at its node.
   */
  failuresBySender(max = 6): SenderFailures[] {
    const by = new Map<string, SenderFailures>();
    for (const m of this.mails()) {
      if (m.outcome !== 'failed' && m.outcome !== 'unknown') continue;
      const e = by.get(m.from) ?? { from: m.from, failed: 0, unknown: 0 };
      e[m.outcome]++;
      const first = m.outcome === 'failed' ? 'firstFailed' : 'firstUnknown';
      e[first] ??= (m.error ?? '').slice(0, 200);
      by.set(m.from, e);
    }
    return [...by.values()].sort((a, b) => b.failed + b.unknown - (a.failed + a.unknown)).slice(0, max);
  }
}
