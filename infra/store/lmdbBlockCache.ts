// The host block cache (infra/store/blockCache.ts) on LMDB, in its own environment beside the node's
// store, so a cache that fills or breaks never touches the replicas' data:
//
//   copies  id (32 bytes)        -> seq u64 | block bytes
//   age     seq u64              -> id          oldest first: eviction is a range scan from the start
//   totals  "totals"             -> held bytes u64 | next seq u64
//
// Writes are synchronous transactions without fsync (noSync): a cache may lose its last puts in a
// crash, and every copy is verified against its id when read.
import { mkdirSync } from 'node:fs';
import { type Database, open, type RootDatabase } from 'lmdb';
import { PostError } from '../../protocol/errors';
import type { BlockCache } from './blockCache';
import { key, uint64 } from './lmdbKeys';
import { assertId } from './range';
import { readUint64, writeUint64 } from './uint64';

type Bin = Database<Buffer, Buffer>;
const TOTALS_KEY = Buffer.from('totals');
const SEQ_BYTES = 8;

export class LmdbBlockCache implements BlockCache {
  private heldBytes: number;
  private nextSeq: number;
  private closed = false;

  private constructor(
    private readonly env: RootDatabase<Buffer, Buffer>,
    private readonly copies: Bin,
    private readonly age: Bin,
    private readonly totals: Bin,
    private readonly bytesMax: number,
  ) {
    const stored = totals.getBinary(TOTALS_KEY);
    this.heldBytes = stored ? readUint64(stored, 0) : 0;
    this.nextSeq = stored ? readUint64(stored, SEQ_BYTES) : 0;
  }

  /** Opens (creating) the cache in `dir`; a directory that cannot be opened throws STORE_FAILED. */
  static open(dir: string, opts: { bytesMax: number }): LmdbBlockCache {
    try {
      mkdirSync(dir, { recursive: true });
      const env = open<Buffer, Buffer>({ path: dir, maxDbs: 4, eventTurnBatching: false, keyEncoding: 'binary', encoding: 'binary', noSync: true });
      const db = (name: string) => env.openDB<Buffer, Buffer>({ name, keyEncoding: 'binary', encoding: 'binary' });
      return new LmdbBlockCache(env, db('copies'), db('age'), db('totals'), opts.bytesMax);
    } catch (e) {
      throw new PostError('STORE_FAILED', `cannot open the host block cache in ${dir}: ${(e as Error).message}`);
    }
  }

  get(id: string): Uint8Array | undefined {
    if (this.closed) return undefined;
    assertId(id);
    return this.copies.getBinary(key(id))?.subarray(SEQ_BYTES);
  }

  put(id: string, bytes: Uint8Array): void {
    if (this.closed || bytes.length > this.bytesMax) return;
    assertId(id);
    const k = key(id);
    if (this.copies.doesExist(k)) return;
    this.env.transactionSync(() => {
      const seq = this.nextSeq++;
      const value = Buffer.allocUnsafe(SEQ_BYTES + bytes.length);
      writeUint64(value, 0, seq);
      value.set(bytes, SEQ_BYTES);
      this.copies.putSync(k, value);
      this.age.putSync(uint64(seq), k);
      this.heldBytes += bytes.length;
      while (this.heldBytes > this.bytesMax) {
        let oldest: { value: Buffer } | undefined;
        for (const entry of this.age.getRange({ limit: 1 })) oldest = entry;
        if (!oldest) break;
        this.remove(oldest.value);
      }
      this.saveTotals();
    });
  }

  delete(id: string): void {
    if (this.closed) return;
    assertId(id);
    this.env.transactionSync(() => {
      this.remove(key(id));
      this.saveTotals();
    });
  }

  bytes(): number {
    return this.heldBytes;
  }

  /** Inside a write transaction: drops one copy and its age entry. */
  private remove(k: Buffer): void {
    const held = this.copies.getBinary(k);
    if (!held) return;
    this.age.removeSync(held.subarray(0, SEQ_BYTES));
    this.copies.removeSync(k);
    this.heldBytes -= held.length - SEQ_BYTES;
  }

  private saveTotals(): void {
    const out = Buffer.alloc(2 * SEQ_BYTES);
    writeUint64(out, 0, this.heldBytes);
    writeUint64(out, SEQ_BYTES, this.nextSeq);
    this.totals.putSync(TOTALS_KEY, out);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.env.close();
  }
}
