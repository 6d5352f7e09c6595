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
import { type Actor, type AnyActorRef, createActor, fromPromise, type InspectionEvent } from 'xstate';
import type { RingTrust } from '../../crypto/certificates';
import { dropIdOf, entryIdOf, envelopeNonce, openSealed, sealTo, signEnvelope, signReceipt } from '../../crypto/notification';
import { type Clock, type Log, publishQuietly, type Random, type TimerHandle, type Transport, type TransportSubscription } from '../../infra/ports';
import { majority } from '../../overlay/placement';
import { errorCodeOf, ErrorCodes, PostError } from '../../protocol/errors';
import { decodeFrame, isKind } from '../../protocol/frame';
import type { UserCertificate } from '../../protocol/identity';
import { NOTIFY_PULL_INTERVAL_MS, NOTIFY_PULL_PAGE_MAX, NOTIFY_RECEIPT_ENTRIES_MAX, NOTIFY_RECEIPT_LINGER_MS, NOTIFY_RETRY_MS, STORAGE_BATCH_IDS_MAX, type StorageTimings } from '../../protocol/limits';
import { DROP_BATCH, DropAck, DropHas, DropHasReply, DropList, DropListReply, DropPut, DropPutReply, type Envelope, InboxPush, InboxPushes } from '../../protocol/notify';
import { subjects } from '../../protocol/subjects';
import type { Metrics } from '../metrics';
import type { Peers } from '../storage/peers';
import { runWrite } from '../storage/sessions';
import { checkEnvelope } from './dropHandlers';
import { PushOutbox } from './pushOutbox';
import { type DeliveryOutcome, type InboxContext, type InboxEntry, type InboxEvent, inboxMachine } from '../../machines/inbox.machine';
import { serviceActor } from '../supervised';

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
  /** The k (+extra) nodes nearest an id. */
  readonly locate: (id: string, extra: number) => Promise<string[]>;
  /** Fault injection (scenarios): return true to stop dead after a delivery and before its receipt. */
  readonly faults?: { crashBeforeReceipt?: () => boolean };
  /** Recipients of other organisations: their drops are reached through the gateways. */
  readonly foreignDropPut?: (recipient: UserCertificate, dropId: string, envelope: Envelope) => Promise<void>;
  /** Receives every transition of the inbox actors (the node's inspector). */
  readonly inspect?: (event: InspectionEvent) => void;
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
export type { DeliveryOutcome };
export type Deliver = (n: Notification) => Promise<DeliveryOutcome>;

export interface RecipientHandle {
  /** Pull everything pending now (also done on start, on reconnect and every pull interval); how many were new. */
  pull(): Promise<number>;
  stop(): void;
}

export class Notifier {
  /** Live pushes of this turn, one frame per inbox. */
  private readonly pushes: PushOutbox;

  constructor(private readonly deps: NotifierDeps) {
    this.pushes = new PushOutbox(deps.clock, (subject, frame) => publishQuietly(deps.transport, subject, frame, deps.log));
  }

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

  /**
   * Store an envelope in a drop of this ring: to all its replicas, done at a majority; then one live
   * push to the recipient's inbox subject (the replicas do not push what a sender pushes: one push per
   * notification, not k), in one frame with this turn's other pushes to that inbox (PushOutbox). A
   * lost push costs only a delay: the recipient also pulls its drop.
   */
  async storeEnvelope(dropId: string, envelope: Envelope): Promise<void> {
    const targets = (await this.deps.locate(dropId, 0)).slice(0, this.deps.replicationFactor);
    const frame = DropPut.encode({ dropId, envelope, senderPushes: true });
    const outcome = await runWrite({ targets, quorum: majority(Math.min(this.deps.replicationFactor, targets.length)), attemptsMax: this.deps.timings.attemptsMax }, async (node) => {
      const r = await this.deps.peers.requestBatched(node, frame, DropPutReply, this.deps.timings.requestTimeoutMs, DROP_BATCH);
      if (!r.ok) return { kind: 'lost', code: r.code };
      if (r.body.ok) return { kind: 'ack' };
      return { kind: 'refused', refusal: { code: errorCodeOf(r.body.code, ErrorCodes.UNAVAILABLE), message: r.body.message ?? 'refused' } };
    });
    if (!outcome.ok) throw new PostError(outcome.code, `notifying ${envelope.to}: ${outcome.message}`);
    this.pushes.push(subjects.inbox(this.deps.ringId, envelope.toUserId), dropId, { entryId: entryIdOf(envelope.signature), envelope });
  }

