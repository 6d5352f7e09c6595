// Sorted string keys for the simulator's disk (infra/store/memory.ts, memoryDrops.ts): ids are
// fixed-length lowercase hex, so string order is circle order and arcs scan as linear pieces.
import type { IdRange } from './port';
import { assertRange, inPiece, linearPieces } from './range';

/** Keys kept sorted lazily: re-sorted on the first scan after a change (simulated stores are small). */
export class SortedKeys<V> {
  readonly map = new Map<string, V>();
  private sorted: string[] | undefined = [];

  set(key: string, value: V): void {
    if (!this.map.has(key)) this.sorted = undefined;
    this.map.set(key, value);
  }

  delete(key: string): boolean {
    const had = this.map.delete(key);
    if (had) this.sorted = undefined;
    return had;
  }

  keys(): string[] {
    this.sorted ??= [...this.map.keys()].sort();
    return this.sorted;
  }

  clear(): void {
    this.map.clear();
    this.sorted = [];
  }
}

/** First index in sorted `keys` whose key is in piece `p` (binary search on the lower bound). */
export function lowerBound(keys: string[], p: { from?: string; after?: string }): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const k = keys[mid]!;
    const below = p.from !== undefined ? k < p.from : p.after !== undefined ? k <= p.after : false;
    if (below) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Up to `limit` keys on the arc, in circle order from its lo (after `afterId` when given). */
export function keysInRange<V>(keys: SortedKeys<V>, range: IdRange, limit: number, afterId?: string): string[] {
  assertRange(range);
  const sorted = keys.keys();
  const out: string[] = [];
  for (const piece of linearPieces(range, afterId)) {
    for (let i = lowerBound(sorted, piece); i < sorted.length && out.length < limit; i++) {
      if (!inPiece(sorted[i]!, piece)) break;
      out.push(sorted[i]!);
    }
  }
  return out;
}
