// Where objects live: on the k live nodes numerically closest to their id (DESIGN section 3). Pure:
// callers pass the node's current view (itself plus its leaf set).
import { kClosest } from './id';

/** The k nodes (of `self` and `members`) closest to `id`, closest first. */
export function replicasFor(id: string, self: string, members: readonly string[], k: number): string[] {
  return kClosest([self, ...members], id, k);
}

/** Is `self` one of the k replicas of `id`, by this view? */
export function isReplica(id: string, self: string, members: readonly string[], k: number): boolean {
  return replicasFor(id, self, members, k).includes(self);
}

/** A majority of k replicas: writes succeed once this many stored the value. */
export const majority = (k: number): number => Math.floor(k / 2) + 1;
