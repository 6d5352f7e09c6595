// Keys remembered for a time window, at most `max` of them: a submission's idempotency keys
// (actors/mail/postSubmission.ts). A Map keeps insertion order, and a key is stamped when first
// remembered, so the oldest come first: forgetting stops at the first key still inside the window and
// costs what it forgets, not a pass over everything remembered (issue 11: that pass, once per
// submitted mail over up to 100,000 keys, made a node's submissions slower the more it had taken in a day).
export class RecentKeys {
  private readonly at = new Map<string, number>();

  constructor(
    private readonly windowMs: number,
    private readonly max: number,
  ) {}

  get size(): number {
    return this.at.size;
  }

  /** Whether `key` was remembered within the window before `nowMs`. */
  has(key: string, nowMs: number): boolean {
    const at = this.at.get(key);
    return at !== undefined && at > nowMs - this.windowMs;
  }

  /** Remember `key` from `nowMs` (one remembered already keeps its first time); forget what left the window and the oldest beyond `max`. */
  add(key: string, nowMs: number): void {
    if (!this.at.has(key)) this.at.set(key, nowMs);
    this.forget(nowMs);
  }

  /** Forget the keys that left the window by `nowMs`, and the oldest while more than `max` are kept. */
  forget(nowMs: number): void {
    const oldest = nowMs - this.windowMs;
    for (const [key, at] of this.at) {
      if (at > oldest && this.at.size <= this.max) return;
      this.at.delete(key);
    }
  }
}
