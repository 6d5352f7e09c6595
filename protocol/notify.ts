// Notifications (DESIGN 5): an envelope {to, from, time, nonce, sealed} signed by the sender, where
// `sealed` is the payload sealed to the recipient's box key. Envelopes live in the recipient's inbox
// drop (the k replicas of the drop id) until the recipient's signed receipt removes them.
import { arr, bool, bytes, hexBytes, type Infer, obj, opt, str, uint } from './codec';
import { Decoder } from '@msgpack/msgpack';
import { FrameError } from './codec';
import { defineBatch } from './batch';
import { canonicalBytes, defineFrame } from './frame';
import { userCertificateCodec } from './identity';
import { DROP_ENTRY_BYTES_MAX, FIELD_CHARS_MAX, ID_BYTES, NOTIFY_PULL_PAGE_MAX, NOTIFY_PUSH_ENTRIES_MAX, STORAGE_BATCH_IDS_MAX } from './limits';

const id = hexBytes(ID_BYTES);

export const envelopeCodec = obj({
  /** The recipient's user id and address (the drop is derived from the id). */
  toUserId: id,
  to: str({ max: 320 }),
  /** The sender, with its certificate so any replica and the recipient can verify it. */
  from: str({ max: 320 }),
  fromCert: userCertificateCodec,
  timeMs: uint(),
  nonce: bytes({ len: 16, max: 16 }),
  sealed: bytes({ max: DROP_ENTRY_BYTES_MAX }),
  /** Sender's signature over [toUserId, to, from, timeMs, nonce, BLAKE2b(sealed)]. */
  signature: bytes({ len: 64, max: 64 }),
});
export type Envelope = Infer<typeof envelopeCodec>;

/** A recipient's signed receipt for notifications it took: replicas drop them and keep tombstones. */
export const receiptCodec = obj({
  dropId: id,
  entryIds: arr(id, { max: STORAGE_BATCH_IDS_MAX }),
  /** Why: delivered (appended) or undeliverable (bad, blocked): either way never offered again. */
  outcome: str({ max: 32 }),
  timeMs: uint(),
  recipientCert: userCertificateCodec,
  /** Recipient's signature over [dropId, BLAKE2b(entryIds), outcome, timeMs]. */
  signature: bytes({ len: 64, max: 64 }),
});
export type Receipt = Infer<typeof receiptCodec>;

/**
 * Store a notification in a drop (sent to each replica of the drop). `senderPushes`: the sender
 * publishes the live push itself once a majority stored it, so the replicas stay quiet (one push per
 * notification instead of one per replica). Absent (older senders): each replica that stores a new
 * entry pushes it.
 */
export const DropPut = defineFrame('notify.drop.put', obj({ dropId: id, envelope: envelopeCodec, senderPushes: opt(bool()) }));
export const DropPutReply = defineFrame('notify.drop.reply', obj({ ok: bool(), code: opt(str({ max: 64 })), message: opt(str({ max: FIELD_CHARS_MAX })) }));
/**
 * The drop puts one node makes to one replica in one event-loop turn, in one frame (protocol/batch.ts):
 * under SMTP load several sessions' notifications leave in one turn, and most go to the same drops.
 */
export const DROP_BATCH = defineBatch('notify.batch', [DropPut]);
/** The recipient pulls what is pending (proving who it is is not needed: envelopes are sealed to it). */
export const DropList = defineFrame('notify.drop.list', obj({ dropId: id, afterEntryId: opt(id), limit: uint({ max: NOTIFY_PULL_PAGE_MAX }) }));
export const DropListReply = defineFrame(
  'notify.drop.list.reply',
  obj({ entries: arr(obj({ entryId: id, envelope: envelopeCodec }), { max: NOTIFY_PULL_PAGE_MAX }), more: bool() }),
);
export const DropAck = defineFrame('notify.drop.ack', obj({ receipt: receiptCodec }));
/** Repair between replicas: entries of a drop the pusher holds (the target keeps those it lacks). */
export const DropSync = defineFrame('notify.drop.sync', obj({ dropId: id, entries: arr(obj({ entryId: id, envelope: envelopeCodec }), { max: NOTIFY_PULL_PAGE_MAX }) }));
/**
 * Which of these entries a replica has (repair: held or tombstoned, so a taken entry is not pushed back);
 * `pendingOnly`: only those still waiting to be taken (a visitor asking whether the home node took them).
 */
export const DropHas = defineFrame('notify.drop.has', obj({ dropId: id, entryIds: arr(id, { max: STORAGE_BATCH_IDS_MAX }), pendingOnly: opt(bool()) }));
export const DropHasReply = defineFrame('notify.drop.has.reply', obj({ present: arr(bool(), { max: STORAGE_BATCH_IDS_MAX }) }));
/** Live push on the recipient's inbox subject: by the sender once the drop holds it (DropPut `senderPushes`), else by each replica that stored a new entry. */
export const InboxPush = defineFrame('notify.inbox.push', obj({ dropId: id, entryId: id, envelope: envelopeCodec }));
/** Several live pushes of one sender node to one inbox in one event-loop turn, in one frame (issue 11: SMTP sessions notifying one recipient at once). */
export const InboxPushes = defineFrame('notify.inbox.pushes', obj({ dropId: id, entries: arr(obj({ entryId: id, envelope: envelopeCodec }), { max: NOTIFY_PUSH_ENTRIES_MAX }) }));

const envelopeDecoder = new Decoder({ maxStrLength: DROP_ENTRY_BYTES_MAX, maxBinLength: DROP_ENTRY_BYTES_MAX, maxArrayLength: 16, maxMapLength: 32, maxExtLength: 0 });

/** An envelope as a drop entry's stored bytes. */
export const encodeEnvelope = (e: Envelope): Uint8Array => canonicalBytes(envelopeCodec.encode(e));

export function decodeEnvelope(bytes: Uint8Array): { ok: true; envelope: Envelope } | { ok: false; reason: string } {
  try {
    return { ok: true, envelope: envelopeCodec.decode(envelopeDecoder.decode(bytes), 'envelope') };
  } catch (e) {
    return { ok: false, reason: e instanceof FrameError ? e.reason : (e as Error).message };
  }
}

/** A log head changed (objectId, seq): a hint to re-read, published on the head subject. */
export const HeadNotice = defineFrame('log.head.notice', obj({ objectId: id, seq: uint() }));
