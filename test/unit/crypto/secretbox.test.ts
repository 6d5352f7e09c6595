// Random-key encryption for what must not converge (log entries, heads): fresh nonce per seal, from
// the Random port, so the simulator reproduces it exactly.
import { describe, expect, it } from 'vitest';
import { openWithKey, SECRETBOX_OVERHEAD_BYTES, sealWithKey } from '../../../crypto/secretbox';
import { CryptoRandom } from '../../../infra/random';
import { SimRandom } from '../../../infra/sim/random';

const key = new Uint8Array(32).fill(9);
const entry = Buffer.from('{"kind":"insert","uid":42}');

describe('secretbox', () => {
  it('round-trips, and two seals of the same plaintext differ', () => {
    const random = new CryptoRandom();
    const a = sealWithKey(key, entry, random);
    const b = sealWithKey(key, entry, random);
    expect(a.length).toBe(entry.length + SECRETBOX_OVERHEAD_BYTES);
    expect(a.equals(b)).toBe(false);
    expect(openWithKey(key, a)?.equals(entry)).toBe(true);
    expect(openWithKey(key, b)?.equals(entry)).toBe(true);
  });

  it('is reproducible under a seeded random source', () => {
    expect(sealWithKey(key, entry, new SimRandom(7)).equals(sealWithKey(key, entry, new SimRandom(7)))).toBe(true);
  });

  it('binds associated data: a box opens only in its own context', () => {
    const random = new SimRandom(1);
    const box = sealWithKey(key, entry, random, Buffer.from('log A'));
    expect(openWithKey(key, box, Buffer.from('log A'))?.equals(entry)).toBe(true);
    expect(openWithKey(key, box, Buffer.from('log B'))).toBeUndefined();
    expect(openWithKey(key, box)).toBeUndefined();
  });

  it('refuses a wrong key, a flipped byte or a truncated box', () => {
    const box = sealWithKey(key, entry, new SimRandom(2));
    expect(openWithKey(new Uint8Array(32).fill(8), box)).toBeUndefined();
    for (const at of [0, 23, 24, box.length - 1]) {
      const bad = Buffer.from(box);
      bad[at]! ^= 0x80;
      expect(openWithKey(key, bad)).toBeUndefined();
    }
    expect(openWithKey(key, box.subarray(0, SECRETBOX_OVERHEAD_BYTES - 1))).toBeUndefined();
    expect(() => sealWithKey(new Uint8Array(31), entry, new SimRandom(3))).toThrow(/32 bytes/);
  });
});
