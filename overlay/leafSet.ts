// The leaf set: the L/2 nearest live nodes on each side of this node (Pastry). Immutable values.
// When the ring has at most L other nodes the two sides overlap and the leaf set knows every node,
// so it covers the whole circle.
import { LEAF_SET_HALF } from '../protocol/limits';
import { closest, cwDistance, type Key, type NodeId } from './id';

export interface LeafSet {
  readonly self: NodeId;
  /** Clockwise neighbours, nearest first. */
  readonly cw: readonly NodeId[];
  /** Counter-clockwise neighbours, nearest first. */
  readonly ccw: readonly NodeId[];
}

export const emptyLeafSet = (self: NodeId): LeafSet => ({ self, cw: [], ccw: [] });

const memberCache = new WeakMap<LeafSet, readonly NodeId[]>();

/** Every member once (the sides overlap in small rings). Memoised: leaf sets are immutable. */
export function members(ls: LeafSet): readonly NodeId[] {
  let m = memberCache.get(ls);
  if (!m) {
    m = [...new Set([...ls.cw, ...ls.ccw])];
    memberCache.set(ls, m);
  }
  return m;
}

export function has(ls: LeafSet, id: NodeId): boolean {
  return ls.cw.includes(id) || ls.ccw.includes(id);
}

/** Rebuild the leaf set from every node it should consider (current members plus candidates). */
export function fromCandidates(self: NodeId, candidates: Iterable<NodeId>, half = LEAF_SET_HALF): LeafSet {
  const all = [...new Set(candidates)].filter((c) => c !== self);
  const byCw = [...all].sort((a, b) => cmp(cwDistance(self, a), cwDistance(self, b)));
  const byCcw = [...all].sort((a, b) => cmp(cwDistance(a, self), cwDistance(b, self)));
  return { self, cw: byCw.slice(0, half), ccw: byCcw.slice(0, half) };
}

const cmp = (x: bigint, y: bigint) => (x < y ? -1 : x > y ? 1 : 0);

export function add(ls: LeafSet, ids: Iterable<NodeId>, half = LEAF_SET_HALF): LeafSet {
  const fresh = [...ids].filter((id) => id !== ls.self && !has(ls, id));
  return fresh.length ? fromCandidates(ls.self, [...members(ls), ...fresh], half) : ls;
}

export function remove(ls: LeafSet, id: NodeId): LeafSet {
  if (!has(ls, id)) return ls;
  return { self: ls.self, cw: ls.cw.filter((x) => x !== id), ccw: ls.ccw.filter((x) => x !== id) };
}

/** Would `id` be a member if added? (A side has room, or it is nearer than that side's farthest member.) */
export function wouldAccept(ls: LeafSet, id: NodeId, half = LEAF_SET_HALF): boolean {
  if (id === ls.self || has(ls, id)) return false;
  if (ls.cw.length < half || ls.ccw.length < half) return true;
  return cwDistance(ls.self, id) < cwDistance(ls.self, ls.cw[ls.cw.length - 1]!) || cwDistance(id, ls.self) < cwDistance(ls.ccw[ls.ccw.length - 1]!, ls.self);
}

/** True when both sides are full and apart, i.e. the leaf set does not know the whole ring. */
export function isFull(ls: LeafSet, half = LEAF_SET_HALF): boolean {
  return ls.cw.length >= half && ls.ccw.length >= half && !ls.cw.some((x) => ls.ccw.includes(x));
}

/** Does the key fall within the arc the leaf set spans (so its root is a member or self)? */
export function covers(ls: LeafSet, key: Key, half = LEAF_SET_HALF): boolean {
  if (!isFull(ls, half)) return true;
  const lo = ls.ccw[ls.ccw.length - 1]!;
  const hi = ls.cw[ls.cw.length - 1]!;
  return cwDistance(lo, key) <= cwDistance(lo, hi);
}

/** The member (or self) numerically closest to key. */
export function closestMember(ls: LeafSet, key: Key): NodeId {
  return closest([ls.self, ...members(ls)], key)!;
}

/**
 * Are the k nodes closest to `key` all in this leaf set (or self)? True when the key lies inside the
 * arc the leaf set spans with k members to spare on each side: the k closest are consecutive around
 * the key, so they cannot reach past the edge. (`covers` only promises the closest one.)
 */
export function knowsReplicas(ls: LeafSet, key: Key, k: number, half = LEAF_SET_HALF): boolean {
  if (!isFull(ls, half)) return true;
  if (k > half) return false;
  const lo = ls.ccw[half - k]!;
  const hi = ls.cw[half - k]!;
  return cwDistance(lo, key) <= cwDistance(lo, hi);
}
