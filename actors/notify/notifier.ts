// The notifier actor (DESIGN 5), both sides:
//
// - sending: seal the payload to the recipient's box key, sign the envelope, store it in the
//   recipient's inbox drop (the k replicas of id("inbox", R)); done at a majority: from then on the
//   notification is durable whether R is online or not.
// - receiving, for each user hosted on this node: live push on R's inbox subject, and a pull from the
//   drop's replicas on start, on reconnect and periodically. Each notification is verified, opened and
//   handed to its application (appended to a log, idempotently), and only then acknowledged with a
//   signed receipt that lets the replicas drop it. A notification that can never be delivered (bad
//   signature, not for us, blocked sender) is acknowledged as undeliverable so it is never retried.
import type { Subscription } from 'rxjs';
import type { RingTrust } from '../../crypto/certificates';
import { dropIdOf, entryIdOf, envelopeNonce, openSealed, sealTo, signEnvelope, signReceipt } from '../../crypto/notification';
import type { Clock, Log, Random, Transport, TransportSubscription } from '../../infra/ports';
import { majority } from '../../overlay/placement';
import { ErrorCodes, PostError } from '../../protocol/errors';
import { decodeFrame } from '../../protocol/frame';
import type { UserCertificate } from '../../protocol/identity';
import { NOTIFY_DELIVER_BATCH_MAX, NOTIFY_PULL_INTERVAL_MS, NOTIFY_PULL_PAGE_MAX, type StorageTimings } from '../../protocol/limits';
import { DropAck, DropList, DropListReply, DropPut, DropPutReply, type Envelope, InboxPush } from '../../protocol/notify';
import { subjects } from '../../protocol/subjects';
import type { Metrics } from '../metrics';
import type { Peers } from '../storage/peers';
import { runWrite, type SessionEnv } from '../storage/sessions';
import { checkEnvelope } from './dropHandlers';

export interface NotifierDeps {
  readonly transport: Transport;
  readonly peers: Peers;
  readonly clock: Clock;
  readonly random: Random;
  readonly log: Log;
  readonly metrics: Metrics;
  readonly ringId: string;
  readonly trusted: () => readonly RingTrust[];
  readonly replicationFactor: number;
  readonly timings: StorageTimings;
  readonly session: SessionEnv;
  /** The k (+extra) nodes nearest an id. */
  readonly locate: (id: string, extra: number) => Promise<string[]>;
  /** Fault injection (scenarios): return true to stop dead after a delivery and before its receipt. */
  readonly faults?: { crashBeforeReceipt?: () => boolean };
  /** Recipients of other organisations: their drops are reached through the gateways. */
  readonly foreignDropPut?: (recipient: UserCertificate, dropId: string, envelope: Envelope) => Promise<void>;
}

/** A user able to send: its certificate and signing secret key. */
export interface Sender {
  readonly cert: UserCertificate;
  readonly signingSecretKey: Uint8Array;
}

/** A hosted user able to receive: certificate, box key pair, signing secret key (for receipts). */
export interface Recipient extends Sender {
  readonly box: { publicKey: Uint8Array; secretKey: Uint8Array };
}

/** A notification as its recipient's application sees it, verified and opened. */
export interface Notification {
  readonly entryId: string;
  readonly from: string;
  readonly fromCert: UserCertificate;
  readonly timeMs: number;
  readonly payload: Uint8Array;
}

/** What the application did: appended it (delivered), can never take it (undeliverable), or try later. */
export type DeliveryOutcome = 'delivered' | 'undeliverable' | 'retry';
export type Deliver = (n: Notification) => Promise<DeliveryOutcome>;

export interface RecipientHandle {
  /** Pull everything pending now (also done on start, on reconnect and every NOTIFY_PULL_INTERVAL_MS). */
  pull(): Promise<number>;
  stop(): void;
}

export class Notifier {
  constructor(private readonly deps: NotifierDeps) {}

  // ---- sending -----------------------------------------------------------------------------------

