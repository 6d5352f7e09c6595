// One endpoint of the simulated network: the Transport a simulated node is given. It keeps the
// endpoint's subscriptions and pending requests; routing, delays and faults belong to the network.
// Requests share one wildcard inbox per endpoint (`_INBOX.<conn>.r.*`), as the NATS client does.
import { BehaviorSubject } from 'rxjs';
import { runHandler } from '../handler';
import type {
  MessageHandler,
  Transport,
  TransportMessage,
  TransportStatus,
  TransportSubscription,
} from '../ports';
import { TransportError } from '../ports';
import { assertPublishSubject, assertSubscribeSubject } from '../subject';
import type { SimClock } from './clock';

/** What an endpoint needs from its network (implemented by SimNetwork). */
export interface SimFabric {
  readonly clock: SimClock;
  readonly maxPayloadBytes: number;
  send(from: SimTransport, subject: string, data: Uint8Array, reply: string | undefined, isRequest: boolean): void;
  addSubscription(sub: SimSubscription): void;
  removeSubscription(sub: SimSubscription): void;
  detach(endpoint: SimTransport, how: 'closed' | 'killed'): void;
  handlerFailed(endpoint: SimTransport, subject: string, error: unknown): void;
}

export class SimSubscription implements TransportSubscription {
  active = true;

  constructor(
    readonly owner: SimTransport,
    readonly subject: string,
    readonly queue: string | undefined,
    readonly handler: MessageHandler,
  ) {}

  unsubscribe(): void {
    this.owner.unsubscribe(this);
  }
}

interface PendingRequest {
  readonly subject: string;
  readonly timer: unknown;
  resolve(data: Uint8Array): void;
  reject(error: TransportError): void;
}

export class SimTransport implements Transport {
  readonly status$ = new BehaviorSubject<TransportStatus>('connected');
  private readonly subscriptions = new Set<SimSubscription>();
  private readonly pending = new Map<string, PendingRequest>();
  private readonly inboxPrefix: string;
  private readonly replyPrefix: string;
  private replyMux: SimSubscription | undefined;
  private inboxes = 0;
  private requests = 0;
  private closed = false;

  constructor(
    /** The endpoint name partitions, kills and logs refer to. */
    readonly name: string,
    /** Unique per connection, so a restarted endpoint never receives its predecessor's replies. */
    readonly connectionId: number,
    private readonly fabric: SimFabric,
  ) {
    this.inboxPrefix = `_INBOX.c${connectionId}.`;
    this.replyPrefix = `_INBOX.c${connectionId}.r.`;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** `handOver` changes nothing here: the fabric copies every payload, as the client would have. */
  publish(subject: string, data: Uint8Array, opts?: { reply?: string; handOver?: boolean }): void {
    this.assertOpen();
    assertPublishSubject(subject);
    if (opts?.reply !== undefined) assertPublishSubject(opts.reply);
    this.assertSize(subject, data);
    this.fabric.send(this, subject, data, opts?.reply, false);
  }

  subscribe(subject: string, handler: MessageHandler, opts?: { queue?: string }): TransportSubscription {
    this.assertOpen();
    assertSubscribeSubject(subject);
    const sub = new SimSubscription(this, subject, opts?.queue, handler);
    this.subscriptions.add(sub);
    this.fabric.addSubscription(sub);
    return sub;
  }

  request(subject: string, data: Uint8Array, opts: { timeoutMs: number; handOver?: boolean }): Promise<Uint8Array> {
    try {
      this.assertOpen();
      assertPublishSubject(subject);
      this.assertSize(subject, data);
      if (!(opts.timeoutMs > 0)) throw new RangeError(`request timeoutMs must be positive, got ${opts.timeoutMs}`);
    } catch (error) {
      return Promise.reject(error);
    }
    this.replyMux ??= this.subscribeReplies();
    const reply = `${this.replyPrefix}${this.requests++}`;
    return new Promise<Uint8Array>((resolve, reject) => {
      const timer = this.fabric.clock.setTimeout(() => {
        this.pending.delete(reply);
        reject(new TransportError('TIMEOUT', `request to '${subject}' got no reply within ${opts.timeoutMs} ms`));
      }, opts.timeoutMs);
      this.pending.set(reply, { subject, timer, resolve, reject });
      this.fabric.send(this, subject, data, reply, true);
    });
  }

  newInbox(): string {
    return `${this.inboxPrefix}${this.inboxes++}`;
  }

  async flush(): Promise<void> {
    this.assertOpen();
  }

  async close(): Promise<void> {
    if (!this.closed) this.fabric.detach(this, 'closed');
  }

  // ---- called by the network ----------------------------------------------------------------

  /** Hands one copy to a subscription's handler, unless the subscription ended in the meantime. */
  deliver(sub: SimSubscription, msg: TransportMessage): void {
    if (!sub.active) return;
    runHandler(sub.handler, msg, (error) => this.fabric.handlerFailed(this, msg.subject, error));
  }

  /** The server found nobody subscribed to a request's subject. */
  noResponders(reply: string): boolean {
    const request = this.pending.get(reply);
    if (request === undefined) return false;
    this.settle(reply, request);
    request.reject(new TransportError('NO_RESPONDERS', `no responders for '${request.subject}'`));
    return true;
  }

  setStatus(status: TransportStatus): void {
    if (!this.closed && this.status$.value !== status) this.status$.next(status);
  }

  /** Ends the endpoint: subscriptions gone, pending requests rejected, every later call CLOSED. */
  terminate(): void {
    if (this.closed) return;
    this.closed = true;
    for (const sub of this.subscriptions) this.unsubscribe(sub);
    for (const [reply, request] of this.pending) {
      this.settle(reply, request);
      request.reject(new TransportError('CLOSED', `transport '${this.name}' closed before '${request.subject}' was answered`));
    }
    this.status$.next('closed');
  }

  unsubscribe(sub: SimSubscription): void {
    if (!sub.active) return;
    sub.active = false;
    this.subscriptions.delete(sub);
    this.fabric.removeSubscription(sub);
  }

  // ---- internals ------------------------------------------------------------------------------

  private subscribeReplies(): SimSubscription {
    const sub = new SimSubscription(this, `${this.replyPrefix}*`, undefined, (msg) => {
      const request = this.pending.get(msg.subject);
      if (request === undefined) return; // late or duplicate reply
      this.settle(msg.subject, request);
      request.resolve(msg.data);
    });
    this.subscriptions.add(sub);
    this.fabric.addSubscription(sub);
    return sub;
  }

  private settle(reply: string, request: PendingRequest): void {
    this.pending.delete(reply);
    this.fabric.clock.clearTimeout(request.timer);
  }

  private assertOpen(): void {
    if (this.closed) throw new TransportError('CLOSED', `transport '${this.name}' is closed`);
  }

  private assertSize(subject: string, data: Uint8Array): void {
    if (data.length > this.fabric.maxPayloadBytes) {
      throw new TransportError(
        'PAYLOAD_TOO_LARGE',
        `payload of ${data.length} bytes to '${subject}' exceeds the server's max_payload of ${this.fabric.maxPayloadBytes} bytes`,
      );
    }
  }
}
