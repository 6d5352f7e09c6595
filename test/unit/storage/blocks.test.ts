// Data <-> blocks: round trips at every size boundary, dedup within a ring, nested manifests, and a
// typed error naming the block whenever any one block is damaged or missing.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { blake2b, blake2bHex } from '../../../crypto/hash';
import { BLOCK_CHUNK_BYTES_MAX, MANIFEST_DEPTH_MAX } from '../../../protocol/limits';
import {
  type BlockRef,
  type BlockToStore,
  decodeManifest,
  formatBlockRef,
  matchesBlockId,
  parseBlockRef,
  readBlockData,
  readBlocks,
  writeBlocks,
} from '../../../storage/blocks';
import { openConvergent } from '../../../crypto/convergent';

const CHUNK = BLOCK_CHUNK_BYTES_MAX;
const ringSecret = blake2b('ring lab.example convergence secret');
const otherRingSecret = blake2b('ring other.example convergence secret');

/** A block map standing in for the replicas; counts puts. */
class Blocks {
  readonly map = new Map<string, Uint8Array>();
  puts = 0;
  put = async (b: BlockToStore) => {
    expect(matchesBlockId(Buffer.from(b.id, 'hex'), b.bytes)).toBe(true);
    this.puts++;
    this.map.set(b.id, b.bytes);
  };
  fetch = async (id: string) => this.map.get(id);
}

/** Pseudo-random bytes (incompressible, no repeated chunks). */
function data(size: number, label = 'data'): Buffer {
  return size === 0 ? Buffer.alloc(0) : createHash('shake256', { outputLength: size }).update(label).digest();
}

const write = (d: Parameters<typeof writeBlocks>[0], blocks: Blocks, more: Partial<Parameters<typeof writeBlocks>[1]> = {}) =>
  writeBlocks(d, { convergenceSecret: ringSecret, put: blocks.put, ...more });

async function readAll(root: BlockRef, blocks: Blocks): Promise<Buffer> {
  const r = await readBlockData(root, blocks.fetch);
  if (!r.ok) throw new Error(`${r.code}: ${r.message}`);
  return r.data;
}

/** Pieces of awkward sizes, as a network or file stream might deliver them. */
async function* pieces(buf: Buffer, sizes: number[]): AsyncGenerator<Uint8Array> {
  for (let at = 0, i = 0; at < buf.length; i++) {
    const n = sizes[i % sizes.length]!;
    yield buf.subarray(at, at + n);
    at += n;
  }
}

describe('blocks: round trips', () => {
  const sizes: [string, number, number][] = [
    ['empty', 0, 1],
    ['one byte', 1, 1],
    ['one chunk minus one byte', CHUNK - 1, 1],
    ['exactly one chunk', CHUNK, 1],
    ['one chunk plus one byte', CHUNK + 1, 3],
    ['five chunks', 5 * CHUNK, 6],
  ];
  for (const [name, size, blockCount] of sizes) {
    it(`${name} (${size} bytes) comes back byte for byte from ${blockCount} block(s)`, async () => {
      const blocks = new Blocks();
      const original = data(size, name);
      const { root, blockCount: puts } = await write(original, blocks);
      expect(puts).toBe(blockCount);
      expect(root.sizeBytes).toBe(size);
      expect(root.kind).toBe(size <= CHUNK ? 'chunk' : 'manifest');
      expect((await readAll(root, blocks)).equals(original)).toBe(true);
      const streamed: Buffer[] = [];
      for await (const chunk of readBlocks(root, blocks.fetch, { readAheadBlocks: 2 })) streamed.push(chunk);
      expect(Buffer.concat(streamed).equals(original)).toBe(true);
    });
  }

  it('chunk boundaries depend only on offsets: a stream in odd pieces gives the same root as the buffer', async () => {
    const original = data(2 * CHUNK + 777, 'pieces');
    const a = await write(original, new Blocks());
    const b = await write(pieces(original, [1, 4093, CHUNK + 5, 65536, 3]), new Blocks());
    const c = await write([original.subarray(0, 10), original.subarray(10)], new Blocks());
    expect(formatBlockRef(b.root)).toBe(formatBlockRef(a.root));
    expect(formatBlockRef(c.root)).toBe(formatBlockRef(a.root));
  });

  it('the root reference survives its printable form', async () => {
    const blocks = new Blocks();
    const original = data(CHUNK + 10, 'print');
    const { root } = await write(original, blocks);
    const parsed = parseBlockRef(formatBlockRef(root));
    expect(parsed.ok && (await readAll(parsed.value, blocks)).equals(original)).toBe(true);
  });
});

