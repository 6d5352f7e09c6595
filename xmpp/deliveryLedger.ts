// Which records of a user's conversation store (the `messages` log) the user's sessions on one node
// have really been given: the pure part of offline delivery with stream management (XEP-0198).
//
// The roster log counts the records clients were given (`seen`, a prefix that only grows); the next
// login, on any node, gets what lies beyond it. A record written to a client without stream
// management counts as given at once (nothing better is known). One written to a stream-managed
// client counts only once that client acknowledges it: until then `seen` stays below it. When every
// session that held it unacknowledged has ended (its connection gone and its resumption hold run
// out, or its stream closed), the record is *returned*: handed to the user's next available session
// here, or, if none comes before the user's last session here ends, left beyond `seen` for the next
// login anywhere. A record is never lost; it can come twice only when a client got it and dropped
// before acknowledging, or in the rare case that a second session here acknowledged records after
// it (the prefix count cannot skip one).

interface Outstanding<S> {
  readonly index: number;
  readonly holders: Set<S>;
}

export class DeliveryLedger<S> {
  /** Records handed to some session here (or counted seen when the ledger opened): the next new record's index. */
  private givenCount: number;
  private readonly outstanding = new Map<string, Outstanding<S>>();

  constructor(seen: number) {
    this.givenCount = seen;
  }

  get given(): number {
    return this.givenCount;
  }

  /**
   * Record `key` at `index` went to sessions: `holders` must still acknowledge it; `safe` when some
   * session took it without stream management.
   */
  handed(key: string, index: number, holders: readonly S[], safe: boolean): void {
    this.givenCount = Math.max(this.givenCount, index + 1);
    const entry = this.outstanding.get(key);
    if (safe) return void this.outstanding.delete(key);
    if (holders.length === 0) return;
    if (entry) for (const h of holders) entry.holders.add(h);
    else this.outstanding.set(key, { index, holders: new Set(holders) });
  }

  /** Records before `count` were looked at (those sent by the user need no delivery). */
  reached(count: number): void {
    this.givenCount = Math.max(this.givenCount, count);
  }

  /** A session acknowledged these records: the user has them. */
  acked(records: readonly string[]): void {
    for (const key of records) this.outstanding.delete(key);
  }

  /** `session` ended with these records unacknowledged: those no other session holds are returned (in log order). */
  ended(session: S, records: readonly string[]): { key: string; index: number }[] {
    const back: { key: string; index: number }[] = [];
    for (const key of records) {
      const entry = this.outstanding.get(key);
      if (!entry || !entry.holders.delete(session) || entry.holders.size > 0) continue;
      back.push({ key, index: entry.index });
    }
    return back.sort((a, b) => a.index - b.index);
  }

  /** A resumed stream's new session takes over the old one's records. */
  replace(old: S, next: S): void {
    for (const entry of this.outstanding.values()) if (entry.holders.delete(old)) entry.holders.add(next);
  }

  /** Records returned and not handed again yet, in log order (no session holds them). */
  returned(): { key: string; index: number }[] {
    return [...this.outstanding.entries()].filter(([, e]) => e.holders.size === 0).map(([key, e]) => ({ key, index: e.index })).sort((a, b) => a.index - b.index);
  }

  /** What the roster log may count as seen: every record before it was given and acknowledged (or given without acks). */
  seen(): number {
    let lowest = this.givenCount;
    for (const e of this.outstanding.values()) lowest = Math.min(lowest, e.index);
    return lowest;
  }
}
