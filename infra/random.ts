// Randomness from the operating system, for real nodes. Draws come from a small pool refilled with
// one randomFillSync call, because per-call crypto overhead dominates for 8-byte draws.
import { randomFillSync } from 'node:crypto';
import type { Random } from './ports';
import { floatFromWords, intFromWords } from './uniform';

const POOL_BYTES = 4096;

export class CryptoRandom implements Random {
  private readonly pool = new Uint8Array(POOL_BYTES);
  private readonly view = new DataView(this.pool.buffer);
  private offset = POOL_BYTES;
  private readonly next = () => this.uint32();

  bytes(n: number): Uint8Array {
    return randomFillSync(new Uint8Array(n));
  }

  float(): number {
    return floatFromWords(this.next);
  }

  int(maxExclusive: number): number {
    return intFromWords(maxExclusive, this.next);
  }

  private uint32(): number {
    if (this.offset + 4 > POOL_BYTES) {
      randomFillSync(this.pool);
      this.offset = 0;
    }
    const x = this.view.getUint32(this.offset);
    this.offset += 4;
    return x;
  }
}

/** One CryptoRandom for the `post` command's own draws (new keys, secrets, nonces, passwords, seeds). */
export const osRandom: Random = new CryptoRandom();