  // ---- receiving: the users registered here, served by the running notifier actor ------------------

  /** Who receives here (registered by the user host): each fresh notifier service subscribes them all. */
  private readonly receivers = new Map<string, Receiver>();
  private service: NotifierService | undefined;

  /** The notifier service the supervisor (re)started: it serves every registered user from now on. */
  adopt(service: NotifierService): void {
    this.service = service;
    for (const receiver of this.receivers.values()) service.receive(receiver);
  }

  /**
   * Start receiving for a user: live push, pulls (every `pullIntervalMs`, NOTIFY_PULL_INTERVAL_MS by
   * default), delivery, receipts, by whichever notifier service runs.
   */
  receive(user: Recipient, deliver: Deliver, opts: { pullIntervalMs?: number; deferMs?: () => number } = {}): RecipientHandle {
    const receiver: Receiver = { user, deliver, pullIntervalMs: opts.pullIntervalMs ?? NOTIFY_PULL_INTERVAL_MS, deferMs: opts.deferMs ?? (() => 0) };
    const userId = user.cert.userId;
    this.receivers.set(userId, receiver);
    this.service?.receive(receiver);
    return {
      pull: async () => (this.receivers.get(userId) === receiver ? ((await this.service?.pull(userId)) ?? 0) : 0),
      stop: () => {
        if (this.receivers.get(userId) !== receiver) return;
        this.receivers.delete(userId);
        this.service?.release(userId);
      },
    };
  }
}

/** A user registered to receive here, and what delivers to them. */
export interface Receiver {
  readonly user: Recipient;
  readonly deliver: Deliver;
  /** The drop is pulled this often besides the live push. */
  readonly pullIntervalMs: number;
  /** How long to hold each new entry back before delivering it now (a visitor: NOTIFY_VISITOR_DEFER_MS); 0 delivers at once. */
  readonly deferMs: () => number;
}

/**
 * The supervised `notifier` actor's service: one object per (re)start (actors/supervised.ts), the owner
 * of one `inbox` actor per registered user. Each inbox is a root actor this service starts and stops
 * (actors/supervised.ts says why not a spawned child): retiring the service stops every one of them,
 * so a crashed notifier leaves nothing running. A fresh service makes fresh inboxes (new push and
 * status subscriptions, nothing queued or seen): it pulls each drop again, and delivery is idempotent.
 */
export class NotifierService {
  private ref: AnyActorRef | undefined;
  private readonly inboxes = new Map<string, Inbox>();
  private retired = false;

  constructor(private readonly deps: NotifierDeps) {}

  /** The notifier actor's logic: the unit of restart; the inboxes run beside it. */
  logic() {
    return serviceActor();
  }

  /** The supervisor started the notifier actor: start every registered user's inbox. */
  attach(ref: AnyActorRef): void {
    this.ref = ref;
    // Called inside the supervisor's transition: the inbox actors start once it is over.
    queueMicrotask(() => {
      if (this.ref === ref) for (const inbox of this.inboxes.values()) this.run(inbox);
    });
  }

  receive(receiver: Receiver): void {
    if (this.retired) return;
    const userId = receiver.user.cert.userId;
    this.inboxes.get(userId)?.stop();
    const inbox = new Inbox(this.deps, receiver, () => {
      if (this.inboxes.get(userId) === inbox) this.inboxes.delete(userId);
    });
    this.inboxes.set(userId, inbox);
    if (this.ref) this.run(inbox);
  }

  pull(userId: string): Promise<number> {
    return this.inboxes.get(userId)?.pull() ?? Promise.resolve(0);
  }

  /** A bug in what this service runs (a drop request's handler): fail the actor, so that its supervisor restarts it. */
  crash(): void {
    this.ref?.send({ type: 'CRASH' });
  }

  release(userId: string): void {
    this.inboxes.get(userId)?.stop();
  }

  /** Inboxes this service runs (tests: a restart replaced them all). */
  inboxCount(): number {
    return this.inboxes.size;
  }

  /** The inbox actors by id, for the node's actor tree (they run beside the notifier actor, not under it). */
  actors(): Record<string, AnyActorRef> {
    const out: Record<string, AnyActorRef> = {};
    for (const inbox of this.inboxes.values()) if (inbox.running) out[inbox.actorId] = inbox.running;
    return out;
  }

