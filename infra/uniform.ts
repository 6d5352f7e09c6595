// Turning uniform 32-bit words into the Random port's floats and integers, shared by the seeded and
// the OS-backed sources so that both have the same distribution (and the same argument checks).

const TWO_POW_32 = 2 ** 32;
const TWO_POW_53 = 2 ** 53;

/** Uniform in [0, 1) with 53 bits of precision, from two 32-bit words. */
export function floatFromWords(nextUint32: () => number): number {
  const high = nextUint32() >>> 5; // 27 bits
  const low = nextUint32() >>> 6; // 26 bits
  return (high * 67108864 + low) / TWO_POW_53;
}

/** Uniform integer in [0, maxExclusive) without modulo bias (the top partial block is rejected). */
export function intFromWords(maxExclusive: number, nextUint32: () => number): number {
  if (!Number.isSafeInteger(maxExclusive) || maxExclusive < 1) {
    throw new RangeError(`Random.int: maxExclusive must be a positive safe integer, got ${maxExclusive}`);
  }
  if (maxExclusive > TWO_POW_32) return Math.floor(floatFromWords(nextUint32) * maxExclusive);
  const limit = TWO_POW_32 - (TWO_POW_32 % maxExclusive);
  let x = nextUint32();
  while (x >= limit) x = nextUint32();
  return x % maxExclusive;
}
