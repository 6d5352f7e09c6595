// A message stored by parts (DESIGN 3: "the canonical plaintext of a mail part is its raw MIME bytes,
// so identical parts converge across users"). The layout record lists the message's bytes in order as
// segments: inline bytes (headers, boundaries, short bodies) and references to parts, each part (a
// large leaf body, as raw as it is in the message) a datum stored convergently on its own, so the
// same attachment in two messages, or in a submission and its sender's Sent copy, is stored once.
// Concatenating the segments gives the message byte for byte. The layout is one convergent chunk,
// referenced by a BlockRef of kind 'mail' whose size is the whole message's (storage/blockRef.ts).
//
//   layout = msgpack [1, total bytes, [segment, ...]]
//   segment = [0, inline bytes] | [1, 74-byte part reference (chunk or manifest)]
//
// Canonical: at least one part, inline segments neither empty nor adjacent, the total the sum of the
// segments, within MAIL_LAYOUT_PARTS_MAX parts and MAIL_LAYOUT_INLINE_BYTES_MAX inline bytes (so a
// layout always fits one chunk). Decoding is strict: anything else, including another msgpack
// encoding of the same values, is refused, so a message has exactly one layout and one layout id.
import { Decoder } from '@msgpack/msgpack';
import { ErrorCodes, type Result, err, ok } from '../protocol/errors';
import { canonicalBytes } from '../protocol/frame';
import { BLOCK_CHUNK_BYTES_MAX, MAIL_LAYOUT_INLINE_BYTES_MAX, MAIL_LAYOUT_PARTS_MAX } from '../protocol/limits';
import { type BlockRef, decodeBlockRef, encodeBlockRef } from './blockRef';

/** A piece of a message as the writer receives it: kept inline in the layout, or stored as a part of its own. */
export interface MailSegment {
  readonly kind: 'inline' | 'part';
  readonly bytes: Uint8Array;
}

export type LayoutSegment = { readonly inline: Uint8Array } | { readonly part: BlockRef };

export interface MailLayout {
  /** Bytes of the whole message: the sum of the segments. */
  readonly totalBytes: number;
  readonly segments: readonly LayoutSegment[];
}

const FORMAT = 1;
const INLINE = 0;
const PART = 1;
/** Parts, with an inline segment before, between and after them. */
const SEGMENTS_MAX = 2 * MAIL_LAYOUT_PARTS_MAX + 1;

const decoder = new Decoder({ maxStrLength: 0, maxBinLength: MAIL_LAYOUT_INLINE_BYTES_MAX, maxArrayLength: SEGMENTS_MAX, maxMapLength: 0, maxExtLength: 0 });

/** Why `layout` is not canonical, or undefined (shared by the encoder's assertion and the decoder). */
function nonCanonical(layout: MailLayout): string | undefined {
  let parts = 0;
  let inlineBytes = 0;
  let sum = 0;
  let previousInline = false;
  for (const [i, s] of layout.segments.entries()) {
    if ('inline' in s) {
      if (s.inline.length === 0) return `segment ${i} is empty`;
      if (previousInline) return `segment ${i} follows another inline segment`;
      inlineBytes += s.inline.length;
      sum += s.inline.length;
    } else {
      if (s.part.kind === 'mail') return `segment ${i} is a mail layout: a part is a chunk or a manifest`;
      if (s.part.sizeBytes === 0) return `segment ${i} is an empty part`;
      parts++;
      sum += s.part.sizeBytes;
    }
    previousInline = 'inline' in s;
  }
  if (parts === 0) return 'it has no part (a message without parts is stored whole)';
  if (parts > MAIL_LAYOUT_PARTS_MAX) return `${parts} parts exceed ${MAIL_LAYOUT_PARTS_MAX}`;
  if (inlineBytes > MAIL_LAYOUT_INLINE_BYTES_MAX) return `${inlineBytes} inline bytes exceed ${MAIL_LAYOUT_INLINE_BYTES_MAX}`;
  if (sum !== layout.totalBytes) return `its segments add up to ${sum} bytes, it says ${layout.totalBytes}`;
  return undefined;
}

/** The layout's plaintext; a layout that is not canonical is a programmer error. */
export function encodeMailLayout(layout: MailLayout): Uint8Array {
  const why = nonCanonical(layout);
  if (why) throw new RangeError(`mail layout: ${why}`);
  const bytes = canonicalBytes([FORMAT, layout.totalBytes, layout.segments.map((s) => ('inline' in s ? [INLINE, s.inline] : [PART, encodeBlockRef(s.part)]))]);
  // Holds by the bounds above (~600 KiB at most); a chunk is all a 'mail' reference can point to.
  if (bytes.length > BLOCK_CHUNK_BYTES_MAX) throw new RangeError(`mail layout of ${bytes.length} bytes exceeds a chunk`);
  return bytes;
}

/** Strictly decode a layout's plaintext; `id` names the block in error messages. */
export function decodeMailLayout(plaintext: Uint8Array, id: string): Result<MailLayout> {
  const bad = (why: string) => err<MailLayout>(ErrorCodes.BAD_MANIFEST, `mail layout ${id}: ${why}`);
  let wire: unknown;
  try {
    wire = decoder.decode(plaintext);
  } catch (e) {
    return bad(`not msgpack: ${(e as Error).message.slice(0, 200)}`);
  }
  if (!Array.isArray(wire) || wire.length !== 3) return bad('not a [format, size, segments] record');
  const [format, totalBytes, segmentsWire] = wire as unknown[];
  if (format !== FORMAT) return bad(`unknown layout format ${String(format).slice(0, 20)}`);
  if (typeof totalBytes !== 'number' || !Number.isSafeInteger(totalBytes) || totalBytes < 0) return bad('the size is not a byte count');
  if (!Array.isArray(segmentsWire)) return bad('the segments are not a list');
  const segments: LayoutSegment[] = [];
  for (const [i, s] of segmentsWire.entries()) {
    if (!Array.isArray(s) || s.length !== 2 || !(s[1] instanceof Uint8Array)) return bad(`segment ${i} is not a [kind, bytes] pair`);
    if (s[0] === INLINE) segments.push({ inline: s[1] });
    else if (s[0] === PART) {
      const ref = decodeBlockRef(s[1]);
      if (!ref.ok) return bad(`segment ${i}: ${ref.message}`);
      segments.push({ part: ref.value });
    } else return bad(`segment ${i} has unknown kind ${String(s[0]).slice(0, 20)}`);
  }
  const layout = { totalBytes, segments };
  const why = nonCanonical(layout);
  if (why) return bad(why);
  if (!Buffer.from(canonicalBytes(wire)).equals(plaintext)) return bad('not in canonical encoding');
  return ok(layout);
}

/** The layout a 'mail' reference points to, from its block's plaintext: decoded, and the size checked against the reference's. */
export function layoutOf(ref: BlockRef, plaintext: Uint8Array): Result<MailLayout> {
  const layout = decodeMailLayout(plaintext, ref.id);
  if (!layout.ok || layout.value.totalBytes === ref.sizeBytes) return layout;
  return err(ErrorCodes.BAD_REFERENCE, `mail layout ${ref.id} covers ${layout.value.totalBytes} bytes, its reference says ${ref.sizeBytes}`);
}
