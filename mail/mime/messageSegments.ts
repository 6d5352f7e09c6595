// A message's raw bytes cut into the segments it is stored as (DESIGN 3: "the canonical plaintext of
// a mail part is its raw MIME bytes, so identical parts converge across users"): every leaf body of at
// least MAIL_PART_BYTES_MIN bytes, raw and still transfer-encoded exactly as in the message, becomes
// a part of its own; everything else (headers, boundaries, short bodies) stays inline. Concatenating
// the segments gives the message byte for byte, always. The storage side (storage/mailLayout.ts)
// stores each part as a convergent datum, so an attachment forwarded, mailed to several lists or kept
// in the sender's Sent copy is stored once.
//
// Here rather than in storage/ because the cut follows the MIME structure (./structure.ts), which
// storage/ does not know: storage receives plain byte segments. The segments are views of `raw`.
//
// One inline segment (the message stored whole, as one datum) when no body is that long, when the
// structure cannot be trusted, or when the layout would outgrow its bounds (MAIL_LAYOUT_PARTS_MAX
// parts, MAIL_LAYOUT_INLINE_BYTES_MAX inline bytes). Malformed MIME needs nothing special: the parser
// never throws, and what it cannot structure is not a leaf body, so it stays inline.
import { MAIL_LAYOUT_INLINE_BYTES_MAX, MAIL_LAYOUT_PARTS_MAX, MAIL_PART_BYTES_MIN } from '../../protocol/limits';
import { type MimeEntity, parseMessageStructure } from './structure';

export interface MessageSegment {
  readonly kind: 'inline' | 'part';
  readonly bytes: Uint8Array;
}

interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** The leaf bodies of at least `bytesMin` bytes, in message order (the tree is walked depth first). */
function largeBodies(entity: MimeEntity, bytesMin: number, out: ByteRange[] = []): ByteRange[] {
  if (entity.children) for (const child of entity.children) largeBodies(child, bytesMin, out);
  else if (entity.message) largeBodies(entity.message, bytesMin, out);
  else if (entity.bodyEnd - entity.bodyStart >= bytesMin) out.push({ start: entity.bodyStart, end: entity.bodyEnd });
  return out;
}

/** `partBytesMin` other than the default only in tests: only the default converges with everybody else's parts. */
export function messageSegments(raw: Uint8Array, partBytesMin: number = MAIL_PART_BYTES_MIN): MessageSegment[] {
  if (!(Number.isSafeInteger(partBytesMin) && partBytesMin >= 1)) throw new RangeError(`partBytesMin must be a positive integer, got ${partBytesMin}`);
  const whole: MessageSegment[] = [{ kind: 'inline', bytes: raw }];
  if (raw.length < partBytesMin) return whole; // no body can be that long: not even parsed
  const bodies = largeBodies(parseMessageStructure(raw), partBytesMin);
  if (bodies.length === 0 || bodies.length > MAIL_LAYOUT_PARTS_MAX) return whole;
  const segments: MessageSegment[] = [];
  let at = 0;
  let partBytes = 0;
  for (const { start, end } of bodies) {
    if (start < at || end > raw.length) return whole; // out of order: the structure cannot be trusted
    if (start > at) segments.push({ kind: 'inline', bytes: raw.subarray(at, start) });
    segments.push({ kind: 'part', bytes: raw.subarray(start, end) });
    partBytes += end - start;
    at = end;
  }
  if (at < raw.length) segments.push({ kind: 'inline', bytes: raw.subarray(at) });
  return raw.length - partBytes > MAIL_LAYOUT_INLINE_BYTES_MAX ? whole : segments;
}
