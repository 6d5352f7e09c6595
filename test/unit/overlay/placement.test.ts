import { describe, expect, it } from 'vitest';
import { SimRandom } from '../../../infra/sim/random';
import { cwDistance, fromBig, kClosest, RING, toBig } from '../../../overlay/id';
import { type Arc, arcsAround, gainedArcs, sharedArcs, WHOLE_CIRCLE } from '../../../overlay/placement';

const K = 3;
const LEAF_HALF = 8;
const inArc = (arc: Arc, key: string) => arc.lo === arc.hi || cwDistance(arc.lo, key) < cwDistance(arc.lo, arc.hi);

/** Self and its leaf set: the LEAF_HALF nearest on each side (everyone in a small ring). */
function viewOf(ring: readonly string[], self: string): string[] {
  const sorted = [...ring].sort();
  if (sorted.length <= 2 * LEAF_HALF + 1) return sorted;
  const at = sorted.indexOf(self);
  return Array.from({ length: 2 * LEAF_HALF + 1 }, (_, i) => sorted[(at - LEAF_HALF + i + sorted.length) % sorted.length]!);
}

describe('placement: the arcs a membership change can move replicas in', () => {
  it('every key this node holds or should hold whose k closest changed lies in an arc (random rings, leaves and joins)', () => {
    const random = new SimRandom('arcs');
    const id = () => Buffer.from(random.bytes(32)).toString('hex');
    for (let trial = 0; trial < 300; trial++) {
      const ring = Array.from({ length: 5 + random.int(60) }, id);
      const self = ring[random.int(ring.length)]!;
      const view = viewOf(ring, self);
      const others = view.filter((n) => n !== self);
      const leaving = others[random.int(others.length)]!;
      const joining = id();
      const [before, after, changed, viewWith] =
        random.int(2) === 0 ? [ring, ring.filter((n) => n !== leaving), leaving, view] : [ring, [...ring, joining], joining, viewOf([...ring, joining], self)];
      const arcs = arcsAround(self, viewWith, [changed], K);
      for (let i = 0; i < 400; i++) {
        const key = id();
        const was = kClosest(before, key, K);
        const now = kClosest(after, key, K);
        if (!was.includes(self) && !now.includes(self)) continue;
        if (was.join() !== now.join()) expect(arcs.some((a) => inArc(a, key)), `trial ${trial}: key ${key.slice(0, 8)} moved outside the arcs`).toBe(true);
      }
    }
  });

  it('a small ring is looked at whole; a change outside the view, not at all', () => {
    const nodes = ['10', '30', '50', '70', '90', 'b0', 'd0'].map((p) => p.padEnd(64, '0'));
    expect(arcsAround(nodes[0]!, nodes, [nodes[2]!], K)).toEqual([WHOLE_CIRCLE]);
    expect(arcsAround(nodes[0]!, nodes, ['ff'.repeat(32)], K)).toEqual([]);
  });
});

describe('placement: the arcs a node becomes a replica of when nodes leave', () => {
  it('a key lies in a gained arc exactly when this node newly is one of its k closest; the arc names its surviving replicas', () => {
    const random = new SimRandom('gained');
    const id = () => Buffer.from(random.bytes(32)).toString('hex');
    let gainedKeys = 0;
    for (let trial = 0; trial < 100; trial++) {
      const ring = Array.from({ length: 5 + random.int(60) }, id);
      const self = ring[random.int(ring.length)]!;
      const others = viewOf(ring, self).filter((n) => n !== self);
      const leaving = new Set(Array.from({ length: 1 + random.int(2) }, () => others[random.int(others.length)]!));
      const after = ring.filter((n) => !leaving.has(n));
      const gained = gainedArcs(self, viewOf(ring, self), viewOf(after, self), K);
      // Keys near self (where it can be a replica at all), and anywhere.
      for (let i = 0; i < 300; i++) {
        const key = i % 2 === 0 ? id() : others[random.int(others.length)]!.slice(0, 60) + id().slice(0, 4);
        const was = kClosest(ring, key, K);
        const now = kClosest(after, key, K);
        const holding = gained.filter((g) => inArc(g.arc, key));
        expect(holding.length, `trial ${trial}: key ${key.slice(0, 8)} in ${holding.length} arcs`).toBeLessThanOrEqual(1);
        const newReplica = now.includes(self) && !was.includes(self);
        expect(holding.length === 1, `trial ${trial}: key ${key.slice(0, 8)} (new replica: ${newReplica})`).toBe(newReplica);
        if (!newReplica) continue;
        gainedKeys++;
        expect([...holding[0]!.holders].sort()).toEqual(was.filter((n) => !leaving.has(n)).sort());
      }
    }
    expect(gainedKeys).toBeGreaterThan(100);
  });

  it('nothing is gained by a node joining, or by this node\'s own first view', () => {
    const nodes = ['10', '30', '50', '70', '90', 'b0', 'd0'].map((p) => p.padEnd(64, '0'));
    expect(gainedArcs(nodes[0]!, nodes, [...nodes, '20'.padEnd(64, '0')], K)).toEqual([]);
    expect(gainedArcs(nodes[0]!, [], nodes, K)).toEqual([]);
    // One leaves: the next node on each side of it inherits a piece, from the two replicas left.
    const gained = gainedArcs(nodes[0]!, nodes, nodes.filter((n) => n !== nodes[1]), K);
    expect(gained.length).toBeGreaterThan(0);
    for (const g of gained) expect(g.holders).toHaveLength(K - 1);
  });
});

