// The "a log head changed" port. A writer publishes (objectId, seq) after each head it stores; a
// node that has the log open (another device of the same user) subscribes and re-reads the head when
// told, so a change made elsewhere shows up in its IMAP change feed within one message delay.
// Notices are hints, not data: they carry no content, may be lost or repeated, and a subscriber
// always re-reads (and verifies) the head itself. The node wires this to NATS; MemoryHeadWatch serves
// tests and single-process simulations.
export interface HeadWatchSubscription {
  unsubscribe(): void;
}

export interface HeadWatch {
  /** Tell whoever watches `objectId` that version `seq` was stored. Best effort; never throws. */
  publish(objectId: string, seq: number): void;
  /** `onHead` runs for every notice about `objectId` (including this node's own), asynchronously. */
  subscribe(objectId: string, onHead: (seq: number) => void): HeadWatchSubscription;
}

/** In-process head notices, delivered in a later microtask (as a network would, never re-entrantly). */
export class MemoryHeadWatch implements HeadWatch {
  private readonly watchers = new Map<string, Set<(seq: number) => void>>();
  /** Notices published (for tests). */
  published = 0;

  publish(objectId: string, seq: number): void {
    this.published++;
    const set = this.watchers.get(objectId);
    if (!set) return;
    for (const onHead of [...set]) {
      void Promise.resolve().then(() => {
        if (!set.has(onHead)) return;
        try {
          onHead(seq);
        } catch {
          // A subscriber must not throw; one that does loses only its own notice.
        }
      });
    }
  }

  subscribe(objectId: string, onHead: (seq: number) => void): HeadWatchSubscription {
    let set = this.watchers.get(objectId);
    if (!set) this.watchers.set(objectId, (set = new Set()));
    const watchers = set;
    watchers.add(onHead);
    return {
      unsubscribe: () => {
        watchers.delete(onHead);
        if (watchers.size === 0 && this.watchers.get(objectId) === watchers) this.watchers.delete(objectId);
      },
    };
  }
}
