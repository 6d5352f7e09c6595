// Bytes of message content held in memory across all sessions of one listener. Each message is
// bounded by SIZE, but many large messages at once are not; past this budget a message being
// received is dropped (and refused with 452 4.3.1) instead of growing the node's memory.
export class MessageBudget {
  private used = 0;

  constructor(readonly bytesMax: number) {}

  get bytesHeld(): number {
    return this.used;
  }

  /** Takes `bytes` if they fit; false (and nothing taken) otherwise. */
  take(bytes: number): boolean {
    if (this.used + bytes > this.bytesMax) return false;
    this.used += bytes;
    return true;
  }

  release(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }
}
