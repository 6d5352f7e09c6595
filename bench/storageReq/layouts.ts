// What one message puts in the ring under each layout, as data sizes (each datum then becomes the
// blocks putData writes for it):
//   unique   one copy of the raw message per POST recipient (as stored for them: the gateway's
//            Received header in front) and the sender's Sent copy (the client's APPEND: without it);
//   asBuilt  what PostSubmission.submit() and IMAP APPEND store (mail/mime/messageSegments.ts and
//            storage/mailLayout.ts): each leaf body of at least MAIL_PART_BYTES_MIN bytes a part, its
//            own datum (the caller stores a shared leaf once); per copy (submitted, Sent) a layout
//            record with the rest inline; a message without such a body (or beyond the layout's
//            bounds) whole, one datum per copy as before;
//   single   per MIME part (DESIGN 3): each leaf body its own datum, the same bytes the same datum
//            (the caller stores a shared leaf once); the rest of the message, with a block reference
//            in place of each leaf body, one datum per copy (submitted, Sent).
import { prependHeader, receivedHeader } from '../../mail/smtp/receivedHeader';
import { BLOCK_CHUNK_BYTES_MAX, MAIL_LAYOUT_INLINE_BYTES_MAX, MAIL_LAYOUT_PARTS_MAX, MAIL_PART_BYTES_MIN } from '../../protocol/limits';
import { BLOCK_REF_BYTES, type BlockRef, encodeMailLayout, type LayoutSegment } from '../../storage/blocks';
import { ORG_DOMAIN } from './organisation';
import type { Leaf, TraceMessage } from './trace';

/** What PostSubmission.submit prepends to mail that arrives unauthenticated (through the MX). */
const INBOUND_MARK_BYTES = Buffer.byteLength('X-ePOST-Secure: False\r\n');

export interface MessageBytes {
  /** As the sender's client wrote it (the Sent copy). */
  readonly client: number;
  /** As stored for the recipients: the gateway's Received header (and the inbound mark) in front. */
  readonly delivered: number;
  /** The gateway's additions (Received header, inbound mark). */
  readonly gateway: number;
  /** The message without its leaf bodies, a reference in place of each (per-part layout). */
  readonly skeleton: number;
}

/** Sizes of `m`; `recipients` are all its envelope recipients' addresses (the Received header names a single one). */
export function messageBytes(m: TraceMessage, recipients: readonly string[]): MessageBytes {
  const inbound = m.from < 0;
  const header = receivedHeader({
    helo: inbound ? `mail${m.id % 97}.${m.mailFrom.split('@')[1]}` : `[10.1.${m.from >> 8}.${m.from & 255}]`,
    clientAddress: inbound ? `203.0.113.${m.id % 250}` : `10.1.${m.from >> 8}.${m.from & 255}`,
    serverName: ORG_DOMAIN,
    protocol: inbound ? 'ESMTPS' : 'ESMTPSA',
    id: (m.id * 2654435761).toString(36).padStart(16, '0').slice(-16),
    recipients,
    receivedAtMs: m.atMs,
  });
  const gateway = prependHeader(new Uint8Array(0), header).length + (inbound ? INBOUND_MARK_BYTES : 0);
  const leaves = m.leaves.reduce((n, l) => n + l.bytes, 0);
  const client = m.headerBytes + m.structureBytes + leaves;
  return { client, delivered: gateway + client, gateway, skeleton: m.headerBytes + m.structureBytes + BLOCK_REF_BYTES * m.leaves.length };
}

/** One stored copy under the built layout: the message whole, or the plaintext of its layout record. */
export interface BuiltCopy {
  readonly bytes: number;
  /** The layout of a message of `messageBytes` (a 'mail' reference); absent: the message whole. */
  readonly layoutOf?: number;
}

export interface MessageData {
  readonly unique: number[];
  /** The submission first (when there is one): its root is the reference recipients are notified of; then the parts its layouts share. */
  readonly asBuilt: { readonly copies: BuiltCopy[]; readonly parts: readonly Leaf[] };
  readonly single: { readonly data: number[]; readonly leaves: readonly Leaf[] };
  /** Whether the message was submitted to POST (it has POST recipients). */
  readonly submitted: boolean;
}

