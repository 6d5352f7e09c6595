// The replica side of inbox drops (DESIGN 5): a notification is accepted only if its sender is a
// certified member of a trusted organisation, its signature verifies, it is addressed to this drop,
// it is fresh (not a replay: tombstones and an age window), and the sender is within its per-recipient
// limit. A new entry is published on the recipient's inbox subject at once (live push). A receipt
// signed by the recipient removes entries and leaves tombstones.
import type { RingTrust } from '../../crypto/certificates';
import { verifyUserCertificate } from '../../crypto/certificates';
import { dropIdOf, entryIdOf, verifyEnvelope, verifyReceipt } from '../../crypto/notification';
import type { LocalStore } from '../../infra/store/port';
import type { Clock, Log, TransportMessage } from '../../infra/ports';
import { ErrorCodes, type ErrorCode } from '../../protocol/errors';
import { type AnyFrame, type BodyOf, frameHandlers, on } from '../../protocol/frame';
import type { UserCertificate } from '../../protocol/identity';
import { DROP_PAGE_BYTES_MAX, NOTIFY_CLOCK_SKEW_MS, NOTIFY_ENVELOPE_AGE_MAX_MS, NOTIFY_PENDING_PER_SENDER_MAX, NOTIFY_TOMBSTONE_MS } from '../../protocol/limits';
import {
  DROP_BATCH,
  DropAck,
  DropHas,
  DropHasReply,
  DropList,
  DropListReply,
  DropPut,
  DropPutReply,
  DropSync,
  decodeEnvelope,
  encodeEnvelope,
  type Envelope,
  InboxPush,
} from '../../protocol/notify';
import { subjects } from '../../protocol/subjects';
import type { Metrics } from '../metrics';
import { type Answer, serveBatch, serveFrame } from '../storage/serveRequest';

export interface DropDeps {
  readonly store: () => LocalStore;
  /** The organisations whose users may notify ours: this ring's, plus federated ones (issue 6). */
  readonly trusted: () => readonly RingTrust[];
  readonly ringId: string;
  readonly clock: Clock;
  readonly log: Log;
  readonly metrics: Metrics;
  /** Publish an answer: a frame encoded for it, never changed after (sent without a copy). */
  readonly publish: (subject: string, bytes: Uint8Array) => void;
  /** Senders the recipient blocks (its own signed list), if known. */
  readonly blockedSenders?: (toUserId: string) => Promise<readonly string[]>;
  readonly pendingPerSenderMax?: number;
  /** A request failed with a programmer error (serveRequest): crash the notifier. */
  readonly onBug?: (error: unknown) => void;
}

export type EnvelopeCheck = { ok: true; entryId: string } | { ok: false; code: ErrorCode; message: string };

/** Checks a replica and a recipient both make: certificate, signature, freshness. */
export async function checkEnvelope(e: Envelope, trusted: readonly RingTrust[], nowMs: number): Promise<EnvelopeCheck> {
  const org = e.fromCert.org;
  const trust = trusted.find((t) => t.org === org && t.ringId === e.fromCert.ringId);
  if (!trust) return { ok: false, code: ErrorCodes.NOT_AUTHORISED, message: `sender ${e.from}: organisation ${org} is not trusted here` };
  const cert = await verifyUserCertificate(e.fromCert, trust, nowMs);
  if (!cert.ok) return { ok: false, code: ErrorCodes.NOT_AUTHORISED, message: `sender ${e.from}: ${cert.reason}` };
  if (e.fromCert.address !== e.from.toLowerCase()) return { ok: false, code: ErrorCodes.NOT_AUTHORISED, message: `sender ${e.from} does not match its certificate (${e.fromCert.address})` };
  if (!(await verifyEnvelope(e, e.signature, e.fromCert))) return { ok: false, code: ErrorCodes.BAD_SIGNATURE, message: `notification from ${e.from}: signature does not verify` };
  if (e.timeMs > nowMs + NOTIFY_CLOCK_SKEW_MS || e.timeMs < nowMs - NOTIFY_ENVELOPE_AGE_MAX_MS)
    return { ok: false, code: 'REPLAYED', message: `notification from ${e.from} is dated ${new Date(e.timeMs).toISOString()}: too old or in the future` };
  return { ok: true, entryId: entryIdOf(e.signature) };
}

export class DropHandlers {
  constructor(private readonly deps: DropDeps) {}

  handle(frame: AnyFrame, msg: TransportMessage): void {
    const reply = msg.reply;
    if (reply) void this.serve(frame, (bytes) => this.deps.publish(reply, bytes));
  }

  /** Serve one request, its answer handed to `respond` (a request alone: its reply subject; one of a batch: the batch's answer). */
  private serve(frame: AnyFrame, respond: (bytes: Uint8Array) => void): Promise<void> {
    // Frames per mail by kind (a batch, and each request in it), next to post_storage_replica_ms's count for the storage kinds.
    this.deps.metrics.inc('post_notify_drop_requests_total', 'Inbox drop requests this replica served, by kind', { kind: frame.kind });
    return serveFrame(frame, respond, this.deps, { event: 'notify.request.failed', failure: DropPutReply }, (f, answer) => this.dispatch(f, answer));
  }