  /** Notify `recipient`; resolves once a majority of its drop's replicas stored the notification. */
  async send(sender: Sender, recipient: UserCertificate, payload: Uint8Array): Promise<{ entryId: string }> {
    const fields = {
      toUserId: recipient.userId,
      to: recipient.address,
      from: sender.cert.address,
      timeMs: Math.floor(this.deps.clock.now()),
      nonce: envelopeNonce(this.deps.random),
      sealed: sealTo(recipient.boxKey, payload),
    };
    const envelope: Envelope = { ...fields, fromCert: sender.cert, signature: await signEnvelope(fields, sender.signingSecretKey) };
    const dropId = dropIdOf(recipient.userId);
    const started = this.deps.clock.now();
    if (recipient.ringId !== this.deps.ringId) {
      if (!this.deps.foreignDropPut) throw new PostError(ErrorCodes.NOT_AUTHORISED, `${recipient.address} is in another organisation, and this node federates with none`);
      await this.deps.foreignDropPut(recipient, dropId, envelope);
    } else await this.storeEnvelope(dropId, envelope);
    this.deps.metrics.observe('post_notify_send_ms', 'Time to store a notification at a majority of the drop', this.deps.clock.now() - started);
    return { entryId: entryIdOf(envelope.signature) };
  }

  /** Store an envelope in a drop of this ring: to all its replicas, done at a majority. */
  async storeEnvelope(dropId: string, envelope: Envelope): Promise<void> {
    const targets = (await this.deps.locate(dropId, 0)).slice(0, this.deps.replicationFactor);
    const outcome = await runWrite(this.deps.session, { targets, quorum: majority(Math.min(this.deps.replicationFactor, targets.length)), attemptsMax: this.deps.timings.attemptsMax }, async (node) => {
      const r = await this.deps.peers.request(node, DropPut, { dropId, envelope }, DropPutReply, this.deps.timings.requestTimeoutMs);
      if (!r.ok) return { kind: 'lost', code: r.code };
      if (r.body.ok) return { kind: 'ack' };
      return { kind: 'refused', refusal: { code: r.body.code ?? ErrorCodes.UNAVAILABLE, message: r.body.message ?? 'refused' } };
    });
    if (!outcome.ok) throw new PostError(outcome.code, `notifying ${envelope.to}: ${outcome.message}`);
  }

  // ---- receiving ---------------------------------------------------------------------------------

  /** Start receiving for a hosted user: live push, pulls, delivery, receipts. */
  receive(user: Recipient, deliver: Deliver): RecipientHandle {
    return new Inbox(this.deps, user, deliver);
  }
}

/** One hosted user's incoming notifications, processed one at a time. */
class Inbox implements RecipientHandle {
  private readonly dropId: string;
  private readonly seen = new Set<string>();
  private readonly queue: { entryId: string; envelope: Envelope }[] = [];
  private draining = false;
  private push: TransportSubscription | undefined;
  private status: Subscription | undefined;
  private timer: unknown;
  private stopped = false;
  private readonly log: Log;

  constructor(
    private readonly deps: NotifierDeps,
    private readonly user: Recipient,
    private readonly deliver: Deliver,
  ) {
    this.dropId = dropIdOf(user.cert.userId);
    this.log = deps.log.child({ actor: 'notifier', user: user.cert.address });
    this.push = deps.transport.subscribe(subjects.inbox(deps.ringId, user.cert.userId), (m) => {
      const r = decodeFrame(m.data);
      if (!r.ok || r.frame.kind !== InboxPush.kind) return this.log.warn('frame.dropped', { subject: m.subject, reason: r.ok ? `unexpected ${r.frame.kind}` : r.reason });
      const body = r.frame.body as { dropId: string; entryId: string; envelope: Envelope };
      if (body.dropId === this.dropId) this.enqueue(body.entryId, body.envelope);
    });
    let wasDown = false;
    this.status = deps.transport.status$.subscribe((s) => {
      if (s === 'reconnecting') wasDown = true;
      if (s === 'connected' && wasDown) {
        wasDown = false;
        void this.pull().catch(() => {});
      }
    });
    void this.pull().catch((e: Error) => this.log.warn('notify.pull.failed', { error: e.message }));
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.deps.clock.setTimeout(() => {
      void this.pull()
        .catch((e: Error) => this.log.debug('notify.pull.failed', { error: e.message }))
        .finally(() => this.schedule());
    }, NOTIFY_PULL_INTERVAL_MS);
  }

