// Randomness from the operating system, for real nodes. Draws come from a small pool refilled with
// one randomFillSync call, because per-call crypto overhead dominates for 8-byte draws and for the
// 24-byte nonces every sealed head and entry takes (one randomFillSync each was ~1% of a busy mail
// node's CPU). Pool bytes are handed out once: every draw moves the offset past what it took.
import { randomFillSync } from 'node:crypto';
import type { Random } from './ports';
import { floatFromWords, intFromWords } from './uniform';

const POOL_BYTES = 4096;
/** Larger draws (keys, seeds, padding) are filled directly: they are rare, and would drain the pool. */
const POOLED_DRAW_BYTES_MAX = 64;

export class CryptoRandom implements Random {
  private readonly pool = new Uint8Array(POOL_BYTES);
  private readonly view = new DataView(this.pool.buffer);
  private offset = POOL_BYTES;
  private readonly next = () => this.uint32();

  bytes(n: number): Uint8Array {
    if (n > POOLED_DRAW_BYTES_MAX) return randomFillSync(new Uint8Array(n));
    this.ensure(n);
    const out = this.pool.slice(this.offset, this.offset + n);
    this.pool.fill(0, this.offset, this.offset + n); // no copy of a drawn key stays behind
    this.offset += n;
    return out;
  }

  float(): number {
    return floatFromWords(this.next);
  }

  int(maxExclusive: number): number {
    return intFromWords(maxExclusive, this.next);
  }

  /** At least n unused bytes in the pool. */
  private ensure(n: number): void {
    if (this.offset + n <= POOL_BYTES) return;
    randomFillSync(this.pool);
    this.offset = 0;
  }

  private uint32(): number {
    this.ensure(4);
    const x = this.view.getUint32(this.offset);
    this.offset += 4;
    return x;
  }
}

/** One CryptoRandom for the `post` command's own draws (new keys, secrets, nonces, passwords, seeds). */
export const osRandom: Random = new CryptoRandom();
