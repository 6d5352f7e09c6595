// Bytes held per node, by what they are, for every ring and replication factor at once: each block
// or object is placed on the max-k closest nodes once, and the first k of them are its replicas for k
// (kClosest orders by closeness, so the k = 3 set is the prefix of the k = 10 set). Counted as the
// replica store's totals count them (infra/store: block bytes, encoded object bytes, drop entry bytes).
import { percentile } from '../stats';
import type { RingPlacement } from './placement';

export const CATEGORIES = [
  /** Mail content, one copy per recipient (and the sender's Sent copy): a conventional server's layout. */
  'contentUnique',
  /** Mail content single-copy, each MIME part its own convergent datum (DESIGN 3). */
  'contentSingle',
  /** Mail content single-copy as submit() and APPEND store it: a layout per copy, bodies of 8 KiB or more as shared parts. */
  'contentAsBuilt',
  /** Log entry and snapshot blocks still held (superseded ones leave once their lease runs out). */
  'logBlocks',
  /** Signed objects: every log's newest head, and each user's keystore, identity and directory records. */
  'objects',
  /** Notifications in inbox drops, not yet taken by their recipient. */
  'drops',
] as const;
export type Category = (typeof CATEGORIES)[number];

export const CONTENT: Record<'unique' | 'single' | 'asBuilt', Category> = { unique: 'contentUnique', single: 'contentSingle', asBuilt: 'contentAsBuilt' };
export const METADATA: readonly Category[] = ['logBlocks', 'objects', 'drops'];

export interface NodeStats {
  readonly mean: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly total: number;
}

export class Ledger {
  private readonly bytes: Float64Array[][][];
  private readonly scratch: Int32Array;
  private readonly kMax: number;

  constructor(
    readonly rings: readonly RingPlacement[],
    readonly ks: readonly number[],
  ) {
    this.kMax = Math.max(...ks);
    this.scratch = new Int32Array(this.kMax);
    this.bytes = rings.map((r) => ks.map(() => CATEGORIES.map(() => new Float64Array(r.size))));
  }

  /** `bytes` (negative to remove) on each replica of `key`, in every ring and for every k. */
  add(category: Category, key: string, bytes: number): void {
    const c = CATEGORIES.indexOf(category);
    for (let r = 0; r < this.rings.length; r++) {
      this.rings[r]!.replicas(key, this.kMax, this.scratch);
      for (let ki = 0; ki < this.ks.length; ki++) {
        const held = this.bytes[r]![ki]![c]!;
        for (let j = 0; j < this.ks[ki]!; j++) held[this.scratch[j]!]! += bytes;
      }
    }
  }

  /** Forget a category (recomputed from scratch: heads and drops are what is stored now, not a sum). */
  reset(category: Category): void {
    const c = CATEGORIES.indexOf(category);
    for (const perK of this.bytes) for (const perCategory of perK) perCategory[c]!.fill(0);
  }

  /** Bytes per node of ring `ring` for replication factor `k`, summed over `categories`. */
  perNode(ring: number, k: number, categories: readonly Category[]): Float64Array {
    const ki = this.ks.indexOf(k);
    const out = new Float64Array(this.rings[ring]!.size);
    for (const category of categories) {
      const held = this.bytes[ring]![ki]![CATEGORIES.indexOf(category)]!;
      for (let i = 0; i < out.length; i++) out[i]! += held[i]!;
    }
    return out;
  }

  stats(ring: number, k: number, categories: readonly Category[]): NodeStats {
    const values = Array.from(this.perNode(ring, k, categories));
    const total = values.reduce((a, b) => a + b, 0);
    return { mean: total / values.length, p50: percentile(values, 50), p99: percentile(values, 99), max: Math.max(...values), total };
  }
}
