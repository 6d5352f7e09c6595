// Where a block lives on a ring of N node ids: the k nodes closest to its id (overlay/id.ts kClosest,
// DESIGN 3). kClosest sorts every candidate with 256-bit distances; the bench places tens of millions
// of blocks, so it walks outwards from the key's place in the sorted ring instead (the k closest are
// consecutive around the key), comparing the top 52 bits as doubles and deferring to overlay's
// `closer` whenever two distances are within rounding of each other. The answer is kClosest's, in
// kClosest's order (checked by checkAgainstKClosest, at the start of every run and in the unit test).
import { closer, kClosest } from '../../overlay/id';

const TOP_HEX = 13; // 52 bits: exact in a double
const SPAN = 2 ** 52;

const topBits = (id: string): number => parseInt(id.slice(0, TOP_HEX), 16);

export class RingPlacement {
  /** Node ids in ring order (ascending). */
  readonly ids: readonly string[];
  private readonly positions: Float64Array;

  constructor(nodeIds: readonly string[]) {
    this.ids = [...new Set(nodeIds)].sort();
    this.positions = Float64Array.from(this.ids, topBits);
  }

  get size(): number {
    return this.ids.length;
  }

  /** Indices (into `ids`) of the k nodes closest to `key`, closest first, written into `out`. */
  replicas(key: string, k: number, out: Int32Array): void {
    const n = this.ids.length;
    if (k > n) throw new RangeError(`a ring of ${n} nodes cannot hold ${k} replicas`);
    const at = topBits(key);
    let right = this.firstAtOrAfter(at) % n;
    let left = (right - 1 + n) % n;
    for (let picked = 0; picked < k; picked++) {
      const dl = distance(at, this.positions[left]!);
      const dr = distance(at, this.positions[right]!);
      const takeLeft = Math.abs(dl - dr) <= 2 ? closer(this.ids[left]!, this.ids[right]!, key) : dl < dr;
      if (takeLeft) {
        out[picked] = left;
        left = (left - 1 + n) % n;
      } else {
        out[picked] = right;
        right = (right + 1) % n;
      }
    }
  }

  private firstAtOrAfter(at: number): number {
    let lo = 0;
    let hi = this.positions.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.positions[mid]! < at) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** Distance on the circle of 2^52 (truncated ids: within 1 of the true distance's top bits). */
function distance(a: number, b: number): number {
  const d = Math.abs(a - b);
  return d > SPAN / 2 ? SPAN - d : d;
}

/** Keys for which RingPlacement and overlay's kClosest disagree (none when the walk is right). */
export function checkAgainstKClosest(ring: RingPlacement, keys: readonly string[], k: number): string[] {
  const out = new Int32Array(k);
  return keys.filter((key) => {
    ring.replicas(key, k, out);
    const ours = Array.from(out, (i) => ring.ids[i]!);
    const theirs = kClosest(ring.ids, key, k);
    return ours.some((id, i) => id !== theirs[i]);
  });
}