describe('placement: the keys two replicas can compare (anti-entropy)', () => {
  it('a key is in the arcs shared with one of the k - 1 nodes clockwise exactly when both are among its k closest (random rings)', () => {
    const random = new SimRandom('shared');
    const id = () => Buffer.from(random.bytes(32)).toString('hex');
    let excluded = 0;
    let included = 0;
    for (let trial = 0; trial < 300; trial++) {
      const ring = Array.from({ length: 2 + random.int(40) }, id);
      const sorted = [...ring].sort();
      const self = ring[random.int(ring.length)]!;
      const other = sorted[(sorted.indexOf(self) + 1 + random.int(K - 1)) % sorted.length]!;
      if (other === self) continue;
      const view = viewOf(ring, self);
      const shared = sharedArcs(self, other, view.filter((n) => n !== self), K);
      for (let i = 0; i < 200; i++) {
        // Keys anywhere on the circle, and keys near self (where the two most often share).
        const key = i % 2 === 0 ? id() : fromBig((toBig(self) + RING - RING / 64n + BigInt(random.int(1_000_000)) * (RING / 32n / 1_000_000n)) % RING);
        const closest = kClosest(ring, key, K);
        const both = closest.includes(self) && closest.includes(other);
        if (both) included++;
        else excluded++;
        expect(shared.some((a) => inArc(a, key)), `trial ${trial}: key ${key.slice(0, 8)} (both replicate: ${both})`).toBe(both);
      }
    }
    expect(included).toBeGreaterThan(1000);
    expect(excluded).toBeGreaterThan(1000);
  });

  it('every two replicas of a key are compared by one of them: each node with its k - 1 clockwise (random rings)', () => {
    const random = new SimRandom('pairs');
    const id = () => Buffer.from(random.bytes(32)).toString('hex');
    for (let trial = 0; trial < 100; trial++) {
      const ring = Array.from({ length: 4 + random.int(30) }, id);
      const sorted = [...ring].sort();
      const pairs = sorted.flatMap((self, at) =>
        Array.from({ length: K - 1 }, (_, step) => sorted[(at + 1 + step) % sorted.length]!)
          .filter((other) => other !== self)
          .map((other) => ({ self, other, arcs: sharedArcs(self, other, viewOf(ring, self).filter((n) => n !== self), K) })),
      );
      for (let i = 0; i < 100; i++) {
        const key = id();
        const replicas = kClosest(ring, key, K);
        for (const a of replicas)
          for (const b of replicas) {
            if (a >= b) continue;
            const compared = pairs.some((p) => ((p.self === a && p.other === b) || (p.self === b && p.other === a)) && p.arcs.some((arc) => inArc(arc, key)));
            expect(compared, `trial ${trial}: replicas ${a.slice(0, 8)} and ${b.slice(0, 8)} of ${key.slice(0, 8)}`).toBe(true);
          }
      }
    }
  });

  it('the whole circle where every node replicates everything; none of the keys the neighbour does not replicate', () => {
    const [a, b, c] = ['10', '60', 'b0'].map((p) => p.padEnd(64, '0'));
    const [whole, ...rest] = sharedArcs(a!, b!, [b!, c!], K);
    expect(rest).toEqual([]);
    expect(whole!.lo).toBe(whole!.hi);
    // The lab's ring of 2026-12-05 (k = 3): from 5e2c to ba08, keys past the middle of the gap have
    // e372 and fae0 nearer than 5e2c, which anti-entropy used to fetch and hand over every 30 s.
    const lab = ['3b1f', '5e2c', 'ba08', 'e372', 'fae0'].map((p) => p.padEnd(64, '0'));
    const shared = sharedArcs(lab[1]!, lab[2]!, lab, K);
    expect(kClosest(lab, 'b000'.padEnd(64, '0'), K)).not.toContain(lab[1]);
    expect(shared.some((arc) => inArc(arc, 'b000'.padEnd(64, '0')))).toBe(false);
    expect(shared.some((arc) => inArc(arc, '6000'.padEnd(64, '0')))).toBe(true);
  });
});
