// Typed request/reply with other nodes for the storage actors: encode, send to the node's direct
// subject, decode the reply as the expected kind. Transport failures come back as values, so callers
// (session machines) can retry lost requests. Puts one node makes to one replica in one event-loop
// turn travel as one batch frame (issue 11): storage puts as storage.batch, inbox-drop puts as
// notify.batch (protocol/batch.ts); a bulk put (STORAGE_BATCH_REQUEST_BYTES_MAX) travels alone.
import { type Clock, type Transport, TransportError } from '../../infra/ports';
import { errorCodeOf, type ErrorCode } from '../../protocol/errors';
import type { FrameKind } from '../../protocol/frame';
import { FrameRefused } from '../../protocol/refusal';
import { STORAGE_BATCH_REQUEST_BYTES_MAX, STORAGE_BATCH_REQUESTS_MAX } from '../../protocol/limits';
import { chunks } from '../../infra/chunks';
import type { BatchKinds } from '../../protocol/batch';
import { STORAGE_BATCH, StorageReply } from '../../protocol/storage';
import { subjects } from '../../protocol/subjects';

export type PeerReply<T> = { ok: true; body: T } | { ok: false; code: ErrorCode; message: string };

/** A put waiting for this turn's batch to its replica: its encoded frame, and who wants its reply. */
interface Queued {
  readonly frame: Uint8Array;
  readonly timeoutMs: number;
  settle(reply: PeerReply<Uint8Array>): void;
}

export class Peers {
  /** Puts queued in this event-loop turn, by batch kind and the node they go to; sent when the turn's I/O has run (a flush is due while it is not empty). */
  private queued = new Map<BatchKinds, Map<string, Queued[]>>();

  constructor(
    private readonly transport: Transport,
    private readonly ringId: string,
    private readonly clock: Clock,
  ) {}

  async request<Q, R>(node: string, kind: FrameKind<Q>, body: Q, replyKind: FrameKind<R>, timeoutMs: number): Promise<PeerReply<R>> {
    return this.requestEncoded(node, kind.encode(body), replyKind, timeoutMs);
  }

  /**
   * A request whose frame is encoded already: a replicated write encodes its frame once and sends the
   * same bytes to each of its k replicas (and again on a retry), instead of encoding it k times.
   */
  async requestEncoded<R>(node: string, frame: Uint8Array, replyKind: FrameKind<R>, timeoutMs: number): Promise<PeerReply<R>> {
    const r = await this.send(node, frame, timeoutMs);
    return r.ok ? decodeReply(r.body, replyKind) : r;
  }

  /**
   * A put (a frame of a kind `batch` carries, encoded) to `node`, sent together with the other puts
   * of that batch kind this node makes to `node` in the same event-loop turn: one batch frame and one
   * answer for all of them instead of one each (a put alone in its turn goes as it is, and so does a
   * bulk one: STORAGE_BATCH_REQUEST_BYTES_MAX). The reply is the put's own.
   */
  requestBatched<R>(node: string, frame: Uint8Array, replyKind: FrameKind<R>, timeoutMs: number, batch: BatchKinds = STORAGE_BATCH): Promise<PeerReply<R>> {
    if (frame.length > STORAGE_BATCH_REQUEST_BYTES_MAX) return this.requestEncoded(node, frame, replyKind, timeoutMs);
    return new Promise((resolve) => {
      const put: Queued = { frame, timeoutMs, settle: (r) => resolve(r.ok ? decodeReply(r.body, replyKind) : r) };
      if (this.queued.size === 0) this.clock.defer(() => this.flush());
      let byNode = this.queued.get(batch);
      if (!byNode) this.queued.set(batch, (byNode = new Map()));
      const queue = byNode.get(node);
      if (queue) queue.push(put);
      else byNode.set(node, [put]);
    });
  }

  private flush(): void {
    const queued = this.queued;
    this.queued = new Map();
    for (const [kinds, byNode] of queued)
      for (const [node, puts] of byNode)
        for (const batch of chunks(puts, STORAGE_BATCH_REQUESTS_MAX))
          // Nothing in sending is expected to throw; if it did, each put still gets an answer (a failure).
          this.sendBatch(node, batch, kinds).catch((e: unknown) => batch.forEach((p) => p.settle({ ok: false, code: 'UNAVAILABLE', message: `sending a batch of puts failed: ${(e as Error).message}` })));
  }

  private async sendBatch(node: string, puts: readonly Queued[], kinds: BatchKinds): Promise<void> {
    if (puts.length === 1) {
      const [put] = puts as [Queued];
      return put.settle(await this.send(node, put.frame, put.timeoutMs));
    }
    const r = await this.send(node, kinds.request.encode({ frames: puts.map((p) => p.frame) }), Math.max(...puts.map((p) => p.timeoutMs)));
    if (!r.ok) return puts.forEach((p) => p.settle(r));
    const answered = decodeReply(r.body, kinds.reply);
    if (answered.ok && answered.body.replies.length === puts.length) return puts.forEach((p, i) => p.settle({ ok: true, body: answered.body.replies[i]! }));
    // Refused whole (a node that does not know batches): each put goes alone, as before batches.
    if (!answered.ok && FrameRefused.decode(r.body).ok) {
      await Promise.all(puts.map(async (p) => p.settle(await this.send(node, p.frame, p.timeoutMs))));
      return;
    }
    const failure: PeerReply<Uint8Array> = answered.ok ? { ok: false, code: 'BAD_FRAME', message: `a batch of ${puts.length} puts answered with ${answered.body.replies.length} replies` } : answered;
    puts.forEach((p) => p.settle(failure));
  }

  /** Send a frame to a node's direct subject; its reply's bytes, or the transport's failure. */
  private async send(node: string, frame: Uint8Array, timeoutMs: number): Promise<PeerReply<Uint8Array>> {
    try {
      // Frames are never changed once encoded: the transport need not copy one to send it.
      return { ok: true, body: await this.transport.request(subjects.node(this.ringId, node), frame, { timeoutMs, handOver: true }) };
    } catch (e) {
      if (e instanceof TransportError) return { ok: false, code: e.code, message: e.message };
      return { ok: false, code: 'CLOSED', message: (e as Error).message };
    }
  }
}

/** A reply's bytes as the expected kind, or why the node did not answer with one. */
function decodeReply<R>(bytes: Uint8Array, replyKind: FrameKind<R>): PeerReply<R> {
  const r = replyKind.decode(bytes);
  if (r.ok) return { ok: true, body: r.body };
  // The node could not take the request at all (it failed validation there): say why at once.
  const refused = FrameRefused.decode(bytes);
  if (refused.ok) return { ok: false, code: errorCodeOf(refused.body.code, 'BAD_REQUEST'), message: refused.body.reason };
  // The replica failed while serving it (its store unavailable): the generic failure reply, with its code.
  const failed = StorageReply.decode(bytes);
  if (failed.ok && !failed.body.ok) return { ok: false, code: errorCodeOf(failed.body.code, 'UNAVAILABLE'), message: failed.body.message ?? 'the replica failed' };
  return { ok: false, code: 'BAD_FRAME', message: r.reason };
}