  /** Replaced by a fresh service, or stopped: stop every inbox actor and subscription (the users stay registered with the Notifier). */
  retire(): void {
    this.retired = true;
    for (const inbox of [...this.inboxes.values()]) inbox.stop();
    this.inboxes.clear();
    this.ref = undefined;
  }

  /** Start the inbox's actor; one that fails (a bug) is logged and started afresh. */
  private run(inbox: Inbox): void {
    inbox.start((error) => {
      this.deps.log.error('notify.inbox.failed', { inbox: inbox.actorId, error: String((error as Error)?.message ?? error) });
      // Not from inside the failed actor's own report (as before this design: one restart per failure).
      queueMicrotask(() => this.inboxes.get(inbox.receiverId) === inbox && !this.retired && this.run(inbox));
    });
  }
}

/** The outcomes a receipt reports (a 'retry' gets none: the entry stays in the drop). */
type FinalOutcome = Exclude<DeliveryOutcome, 'retry'>;
const FINAL_OUTCOMES: readonly FinalOutcome[] = ['delivered', 'undeliverable'];

/** Sender time, then entry id: the order notifications are handed to their recipient in. */
const bySendTime = (a: InboxEntry, b: InboxEntry): number => (a.envelope as Envelope).timeMs - (b.envelope as Envelope).timeMs || (a.entryId < b.entryId ? -1 : a.entryId > b.entryId ? 1 : 0);

/**
 * One hosted user's incoming notifications: the effects of its `inbox` actor (pull, deliver,
 * acknowledge) and the I/O that feeds it (the live push subscription, reconnects).
 */
class Inbox {
  readonly actorId: string;
  readonly receiverId: string;
  private readonly dropId: string;
  private actor: Actor<ReturnType<Inbox['logic']>> | undefined;
  private push: TransportSubscription | undefined;
  private status: Subscription | undefined;
  /** A visitor's held-back entries and when each was first seen here (see ripe). */
  private readonly held = new Map<string, { entry: InboxEntry; atMs: number }>();
  private recheck: TimerHandle | undefined;
  /** Receipts held back (NOTIFY_RECEIPT_LINGER_MS) by outcome, and the timer that sends them. */
  private readonly receiptsDue: Record<FinalOutcome, string[]> = { delivered: [], undeliverable: [] };
  private receiptTimer: TimerHandle | undefined;
  /** Entries taken here whose receipt is held back or on its way: a pull meanwhile does not offer them again. */
  private readonly awaitingReceipt = new Set<string>();
  stopped = false;
  private readonly log: Log;

  constructor(
    private readonly deps: NotifierDeps,
    private readonly receiver: Receiver,
    private readonly release: () => void,
  ) {
    const user = receiver.user;
    this.receiverId = user.cert.userId;
    this.dropId = dropIdOf(user.cert.userId);
    this.actorId = `inbox:${user.cert.address}`;
    this.log = deps.log.child({ actor: 'notifier', user: user.cert.address });
    this.push = deps.transport.subscribe(subjects.inbox(deps.ringId, user.cert.userId), (m) => {
      const r = decodeFrame(m.data);
      if (r.ok && isKind(r.frame, InboxPush)) {
        const body = r.frame.body;
        if (body.dropId === this.dropId) this.offer(this.ripe([{ entryId: body.entryId, envelope: body.envelope }]));
      } else if (r.ok && isKind(r.frame, InboxPushes)) {
        if (r.frame.body.dropId === this.dropId) this.offer(this.ripe(r.frame.body.entries));
      } else this.log.warn('frame.dropped', { subject: m.subject, reason: r.ok ? `unexpected ${r.frame.kind}` : r.reason });
    });
    let wasDown = false;
    this.status = deps.transport.status$.subscribe((s) => {
      if (s === 'reconnecting') wasDown = true;
      if (s === 'connected' && wasDown) {
        wasDown = false;
        this.send({ type: 'RECONNECTED' });
      }
    });
  }

