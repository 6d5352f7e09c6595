// The host block cache port: copies of ring blocks a node keeps for the sessions it hosts, so a user's
// reads (a SEARCH BODY over a whole folder) come from this node's disk rather than a replica over the
// network. Adapters: infra/store/lmdbBlockCache.ts (real nodes) and MemoryBlockCache below (the
// simulator, tests).
//
// Contract, for every adapter:
// - It is a cache, not a replica: nothing in it counts towards k copies, is served to other nodes,
//   or is repaired. Blocks are immutable and content-addressed, so a copy never goes stale: nothing
//   invalidates it (EXPUNGE or APPEND change which blocks a folder names, not what a block holds).
// - It keeps bytes as given and verifies nothing; the reader verifies every copy against its id as
//   it verifies a replica's, and deletes a copy that fails (then reads the ring).
// - Bounded in bytes (bytesMax): past it the oldest copies (first put first) are dropped.
// - Not durable: a crash may lose recent puts; a put of an id already held keeps the held copy.
import { assertId } from './range';

export interface BlockCache {
  /** The held copy of block `id` (unverified), or undefined. */
  get(id: string): Uint8Array | undefined;
  /** Keep a copy of a block the caller verified; the oldest copies go beyond the byte bound. */
  put(id: string, bytes: Uint8Array): void;
  /** Forget a copy (it failed verification). */
  delete(id: string): void;
  /** Bytes held now. */
  bytes(): number;
  close(): Promise<void>;
}

/** In memory, insertion order is age: for the simulator and tests. */
export class MemoryBlockCache implements BlockCache {
  private readonly copies = new Map<string, Uint8Array>();
  private heldBytes = 0;

  constructor(private readonly bytesMax: number) {}

  get(id: string): Uint8Array | undefined {
    return this.copies.get(id);
  }

  put(id: string, bytes: Uint8Array): void {
    assertId(id);
    if (this.copies.has(id) || bytes.length > this.bytesMax) return;
    this.copies.set(id, Uint8Array.from(bytes));
    this.heldBytes += bytes.length;
    while (this.heldBytes > this.bytesMax) this.delete(this.copies.keys().next().value!);
  }

  delete(id: string): void {
    const held = this.copies.get(id);
    if (!held) return;
    this.copies.delete(id);
    this.heldBytes -= held.length;
  }

  bytes(): number {
    return this.heldBytes;
  }

  async close(): Promise<void> {}
}
