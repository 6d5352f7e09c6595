// Where objects live: on the k live nodes numerically closest to their id (DESIGN section 3). Pure:
// callers pass the node's current view (itself plus its leaf set).
import { cwDistance, fromBig, HALF, kClosest, RING, toBig } from './id';

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

/** An arc of the id circle, [lo, hi) clockwise; lo === hi is the whole circle (the store's IdRange). */
export interface Arc {
  readonly lo: string;
  readonly hi: string;
}

export const WHOLE_CIRCLE: Arc = { lo: '0'.repeat(64), hi: '0'.repeat(64) };

/**
 * Where the k closest nodes of a key may differ between two views of `self` that differ by the nodes
 * `changed`: for each, the arc from the k-th node before it to the k-th node after it, in `view` (which
 * must hold it: the view before a node left, or after one joined). A key outside that arc has k nodes
 * nearer than the changed one whichever way round, so its replicas are the same in both views.
 *
 * The view (self and its leaf set: the nodes following and preceding it) is laid out clockwise with
 * self in the middle, and an arc stops at its ends: beyond them lie keys whose k closest nodes do not
 * include self, which this node does not replicate. With fewer than k + 1 nodes on either side, the
 * whole circle.
 */
export function arcsAround(self: string, view: readonly string[], changed: readonly string[], k: number): Arc[] {
  const members = [...new Set(view)].filter((n) => n !== self);
  // Self's own keys reach k + 1 nodes out on the side a node left: the view must hold that much both ways.
  if (members.length < 2 * (k + 1)) return changed.some((n) => members.includes(n)) ? [WHOLE_CIRCLE] : [];
  // Clockwise from self: the nearer half follows self, the farther half precedes it.
  const clockwise = members.sort((a, b) => (cwDistance(self, a) < cwDistance(self, b) ? -1 : 1));
  const following = Math.ceil(clockwise.length / 2);
  const line = [...clockwise.slice(following), self, ...clockwise.slice(0, following)];
  const arcs: Arc[] = [];
  for (const node of changed) {
    const at = line.indexOf(node);
    if (at >= 0) arcs.push({ lo: line[Math.max(0, at - k)]!, hi: line[Math.min(line.length - 1, at + k)]! });
  }
  return arcs;
}

/**
 * The points of the circle where the k closest of `nodes` can change, for any k: where a key is equally
 * far from two nodes, the midpoint of every pair both ways round. Between two neighbouring points the
 * k closest set is the same all along.
 */
function closestSetBoundaries(nodes: readonly string[]): Set<bigint> {
  const points = nodes.map(toBig);
  const cuts = new Set<bigint>();
  for (let i = 0; i < points.length; i++)
    for (let j = i + 1; j < points.length; j++) {
      const middle = (points[i]! + (((points[j]! - points[i]! + RING) % RING) >> 1n)) % RING;
      cuts.add(middle);
      cuts.add((middle + HALF) % RING);
    }
  return cuts;
}

/**
 * The arc beyond which `self` is not one of the k closest nodes of `view`: from its k-th node
 * counter-clockwise to its k-th clockwise. A key farther round either way (up to the opposite point) has
 * those k nodes strictly nearer than self. Undefined when the view has fewer than k nodes on either half.
 */
function replicaReach(self: string, view: readonly string[], k: number): { lo: bigint; hi: bigint } | undefined {
  const ahead = view.filter((n) => n !== self).map((n) => ({ n, d: cwDistance(self, n) }));
  const following = ahead.filter((a) => a.d <= HALF).sort((a, b) => (a.d < b.d ? -1 : 1));
  const preceding = ahead.filter((a) => a.d > HALF).sort((a, b) => (a.d > b.d ? -1 : 1));
  if (k < 1 || following.length < k || preceding.length < k) return undefined;
  return { lo: toBig(preceding[k - 1]!.n), hi: toBig(following[k - 1]!.n) };
}

/**
 * The circle cut at the boundaries of the k closest set of `view` (only inside `within`, when given:
 * the pieces outside it are one), in clockwise order, each with the key at its middle to judge it by.
 */
