// Head notices within one process, for tests (a harness: nothing shipped imports storage/memory/).
import type { HeadWatch, HeadWatchSubscription } from '../log/headWatch';

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
        // A subscriber that throws is a bug: its rejection is left unhandled, so the test fails.
        if (set.has(onHead)) onHead(seq);
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