describe('blocks: convergence', () => {
  it('the same data written twice, or by two users of one ring, gives the same blocks and ids', async () => {
    const blocks = new Blocks();
    const mail = data(3 * CHUNK + 99, 'attachment');
    const alice = await write(mail, blocks);
    const stored = blocks.map.size;
    const bob = await write(Buffer.from(mail), blocks);
    expect(formatBlockRef(bob.root)).toBe(formatBlockRef(alice.root));
    expect(blocks.map.size).toBe(stored); // nothing new to store
  });

  it('another ring (another convergence secret) gets entirely different ids', async () => {
    const mail = data(2 * CHUNK + 1, 'attachment');
    const here = new Blocks();
    const there = new Blocks();
    await write(mail, here);
    await writeBlocks(mail, { convergenceSecret: otherRingSecret, put: there.put });
    const shared = [...here.map.keys()].filter((id) => there.map.has(id));
    expect(shared).toEqual([]);
  });

  it('a repeated chunk inside the data is one block', async () => {
    const blocks = new Blocks();
    const { root } = await write(Buffer.alloc(4 * CHUNK, 0), blocks);
    expect(blocks.map.size).toBe(2); // the zero chunk and the manifest
    expect((await readAll(root, blocks)).equals(Buffer.alloc(4 * CHUNK, 0))).toBe(true);
  });
});

describe('blocks: nested manifests', () => {
  const limits = { chunkBytesMax: 1000, manifestEntriesMax: 4 };

  it('data beyond one manifest nests manifests, and reads back', async () => {
    for (const chunks of [4, 5, 16, 17, 21, 64, 65]) {
      const blocks = new Blocks();
      const original = data(chunks * 1000 - 1, `nested ${chunks}`);
      const { root } = await write(original, blocks, { limits });
      expect((await readAll(root, blocks)).equals(original)).toBe(true);
      // Every manifest in the tree has 2..4 entries, and the tree stays within the depth readers accept.
      const walk = async (ref: BlockRef, depth: number): Promise<void> => {
        if (ref.kind === 'chunk') return;
        expect(depth).toBeLessThanOrEqual(MANIFEST_DEPTH_MAX);
        const m = await manifestOf(ref, blocks);
        expect(m.entries.length).toBeGreaterThanOrEqual(2);
        expect(m.entries.length).toBeLessThanOrEqual(4);
        for (const e of m.entries) await walk(e, depth + 1);
      };
      await walk(root, 1);
    }
  });

  it('the tree has the expected shape: 17 chunks under fan-out 4 make a three-level tree', async () => {
    const blocks = new Blocks();
    const original = data(17 * 1000, 'shape');
    const { root, blockCount } = await write(original, blocks, { limits });
    // 17 chunks, 4 full level-1 manifests, 1 level-2 manifest over them, root over it and the 17th chunk.
    expect(blockCount).toBe(17 + 4 + 1 + 1);
    const top = await manifestOf(root, blocks);
    expect(top.entries.map((e) => e.kind)).toEqual(['manifest', 'chunk']);
    expect((await manifestOf(top.entries[0]!, blocks)).entries.map((e) => e.kind)).toEqual(['manifest', 'manifest', 'manifest', 'manifest']);
  });

  it('refuses to build more manifest levels than readers accept', async () => {
    const tooMany = 2 ** (MANIFEST_DEPTH_MAX + 1) + 1;
    await expect(write(Buffer.alloc(tooMany * 10, 1).map((_, i) => i % 251), new Blocks(), { limits: { chunkBytesMax: 10, manifestEntriesMax: 2 } })).rejects.toThrow(
      /more than 4 manifest levels/,
    );
  });
});

async function manifestOf(ref: BlockRef, blocks: Blocks) {
  const opened = openConvergent(Buffer.from(ref.id, 'hex'), ref.key, blocks.map.get(ref.id)!);
  if (!opened.ok) throw new Error(opened.message);
  const m = decodeManifest(opened.plaintext, ref.id);
  if (!m.ok) throw new Error(m.message);
  return m.value;
}

