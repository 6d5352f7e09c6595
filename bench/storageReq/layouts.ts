// What one message puts in the ring under each layout, as data sizes (each datum then becomes the
// blocks putData writes for it):
//   unique   one copy of the raw message per POST recipient (as stored for them: the gateway's
//            Received header in front) and the sender's Sent copy (the client's APPEND: without it);
//   asBuilt  PostSubmission.submit() today: the raw message once for all its recipients, and the Sent
//            copy (other bytes, so another datum);
//   single   per MIME part (DESIGN 3): each leaf body its own datum, the same bytes the same datum
//            (the caller stores a shared leaf once); the rest of the message, with a block reference
//            in place of each leaf body, one datum per copy (submitted, Sent).
import { prependHeader, receivedHeader } from '../../mail/smtp/receivedHeader';
import { BLOCK_REF_BYTES } from '../../storage/blocks';
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

export interface MessageData {
  readonly unique: number[];
  /** The submission first (when there is one): its root is the reference recipients are notified of. */
  readonly asBuilt: number[];
  readonly single: { readonly data: number[]; readonly leaves: readonly Leaf[] };
  /** Whether the message was submitted to POST (it has POST recipients). */
  readonly submitted: boolean;
}

export function messageData(m: TraceMessage, bytes: MessageBytes): MessageData {
  const submitted = m.to.length > 0;
  const sentCopy = m.from >= 0;
  const unique: number[] = m.to.map(() => bytes.delivered);
  const asBuilt: number[] = submitted ? [bytes.delivered] : [];
  const single: number[] = submitted ? [bytes.gateway + bytes.skeleton] : [];
  if (sentCopy) {
    unique.push(bytes.client);
    asBuilt.push(bytes.client);
    single.push(bytes.skeleton);
  }
  return { unique, asBuilt, single: { data: single, leaves: m.leaves }, submitted };
}
