// Root reference -> the data, verifying every block on the way: its bytes must hash to its id, open
// under its key, and hold exactly the size its reference claims; manifests must be well formed and at
// most MANIFEST_DEPTH_MAX deep. The first failure stops the read with a BlockError naming the block.
//
// `fetch` returns a block's bytes as some replica holds them, or undefined when no replica has it.
// A fetch that tries several replicas should itself skip copies that fail `matchesBlockId`
// (crypto/convergent.ts) and fall back to the next replica: a copy that hashes right but does not
// open means the reference is wrong, and no other replica can fix that. A fetch that rejects (its
// own timeout, say) fails the read with that rejection, unchanged.
import { openConvergent } from '../crypto/convergent';
import { ErrorCodes } from '../protocol/errors';
import { BLOCK_READ_AHEAD_MAX, BLOCK_READ_BUFFER_BYTES_MAX, BLOCK_TAG_BYTES, MANIFEST_DEPTH_MAX } from '../protocol/limits';
import { BlockError, type BlockReadFailure } from './blockErrors';
import type { BlockRef } from './blockRef';
import { decodeManifest } from './manifest';

export type FetchBlock = (id: string) => Promise<Uint8Array | undefined>;

export interface ReadOptions {
  /** Chunks fetched ahead of the one being yielded (default 4, at most BLOCK_READ_AHEAD_MAX). */
  readAheadBlocks?: number;
}

/** Fetch, verify and decrypt one block, checking the size its reference claims; `out` receives a chunk's plaintext. */
async function openBlock(ref: BlockRef, fetch: FetchBlock, out?: Buffer): Promise<Buffer> {
  const bytes = await fetch(ref.id);
  if (bytes === undefined) throw new BlockError(ErrorCodes.BLOCK_MISSING, `block ${ref.id} was not found on any replica`, ref.id);
  const sizeMismatch = ref.kind === 'chunk' && bytes.length !== ref.sizeBytes + BLOCK_TAG_BYTES;
  const opened = openConvergent(Buffer.from(ref.id, 'hex'), ref.key, bytes, sizeMismatch ? undefined : out);
  if (!opened.ok) throw new BlockError(opened.code, opened.message, ref.id);
  if (sizeMismatch) {
    throw new BlockError(ErrorCodes.BAD_REFERENCE, `block ${ref.id} holds ${opened.plaintext.length} bytes, its reference says ${ref.sizeBytes}`, ref.id);
  }
  return opened.plaintext;
}

/** The chunk references under `ref`, in data order, opening manifests depth first. */
async function* chunkRefs(ref: BlockRef, fetch: FetchBlock, manifestsAbove: number): AsyncGenerator<BlockRef> {
  if (ref.kind === 'chunk') {
    yield ref;
    return;
  }
  if (manifestsAbove >= MANIFEST_DEPTH_MAX) {
    throw new BlockError(ErrorCodes.BAD_MANIFEST, `manifest ${ref.id} is nested deeper than ${MANIFEST_DEPTH_MAX} levels`, ref.id);
  }
  const manifest = decodeManifest(await openBlock(ref, fetch), ref.id);
  if (!manifest.ok) throw new BlockError(ErrorCodes.BAD_MANIFEST, manifest.message, ref.id);
  if (manifest.value.totalBytes !== ref.sizeBytes) {
    throw new BlockError(ErrorCodes.BAD_REFERENCE, `manifest ${ref.id} covers ${manifest.value.totalBytes} bytes, its reference says ${ref.sizeBytes}`, ref.id);
  }
  for (const entry of manifest.value.entries) yield* chunkRefs(entry, fetch, manifestsAbove + 1);
}

/**
 * The data under `root` as verified plaintext chunks, in order; throws BlockError at the first bad
 * block. Memory: the read-ahead window plus one manifest per level.
 */
export function readBlocks(root: BlockRef, fetch: FetchBlock, opts: ReadOptions = {}): AsyncGenerator<Buffer> {
  return verifiedChunks(root, fetch, opts);
}

/** readBlocks; with `into` (root.sizeBytes long) every chunk is decrypted in place there, no copies. */
async function* verifiedChunks(root: BlockRef, fetch: FetchBlock, opts: ReadOptions, into?: Buffer): AsyncGenerator<Buffer> {
  const window = Math.min(Math.max(1, opts.readAheadBlocks ?? 4), BLOCK_READ_AHEAD_MAX);
  const pending: Promise<Buffer>[] = [];
  let offset = 0;
  for await (const ref of chunkRefs(root, fetch, 0)) {
    // Offsets stay inside `into`: every manifest's entries were checked to add up to its reference's size.
    const opening = openBlock(ref, fetch, into?.subarray(offset, offset + ref.sizeBytes));
    offset += ref.sizeBytes;
    opening.catch(() => {}); // observed when its turn comes; never an unhandled rejection meanwhile
    pending.push(opening);
    if (pending.length >= window) yield await pending.shift()!;
  }
  while (pending.length > 0) yield await pending.shift()!;
}

export type ReadDataResult = { ok: true; data: Buffer } | BlockReadFailure;

/** The data under `root` in one buffer (for data known to be small: mail parts, log entries). */
export async function readBlockData(
  root: BlockRef,
  fetch: FetchBlock,
  opts: ReadOptions & { maxBytes?: number } = {},
): Promise<ReadDataResult> {
  const maxBytes = opts.maxBytes ?? BLOCK_READ_BUFFER_BYTES_MAX;
  if (root.sizeBytes > maxBytes) {
    return { ok: false, code: ErrorCodes.DATA_TOO_LARGE, message: `data of ${root.sizeBytes} bytes exceeds ${maxBytes}: read it as a stream`, blockId: root.id };
  }
  const data = Buffer.allocUnsafe(root.sizeBytes);
  try {
    for await (const _ of verifiedChunks(root, fetch, opts, data)) void _;
  } catch (e) {
    if (e instanceof BlockError) return { ok: false, code: e.code, message: e.message, blockId: e.blockId };
    throw e;
  }
  return { ok: true, data };
}
