// A manifest block: the ordered list of references that make up data larger than one chunk. It is
// stored like any chunk (convergently encrypted), so the same data always yields the same manifest
// and the same root id. Its plaintext layout is fixed, so it is canonical by construction:
//
//   [0] format 1 | [1..9) total plaintext bytes, u64 BE | [9..13) entry count, u32 BE
//   | count x 74-byte block references (storage/blockRef.ts), in data order
//
// An entry may be a chunk or a nested manifest (never a mail layout); `total` equals the sum of the
// entries' sizes.
import { ErrorCodes, type Result, err, ok } from '../protocol/errors';
import { BLOCK_CHUNK_BYTES_MAX, MANIFEST_ENTRIES_MAX } from '../protocol/limits';
import { BLOCK_REF_BYTES, type BlockRef, decodeBlockRef, encodeBlockRef } from './blockRef';
import { readUint64, writeUint64 } from './uint64';

export interface Manifest {
  readonly totalBytes: number;
  readonly entries: readonly BlockRef[];
}

const FORMAT = 1;
const HEADER_BYTES = 1 + 8 + 4;

/** Plaintext of a manifest over `entries` (1..MANIFEST_ENTRIES_MAX of them). */
export function encodeManifest(entries: readonly BlockRef[]): Buffer {
  if (entries.length < 1 || entries.length > MANIFEST_ENTRIES_MAX) {
    throw new RangeError(`a manifest holds 1..${MANIFEST_ENTRIES_MAX} entries, got ${entries.length}`);
  }
  const out = Buffer.alloc(HEADER_BYTES + entries.length * BLOCK_REF_BYTES);
  out[0] = FORMAT;
  writeUint64(out, 1, manifestTotalBytes(entries));
  out.writeUInt32BE(entries.length, 9);
  entries.forEach((e, i) => encodeBlockRef(e).copy(out, HEADER_BYTES + i * BLOCK_REF_BYTES));
  return out;
}

export const manifestTotalBytes = (entries: readonly BlockRef[]): number => entries.reduce((sum, e) => sum + e.sizeBytes, 0);

/** Strictly decode a manifest's plaintext; `id` names the block in error messages. */
export function decodeManifest(plaintext: Uint8Array, id: string): Result<Manifest> {
  const bad = (why: string) => err<Manifest>(ErrorCodes.BAD_MANIFEST, `manifest ${id}: ${why}`);
  if (plaintext.length > BLOCK_CHUNK_BYTES_MAX) return bad(`${plaintext.length} bytes exceeds a chunk`);
  if (plaintext.length < HEADER_BYTES) return bad(`${plaintext.length} bytes is shorter than a manifest header`);
  const b = Buffer.from(plaintext.buffer, plaintext.byteOffset, plaintext.length);
  if (b[0] !== FORMAT) return bad(`unknown manifest format ${b[0]}`);
  const totalBytes = readUint64(b, 1);
  if (totalBytes === undefined) return bad('total size exceeds 2^53 - 1 bytes');
  const count = b.readUInt32BE(9);
  if (count < 1 || count > MANIFEST_ENTRIES_MAX) return bad(`entry count ${count} is outside 1..${MANIFEST_ENTRIES_MAX}`);
  if (b.length !== HEADER_BYTES + count * BLOCK_REF_BYTES) return bad(`length ${b.length} does not match ${count} entries`);
  const entries: BlockRef[] = [];
  let sum = 0;
  for (let i = 0; i < count; i++) {
    const at = HEADER_BYTES + i * BLOCK_REF_BYTES;
    const r = decodeBlockRef(b.subarray(at, at + BLOCK_REF_BYTES));
    if (!r.ok) return bad(`entry ${i}: ${r.message}`);
    if (r.value.kind === 'mail') return bad(`entry ${i} is a mail layout: a manifest lists chunks and manifests only`);
    entries.push(r.value);
    sum += r.value.sizeBytes;
  }
  if (sum !== totalBytes) return bad(`entries add up to ${sum} bytes, the header says ${totalBytes}`);
  return ok({ totalBytes, entries });
}
