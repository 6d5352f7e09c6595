// A gateway node (DESIGN 2; issue 6): a member of its organisation's ring and of the global ring,
// with the same node id. It carries its ring's requests to other organisations (to one of their
// gateways, anycast in the global ring) and performs other organisations' requests inside its own
// ring: reads of what the ring holds, and notifications into its users' inbox drops (whose replicas
// verify them as from any sender). Several gateways share the work through a queue group, so one
// dying stops nothing.
import type { RingTrust } from '../../crypto/certificates';
import { publishQuietly, type Log, type Transport, TransportError, type TransportMessage, type TransportSubscription } from '../../infra/ports';
import { ErrorCodes, PostError } from '../../protocol/errors';
import { decodeFrame, isKind } from '../../protocol/frame';
import { GatewayReply, GatewayRequest } from '../../protocol/gateway';
import { FEDERATION_REQUEST_TIMEOUT_MS } from '../../protocol/limits';
import type { Envelope } from '../../protocol/notify';
import { GATEWAY_QUEUE_GROUP, subjects } from '../../protocol/subjects';
import { encodeSignedObject } from '../../storage/signedObjectCodec';
import type { Metrics } from '../metrics';
import type { RouterHandle } from '../routerHandle';
import type { StorageClient } from '../storage/storageClient';

export interface GatewayDeps {
  /** This node's connection in its own ring. */
  readonly transport: Transport;
  /** Its connection to the global ring: the other organisations' gateways (may be `transport` itself). */
  readonly globalTransport: Transport;
  readonly log: Log;
  readonly metrics: Metrics;
  readonly own: RingTrust;
  readonly federated: () => readonly RingTrust[];
  /** This node in the global ring (whichever router object its supervised child runs). */
  readonly globalRouter: RouterHandle;
  /** This node's storage client in its own ring. */
  readonly storage: StorageClient;
  /** Store a notification in a drop of this ring (the notifier's write session). */
  readonly storeEnvelope: (dropId: string, envelope: Envelope) => Promise<void>;
}

type Reply = Parameters<typeof GatewayReply.encode>[0];

export class GatewayService {
  private outbound: TransportSubscription | undefined;
  private inbound: TransportSubscription | undefined;
  private readonly log: Log;

  constructor(private readonly deps: GatewayDeps) {
    this.log = deps.log.child({ actor: 'gateway' });
  }

  get globalRouter(): RouterHandle {
    return this.deps.globalRouter;
  }

  start(): void {
    const { transport, globalTransport, own } = this.deps;
    this.outbound = transport.subscribe(subjects.gateway(own.ringId), (m) => void this.forward(m), { queue: GATEWAY_QUEUE_GROUP });
    this.inbound = globalTransport.subscribe(subjects.ringGateways(own.ringId), (m) => void this.perform(m), { queue: GATEWAY_QUEUE_GROUP });
    this.log.info('gateway.started', { org: own.org, federated: this.deps.federated().map((t) => t.org) });
  }

  stop(): void {
    this.outbound?.unsubscribe();
    this.inbound?.unsubscribe();
    this.outbound = this.inbound = undefined;
  }

  /** Replies go back on the connection the request came in on. */
  private answer(via: Transport, msg: TransportMessage, body: Reply): void {
    if (msg.reply) publishQuietly(via, msg.reply, GatewayReply.encode(body), this.log);
  }

  /** A request from our ring to another organisation: to one of its gateways, and the answer back. */
  private async forward(msg: TransportMessage): Promise<void> {
    const r = GatewayRequest.decode(msg.data);
    if (!r.ok) return this.answer(this.deps.transport, msg, { ok: false, code: ErrorCodes.BAD_FRAME, message: r.reason });
    const target = this.deps.federated().find((t) => t.ringId === r.body.targetRing);
    if (!target) return this.answer(this.deps.transport, msg, { ok: false, code: ErrorCodes.NOT_AUTHORISED, message: `${this.deps.own.org} does not federate with that organisation` });
    this.deps.metrics.inc('post_gateway_forwarded_total', 'Requests carried to another organisation', { to: target.org, type: r.body.request.type });
    try {
      const bytes = await this.deps.globalTransport.request(subjects.ringGateways(target.ringId), msg.data, { timeoutMs: FEDERATION_REQUEST_TIMEOUT_MS - 1000 });
      if (msg.reply) publishQuietly(this.deps.transport, msg.reply, bytes, this.log);
    } catch (e) {
      const why = e instanceof TransportError && e.code === 'NO_RESPONDERS' ? `no gateway of ${target.org} is up` : (e as Error).message;
      this.answer(this.deps.transport, msg, { ok: false, code: ErrorCodes.UNAVAILABLE, message: why });
    }
  }

  /** A request from another organisation, performed in our ring. */
  private async perform(msg: TransportMessage): Promise<void> {
    const r = decodeFrame(msg.data);
    if (!r.ok || !isKind(r.frame, GatewayRequest)) return this.answer(this.deps.globalTransport, msg, { ok: false, code: ErrorCodes.BAD_FRAME, message: r.ok ? `unexpected ${r.frame.kind}` : r.reason });
    const body = r.frame.body;
    if (body.targetRing !== this.deps.own.ringId) return this.answer(this.deps.globalTransport, msg, { ok: false, code: ErrorCodes.BAD_REQUEST, message: 'request for another ring' });
    const req = body.request;
    this.deps.metrics.inc('post_gateway_performed_total', 'Requests from other organisations performed in this ring', { type: req.type });
    try {
      switch (req.type) {
        case 'objectGet': {
          const o = await this.deps.storage.getObject(req.objectId);
          return this.answer(this.deps.globalTransport, msg, o ? { ok: true, data: encodeSignedObject(o) } : { ok: false, code: ErrorCodes.NOT_FOUND, message: 'no such object' });
        }
        case 'blockGet': {
          const b = await this.deps.storage.fetchBlock(req.id);
          return this.answer(this.deps.globalTransport, msg, b ? { ok: true, data: b } : { ok: false, code: ErrorCodes.BLOCK_MISSING, message: `no block ${req.id.slice(0, 16)} in ${this.deps.own.org}'s ring` });
        }
        case 'dropPut':
          await this.deps.storeEnvelope(req.dropId, req.envelope);
          return this.answer(this.deps.globalTransport, msg, { ok: true });
      }
    } catch (e) {
      this.answer(this.deps.globalTransport, msg, { ok: false, code: e instanceof PostError ? e.code : ErrorCodes.UNAVAILABLE, message: (e as Error).message });
    }
  }
}
