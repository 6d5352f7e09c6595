// Operator requests on the node's control subject: status (for `post ring status`, the lab and the
// dashboard) and route probes (for `post route`). Replies are JSON documents in a ControlReply frame.
import type { RingTrust } from '../crypto/certificates';
import type { Log, Transport, TransportMessage, TransportSubscription } from '../infra/ports';
import { ControlReply, RouteProbeRequest, StatusRequest } from '../protocol/control';
import { PostError } from '../protocol/errors';
import { decodeFrame } from '../protocol/frame';
import { subjects } from '../protocol/subjects';
import type { PostNode } from './node';

export interface ControlDeps {
  readonly transport: Transport;
  readonly log: Log;
  readonly trust: RingTrust;
  readonly nodeId: string;
  readonly node: () => PostNode;
}

export class ControlService {
  private sub: TransportSubscription | undefined;
  constructor(private readonly deps: ControlDeps) {}

  start(): void {
    this.sub = this.deps.transport.subscribe(subjects.control(this.deps.trust.ringId, this.deps.nodeId), (m) => void this.handle(m));
  }

  stop(): void {
    this.sub?.unsubscribe();
    this.sub = undefined;
  }

  private async handle(msg: TransportMessage): Promise<void> {
    if (!msg.reply) return;
    const r = decodeFrame(msg.data);
    const answer = (body: Parameters<typeof ControlReply.encode>[0]) => this.deps.transport.publish(msg.reply!, ControlReply.encode(body));
    if (!r.ok) {
      this.deps.log.warn('frame.dropped', { subject: msg.subject, reason: r.reason });
      return answer({ ok: false, code: 'BAD_FRAME', error: r.reason });
    }
    const node = this.deps.node();
    try {
      if (r.frame.kind === StatusRequest.kind) return answer({ ok: true, json: JSON.stringify(node.status()) });
      if (r.frame.kind === RouteProbeRequest.kind) {
        const body = r.frame.body as { key: string; timeoutMs?: number };
        const o = await node.router.route(body.key, { timeoutMs: body.timeoutMs });
        return answer({ ok: true, json: JSON.stringify({ key: o.key, root: o.root, hops: o.hops, path: o.path }) });
      }
      answer({ ok: false, code: 'BAD_FRAME', error: `${r.frame.kind} is not a control request` });
    } catch (e) {
      answer({ ok: false, code: e instanceof PostError ? e.code : 'INTERNAL', error: (e as Error).message });
    }
  }
}