  /** The inbox actor's logic: the machine with this user's effects. */
  logic() {
    return inboxMachine.provide({
      delays: { pullInterval: this.receiver.pullIntervalMs },
      actors: {
        pullDrop: fromPromise(async () => {
          try {
            return await this.pullRipe();
          } catch (e) {
            this.log.debug('notify.pull.failed', { error: (e as Error).message });
            throw e;
          }
        }),
        deliverBatch: fromPromise(async ({ input }) => {
          // The deliveries run together (their INBOX appends are written as one head by the log's
          // group commit); the receipts then cover the whole batch, one per outcome. The envelopes are
          // checked and opened together, then handed to the user in the order they were sent (sender
          // time): each delivery queues its log append before its first wait, so one conversation
          // reaches the log, and the user's clients, in the order it was written (RFC 6120 10.1),
          // an offline backlog pulled from the drop (listed by entry id) included.
          const batch = input.batch;
          const opened = await Promise.all(batch.map((e) => this.open(e.entryId, e.envelope as Envelope)));
          const outcomes: DeliveryOutcome[] = batch.map(() => 'retry');
          const inSendOrder = batch.map((_, i) => i).sort((i, j) => bySendTime(batch[i]!, batch[j]!));
          await Promise.all(inSendOrder.map(async (i) => (outcomes[i] = await this.deliver(batch[i]!.entryId, opened[i]!))));
          const halt = outcomes.includes('delivered') && this.deps.faults?.crashBeforeReceipt?.() === true;
          if (halt) this.stopped = true;
          return { outcomes, halt };
        }),
        acknowledge: fromPromise(async ({ input }) => {
          // The receipts go out without holding up the next batch: what is delivered is durable in the
          // log already, and a receipt that never arrives only means the entry is offered again by a
          // later pull, delivered again idempotently (INBOX inserts are keyed by notification id) and
          // acknowledged again. One replicated round less between a recipient's batches; and they wait
          // NOTIFY_RECEIPT_LINGER_MS for the next batches, so one receipt clears several.
          for (const outcome of FINAL_OUTCOMES) {
            const done = input.batch.filter((_, i) => input.outcomes[i] === outcome).map((e) => e.entryId);
            if (done.length) this.queueReceipt(done, outcome);
          }
        }),
      },
    });
  }

  /** Start (or, after a failure, start again) this inbox's actor: a root actor, stopped by stop(). */
  start(failed: (error: unknown) => void): void {
    if (this.stopped || this.running) return;
    const actor = createActor(this.logic(), { id: this.actorId, clock: this.deps.clock, inspect: this.deps.inspect });
    this.actor = actor;
    actor.subscribe({ error: (error) => this.actor === actor && failed(error) });
    actor.start();
  }

  /** The running actor, if any. */
  get running(): AnyActorRef | undefined {
    return this.actor?.getSnapshot().status === 'active' ? this.actor : undefined;
  }

  private send(event: InboxEvent): void {
    const actor = this.actor;
    if (!this.stopped && actor && actor.getSnapshot().status === 'active') actor.send(event);
  }

  /** Pull everything pending now and queue it; resolves with how many were new to the queue. */
  async pull(): Promise<number> {
    const entries = await this.pullRipe();
    const seen = (this.actor?.getSnapshot().context as InboxContext | undefined)?.seen ?? {};
    const fresh = new Set(this.offer(entries).filter((e) => !seen[e.entryId]).map((e) => e.entryId)).size;
    return this.actor ? fresh : 0;
  }

  /** The drop's pending entries that may be delivered here now (see ripe). */
  private async pullRipe(): Promise<InboxEntry[]> {
    const askedAtMs = this.deps.clock.now();
    return this.ripe(await this.listDrop(), askedAtMs);
  }

  /** Hands the entries to the inbox machine; returns those offered. */
  private offer(entries: readonly InboxEntry[]): readonly InboxEntry[] {
    // Taken already, its receipt not yet through (the drop still lists it): not delivered again.
    const fresh = this.awaitingReceipt.size === 0 ? entries : entries.filter((e) => !this.awaitingReceipt.has(e.entryId));
    if (fresh.length > 0) this.send({ type: 'QUEUED', entries: fresh });
    return fresh;
  }

