import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { closest, cwDistance, distance, fromBig, sharedPrefixLength, toBig } from '../../../overlay/id';
import * as LS from '../../../overlay/leafSet';
import * as RT from '../../../overlay/routingTable';
import { nextHop } from '../../../overlay/route';

const idOf = (s: string) => createHash('sha256').update(s).digest('hex');
const ids = (n: number, tag = 'n') => Array.from({ length: n }, (_, i) => idOf(`${tag}${i}`));

describe('ids on the circle', () => {
  test('distance wraps around', () => {
    const a = fromBig(1n);
    const b = fromBig((1n << 256n) - 1n);
    expect(distance(a, b)).toBe(2n);
    expect(cwDistance(b, a)).toBe(2n);
    expect(cwDistance(a, b)).toBe((1n << 256n) - 2n);
  });
  test('ties go to the lower id', () => {
    const key = fromBig(10n);
    expect(closest([fromBig(12n), fromBig(8n)], key)).toBe(fromBig(8n));
  });
  test('shared prefix counts hex digits', () => {
    expect(sharedPrefixLength('abc0' + '0'.repeat(60), 'abd0' + '0'.repeat(60))).toBe(2);
  });
});

describe('leaf set', () => {
  const self = idOf('self');
  test('keeps the L/2 nearest on each side', () => {
    const all = ids(100);
    const ls = LS.fromCandidates(self, all);
    expect(ls.cw).toHaveLength(8);
    expect(ls.ccw).toHaveLength(8);
    const byCw = [...all].sort((a, b) => (cwDistance(self, a) < cwDistance(self, b) ? -1 : 1));
    expect(ls.cw).toEqual(byCw.slice(0, 8));
  });
  test('a small ring is known whole and covers every key', () => {
    const ls = LS.fromCandidates(self, ids(5));
    expect(LS.members(ls)).toHaveLength(5);
    expect(LS.isFull(ls)).toBe(false);
    expect(LS.covers(ls, idOf('anything'))).toBe(true);
  });
  test('with 12 other nodes both sides are full but overlap: still whole', () => {
    const ls = LS.fromCandidates(self, ids(12));
    expect(LS.isFull(ls)).toBe(false);
  });
  test('wouldAccept only nearer nodes once full', () => {
    const all = ids(200);
    const ls = LS.fromCandidates(self, all.slice(0, 100));
    const better = LS.fromCandidates(self, all);
    for (const c of all.slice(100)) expect(LS.wouldAccept(ls, c)).toBe(LS.has(LS.add(ls, [c]), c));
    expect(LS.members(better).length).toBe(16);
  });
  test('remove drops a member', () => {
    const ls = LS.fromCandidates(self, ids(30));
    const gone = ls.cw[0]!;
    expect(LS.has(LS.remove(ls, gone), gone)).toBe(false);
  });
});

describe('routing table', () => {
  test('places a node at row = shared prefix, column = its next digit; keeps the first', () => {
    const self = '12' + '0'.repeat(62);
    const a = '13' + '0'.repeat(62);
    const b = '13' + 'f'.repeat(62);
    const t = RT.addAll(RT.emptyTable(self), [a, b]);
    expect(RT.entry(t, 1, 3)).toBe(a);
    expect(RT.size(t)).toBe(1);
    expect(RT.entry(RT.removeNode(t, a), 1, 3)).toBeUndefined();
  });
});

describe('next hop over a ring built from global knowledge', () => {
  test.each([50, 500])('every key reaches its numerically closest node within ceil(log16 N)+1 hops (N=%i)', (n) => {
    const nodes = ids(n);
    const state = new Map(
      nodes.map((self) => [self, { ls: LS.fromCandidates(self, nodes), t: RT.addAll(RT.emptyTable(self), nodes) }]),
    );
    const bound = Math.ceil(Math.log(n) / Math.log(16)) + 1;
    for (let i = 0; i < 2000; i++) {
      const key = idOf(`key${i}`);
      let at = nodes[i % n]!;
      let hops = 0;
      for (;;) {
        const s = state.get(at)!;
        const h = nextHop(s.ls, s.t, key);
        if (h.deliver) break;
        at = h.to;
        hops++;
        expect(hops).toBeLessThanOrEqual(bound);
      }
      expect(at).toBe(closest(nodes, key));
    }
  });

  test('a failed hop is avoided and the next closest live node becomes root', () => {
    const nodes = ids(40);
    const key = idOf('k');
    const root = closest(nodes, key)!;
    const from = nodes.find((x) => x !== root)!;
    const s = { ls: LS.fromCandidates(from, nodes), t: RT.addAll(RT.emptyTable(from), nodes) };
    const h = nextHop(s.ls, s.t, key, new Set([root]));
    const live = nodes.filter((x) => x !== root);
    expect(h.deliver ? from : h.to).toBe(closest(live, key));
  });

  test('toBig and fromBig agree', () => {
    const x = idOf('z');
    expect(fromBig(toBig(x))).toBe(x);
  });
});
