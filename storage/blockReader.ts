// Root reference -> the data, verifying every block on the way: its bytes must hash to its id, open
// under its key, and hold exactly the size its reference claims; manifests and mail layouts must be
// well formed (and add up to their reference's size), manifests at most MANIFEST_DEPTH_MAX deep. The
// first failure stops the read with a PostError naming the block (blockError): a part missing from a mail layout
// fails the read (BLOCK_MISSING), never yields a shorter message.
//
// `fetch` returns a block's bytes as some replica holds them, or undefined when no replica has it.
// A fetch that tries several replicas should itself skip copies that fail `matchesBlockId`
// (crypto/convergent.ts) and fall back to the next replica: a copy that hashes right but does not
// open means the reference is wrong, and no other replica can fix that. A fetch that rejects (its
// own timeout, say) fails the read with that rejection, unchanged.
import { openConvergent } from '../crypto/convergent';
import { blockError, type BlockErrorCode, ErrorCodes, isBlockFailure } from '../protocol/errors';
import { BLOCK_READ_AHEAD_MAX, BLOCK_READ_BUFFER_BYTES_MAX, BLOCK_TAG_BYTES, MANIFEST_DEPTH_MAX } from '../protocol/limits';
import type { BlockRef } from './blockRef';
import { layoutOf } from './mailLayout';
import { decodeManifest } from './manifest';

export type FetchBlock = (id: string) => Promise<Uint8Array | undefined>;

export interface ReadOptions {
  /** Chunks fetched ahead of the one being yielded (default 4, at most BLOCK_READ_AHEAD_MAX). */
  readAheadBlocks?: number;
}

/** Fetch, verify and decrypt one block, checking the size its reference claims; `out` receives a chunk's plaintext. */
async function openBlock(ref: BlockRef, fetch: FetchBlock, out?: Buffer): Promise<Buffer> {
  const bytes = await fetch(ref.id);
  if (bytes === undefined) throw blockError(ErrorCodes.BLOCK_MISSING, ref.id, `block ${ref.id} was not found on any replica`);
  const sizeMismatch = ref.kind === 'chunk' && bytes.length !== ref.sizeBytes + BLOCK_TAG_BYTES;
  const opened = openConvergent(Buffer.from(ref.id, 'hex'), ref.key, bytes, sizeMismatch ? undefined : out);
  if (!opened.ok) throw blockError(opened.code, ref.id, opened.message);
  if (sizeMismatch) {
    throw blockError(ErrorCodes.BAD_REFERENCE, ref.id, `block ${ref.id} holds ${opened.plaintext.length} bytes, its reference says ${ref.sizeBytes}`);
  }
  return opened.plaintext;
}

/** What a datum is made of, in data order: chunks to fetch, and a mail layout's inline bytes. */
type Piece = { readonly chunk: BlockRef } | { readonly inline: Buffer };

/** The pieces under `ref`, in data order, opening manifests and mail layouts depth first. */
async function* piecesOf(ref: BlockRef, fetch: FetchBlock, manifestsAbove: number): AsyncGenerator<Piece> {
  if (ref.kind === 'chunk') {
    yield { chunk: ref };
    return;
  }
  if (ref.kind === 'mail') {
    // Its parts are chunks or manifests (decodeMailLayout refuses anything else): no layout nests.
    const layout = layoutOf(ref, await openBlock(ref, fetch));
    if (!layout.ok) throw blockError(layout.code as BlockErrorCode, ref.id, layout.message);
    for (const s of layout.value.segments) {
      if ('inline' in s) yield { inline: Buffer.from(s.inline.buffer, s.inline.byteOffset, s.inline.length) };
      else yield* piecesOf(s.part, fetch, manifestsAbove);
    }
    return;
  }
  if (manifestsAbove >= MANIFEST_DEPTH_MAX) {
    throw blockError(ErrorCodes.BAD_MANIFEST, ref.id, `manifest ${ref.id} is nested deeper than ${MANIFEST_DEPTH_MAX} levels`);
  }
  const manifest = decodeManifest(await openBlock(ref, fetch), ref.id);
  if (!manifest.ok) throw blockError(ErrorCodes.BAD_MANIFEST, ref.id, manifest.message);
  if (manifest.value.totalBytes !== ref.sizeBytes) {
    throw blockError(ErrorCodes.BAD_REFERENCE, ref.id, `manifest ${ref.id} covers ${manifest.value.totalBytes} bytes, its reference says ${ref.sizeBytes}`);
  }
  for (const entry of manifest.value.entries) yield* piecesOf(entry, fetch, manifestsAbove + 1);
}

/**
 * The data under `root` as verified plaintext chunks, in order; throws blockError() at the first bad
 * block. Memory: the read-ahead window plus one manifest per level (and a mail layout).
 */
export function readBlocks(root: BlockRef, fetch: FetchBlock, opts: ReadOptions = {}): AsyncGenerator<Buffer> {
  return verifiedChunks(root, fetch, opts);
}

/** readBlocks; with `into` (root.sizeBytes long) every chunk is decrypted in place there, no copies. */
async function* verifiedChunks(root: BlockRef, fetch: FetchBlock, opts: ReadOptions, into?: Buffer): AsyncGenerator<Buffer> {
  const window = Math.min(Math.max(1, opts.readAheadBlocks ?? 4), BLOCK_READ_AHEAD_MAX);
  // Inline pieces are ready at once: only fetches count against the window.
  const pending: { opening: Promise<Buffer>; fetched: boolean }[] = [];
  let fetching = 0;
  let offset = 0;
  for await (const piece of piecesOf(root, fetch, 0)) {
    // Offsets stay inside `into`: every manifest's entries and every layout's segments were checked to add up to its reference's size.
    if ('inline' in piece) {
      const bytes = into ? into.subarray(offset, offset + piece.inline.length) : piece.inline;
      if (into) piece.inline.copy(bytes);
      offset += piece.inline.length;
      pending.push({ opening: Promise.resolve(bytes), fetched: false });
    } else {
      const ref = piece.chunk;
      const opening = openBlock(ref, fetch, into?.subarray(offset, offset + ref.sizeBytes));
      offset += ref.sizeBytes;
      opening.catch(() => {}); // observed when its turn comes; never an unhandled rejection meanwhile
      pending.push({ opening, fetched: true });
      fetching++;
    }
    while (fetching >= window) {
      const next = pending.shift()!;
      if (next.fetched) fetching--;
      yield await next.opening;
    }
  }
  while (pending.length > 0) yield await pending.shift()!.opening;
}

/** A failed read as a value: the block at fault and why (see blockError). */
export type BlockReadFailure = { ok: false; code: BlockErrorCode; message: string; blockId: string };
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
    if (isBlockFailure(e)) return { ok: false, code: e.code, message: e.message, blockId: e.details.blockId };
    throw e;
  }
  return { ok: true, data };
}
