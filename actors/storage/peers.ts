// Typed request/reply with other nodes for the storage actors: encode, send to the node's direct
// subject, decode the reply as the expected kind. Transport failures come back as values, so callers
// (session machines) can retry lost requests.
import { type Transport, TransportError } from '../../infra/ports';
import { errorCodeOf, type ErrorCode } from '../../protocol/errors';
import type { FrameKind } from '../../protocol/frame';
import { FrameRefused } from '../../protocol/refusal';
import { StorageReply } from '../../protocol/storage';
import { subjects } from '../../protocol/subjects';

export type PeerReply<T> = { ok: true; body: T } | { ok: false; code: ErrorCode; message: string };

export class Peers {
  constructor(
    private readonly transport: Transport,
    private readonly ringId: string,
  ) {}

  async request<Q, R>(node: string, kind: FrameKind<Q>, body: Q, replyKind: FrameKind<R>, timeoutMs: number): Promise<PeerReply<R>> {
    return this.requestEncoded(node, kind.encode(body), replyKind, timeoutMs);
  }

  /**
   * A request whose frame is encoded already: a replicated write encodes its frame once and sends the
   * same bytes to each of its k replicas (and again on a retry), instead of encoding it k times.
   */
  async requestEncoded<R>(node: string, frame: Uint8Array, replyKind: FrameKind<R>, timeoutMs: number): Promise<PeerReply<R>> {
    let bytes: Uint8Array;
    try {
      // Frames are never changed once encoded: the transport need not copy one to send it.
      bytes = await this.transport.request(subjects.node(this.ringId, node), frame, { timeoutMs, handOver: true });
    } catch (e) {
      if (e instanceof TransportError) return { ok: false, code: e.code, message: e.message };
      return { ok: false, code: 'CLOSED', message: (e as Error).message };
    }
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
}