  /**
   * What may be delivered here now. Everything, on the user's home node. A visitor (deferMs) holds each
   * new entry back deferMs from when it first saw it: by then the home node, when up, has delivered it
   * (the session here sees it through the INBOX head notice) and its receipt took it out of the drop, so
   * the two nodes do not race for the INBOX head (each race lost costs a re-read and a rewrite). A
   * pull's answer (`pulledAsOfMs`: when it was asked) is the drop's whole pending list: what it offers
   * is pending, what it lacks is taken, unless first seen after the pull was asked.
   */
  private ripe(entries: readonly InboxEntry[], pulledAsOfMs?: number): InboxEntry[] {
    const deferMs = this.receiver.deferMs();
    if (deferMs <= 0 && this.held.size === 0) return [...entries];
    const now = this.deps.clock.now();
    const wholeDrop = pulledAsOfMs !== undefined;
    if (wholeDrop) {
      const pending = new Set(entries.map((e) => e.entryId));
      for (const [id, h] of this.held) if (!pending.has(id) && h.atMs < pulledAsOfMs) this.held.delete(id);
    }
    const ripe: InboxEntry[] = [];
    for (const entry of entries) {
      const atMs = this.held.get(entry.entryId)?.atMs ?? now;
      // A pull shows an entry still pending, a push only that it was: only a pull's entry is ripe once held long enough (with no hold, any is).
      if ((wholeDrop || deferMs <= 0) && now - atMs >= deferMs) {
        this.held.delete(entry.entryId);
        ripe.push(entry);
      } else this.held.set(entry.entryId, { entry, atMs });
    }
    this.scheduleRecheck();
    return ripe;
  }

  /** When the first held entry is due: ask the drop which of the due ones are still pending and queue those. */
  private scheduleRecheck(): void {
    if (this.recheck !== undefined || this.stopped || this.held.size === 0) return;
    const firstAtMs = Math.min(...[...this.held.values()].map((h) => h.atMs));
    this.recheck = this.deps.clock.setTimeout(() => void this.recheckHeld(), Math.max(0, firstAtMs + this.receiver.deferMs() - this.deps.clock.now()));
  }

  private async recheckHeld(): Promise<void> {
    const now = this.deps.clock.now();
    const deferMs = this.receiver.deferMs();
    const due = [...this.held.values()].filter((h) => now - h.atMs >= deferMs).slice(0, STORAGE_BATCH_IDS_MAX);
    let pending: boolean[];
    try {
      pending = await this.stillPending(due.map((h) => h.entry.entryId));
    } catch (e) {
      // The drop's replicas cannot be located now (a restarting router): ask again a little later.
      this.log.debug('notify.recheck.failed', { entries: due.length, error: (e as Error).message });
      this.recheck = this.stopped ? undefined : this.deps.clock.setTimeout(() => void this.recheckHeld(), NOTIFY_RETRY_MS);
      return;
    }
    for (const h of due) this.held.delete(h.entry.entryId);
    this.offer(due.filter((_, i) => pending[i]).map((h) => h.entry));
    this.recheck = undefined;
    this.scheduleRecheck();
  }

  /**
   * Which entries some replica of the drop still holds (ids only: cheaper than listing envelopes).
   * A replica that does not answer counts as holding them all: delivering one the home took already is
   * idempotent, losing one is not.
   */
  private async stillPending(entryIds: readonly string[]): Promise<boolean[]> {
    const pending = entryIds.map(() => false);
    if (entryIds.length === 0) return pending;
    const replicas = (await this.deps.locate(this.dropId, 0)).slice(0, this.deps.replicationFactor);
    await Promise.all(
      replicas.map(async (node) => {
        const r = await this.deps.peers.request(node, DropHas, { dropId: this.dropId, entryIds: [...entryIds], pendingOnly: true }, DropHasReply, this.deps.timings.requestTimeoutMs);
        entryIds.forEach((_, i) => {
          if (!r.ok || r.body.present[i]) pending[i] = true;
        });
      }),
    );
    return pending;
  }

  /** Every pending entry from every replica of the drop (the union: any replica may have it). */
  private async listDrop(): Promise<InboxEntry[]> {
    const replicas = (await this.deps.locate(this.dropId, 0)).slice(0, this.deps.replicationFactor);
    const found: InboxEntry[] = [];
    await Promise.all(
      replicas.map(async (node) => {
        for (let afterEntryId: string | undefined; ; ) {
          const r = await this.deps.peers.request(node, DropList, { dropId: this.dropId, afterEntryId, limit: NOTIFY_PULL_PAGE_MAX }, DropListReply, this.deps.timings.requestTimeoutMs);
          if (!r.ok) return;
          for (const e of r.body.entries) found.push({ entryId: e.entryId, envelope: e.envelope });
          if (!r.body.more || r.body.entries.length === 0) return;
          afterEntryId = r.body.entries[r.body.entries.length - 1]!.entryId;
        }
      }),
    );
    return found.sort(bySendTime);
  }

