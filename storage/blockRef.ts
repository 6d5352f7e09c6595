// A block reference: everything needed to read stored data (id to find it, key to open it, kind to
// know whether it is data, a manifest or a mail layout, size to check it). Whoever holds one can read
// the data.
//
// Kinds: a chunk holds the data itself; a manifest lists the references of a larger datum's pieces
// (storage/manifest.ts); a mail layout (storage/mailLayout.ts) is a message stored by parts: its
// headers and short bodies inline, each large body a datum of its own. For every kind, the size is
// that of the data a reader gets back (for a layout: the whole message, not the layout block).
//
// Binary form (74 bytes, fixed layout, canonical by construction; used inside manifests and frames):
//   [0] format 1 | [1] kind: 0 chunk, 1 manifest, 2 mail | [2..34) id | [34..66) key | [66..74) size, u64 BE
// Printable form (for `post block put` output and `post block get REF`):
//   post1:<chunk|manifest|mail>:<64 hex id>:<64 hex key>:<size in decimal bytes>
import { type Codec, FrameError } from '../protocol/codec';
import { ErrorCodes, type Result, err, ok } from '../protocol/errors';
import { BLOCK_CHUNK_BYTES_MAX, ID_BYTES } from '../protocol/limits';
import { readUint64, writeUint64 } from './uint64';

export type BlockKind = 'chunk' | 'manifest' | 'mail';

export interface BlockRef {
  /** Block id: lowercase hex of BLAKE2b-256(ciphertext), 64 chars. */
  readonly id: string;
  /** Convergent key, 32 bytes. */
  readonly key: Uint8Array;
  readonly kind: BlockKind;
  /** Plaintext bytes the reference stands for (the whole data under a manifest). */
  readonly sizeBytes: number;
}

export const BLOCK_REF_BYTES = 2 + 2 * ID_BYTES + 8;
const FORMAT = 1;
const KIND_CODES: Record<BlockKind, number> = { chunk: 0, manifest: 1, mail: 2 };
const KINDS = Object.keys(KIND_CODES) as BlockKind[];
const isKind = (name: string): name is BlockKind => Object.hasOwn(KIND_CODES, name);
const ID_HEX = /^[0-9a-f]{64}$/;

/** Programmer errors: a reference we build ourselves must be well formed. */
function assertRef(ref: BlockRef): void {
  if (!ID_HEX.test(ref.id)) throw new RangeError(`block ref id must be 64 lowercase hex chars, got ${JSON.stringify(ref.id)}`);
  if (ref.key.length !== ID_BYTES) throw new RangeError(`block ref key must be ${ID_BYTES} bytes, got ${ref.key.length}`);
  if (!isKind(ref.kind)) throw new RangeError(`block ref kind must be one of ${KINDS.join(', ')}, got ${String(ref.kind)}`);
  if (!Number.isSafeInteger(ref.sizeBytes) || ref.sizeBytes < 0) throw new RangeError(`block ref size must be a uint, got ${ref.sizeBytes}`);
}

/** Why a reference is not acceptable, or undefined when it is (shared by both forms). */
function checkFields(kind: BlockKind, sizeBytes: number): string | undefined {
  if (kind === 'chunk' && sizeBytes > BLOCK_CHUNK_BYTES_MAX) return `a chunk holds at most ${BLOCK_CHUNK_BYTES_MAX} bytes, this one claims ${sizeBytes}`;
  return undefined;
}

export function encodeBlockRef(ref: BlockRef): Buffer {
  assertRef(ref);
  const out = Buffer.alloc(BLOCK_REF_BYTES);
  out[0] = FORMAT;
  out[1] = KIND_CODES[ref.kind];
  out.write(ref.id, 2, 'hex');
  out.set(ref.key, 2 + ID_BYTES);
  writeUint64(out, 2 + 2 * ID_BYTES, ref.sizeBytes);
  return out;
}

