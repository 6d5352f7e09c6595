// Seeded draws for the mail trace, over the simulator's random source (infra/sim/random.ts).
import type { SimRandom } from '../../infra/sim/random';

/** Standard normal (Box-Muller). */
export function normal(r: SimRandom): number {
  const u = 1 - r.float();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r.float());
}

/** Log-normal with the given median and shape (sigma of the log), clamped to [min, max]. */
export function logNormal(r: SimRandom, median: number, sigma: number, min = 0, max = Infinity): number {
  return Math.min(max, Math.max(min, Math.round(median * Math.exp(sigma * normal(r)))));
}

/** Poisson count with mean `mean` (Knuth's product method, split for large means). */
export function poisson(r: SimRandom, mean: number): number {
  let n = 0;
  let left = mean;
  while (left > 0) {
    const step = Math.min(left, 30);
    left -= step;
    const limit = Math.exp(-step);
    let p = r.float();
    while (p > limit) {
      n++;
      p *= r.float();
    }
  }
  return n;
}

/** Index in [0, n) with probability proportional to 1 / (i + 1)^s (Zipf), by inversion over the weights. */
export function zipf(r: SimRandom, n: number, s = 1): number {
  let total = 0;
  for (let i = 0; i < n; i++) total += 1 / (i + 1) ** s;
  let x = r.float() * total;
  for (let i = 0; i < n; i++) {
    x -= 1 / (i + 1) ** s;
    if (x < 0) return i;
  }
  return n - 1;
}

/** Pick from `weights` (need not sum to 1): the index. */
export function weighted(r: SimRandom, weights: readonly number[]): number {
  let x = r.float() * weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < weights.length; i++) {
    x -= weights[i]!;
    if (x < 0) return i;
  }
  return weights.length - 1;
}

/** `count` distinct items of `items` (or all of them). */
export function sample<T>(r: SimRandom, items: readonly T[], count: number): T[] {
  const pool = [...items];
  const out: T[] = [];
  while (out.length < count && pool.length > 0) out.push(pool.splice(r.int(pool.length), 1)[0]!);
  return out;
}
