// Head notices over the transport: a writer publishes (objectId, seq) on the log's head subject, and
// every node with that log open (the user's other devices) re-reads the head. Hints only: lost or
// repeated notices cost a delay, never correctness (readers always verify the head they read).
import { type Log, publishQuietly, type Transport } from '../../infra/ports';
import { decodeFrame, isKind } from '../../protocol/frame';
import { HeadNotice } from '../../protocol/notify';
import { subjects } from '../../protocol/subjects';
import type { HeadWatch, HeadWatchSubscription } from '../../storage/log/headWatch';

export class TransportHeadWatch implements HeadWatch {
  constructor(
    private readonly transport: Transport,
    private readonly ringId: string,
    private readonly log: Log,
  ) {}

  publish(objectId: string, seq: number): void {
    publishQuietly(this.transport, subjects.head(this.ringId, objectId), HeadNotice.encode({ objectId, seq }), this.log);
  }

  subscribe(objectId: string, onHead: (seq: number) => void): HeadWatchSubscription {
    return this.transport.subscribe(subjects.head(this.ringId, objectId), (m) => {
      const r = decodeFrame(m.data);
      if (!r.ok || !isKind(r.frame, HeadNotice)) return this.log.warn('frame.dropped', { subject: m.subject, reason: r.ok ? `unexpected ${r.frame.kind}` : r.reason });
      if (r.frame.body.objectId === objectId) onHead(r.frame.body.seq);
    });
  }
}