export function messageData(m: TraceMessage, bytes: MessageBytes): MessageData {
  const submitted = m.to.length > 0;
  const sentCopy = m.from >= 0;
  const unique: number[] = m.to.map(() => bytes.delivered);
  const parts = m.leaves.filter((l) => l.bytes >= MAIL_PART_BYTES_MIN);
  const built = (messageBytes: number, inlineLead: number): BuiltCopy => {
    const inline = messageBytes - parts.reduce((n, l) => n + l.bytes, 0);
    if (parts.length === 0 || parts.length > MAIL_LAYOUT_PARTS_MAX || inline > MAIL_LAYOUT_INLINE_BYTES_MAX) return { bytes: messageBytes };
    return { bytes: layoutRecordBytes(messageBytes, inlineRuns(inlineLead, inline - inlineLead, parts.length)), layoutOf: messageBytes };
  };
  // What precedes the first part: the gateway's additions, the headers and the short bodies.
  const lead = m.headerBytes + m.leaves.reduce((n, l) => n + (l.bytes < MAIL_PART_BYTES_MIN ? l.bytes : 0), 0);
  const copies: BuiltCopy[] = submitted ? [built(bytes.delivered, bytes.gateway + lead)] : [];
  const single: number[] = submitted ? [bytes.gateway + bytes.skeleton] : [];
  if (sentCopy) {
    unique.push(bytes.client);
    copies.push(built(bytes.client, lead));
    single.push(bytes.skeleton);
  }
  const anyLayout = copies.some((c) => c.layoutOf !== undefined);
  return { unique, asBuilt: { copies, parts: anyLayout ? parts : [] }, single: { data: single, leaves: m.leaves }, submitted };
}

/**
 * The inline runs around `parts` parts (one before, between and after each): the lead first, the
 * structure (part headers, boundaries) spread evenly over the others. Only the runs' length prefixes
 * (2, 3 or 5 bytes) depend on how the inline bytes are spread.
 */
export function inlineRuns(lead: number, structure: number, parts: number): number[] {
  const each = Math.floor(structure / parts);
  return [lead, ...Array.from({ length: parts }, (_, i) => each + (i === 0 ? structure - each * parts : 0))];
}

const msgpackUintBytes = (n: number) => (n < 0x80 ? 1 : n <= 0xff ? 2 : n <= 0xffff ? 3 : n <= 0xffffffff ? 5 : 9);
const msgpackBinPrefixBytes = (n: number) => (n <= 0xff ? 2 : n <= 0xffff ? 3 : 5);
const msgpackArrayPrefixBytes = (n: number) => (n <= 15 ? 1 : n <= 0xffff ? 3 : 5);

/**
 * Plaintext bytes of the layout record of a message of `totalBytes` with these inline runs (one more
 * than its parts, in order): [1, total, [[0, run], [1, reference], ..., [0, run]]] in msgpack, by
 * arithmetic (checkLayoutRecordBytes compares it with the real encoder).
 */
export function layoutRecordBytes(totalBytes: number, runs: readonly number[]): number {
  const parts = runs.length - 1;
  const segments = runs.filter((r) => r > 0).length + parts;
  const inline = runs.reduce((n, r) => n + (r > 0 ? 2 + msgpackBinPrefixBytes(r) + r : 0), 0);
  return 1 + 1 + msgpackUintBytes(totalBytes) + msgpackArrayPrefixBytes(segments) + inline + parts * (2 + msgpackBinPrefixBytes(BLOCK_REF_BYTES) + BLOCK_REF_BYTES);
}

/** Shapes of layout records where layoutRecordBytes and the real encoder disagree (none when the arithmetic is right). */
export function checkLayoutRecordBytes(shapes: readonly { runs: readonly number[]; partBytes: number }[]): string[] {
  const wrong: string[] = [];
  for (const { runs, partBytes } of shapes) {
    const part: BlockRef = { id: '0'.repeat(64), key: new Uint8Array(32), kind: partBytes > BLOCK_CHUNK_BYTES_MAX ? 'manifest' : 'chunk', sizeBytes: partBytes };
    const segments: LayoutSegment[] = runs.flatMap((r, i) => [...(r > 0 ? [{ inline: new Uint8Array(r) }] : []), ...(i < runs.length - 1 ? [{ part }] : [])]);
    const totalBytes = runs.reduce((a, b) => a + b, 0) + partBytes * (runs.length - 1);
    const real = encodeMailLayout({ totalBytes, segments }).length;
    if (real !== layoutRecordBytes(totalBytes, runs)) wrong.push(`${runs.join('/')} around parts of ${partBytes}: real ${real}, arithmetic ${layoutRecordBytes(totalBytes, runs)}`);
  }
  return wrong;
}