function piecesOf(view: readonly string[], within: { lo: bigint; hi: bigint } | undefined): { lo: bigint; hi: bigint; key: string }[] {
  let cuts = [...closestSetBoundaries(view)];
  if (within) {
    const span = (within.hi - within.lo + RING) % RING;
    cuts = cuts.filter((cut) => {
      const offset = (cut - within.lo + RING) % RING;
      return offset > 0n && offset < span;
    });
    cuts.push(within.lo, within.hi);
  }
  const sorted = [...new Set(cuts)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return sorted.map((lo, i) => {
    const hi = sorted[(i + 1) % sorted.length]!;
    return { lo, hi, key: fromBig((lo + (((hi - lo + RING) % RING) >> 1n)) % RING) };
  });
}

/** Keys of `arc` have a new replica (self) after a change; `holders`: their replicas before it that are still live. */
export interface GainedArc {
  readonly arc: Arc;
  readonly holders: readonly string[];
}

/**
 * Where `self` became one of the k closest nodes when its view changed from `before` to `after`, and
 * which of the nodes that were the k closest there are still in `after` (they hold those keys): a new
 * replica asks them to list the keys and pulls what it lacks at once, instead of waiting for their
 * repair offers. The circle is cut at the boundaries of the k closest set of either view, and each
 * piece judged at its middle. A view is self and its leaf set: a few dozen nodes at most.
 */
export function gainedArcs(self: string, before: readonly string[], after: readonly string[], k: number): GainedArc[] {
  const viewBefore = [...new Set([self, ...before])];
  const viewAfter = [...new Set([self, ...after])];
  const gained: { lo: bigint; hi: bigint; holders: string[] }[] = [];
  // Only the pieces where self is one of the k closest now can be gained: cut the circle there alone.
  for (const { lo, hi, key } of piecesOf([...new Set([...viewBefore, ...viewAfter])], replicaReach(self, viewAfter, k))) {
    const now = kClosest(viewAfter, key, k);
    const was = kClosest(viewBefore, key, k);
    if (!now.includes(self) || was.includes(self)) continue;
    const holders = was.filter((n) => viewAfter.includes(n));
    if (holders.length === 0) continue;
    const last = gained[gained.length - 1];
    if (last && last.hi === lo && last.holders.join() === holders.join()) last.hi = hi;
    else gained.push({ lo, hi, holders });
  }
  return gained.map((g) => ({ arc: { lo: fromBig(g.lo), hi: fromBig(g.hi) }, holders: g.holders }));
}

/**
 * The parts of the circle whose keys both `self` and `other` replicate (both among their k closest, in
 * the view `self` plus `members`): the keys two replicas can compare by range digest. A key's k
 * replicas are k nodes in a row, so when every node compares with the k - 1 nodes clockwise of it, every
 * two replicas of every key are compared by one of them. Only self's reach is cut (a key beyond its k-th
 * neighbours either side has k nodes nearer than self); each piece between two boundaries of the k
 * closest set is judged at its middle. Never the parts where one of the two is not a replica: in a
 * sparse ring a digest over those never matched, and anti-entropy fetched keys that repair handed over
 * again on every pass. The whole circle is one arc whose ends meet (lo = hi).
 */
export function sharedArcs(self: string, other: string, members: readonly string[], k: number): Arc[] {
  const view = [...new Set([self, other, ...members])];
  const shared: { lo: bigint; hi: bigint }[] = [];
  for (const { lo, hi, key } of piecesOf(view, replicaReach(self, view, k))) {
    const closest = kClosest(view, key, k);
    if (!closest.includes(self) || !closest.includes(other)) continue;
    const last = shared[shared.length - 1];
    if (last && last.hi === lo) last.hi = hi;
    else shared.push({ lo, hi });
  }
  // The pieces run clockwise from the lowest cut: an arc across it is found as its two halves.
  if (shared.length > 1 && shared[shared.length - 1]!.hi === shared[0]!.lo) shared[0]!.lo = shared.pop()!.lo;
  return shared.map((a) => ({ lo: fromBig(a.lo), hi: fromBig(a.hi) }));
}
