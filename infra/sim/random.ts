// Seeded randomness for the simulator: xoshiro128** (fast, passes BigCrush for 32-bit output),
// seeded through cyrb128 + splitmix32 from a string. `fork(label)` derives a child stream from the
// parent's *seed* and the label, not from its state, so adding a consumer (a new node, a new fault)
// never shifts the numbers any other consumer sees. The same label forks the same stream.
import type { Random } from '../ports';
import { floatFromWords, intFromWords } from '../uniform';

/** 128 bits of hash from a string (cyrb128): seeds differ even for near-identical labels. */
function cyrb128(text: string): [number, number, number, number] {
  let h1 = 1779033703, h2 = 3144134277, h3 = 1013904242, h4 = 2773480762;
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

/** splitmix32 finaliser: spreads the hash so that no state word is weak (or all zero). */
function splitmix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export class SimRandom implements Random {
  /** The full seed path, e.g. "42/network/node-7": print it to reproduce a stream. */
  readonly seed: string;
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private readonly next = () => this.uint32();

  constructor(seed: number | string) {
    this.seed = String(seed);
    const [h1, h2, h3, h4] = cyrb128(this.seed);
    this.a = splitmix32(h1);
    this.b = splitmix32(h2);
    this.c = splitmix32(h3);
    this.d = splitmix32(h4);
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1; // xoshiro's one forbidden state
  }

  /** An independent stream determined only by this stream's seed and `label`. */
  fork(label: string): SimRandom {
    return new SimRandom(`${this.seed}/${label}`);
  }

  /** Uniform 32-bit unsigned integer (xoshiro128**). */
  uint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 bits of precision. */
  float(): number {
    return floatFromWords(this.next);
  }

  /** Uniform integer in [0, maxExclusive), without modulo bias. */
  int(maxExclusive: number): number {
    return intFromWords(maxExclusive, this.next);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return p > 0 && (p >= 1 || this.float() < p);
  }

  /** Uniform in [minInclusive, maxInclusive] (real numbers). */
  between(minInclusive: number, maxInclusive: number): number {
    return minInclusive + this.float() * (maxInclusive - minInclusive);
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('SimRandom.pick: no items to pick from');
    return items[this.int(items.length)]!;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const x = this.uint32();
      out[i] = x;
      out[i + 1] = x >>> 8;
      out[i + 2] = x >>> 16;
      out[i + 3] = x >>> 24;
    }
    if (i < n) {
      let x = this.uint32();
      for (; i < n; i++, x >>>= 8) out[i] = x;
    }
    return out;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
