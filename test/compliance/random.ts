// The Random port's contract, for the OS source and the seeded simulator source.
import { describe, expect, it } from 'vitest';
import type { Random } from '../../infra/ports';

export function randomCompliance(label: string, make: () => Random): void {
  describe(`Random compliance: ${label}`, () => {
    it('bytes(n) gives n bytes, and they vary', () => {
      const random = make();
      expect(random.bytes(0).length).toBe(0);
      for (const n of [1, 3, 4, 7, 32, 1000]) expect(random.bytes(n).length).toBe(n);
      const sample = random.bytes(4096);
      expect(new Set(sample).size).toBeGreaterThan(200); // 256 values, all but surely most of them
      expect(Buffer.from(random.bytes(32)).equals(Buffer.from(random.bytes(32)))).toBe(false);
    });

    it('small draws (nonces) never repeat, across many pool-sized runs and mixed with integer draws', () => {
      const random = make();
      const seen = new Set<string>();
      for (let i = 0; i < 2000; i++) {
        seen.add(Buffer.from(random.bytes(24)).toString('hex'));
        if (i % 7 === 0) random.int(1000);
        if (i % 11 === 0) random.bytes(5);
      }
      expect(seen.size).toBe(2000);
      const key = random.bytes(32);
      expect(key.some((b) => b !== 0)).toBe(true);
    });

    it('float() stays within [0, 1) and spreads over it', () => {
      const random = make();
      const buckets = new Array<number>(10).fill(0);
      let outside = 0;
      for (let i = 0; i < 10_000; i++) {
        const x = random.float();
        if (!(x >= 0 && x < 1)) outside++;
        else buckets[Math.floor(x * 10)]!++;
      }
      expect(outside).toBe(0);
      // Each decile expects 1000; 800 is more than six standard deviations away.
      for (const bucket of buckets) expect(bucket).toBeGreaterThan(800);
    });

    it('int(n) stays within [0, n) and reaches every value', () => {
      const random = make();
      const seen = new Array<number>(6).fill(0);
      let outside = 0;
      for (let i = 0; i < 6000; i++) {
        const x = random.int(6);
        if (!(Number.isInteger(x) && x >= 0 && x < 6)) outside++;
        else seen[x]!++;
      }
      expect(outside).toBe(0);
      for (const count of seen) expect(count).toBeGreaterThan(800);
      expect(random.int(1)).toBe(0);
      const large = random.int(2 ** 40);
      expect(Number.isInteger(large) && large >= 0 && large < 2 ** 40).toBe(true);
    });

    it('int refuses a bound that is not a positive integer', () => {
      const random = make();
      for (const bad of [0, -1, 1.5, Number.NaN, Infinity]) expect(() => random.int(bad)).toThrow(RangeError);
    });
  });
}
