// A node asking itself: requests to one of the node's own subjects (its direct subject, where it is
// one of the k replicas of what it writes) are handed to its own subscriber in-process instead of
// travelling to the NATS server and back. The subscriber cannot tell: it gets the same bytes and
// answers on the reply subject as usual; this wrapper catches that answer. Everything else passes
// through to the real transport. Issue 11: with k = 3 on a small ring the writer is often a replica of
// its own writes, and the round trip through the broker (two TLS writes, a server hop) was its slowest.
import type { Observable } from 'rxjs';
import { type Clock, type Log, type MessageHandler, type Transport, TransportError, type TransportStatus, type TransportSubscription } from './ports';

/** Reply subjects of local requests: never published on the wire. */
const LOCAL_REPLY_PREFIX = '_LOCAL.';

export class LocalLoopTransport implements Transport {
  private readonly local = new Map<string, MessageHandler>();
  private readonly waiting = new Map<string, { resolve(data: Uint8Array): void; reject(error: Error): void }>();
  private next = 0;

  /** `own`: the subjects only this node subscribes to (its direct subjects), served in-process. */
  constructor(
    private readonly inner: Transport,
    private readonly own: (subject: string) => boolean,
    private readonly clock: Clock,
    private readonly log: Log,
  ) {}

  get status$(): Observable<TransportStatus> {
    return this.inner.status$;
  }

  publish(subject: string, data: Uint8Array, opts?: { reply?: string; handOver?: boolean }): void {
    if (subject.startsWith(LOCAL_REPLY_PREFIX)) {
      const waiter = this.waiting.get(subject);
      this.waiting.delete(subject);
      waiter?.resolve(data);
      return;
    }
    this.inner.publish(subject, data, opts);
  }

  subscribe(subject: string, handler: MessageHandler, opts?: { queue?: string }): TransportSubscription {
    const sub = this.inner.subscribe(subject, handler, opts);
    if (!this.own(subject) || opts?.queue) return sub;
    this.local.set(subject, handler);
    return {
      subject: sub.subject,
      unsubscribe: () => {
        if (this.local.get(subject) === handler) this.local.delete(subject);
        sub.unsubscribe();
      },
    };
  }

  request(subject: string, data: Uint8Array, opts: { timeoutMs: number; handOver?: boolean }): Promise<Uint8Array> {
    const handler = this.local.get(subject);
    if (!handler) return this.inner.request(subject, data, opts);
    const reply = `${LOCAL_REPLY_PREFIX}${++this.next}`;
    return new Promise((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        this.waiting.delete(reply);
        reject(new TransportError('TIMEOUT', `local request to '${subject}' got no reply within ${opts.timeoutMs} ms`));
      }, opts.timeoutMs);
      const settled = () => this.clock.clearTimeout(timer);
      this.waiting.set(reply, {
        resolve: (bytes) => (settled(), resolve(bytes)),
        reject: (error) => (settled(), reject(error)),
      });
      // Delivered in a later turn, as the network would: a handler never runs inside its requester's call.
      queueMicrotask(() => {
        try {
          handler({ subject, data, reply });
        } catch (e) {
          this.log.error('transport.handler.failed', { subject, error: (e as Error).message });
        }
      });
    });
  }

  newInbox(): string {
    return this.inner.newInbox();
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  close(): Promise<void> {
    for (const [reply, waiter] of this.waiting) {
      this.waiting.delete(reply);
      waiter.reject(new TransportError('CLOSED', 'the transport was closed'));
    }
    return this.inner.close();
  }
}
