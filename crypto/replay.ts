// Replay defences for authenticated messages (issue 12). A signature or MAC proves who made a
// message, not that it is new: these remember what was already taken. Pure: time comes in as an
// argument. Record a message only after its signature or MAC verified, so that forgeries cannot
// fill the memory or shadow a real message.

export type Freshness = 'ok' | 'stale' | 'replayed';

/**
 * Overlay frames: every sender stamps its frames with a number it never repeats (microseconds of its
 * clock, bumped when two frames share one). A receiver takes a stamp once, within the clock skew of
 * its own clock, and no older than the reorder window behind the newest stamp it took from that
 * sender. Memory: per sender, the stamps inside the reorder window; senders beyond `sendersMax`
 * are forgotten oldest first.
 */
export class StampWindow {
  private readonly senders = new Map<string, SenderStamps>();

  constructor(private readonly opts: { skewUs: number; reorderUs: number; sendersMax: number; perSenderMax: number }) {}

  /** Is this stamp within the skew of now (cheap: check before verifying anything)? */
  fresh(stampUs: number, nowUs: number): boolean {
    return Math.abs(stampUs - nowUs) <= this.opts.skewUs;
  }

  /** Take the stamp, or refuse it as a replay (seen, or older than the reorder window allows). */
  accept(sender: string, stampUs: number): Freshness {
    let s = this.senders.get(sender);
    if (!s) {
      if (this.senders.size >= this.opts.sendersMax) this.senders.delete(this.senders.keys().next().value!);
      s = { newest: stampUs, floor: stampUs - this.opts.reorderUs, seen: new Set(), prunedSize: 0 };
      this.senders.set(sender, s);
    }
    if (stampUs <= s.floor || s.seen.has(stampUs)) return 'replayed';
    s.seen.add(stampUs);
    if (stampUs > s.newest) {
      s.newest = stampUs;
      s.floor = Math.max(s.floor, stampUs - this.opts.reorderUs);
    }
    // Forget what fell below the floor once the set has doubled since the last time: amortised O(1).
    if (s.seen.size > Math.max(16, 2 * s.prunedSize)) this.prune(s);
    return 'ok';
  }

  /** Forget stamps at or below the floor; a sender still over its bound has its floor raised to its median stamp. */
  private prune(s: SenderStamps): void {
    for (const x of s.seen) if (x <= s.floor) s.seen.delete(x);
    if (s.seen.size > this.opts.perSenderMax) {
      const sorted = [...s.seen].sort((a, b) => a - b);
      const half = sorted.length >> 1;
      s.floor = sorted[half - 1]!;
      s.seen = new Set(sorted.slice(half));
    }
    s.prunedSize = s.seen.size;
  }
}

interface SenderStamps {
  newest: number;
  /** Stamps at or below this are refused: older than the reorder window behind the newest. */
  floor: number;
  /** Stamps taken above the floor. */
  seen: Set<number>;
  /** The set's size after the last prune. */
  prunedSize: number;
}

/**
 * Control requests: each carries a time and a random nonce. A request is taken when its time is
 * within the skew of now and its nonce was not taken before; a nonce is remembered until its
 * request's time leaves the window, so a replay is refused inside the window (seen) and after it
 * (stale). 'full' when more than `max` requests arrived within one window.
 */
export class NonceWindow {
  private readonly until = new Map<string, number>();

  constructor(private readonly opts: { skewMs: number; max: number }) {}

  check(nonce: string, timeMs: number, nowMs: number): Freshness | 'full' {
    if (Math.abs(timeMs - nowMs) > this.opts.skewMs) return 'stale';
    if (this.until.has(nonce)) return 'replayed';
    if (this.until.size >= this.opts.max) {
      for (const [n, t] of this.until) if (t < nowMs) this.until.delete(n);
      if (this.until.size >= this.opts.max) return 'full';
    }
    this.until.set(nonce, timeMs + this.opts.skewMs);
    return 'ok';
  }
}
