// A binary min-heap of simulated timers ordered by (due time, insertion sequence): two timers due at
// the same instant fire in the order they were set, so a run never depends on heap internals.
// Cancelled timers stay in the heap (marked) and are skipped when popped; the heap is rebuilt when
// they outnumber the live ones, because actors cancel most of their timers (heartbeat resets).

export class SimTimer {
  constructor(
    readonly dueMs: number,
    readonly seq: number,
    public fn: (() => void) | null,
  ) {}
}

const before = (a: SimTimer, b: SimTimer) => a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.seq < b.seq);

/** Cancelled timers tolerated before a rebuild is considered. */
const COMPACT_CANCELLED_MIN = 1024;

export class TimerHeap {
  private items: SimTimer[] = [];
  private cancelled = 0;

  /** Timers that will still fire. */
  get live(): number {
    return this.items.length - this.cancelled;
  }

  push(timer: SimTimer): void {
    const items = this.items;
    let i = items.length;
    items.push(timer);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(timer, items[parent]!)) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = timer;
  }

  /** Marks a pending timer so it never fires. */
  cancel(timer: SimTimer): void {
    if (timer.fn === null) return;
    timer.fn = null;
    this.cancelled++;
    if (this.cancelled > COMPACT_CANCELLED_MIN && this.cancelled * 2 > this.items.length) this.compact();
  }

  /** The next live timer, without removing it. */
  peek(): SimTimer | undefined {
    this.dropCancelledTop();
    return this.items[0];
  }

  /** Removes and returns the next live timer. */
  pop(): SimTimer | undefined {
    this.dropCancelledTop();
    return this.removeTop();
  }

  private dropCancelledTop(): void {
    while (this.items.length > 0 && this.items[0]!.fn === null) {
      this.removeTop();
      this.cancelled--;
    }
  }

  private removeTop(): SimTimer | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) this.siftDown(0, last);
    return top;
  }

  private siftDown(start: number, timer: SimTimer): void {
    const items = this.items;
    const n = items.length;
    let i = start;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && before(items[child + 1]!, items[child]!)) child++;
      if (!before(items[child]!, timer)) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = timer;
  }

  private compact(): void {
    this.items = this.items.filter((t) => t.fn !== null);
    this.cancelled = 0;
    for (let i = (this.items.length >> 1) - 1; i >= 0; i--) this.siftDown(i, this.items[i]!);
  }
}
