// The host block cache contract (infra/store/blockCache.ts), one suite for every adapter.
import { afterEach, describe, expect, it } from 'vitest';
import type { BlockCache } from '../../infra/store/blockCache';

export interface BlockCacheHarness {
  readonly cache: BlockCache;
  /** Close and open again on the same data (an adapter without a disk returns the same cache). */
  reopen(): Promise<BlockCache>;
  cleanup(): Promise<void>;
}

const idOf = (n: number) => n.toString(16).padStart(64, '0');
const bytesOf = (n: number, size: number) => Buffer.alloc(size, n);

/** `make(bytesMax)`: a fresh, empty cache bounded at bytesMax. */
export function blockCacheCompliance(label: string, make: (bytesMax: number) => Promise<BlockCacheHarness>, durable: boolean): void {
  describe(`block cache compliance: ${label}`, () => {
    let harness: BlockCacheHarness | undefined;
    afterEach(async () => {
      await harness?.cleanup();
      harness = undefined;
    });

    it('block cache: a copy put is got back byte for byte; an unknown id is undefined', async () => {
      harness = await make(10_000);
      const { cache } = harness;
      cache.put(idOf(1), bytesOf(1, 100));
      expect(Buffer.from(cache.get(idOf(1))!)).toEqual(bytesOf(1, 100));
      expect(cache.get(idOf(2))).toBeUndefined();
      expect(cache.bytes()).toBe(100);
    });

    it('block cache: a second put of an id keeps the first copy and counts its bytes once', async () => {
      harness = await make(10_000);
      const { cache } = harness;
      cache.put(idOf(1), bytesOf(1, 100));
      cache.put(idOf(1), bytesOf(9, 100));
      expect(Buffer.from(cache.get(idOf(1))!)).toEqual(bytesOf(1, 100));
      expect(cache.bytes()).toBe(100);
    });

    it('block cache: past its byte bound the oldest copies go first; a copy bigger than the bound is not kept', async () => {
      harness = await make(1_000);
      const { cache } = harness;
      for (let n = 1; n <= 5; n++) cache.put(idOf(n), bytesOf(n, 300));
      expect(cache.bytes()).toBeLessThanOrEqual(1_000);
      expect([1, 2, 3, 4, 5].map((n) => cache.get(idOf(n)) !== undefined)).toEqual([false, false, true, true, true]);
      cache.put(idOf(6), bytesOf(6, 1_001));
      expect(cache.get(idOf(6))).toBeUndefined();
    });

    it('block cache: a deleted copy is gone and its bytes no longer count', async () => {
      harness = await make(10_000);
      const { cache } = harness;
      cache.put(idOf(1), bytesOf(1, 100));
      cache.put(idOf(2), bytesOf(2, 50));
      cache.delete(idOf(1));
      cache.delete(idOf(3)); // not held: nothing happens
      expect(cache.get(idOf(1))).toBeUndefined();
      expect(cache.bytes()).toBe(50);
    });

    it.runIf(durable)('block cache: copies, their age and the byte count survive a reopen', async () => {
      harness = await make(1_000);
      harness.cache.put(idOf(1), bytesOf(1, 400));
      harness.cache.put(idOf(2), bytesOf(2, 400));
      const reopened = await harness.reopen();
      expect(reopened.bytes()).toBe(800);
      reopened.put(idOf(3), bytesOf(3, 400));
      expect(reopened.get(idOf(1))).toBeUndefined(); // still the oldest
      expect(Buffer.from(reopened.get(idOf(2))!)).toEqual(bytesOf(2, 400));
    });

    it('block cache: a malformed id is a programmer error', async () => {
      harness = await make(1_000);
      expect(() => harness!.cache.put('nothex', bytesOf(1, 1))).toThrow(RangeError);
    });
  });
}
