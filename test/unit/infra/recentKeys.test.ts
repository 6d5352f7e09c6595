// RecentKeys: keys remembered for a window, at most `max`, the oldest forgotten first.
import { describe, expect, it } from 'vitest';
import { RecentKeys } from '../../../infra/recentKeys';

describe('RecentKeys', () => {
  it('remembers a key for the window, then forgets it', () => {
    const keys = new RecentKeys(1_000, 10);
    keys.add('a', 0);
    expect(keys.has('a', 999)).toBe(true);
    expect(keys.has('a', 1_000)).toBe(false);
    expect(keys.has('b', 500)).toBe(false);
    keys.add('b', 1_500); // forgetting happens as keys are added
    expect(keys.size).toBe(1);
    expect(keys.has('b', 1_500)).toBe(true);
  });

  it('a key added again keeps its first time', () => {
    const keys = new RecentKeys(1_000, 10);
    keys.add('a', 0);
    keys.add('a', 900);
    expect(keys.has('a', 1_000)).toBe(false);
  });

  it('keeps at most max keys, forgetting the oldest', () => {
    const keys = new RecentKeys(1_000_000, 3);
    for (const [i, k] of ['a', 'b', 'c', 'd', 'e'].entries()) keys.add(k, i);
    expect(keys.size).toBe(3);
    expect(['a', 'b', 'c', 'd', 'e'].map((k) => keys.has(k, 10))).toEqual([false, false, true, true, true]);
  });

  it('forgets only what left the window: the young keys stay, however many', () => {
    const keys = new RecentKeys(100, 1_000_000);
    for (let i = 0; i < 50_000; i++) keys.add(`k${i}`, i);
    // At 50,000 the window holds the last 100 keys stamped after 49,900.
    expect(keys.size).toBe(100);
    expect(keys.has('k49899', 49_999)).toBe(false);
    expect(keys.has('k49900', 49_999)).toBe(true);
    keys.forget(1_000_000);
    expect(keys.size).toBe(0);
  });
});
