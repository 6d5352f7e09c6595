// Data well beyond one manifest's worth of chunks, streamed from a file to blocks on disk and back,
// without ever holding the data in memory: only a chunk, the puts in flight and the read-ahead.
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { blake2b } from '../../../crypto/hash';
import { BLOCK_CHUNK_BYTES_MAX } from '../../../protocol/limits';
import { formatBlockRef, parseBlockRef, readBlocks, writeBlocks } from '../../../storage/blocks';

const MiB = 1024 * 1024;
const DATA_BYTES = 50 * MiB + 12_345; // not a multiple of the chunk size
/** Live memory the pipeline may add (a chunk, puts in flight, read-ahead: ~6 MiB measured), far below the data. */
const MEMORY_GROWTH_BYTES_MAX = 16 * MiB;

const dir = mkdtempSync(join(tmpdir(), 'post-blocks-large-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Write DATA_BYTES of pseudo-random content, 1 MiB at a time; return its SHA-256. */
function makeFile(path: string): string {
  const fd = openSync(path, 'w');
  const digest = createHash('sha256');
  try {
    for (let at = 0, i = 0; at < DATA_BYTES; at += MiB, i++) {
      const piece = createHash('shake256', { outputLength: Math.min(MiB, DATA_BYTES - at) }).update(`piece ${i}`).digest();
      writeSync(fd, piece);
      digest.update(piece);
    }
  } finally {
    closeSync(fd);
  }
  return digest.digest('hex');
}

// A collection before each sample, so the watch sees live memory, not garbage awaiting the collector.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** Peak live heap + buffer memory over the run, sampled at every block. */
class MemoryWatch {
  private readonly base: number;
  peakGrowth = 0;
  constructor() {
    this.base = this.now();
  }
  sample(): void {
    this.peakGrowth = Math.max(this.peakGrowth, this.now() - this.base);
  }
  private now(): number {
    collectGarbage();
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  }
}

describe('blocks: large data', () => {
  it(`${DATA_BYTES} bytes stream from a file into blocks and back, verified, in bounded memory`, async () => {
    const source = join(dir, 'source.bin');
    const blockDir = join(dir, 'blocks');
    rmSync(blockDir, { recursive: true, force: true });
    mkdirSync(blockDir);
    const sourceSha = makeFile(source);

    const watch = new MemoryWatch();
    const { root, blockCount } = await writeBlocks(createReadStream(source, { highWaterMark: 256 * 1024 }), {
      convergenceSecret: blake2b('large test ring'),
      put: async (b) => {
        watch.sample();
        await writeFile(join(blockDir, b.id), b.bytes);
      },
    });
    expect(root.kind).toBe('manifest');
    expect(root.sizeBytes).toBe(DATA_BYTES);
    expect(blockCount).toBe(Math.ceil(DATA_BYTES / BLOCK_CHUNK_BYTES_MAX) + 1);

    const parsed = parseBlockRef(formatBlockRef(root));
    if (!parsed.ok) throw new Error(parsed.message);
    const readSha = createHash('sha256');
    let readBytes = 0;
    for await (const chunk of readBlocks(parsed.value, (id) => readFile(join(blockDir, id)).catch(() => undefined))) {
      watch.sample();
      readSha.update(chunk);
      readBytes += chunk.length;
    }
    expect(readBytes).toBe(DATA_BYTES);
    expect(readSha.digest('hex')).toBe(sourceSha);
    expect(watch.peakGrowth).toBeLessThan(MEMORY_GROWTH_BYTES_MAX);
  });
});
