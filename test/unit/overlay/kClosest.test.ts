// kClosest ranks by the ids' top 52 bits and compares exactly only near ties: it must agree with the
// exact order (bigint distances, ties to the lower id) on every input, including ids that share their
// top bits, keys exactly halfway between two ids, duplicates, and ids of other lengths.
import { describe, expect, it } from 'vitest';
import { SimRandom } from '../../../infra/sim/random';
import { closer, closest, fromBig, HALF, kClosest, RING, toBig } from '../../../overlay/id';

/** The exact order, as kClosest was first written: every distance a bigint, a full sort. */
function exactKClosest(candidates: Iterable<string>, key: string, k: number): string[] {
  const at = toBig(key);
  const ranked = [...new Set(candidates)].map((id) => {
    let d = at - toBig(id);
    if (d < 0n) d += RING;
    return { id, d: d > HALF ? RING - d : d };
  });
  ranked.sort((a, b) => (a.d < b.d ? -1 : a.d > b.d ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return ranked.slice(0, Math.max(0, k)).map((r) => r.id);
}

/** closest and closer must give the same order as kClosest's exact one. */
function expectSameOrder(ring: readonly string[], key: string): void {
  const exact = exactKClosest(ring, key, ring.length);
  expect(closest(ring, key)).toBe(exact[0]);
  for (let i = 0; i + 1 < exact.length; i++) {
    expect(closer(exact[i]!, exact[i + 1]!, key)).toBe(true);
    expect(closer(exact[i + 1]!, exact[i]!, key)).toBe(false);
  }
}

describe('kClosest, closest and closer', () => {
  const random = new SimRandom('kClosest');
  const id = () => Buffer.from(random.bytes(32)).toString('hex');
  /** An id that shares `digits` leading hex digits with `near`, the rest random. */
  const sharing = (near: string, digits: number) => near.slice(0, digits) + id().slice(digits);

  it('agrees with the exact order on random rings and keys, for every k', () => {
    for (let trial = 0; trial < 300; trial++) {
      const ring = Array.from({ length: 1 + random.int(60) }, id);
      const key = random.int(4) === 0 ? ring[random.int(ring.length)]! : id();
      for (const k of [0, 1, 3, 5, ring.length, ring.length + 2]) expect(kClosest(ring, key, k)).toEqual(exactKClosest(ring, key, k));
      expectSameOrder(ring, key);
    }
  });

  it('agrees where the top 52 bits cannot tell: ids and keys sharing 12 to 64 leading digits', () => {
    for (let trial = 0; trial < 300; trial++) {
      const anchor = id();
      const ring = Array.from({ length: 2 + random.int(20) }, () => sharing(anchor, 12 + random.int(52)));
      const key = sharing(anchor, 12 + random.int(53));
      for (const k of [1, 2, 3, ring.length]) expect(kClosest(ring, key, k)).toEqual(exactKClosest(ring, key, k));
      expectSameOrder([...new Set(ring)], key);
    }
  });

  it('agrees across a boundary of the top 52 bits: rough distances one apart whose exact order is the other way', () => {
    const low = () => [() => '0'.repeat(51), () => 'f'.repeat(51), () => id().slice(13)][random.int(3)]!();
    for (let trial = 0; trial < 300; trial++) {
      // Sometimes at the circle's wrap (top 0: neighbours at 2^52 - 1 and 1).
      const top = random.int(4) === 0 ? 0n : BigInt(1 + random.int(2 ** 30)) << 20n;
      const near = () => ((top + BigInt(random.int(3)) - 1n + (1n << 52n)) % (1n << 52n)).toString(16).padStart(13, '0') + low();
      const ring = Array.from({ length: 2 + random.int(6) }, near);
      const key = near();
      for (const k of [1, 2, ring.length]) expect(kClosest(ring, key, k)).toEqual(exactKClosest(ring, key, k));
      expectSameOrder([...new Set(ring)], key);
    }
  });

  it('breaks an exact tie (the key halfway between two ids, either way round the circle) towards the lower id', () => {
    for (let trial = 0; trial < 200; trial++) {
      const [a, b] = [toBig(id()), toBig(id())];
      const gap = (b - a + RING) % RING;
      if (gap % 2n !== 0n) continue;
      const middle = fromBig(a + gap / 2n);
      const opposite = fromBig(a + gap / 2n + HALF);
      const ring = [fromBig(a), fromBig(b), id(), id()];
      for (const key of [middle, opposite]) {
        expect(kClosest(ring, key, 2)).toEqual(exactKClosest(ring, key, 2));
        expect(kClosest(ring, key, 4)).toEqual(exactKClosest(ring, key, 4));
        expectSameOrder(ring, key);
      }
    }
  });

  it('counts a candidate given twice once, and ranks ids of other lengths exactly', () => {
    const ring = Array.from({ length: 10 }, id);
    const key = id();
    expect(kClosest([...ring, ...ring], key, 4)).toEqual(exactKClosest(ring, key, 4));
    const short = ['0', 'ff', 'abc', ...ring.slice(0, 3)];
    expect(kClosest(short, '1', 6)).toEqual(exactKClosest(short, '1', 6));
    expect(kClosest(short, key, 3)).toEqual(exactKClosest(short, key, 3));
  });
});