export function decodeBlockRef(bytes: Uint8Array): Result<BlockRef> {
  const bad = (why: string) => err<BlockRef>(ErrorCodes.BAD_REFERENCE, `not a block reference: ${why}`);
  if (bytes.length !== BLOCK_REF_BYTES) return bad(`expected ${BLOCK_REF_BYTES} bytes, got ${bytes.length}`);
  if (bytes[0] !== FORMAT) return bad(`unknown reference format ${bytes[0]}`);
  const kind = KINDS.find((k) => KIND_CODES[k] === bytes[1]);
  if (!kind) return bad(`unknown block kind ${bytes[1]}`);
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const sizeBytes = readUint64(b, 2 + 2 * ID_BYTES);
  if (sizeBytes === undefined) return bad('size exceeds 2^53 - 1 bytes');
  const why = checkFields(kind, sizeBytes);
  if (why) return bad(why);
  return ok({
    id: b.toString('hex', 2, 2 + ID_BYTES),
    key: Buffer.from(b.subarray(2 + ID_BYTES, 2 + 2 * ID_BYTES)),
    kind,
    sizeBytes,
  });
}

const PREFIX = 'post1';
const REF_TEXT = new RegExp(`^post1:(${KINDS.join('|')}):([0-9a-f]{64}):([0-9a-f]{64}):(0|[1-9][0-9]{0,15})$`);
const SHAPE = `${PREFIX}:<${KINDS.join('|')}>:<64 hex id>:<64 hex key>:<size>`;

export function formatBlockRef(ref: BlockRef): string {
  assertRef(ref);
  return `${PREFIX}:${ref.kind}:${ref.id}:${Buffer.from(ref.key).toString('hex')}:${ref.sizeBytes}`;
}

/** Strict parse of the printable form; surrounding whitespace (a pasted newline) is ignored. */
export function parseBlockRef(text: string): Result<BlockRef> {
  const t = text.trim();
  const bad = (why: string) =>
    err<BlockRef>(ErrorCodes.BAD_REFERENCE, `not a block reference: ${why}; expected ${SHAPE}, as printed by \`post block put\``);
  if (t.length === 0) return bad('it is empty');
  if (!t.startsWith(`${PREFIX}:`)) return bad(`it does not start with "${PREFIX}:"`);
  const m = REF_TEXT.exec(t);
  if (!m) {
    const parts = t.split(':');
    if (parts.length !== 5) return bad(`it has ${parts.length} colon-separated parts, not 5`);
    if (!isKind(parts[1]!)) return bad(`unknown kind "${parts[1]!.slice(0, 20)}"`);
    if (!ID_HEX.test(parts[2]!)) return bad('the id is not 64 lowercase hex digits');
    if (!ID_HEX.test(parts[3]!)) return bad('the key is not 64 lowercase hex digits');
    return bad('the size is not a decimal byte count without leading zeros');
  }
  const sizeBytes = Number(m[4]);
  if (!Number.isSafeInteger(sizeBytes)) return bad('the size exceeds 2^53 - 1 bytes');
  const kind = m[1] as BlockKind;
  const why = checkFields(kind, sizeBytes);
  if (why) return bad(why);
  return ok({ id: m[2]!, key: Buffer.from(m[3]!, 'hex'), kind, sizeBytes });
}

/** A reference inside a frame or log entry: carried as its 74-byte binary form, decoded strictly. */
export const blockRefCodec: Codec<BlockRef> = {
  encode: (ref) => encodeBlockRef(ref),
  decode(wire, path) {
    if (!(wire instanceof Uint8Array)) throw new FrameError(`${path || 'frame'}: expected a block reference`);
    const r = decodeBlockRef(wire);
    if (!r.ok) throw new FrameError(`${path || 'frame'}: ${r.message}`);
    return r.value;
  },
};

export const sameBlockRef = (a: BlockRef, b: BlockRef): boolean =>
  a.id === b.id && a.kind === b.kind && a.sizeBytes === b.sizeBytes && Buffer.from(a.key).equals(Buffer.from(b.key));