describe('blocks: damage is reported, naming the block', () => {
  it('a flipped byte in any one block fails the read with BLOCK_CORRUPT and that block id', async () => {
    const blocks = new Blocks();
    const original = data(9 * 1000 + 5, 'damage');
    const { root } = await write(original, blocks, { limits: { chunkBytesMax: 1000, manifestEntriesMax: 3 } });
    expect(blocks.map.size).toBeGreaterThan(10);
    for (const [id, bytes] of blocks.map) {
      for (const at of [0, bytes.length >> 1, bytes.length - 1]) {
        const damaged = Buffer.from(bytes);
        damaged[at]! ^= 0x01;
        const fetch = async (want: string) => (want === id ? damaged : blocks.map.get(want));
        const r = await readBlockData(root, fetch);
        expect(r).toMatchObject({ ok: false, code: 'BLOCK_CORRUPT', blockId: id });
        if (!r.ok) expect(r.message).toContain(id);
      }
    }
  });

  it('the stream throws a PostError naming the block', async () => {
    const blocks = new Blocks();
    const { root } = await write(data(3 * CHUNK, 'stream'), blocks);
    const victim = [...blocks.map.keys()][1]!;
    blocks.map.set(victim, Buffer.from(blocks.map.get(victim)!).fill(0, 0, 4));
    const read = async () => {
      for await (const _ of readBlocks(root, blocks.fetch)) void _;
    };
    await expect(read()).rejects.toMatchObject({ name: 'PostError', code: 'BLOCK_CORRUPT', details: { blockId: victim } });
  });

  it('a missing block fails with BLOCK_MISSING', async () => {
    const blocks = new Blocks();
    const { root } = await write(data(2 * CHUNK, 'missing'), blocks);
    const victim = [...blocks.map.keys()][0]!;
    blocks.map.delete(victim);
    expect(await readBlockData(root, blocks.fetch)).toMatchObject({ ok: false, code: 'BLOCK_MISSING', blockId: victim });
  });

  it('a reference lying about the size fails with BAD_REFERENCE', async () => {
    const blocks = new Blocks();
    const { root } = await write(data(100, 'small'), blocks);
    expect(await readBlockData({ ...root, sizeBytes: 99 }, blocks.fetch)).toMatchObject({ ok: false, code: 'BAD_REFERENCE', blockId: root.id });
    const big = await write(data(CHUNK + 1, 'big'), blocks);
    expect(await readBlockData({ ...big.root, sizeBytes: CHUNK + 2 }, blocks.fetch)).toMatchObject({ ok: false, code: 'BAD_REFERENCE' });
  });

  it('a reference with the wrong key fails with BLOCK_CORRUPT', async () => {
    const blocks = new Blocks();
    const { root } = await write(data(100, 'key'), blocks);
    expect(await readBlockData({ ...root, key: Buffer.alloc(32, 1) }, blocks.fetch)).toMatchObject({ ok: false, code: 'BLOCK_CORRUPT', blockId: root.id });
  });

  it('readBlockData refuses data too large for one buffer, pointing at the stream', async () => {
    const blocks = new Blocks();
    const { root } = await write(data(5000, 'large'), blocks);
    const r = await readBlockData(root, blocks.fetch, { maxBytes: 4096 });
    expect(r).toMatchObject({ ok: false, code: 'DATA_TOO_LARGE', message: expect.stringMatching(/stream/) });
  });
});

describe('blocks: puts', () => {
  it('keeps at most putsInFlightMax puts in flight and resolves after all of them', async () => {
    let inFlight = 0;
    let peak = 0;
    const done = new Set<string>();
    const put = async (b: BlockToStore) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight--;
      done.add(b.id);
    };
    const { root } = await writeBlocks(data(40 * 100, 'window'), {
      convergenceSecret: ringSecret,
      put,
      putsInFlightMax: 3,
      limits: { chunkBytesMax: 100, manifestEntriesMax: 8 },
    });
    expect(peak).toBe(3);
    expect(inFlight).toBe(0);
    expect(done.has(root.id)).toBe(true);
  });

  it('a failed put fails the write, after the other puts in flight settled', async () => {
    let settled = 0;
    let started = 0;
    const put = async (b: BlockToStore) => {
      const index = ++started;
      await new Promise((resolve) => setImmediate(resolve));
      settled++;
      if (index === 3) throw new Error(`replicas refused ${b.id.slice(0, 8)}`);
    };
    await expect(
      writeBlocks(data(20 * 100, 'fail'), { convergenceSecret: ringSecret, put, putsInFlightMax: 4, limits: { chunkBytesMax: 100, manifestEntriesMax: 8 } }),
    ).rejects.toThrow(/replicas refused/);
    expect(settled).toBe(started);
  });

  it('reuseBuffers recycles a few ciphertext buffers and gives the same blocks (for a put that copies)', async () => {
    const copying = new Blocks();
    const buffersSeen = new Set<ArrayBufferLike>();
    const original = data(20 * 100 + 7, 'reuse');
    const opts = { convergenceSecret: ringSecret, putsInFlightMax: 2, limits: { chunkBytesMax: 100, manifestEntriesMax: 8 } };
    const reused = await writeBlocks(original, {
      ...opts,
      reuseBuffers: true,
      put: async (b) => {
        buffersSeen.add(b.bytes.buffer);
        await copying.put({ ...b, bytes: Buffer.from(b.bytes) });
      },
    });
    const fresh = await writeBlocks(original, { ...opts, put: new Blocks().put });
    expect(formatBlockRef(reused.root)).toBe(formatBlockRef(fresh.root));
    expect(buffersSeen.size).toBeLessThanOrEqual(4);
    expect((await readAll(reused.root, copying)).equals(original)).toBe(true);
  });

  it('blocks handed to put hash to their ids and carry their kind', async () => {
    const seen: BlockToStore[] = [];
    await writeBlocks(data(3 * 100, 'kinds'), {
      convergenceSecret: ringSecret,
      put: async (b) => void seen.push(b),
      limits: { chunkBytesMax: 100, manifestEntriesMax: 8 },
    });
    expect(seen.map((b) => b.kind)).toEqual(['chunk', 'chunk', 'chunk', 'manifest']);
    for (const b of seen) expect(blake2bHex(b.bytes)).toBe(b.id);
  });
});
