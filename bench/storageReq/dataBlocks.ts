// The blocks putData stores for data of a given size, by arithmetic: what storage/blockWriter.ts
// writes (fixed chunks sealed with a 16-byte tag, references gathered into manifests level by level,
// a level left with one reference passing it up unwrapped), without encrypting a byte. A year of an
// organisation's mail is hundreds of gigabytes; sealing it all would take hours, and the sizes depend
// only on the length. checkAgainstWriteBlocks() compares this with the real writeBlocks.
import { BLOCK_TAG_BYTES } from '../../protocol/limits';
import { type BlockLimits, BLOCK_REF_BYTES, DEFAULT_BLOCK_LIMITS, encodeManifest, writeBlocks } from '../../storage/blocks';

/** A manifest's plaintext around its references, measured on the real encoder. */
const MANIFEST_HEADER_BYTES = encodeManifest([{ id: '0'.repeat(64), key: new Uint8Array(32), kind: 'chunk', sizeBytes: 0 }]).length - BLOCK_REF_BYTES;

/** Ciphertext bytes of every block writeBlocks puts for `plainBytes` of data, in put order. */
export function dataBlockSizes(plainBytes: number, limits: BlockLimits = DEFAULT_BLOCK_LIMITS): number[] {
  const chunk = limits.chunkBytesMax;
  if (plainBytes <= chunk) return [plainBytes + BLOCK_TAG_BYTES]; // one chunk is its own root: most mail
  const chunks = Math.ceil(plainBytes / chunk);
  const out: number[] = [];
  const pending: number[] = [0];
  const seal = (entries: number) => out.push(MANIFEST_HEADER_BYTES + entries * BLOCK_REF_BYTES + BLOCK_TAG_BYTES);
  const add = (level: number): void => {
    pending[level] = (pending[level] ?? 0) + 1;
    if (pending[level] === limits.manifestEntriesMax) {
      pending[level] = 0;
      seal(limits.manifestEntriesMax);
      add(level + 1);
    }
  };
  for (let i = 0; i < chunks; i++) {
    out.push((i < chunks - 1 ? chunk : plainBytes - (chunks - 1) * chunk) + BLOCK_TAG_BYTES);
    add(0);
  }
  // ManifestTree.finish, on counts.
  for (let level = 0; level < pending.length; level++) {
    const refs = pending[level]!;
    const higher = pending.slice(level + 1).some((n) => n > 0);
    if (!higher && refs === 1) break;
    pending[level] = 0;
    if (refs > 1) seal(refs);
    if (refs >= 1) add(level + 1);
  }
  return out;
}

export const dataBytes = (plainBytes: number): number => dataBlockSizes(plainBytes).reduce((a, b) => a + b, 0);

/**
 * Run the real writeBlocks on data of each size (with the given limits) and compare the sizes it puts
 * with dataBlockSizes. Returns the sizes that disagree (none when the arithmetic is right).
 */
export async function checkAgainstWriteBlocks(sizes: readonly number[], limits: BlockLimits, secret: Uint8Array): Promise<number[]> {
  const wrong: number[] = [];
  for (const size of sizes) {
    const put: number[] = [];
    await writeBlocks(new Uint8Array(size).fill(size & 0xff), { convergenceSecret: secret, limits, put: async (b) => void put.push(b.bytes.length) });
    const expected = dataBlockSizes(size, limits);
    if (put.length !== expected.length || put.some((b, i) => b !== expected[i])) wrong.push(size);
  }
  return wrong;
}
