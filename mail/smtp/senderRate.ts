// Per-sender submission rate: a token bucket per authenticated user, shared by every SMTP session of
// the node, so a stolen account cannot flood (the only other bound is the 1,000 pending
// notifications per sender and recipient). A transaction takes one token at MAIL FROM; past the
// burst a user gets `messagesPerMinute`, and MAIL FROM beyond it is answered 450 4.7.1 with the
// time to wait. Pure: time comes from the clock port.
import type { Clock } from '../../infra/ports';
import { SUBMISSION_BURST_MESSAGES, SUBMISSION_MESSAGES_PER_MINUTE, SUBMISSION_RATE_SENDERS_MAX } from '../../protocol/limits';

export interface SenderRateLimits {
  /** Tokens a bucket holds: messages a user may send at once. */
  readonly burstMessages: number;
  /** Tokens added per minute: the sustained rate. */
  readonly messagesPerMinute: number;
  /** Buckets kept (one per recently active sender). */
  readonly sendersMax: number;
}

export const senderRateDefaults: SenderRateLimits = {
  burstMessages: SUBMISSION_BURST_MESSAGES,
  messagesPerMinute: SUBMISSION_MESSAGES_PER_MINUTE,
  sendersMax: SUBMISSION_RATE_SENDERS_MAX,
};

export type RateDecision =
  | { readonly ok: true }
  /** No token: the next comes in `retryAfterMs`; the limits are there for the reply. */
  | { readonly ok: false; readonly retryAfterMs: number; readonly burstMessages: number; readonly messagesPerMinute: number };

interface Bucket {
  tokens: number;
  atMs: number;
}

export class SenderRate {
  readonly limits: SenderRateLimits;
  /** Oldest first. Updated in place: a Map key deleted and set again keeps dead slots in its chain. */
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly clock: Pick<Clock, 'now'>,
    limits: Partial<SenderRateLimits> = {},
  ) {
    this.limits = { ...senderRateDefaults, ...limits };
    if (!(this.limits.burstMessages >= 1 && this.limits.messagesPerMinute > 0 && this.limits.sendersMax >= 1))
      throw new Error(`invalid submission rate ${JSON.stringify(this.limits)}: needs a burst of at least 1 and a positive rate`);
  }

  get size(): number {
    return this.buckets.size;
  }

  /** Takes one message's token from `sender`'s bucket, or says how long until there is one. */
  take(sender: string): RateDecision {
    const now = this.clock.now();
    const bucket = this.refilled(sender, now);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    const { burstMessages, messagesPerMinute } = this.limits;
    return { ok: false, retryAfterMs: Math.ceil(((1 - bucket.tokens) * 60_000) / messagesPerMinute), burstMessages, messagesPerMinute };
  }

  /** Tokens left for `sender` now (a full bucket when nothing is remembered). */
  tokens(sender: string): number {
    const bucket = this.buckets.get(sender);
    return bucket ? this.level(bucket, this.clock.now()) : this.limits.burstMessages;
  }

  private level(bucket: Bucket, now: number): number {
    return Math.min(this.limits.burstMessages, bucket.tokens + (Math.max(0, now - bucket.atMs) * this.limits.messagesPerMinute) / 60_000);
  }

  private refilled(sender: string, now: number): Bucket {
    const bucket = this.buckets.get(sender);
    if (bucket) {
      bucket.tokens = this.level(bucket, now);
      bucket.atMs = now;
      return bucket;
    }
    this.makeRoom(now);
    const created = { tokens: this.limits.burstMessages, atMs: now };
    this.buckets.set(sender, created);
    return created;
  }

  /** A full bucket is the same as none: those go first, then the oldest, a 16th of the bound at a time. */
  private makeRoom(now: number): void {
    if (this.buckets.size < this.limits.sendersMax) return;
    for (const [sender, bucket] of this.buckets) if (this.level(bucket, now) >= this.limits.burstMessages) this.buckets.delete(sender);
    if (this.buckets.size < this.limits.sendersMax) return;
    let left = Math.max(this.buckets.size - this.limits.sendersMax + 1, Math.ceil(this.limits.sendersMax / 16));
    for (const sender of this.buckets.keys()) {
      this.buckets.delete(sender);
      if (--left <= 0) break;
    }
  }
}