  /** Pull every pending entry from every replica of the drop (the union: any replica may have it). */
  async pull(): Promise<number> {
    const replicas = (await this.deps.locate(this.dropId, 0)).slice(0, this.deps.replicationFactor);
    let found = 0;
    await Promise.all(
      replicas.map(async (node) => {
        for (let afterEntryId: string | undefined; ; ) {
          const r = await this.deps.peers.request(node, DropList, { dropId: this.dropId, afterEntryId, limit: NOTIFY_PULL_PAGE_MAX }, DropListReply, this.deps.timings.requestTimeoutMs);
          if (!r.ok) return;
          for (const e of r.body.entries) if (this.enqueue(e.entryId, e.envelope)) found++;
          if (!r.body.more || r.body.entries.length === 0) return;
          afterEntryId = r.body.entries[r.body.entries.length - 1]!.entryId;
        }
      }),
    );
    return found;
  }

  private enqueue(entryId: string, envelope: Envelope): boolean {
    if (this.stopped || this.seen.has(entryId)) return false;
    this.seen.add(entryId);
    this.queue.push({ entryId, envelope });
    void this.drain();
    return true;
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length && !this.stopped) {
        // A batch at a time: the deliveries run together (their INBOX appends are written as one
        // head by the log's group commit), then one receipt per outcome covers the whole batch.
        const batch = this.queue.splice(0, NOTIFY_DELIVER_BATCH_MAX);
        const outcomes = await Promise.all(batch.map(({ entryId, envelope }) => this.process(entryId, envelope)));
        if (outcomes.includes('delivered') && this.deps.faults?.crashBeforeReceipt?.()) {
          this.stopped = true;
          return;
        }
        const ids = (which: DeliveryOutcome) => batch.filter((_, i) => outcomes[i] === which).map((b) => b.entryId);
        for (const outcome of ['delivered', 'undeliverable'] as const) {
          const done = ids(outcome);
          if (done.length) await this.acknowledge(done, outcome);
        }
        // Forget them either way: a retry is offered again by the next pull; a re-offer of a delivered
        // one (a replica that missed the receipt) is delivered idempotently and acknowledged again.
        for (const { entryId } of batch) this.seen.delete(entryId);
      }
    } finally {
      this.draining = false;
    }
  }

  private async process(entryId: string, e: Envelope): Promise<DeliveryOutcome> {
    const check = await checkEnvelope(e, this.deps.trusted(), this.deps.clock.now());
    if (!check.ok || check.entryId !== entryId) {
      this.log.warn('notify.undeliverable', { entryId, from: e.from, why: check.ok ? 'entry id does not match' : check.message });
      return 'undeliverable';
    }
    if (e.toUserId !== this.user.cert.userId) {
      this.log.warn('notify.undeliverable', { entryId, from: e.from, why: 'addressed to someone else' });
      return 'undeliverable';
    }
    const payload = openSealed(e.sealed, this.user.box);
    if (!payload) {
      this.log.warn('notify.undeliverable', { entryId, from: e.from, why: 'not sealed to this user\'s key' });
      return 'undeliverable';
    }
    try {
      const outcome = await this.deliver({ entryId, from: e.from, fromCert: e.fromCert, timeMs: e.timeMs, payload });
      if (outcome === 'delivered') {
        this.deps.metrics.inc('post_notify_delivered_total', 'Notifications delivered to a hosted user');
        this.deps.metrics.observe('post_notify_latency_ms', 'From a notification\'s send time to its delivery', Math.max(0, this.deps.clock.now() - e.timeMs));
      }
      return outcome;
    } catch (err) {
      this.log.warn('notify.delivery.failed', { entryId, from: e.from, error: (err as Error).message });
      return 'retry';
    }
  }

  /** A signed receipt to every replica of the drop: they remove the entries and keep tombstones. */
  private async acknowledge(entryIds: string[], outcome: 'delivered' | 'undeliverable'): Promise<void> {
    const r = { dropId: this.dropId, entryIds, outcome, timeMs: Math.floor(this.deps.clock.now()) };
    const receipt = { ...r, recipientCert: this.user.cert, signature: await signReceipt(r, this.user.signingSecretKey) };
    const replicas = (await this.deps.locate(this.dropId, 0)).slice(0, this.deps.replicationFactor);
    await Promise.all(
      replicas.map(async (node) => {
        for (let attempt = 0; attempt < this.deps.timings.attemptsMax; attempt++) {
          const a = await this.deps.peers.request(node, DropAck, { receipt }, DropPutReply, this.deps.timings.requestTimeoutMs);
          if (a.ok) return;
        }
      }),
    );
  }

  stop(): void {
    this.stopped = true;
    this.push?.unsubscribe();
    this.status?.unsubscribe();
    this.deps.clock.clearTimeout(this.timer);
  }
}
