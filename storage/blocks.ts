// Immutable data storage, the pure part: data <-> convergently encrypted blocks + a root reference.
// The replica manager supplies `put` and `fetch`; everything here is deterministic and does no I/O.
//
//   const { root } = await writeBlocks(fileStream, { convergenceSecret, put });
//   formatBlockRef(root)                      // "post1:manifest:<id>:<key>:<size>"
//   for await (const chunk of readBlocks(root, fetch)) out.write(chunk);
export { type BlockKind, type BlockRef, BLOCK_REF_BYTES, blockRefCodec, decodeBlockRef, encodeBlockRef, formatBlockRef, parseBlockRef, sameBlockRef } from './blockRef';
export { blockError, type BlockErrorCode, type BlockFailure } from '../protocol/errors';
export { type BlockReadFailure, type FetchBlock, type ReadDataResult, type ReadOptions, readBlockData, readBlocks } from './blockReader';
export { type BlockLimits, type BlockToStore, DEFAULT_BLOCK_LIMITS, type PutBlock, type WriteOptions, type WriteResult, mailLayoutRef, writeBlocks, writeMailLayout } from './blockWriter';
export { type DataSource, chunksOf } from './chunker';
export { type Manifest, decodeManifest, encodeManifest } from './manifest';
export { type LayoutSegment, type MailLayout, type MailSegment, decodeMailLayout, encodeMailLayout, layoutOf } from './mailLayout';
export { blockIdOf, matchesBlockId } from '../crypto/convergent';