  /** One handler per drop request kind, each with its body as its codec decoded it. */
  private readonly dispatch = frameHandlers<[Answer], Promise<void>>(
    [
      on(DropPut, async (body, answer) => answer(DropPutReply, await this.accept(body.dropId, body.envelope, true, body.senderPushes !== true))),
      on(DropSync, async (body, answer) => {
        for (const e of body.entries) await this.accept(body.dropId, e.envelope, false, true);
        return answer(DropPutReply, { ok: true });
      }),
      on(DropList, (body, answer) => this.list(body, answer)),
      on(DropHas, async (body, answer) => {
        const store = this.deps.store();
        const present: boolean[] = [];
        for (const id of body.entryIds) present.push((await store.getDropEntry(body.dropId, id)) !== undefined || (!body.pendingOnly && (await store.hasTombstone(body.dropId, id))));
        return answer(DropHasReply, { present });
      }),
      on(DropAck, async (body, answer) => answer(DropPutReply, await this.receipt(body.receipt))),
      on(DROP_BATCH.request, async (body, answer) => answer(DROP_BATCH.reply, { replies: await serveBatch(body.frames, DROP_BATCH, DropPutReply, (f, respond) => this.serve(f, respond)) })),
    ],
    async (frame, answer) => answer(DropPutReply, { ok: false, code: ErrorCodes.BAD_REQUEST, message: `${frame.kind} is not a drop request` }),
  );

  /** A page of the drop's entries, cut to fit one frame. */
  private async list(body: BodyOf<typeof DropList>, answer: Answer): Promise<void> {
    const entries = await this.deps.store().listDrop(body.dropId, { afterEntryId: body.afterEntryId, limit: body.limit });
    const out = [];
    let bytes = 0;
    let cut = false;
    for (const e of entries) {
      // A page must fit one frame: stop early and say there is more.
      if (bytes + e.bytes.length > DROP_PAGE_BYTES_MAX && out.length > 0) {
        cut = true;
        break;
      }
      const d = decodeEnvelope(e.bytes);
      if (d.ok) out.push({ entryId: e.entryId, envelope: d.envelope });
      else this.deps.log.warn('notify.corrupt', { dropId: body.dropId, entryId: e.entryId, reason: d.reason });
      bytes += e.bytes.length;
    }
    return answer(DropListReply, { entries: out, more: cut || entries.length === body.limit });
  }

  /**
   * Store a notification (a sender's put, or a repair sync from another replica); a new entry is
   * pushed to the recipient's inbox subject unless the sender said it pushes itself.
   */
  private async accept(dropId: string, e: Envelope, fromSender: boolean, push: boolean): Promise<{ ok: boolean; code?: ErrorCode; message?: string }> {
    const refuse = (code: ErrorCode, message: string) => {
      this.deps.metrics.inc('post_notify_refused_total', 'Notifications refused by this replica', { code });
      if (fromSender) this.deps.log.info('notify.refused', { code, message });
      return { ok: false, code, message };
    };
    if (dropIdOf(e.toUserId) !== dropId) return refuse('MISADDRESSED', `notification for ${e.to} sent to another recipient's drop`);
    const check = await checkEnvelope(e, this.deps.trusted(), this.deps.clock.now());
    if (!check.ok) return refuse(check.code, check.message);
    const store = this.deps.store();
    if (fromSender) {
      const blocked = (await this.deps.blockedSenders?.(e.toUserId)) ?? [];
      if (blocked.includes(e.from.toLowerCase())) return refuse('SENDER_BLOCKED', `${e.to} does not accept notifications from ${e.from}`);
      const pending = await store.countDrop(dropId, { sender: e.fromCert.userId });
      const max = this.deps.pendingPerSenderMax ?? NOTIFY_PENDING_PER_SENDER_MAX;
      if (pending >= max && !(await store.getDropEntry(dropId, check.entryId)))
        return refuse('INBOX_FULL', `${e.from} already has ${pending} notifications pending for ${e.to} (limit ${max}); try again once they are taken`);
    }
    const r = await store.putDropEntry(dropId, check.entryId, encodeEnvelope(e), { sender: e.fromCert.userId, receivedAtMs: Math.floor(this.deps.clock.now()) });
    // Taken already: the recipient was faster than this replica (a live push from another replica), or
    // this is a replay. Either way it is not stored again; for the sender it is delivered.
    if (r.tombstoned) return { ok: true, code: 'ALREADY_DELIVERED', message: `notification ${check.entryId.slice(0, 12)} was already delivered; not stored again` };
    if (r.created) {
      this.deps.metrics.inc('post_notify_stored_total', 'Notifications stored in inbox drops held here');
      if (push) this.deps.publish(subjects.inbox(this.deps.ringId, e.toUserId), InboxPush.encode({ dropId, entryId: check.entryId, envelope: e }));
    }
    return { ok: true };
  }

  private async receipt(r: { dropId: string; entryIds: string[]; outcome: string; timeMs: number; recipientCert: UserCertificate; signature: Uint8Array }) {
    const trust = this.deps.trusted().find((t) => t.ringId === r.recipientCert.ringId);
    if (!trust) return { ok: false, code: ErrorCodes.NOT_AUTHORISED, message: 'receipt from a user of another organisation' };
    const now = this.deps.clock.now();
    const cert = await verifyUserCertificate(r.recipientCert, trust, now);
    if (!cert.ok) return { ok: false, code: ErrorCodes.NOT_AUTHORISED, message: `receipt: ${cert.reason}` };
    if (dropIdOf(r.recipientCert.userId) !== r.dropId) return { ok: false, code: ErrorCodes.NOT_AUTHORISED, message: 'a receipt may only clear its signer\'s own drop' };
    if (!(await verifyReceipt(r, r.signature, r.recipientCert))) return { ok: false, code: ErrorCodes.BAD_SIGNATURE, message: 'receipt signature does not verify' };
    const store = this.deps.store();
    const until = Math.floor(now + NOTIFY_TOMBSTONE_MS);
    await store.deleteDropEntries(r.dropId, r.entryIds, { tombstoneUntilMs: until });
    this.deps.metrics.inc('post_notify_receipts_total', 'Notifications cleared by their recipient\'s receipt', { outcome: r.outcome }, r.entryIds.length);
    return { ok: true };
  }
}