  /** A notification checked (signature, entry id, addressee) and opened, or why it cannot be delivered. */
  private async open(entryId: string, e: Envelope): Promise<{ e: Envelope; payload: Uint8Array } | 'undeliverable'> {
    const check = await checkEnvelope(e, this.deps.trusted(), this.deps.clock.now());
    if (!check.ok || check.entryId !== entryId) {
      this.log.warn('notify.undeliverable', { entryId, from: e.from, why: check.ok ? 'entry id does not match' : check.message });
      return 'undeliverable';
    }
    if (e.toUserId !== this.receiver.user.cert.userId) {
      this.log.warn('notify.undeliverable', { entryId, from: e.from, why: 'addressed to someone else' });
      return 'undeliverable';
    }
    const payload = openSealed(e.sealed, this.receiver.user.box);
    if (!payload) {
      this.log.warn('notify.undeliverable', { entryId, from: e.from, why: 'not sealed to this user\'s key' });
      return 'undeliverable';
    }
    return { e, payload };
  }

  /** Hands an opened notification to the user; starts at once (its first step runs before this returns a promise). */
  private async deliver(entryId: string, opened: { e: Envelope; payload: Uint8Array } | 'undeliverable'): Promise<DeliveryOutcome> {
    if (opened === 'undeliverable') return opened;
    const { e, payload } = opened;
    try {
      const outcome = await this.receiver.deliver({ entryId, from: e.from, fromCert: e.fromCert, timeMs: e.timeMs, payload });
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

  /** Hold these entries' receipt back for the next batches' (NOTIFY_RECEIPT_LINGER_MS), or send all now when enough wait. */
  private queueReceipt(entryIds: readonly string[], outcome: FinalOutcome): void {
    for (const id of entryIds) this.awaitingReceipt.add(id);
    this.receiptsDue[outcome].push(...entryIds);
    if (this.receiptsDue[outcome].length >= NOTIFY_RECEIPT_ENTRIES_MAX) this.sendReceipts();
    else this.receiptTimer ??= this.deps.clock.setTimeout(() => this.sendReceipts(), NOTIFY_RECEIPT_LINGER_MS);
  }

  /** Every held-back receipt now: one signed receipt per outcome (and per NOTIFY_RECEIPT_ENTRIES_MAX entries). */
  private sendReceipts(): void {
    if (this.receiptTimer !== undefined) this.deps.clock.clearTimeout(this.receiptTimer);
    this.receiptTimer = undefined;
    for (const outcome of FINAL_OUTCOMES) {
      const due = this.receiptsDue[outcome].splice(0);
      for (let i = 0; i < due.length; i += NOTIFY_RECEIPT_ENTRIES_MAX) {
        const ids = due.slice(i, i + NOTIFY_RECEIPT_ENTRIES_MAX);
        void this.acknowledge(ids, outcome)
          .catch((e: Error) => this.log.warn('notify.receipt.failed', { entries: ids.length, outcome, error: e.message }))
          // Through or not: a receipt that failed leaves the entries in the drop, and a later pull offers them again.
          .finally(() => ids.forEach((id) => this.awaitingReceipt.delete(id)));
      }
    }
  }

  /** A signed receipt to every replica of the drop: they remove the entries and keep tombstones. */
  private async acknowledge(entryIds: string[], outcome: 'delivered' | 'undeliverable'): Promise<void> {
    const r = { dropId: this.dropId, entryIds, outcome, timeMs: Math.floor(this.deps.clock.now()) };
    const receipt = { ...r, recipientCert: this.receiver.user.cert, signature: await signReceipt(r, this.receiver.user.signingSecretKey) };
    const replicas = (await this.deps.locate(this.dropId, 0)).slice(0, this.deps.replicationFactor);
    const frame = DropAck.encode({ receipt });
    await Promise.all(
      replicas.map(async (node) => {
        for (let attempt = 0; attempt < this.deps.timings.attemptsMax; attempt++) {
          const a = await this.deps.peers.requestEncoded(node, frame, DropPutReply, this.deps.timings.requestTimeoutMs);
          if (a.ok) return;
        }
      }),
    );
  }

  stop(): void {
    if (this.stopped && !this.push) return;
    this.stopped = true;
    if (this.recheck !== undefined) this.deps.clock.clearTimeout(this.recheck);
    this.recheck = undefined;
    // What was taken here is acknowledged now rather than left to the home node's next pull.
    this.sendReceipts();
    this.push?.unsubscribe();
    this.push = undefined;
    this.status?.unsubscribe();
    this.actor?.stop();
    this.release();
  }
}
