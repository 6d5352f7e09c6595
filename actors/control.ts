// Operator requests on the node's control subject: status (`post ring status`, the lab, the
// dashboard), route probes (`post route`), and data in and out of the ring as this node (`post block
// put | get | where`). Replies are ControlReply frames: JSON, or raw data for block reads.
import type { RingTrust } from '../crypto/certificates';
import { type Clock, type Log, publishQuietly, type Transport, type TransportMessage, type TransportSubscription } from '../infra/ports';
import {
  AuditRequest,
  BlockOpen,
  BlockPutBegin,
  BlockPutEnd,
  BlockPutPiece,
  BlockRead,
  BlockWhere,
  ControlReply,
  MessageListRequest,
  MessageSendRequest,
  ObjectGetRequest,
  ObjectPutRequest,
  RouteProbeRequest,
  StatusRequest,
  UserHostRequest,
  UsersPullRequest,
  ActorCrashRequest,
} from '../protocol/control';
import { encodeSignedObject } from '../storage/signedObjectCodec';
import { ErrorCodes, PostError } from '../protocol/errors';
import { decodeFrame } from '../protocol/frame';
import { CONTROL_SESSION_IDLE_MS, CONTROL_SESSIONS_MAX } from '../protocol/limits';
import { subjects } from '../protocol/subjects';
import { formatBlockRef, parseBlockRef } from '../storage/blocks';
import type { PostNode } from './node';

export interface ControlDeps {
  readonly transport: Transport;
  readonly clock: Clock;
  readonly log: Log;
  readonly trust: RingTrust;
  readonly nodeId: string;
  readonly node: () => PostNode;
}

type ReplyBody = Parameters<typeof ControlReply.encode>[0];

/** After a put, wait up to 10 x 200 ms for the writes beyond the majority before reporting replicas. */
const PUT_SETTLE_POLLS_MAX = 10;
const PUT_SETTLE_POLL_MS = 200;

/** An upload: pieces arrive in order and feed the block writer, which consumes them as a stream. */
class Upload {
  private readonly pieces: Uint8Array[] = [];
  private wake: (() => void) | undefined;
  private ended = false;
  next = 0;
  result: Promise<{ ref: string; id: string; replicas: readonly string[] }> | undefined;

  push(data: Uint8Array): void {
    this.pieces.push(data);
    this.wake?.();
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  async *stream(): AsyncGenerator<Uint8Array> {
    for (;;) {
      if (this.pieces.length) yield this.pieces.shift()!;
      else if (this.ended) return;
      else await new Promise<void>((r) => (this.wake = r));
    }
  }
}

interface Session {
  touchedMs: number;
  upload?: Upload;
  download?: AsyncGenerator<Buffer>;
}

export class ControlService {
  private sub: TransportSubscription | undefined;
  private readonly sessions = new Map<string, Session>();
  private seq = 0;

  constructor(private readonly deps: ControlDeps) {}

  start(): void {
    this.sub = this.deps.transport.subscribe(subjects.control(this.deps.trust.ringId, this.deps.nodeId), (m) => void this.handle(m));
  }

  stop(): void {
    this.sub?.unsubscribe();
    this.sub = undefined;
    for (const s of this.sessions.values()) s.upload?.end();
    this.sessions.clear();
  }

  private async handle(msg: TransportMessage): Promise<void> {
    if (!msg.reply) return;
    const answer = (body: ReplyBody) => publishQuietly(this.deps.transport, msg.reply!, ControlReply.encode(body), this.deps.log);
    const r = decodeFrame(msg.data);
    if (!r.ok) {
      this.deps.log.warn('frame.dropped', { subject: msg.subject, reason: r.reason });
      return answer({ ok: false, code: ErrorCodes.BAD_FRAME, error: r.reason });
    }
    try {
      answer(await this.dispatch(r.frame.kind, r.frame.body as any));
    } catch (e) {
      answer({ ok: false, code: e instanceof PostError ? e.code : 'INTERNAL', error: (e as Error).message });
    }
  }

  private async dispatch(kind: string, body: any): Promise<ReplyBody> {
    const node = this.deps.node();
    const json = (v: unknown): ReplyBody => ({ ok: true, json: JSON.stringify(v) });
    switch (kind) {
      case StatusRequest.kind:
        await node.replicas.refreshTotals();
        return json(node.status());
      case RouteProbeRequest.kind: {
        const o = await node.router.route(body.key, { timeoutMs: body.timeoutMs });
        return json({ key: o.key, root: o.root, hops: o.hops, path: o.path });
      }
      case BlockPutBegin.kind: {
        const id = this.open({ upload: new Upload() });
        const s = this.sessions.get(id)!;
        s.upload!.result = (async () => {
          const ref = await node.replicas.storage.putData(s.upload!.stream());
          return { ref: formatBlockRef(ref), id: ref.id, replicas: await this.settledReplicas(ref.id) };
        })();
        s.upload!.result.catch(() => {}); // reported at end
        return json({ session: id });
      }
      case BlockPutPiece.kind: {
        const s = this.session(body.session);
        if (!s.upload) throw new PostError(ErrorCodes.BAD_REQUEST, 'not an upload session');
        if (body.seq !== s.upload.next) throw new PostError(ErrorCodes.BAD_REQUEST, `piece ${body.seq} out of order (expected ${s.upload.next})`);
        s.upload.next++;
        s.upload.push(body.data);
        return { ok: true };
      }
      case BlockPutEnd.kind: {
        const s = this.session(body.session);
        if (!s.upload || body.pieces !== s.upload.next) throw new PostError(ErrorCodes.BAD_REQUEST, `upload ended after ${s.upload?.next} pieces, not ${body.pieces}`);
        s.upload.end();
        try {
          return json(await s.upload.result!);
        } finally {
          this.sessions.delete(body.session);
        }
      }
      case BlockOpen.kind: {
        const parsed = parseBlockRef(body.ref);
        if (!parsed.ok) throw new PostError(parsed.code, parsed.message);
        const id = this.open({ download: node.replicas.storage.readData(parsed.value) });
        return json({ session: id, sizeBytes: parsed.value.sizeBytes });
      }
      case BlockRead.kind: {
        const s = this.session(body.session);
        if (!s.download) throw new PostError(ErrorCodes.BAD_REQUEST, 'not a download session');
        const piece = await s.download.next();
        if (piece.done) {
          this.sessions.delete(body.session);
          return { ok: true, done: true };
        }
        return { ok: true, data: piece.value, done: false };
      }
      case AuditRequest.kind:
        return json(await node.replicas.audit());
      case UsersPullRequest.kind: {
        const apps = [...node.users.users.values()];
        await Promise.all(apps.map((app) => app.pull()));
        return json({ users: apps.map((app) => app.address) });
      }
      case ActorCrashRequest.kind:
        node.injectCrash(body.actor);
        return json({ actor: body.actor });
      case BlockWhere.kind:
        return json({ id: body.id, replicas: await node.replicas.where(body.id) });
      case ObjectGetRequest.kind: {
        const o = await node.replicas.storage.getObject(body.objectId);
        return o ? { ok: true, data: encodeSignedObject(o) } : { ok: false, code: 'NOT_FOUND', error: `no object ${body.objectId.slice(0, 16)}` };
      }
      case ObjectPutRequest.kind: {
        const r = await node.replicas.storage.putObject(body.object, body.replaces);
        return r.ok ? json({ ok: true }) : { ok: true, json: JSON.stringify({ ok: false, code: r.code, message: r.message }), data: r.current ? encodeSignedObject(r.current) : undefined };
      }
      case UserHostRequest.kind: {
        const app = await node.users.host(body.sealed);
        return json({ address: app.address, node: node.id });
      }
      case MessageSendRequest.kind:
        return json(await node.users.get(body.from).sendMessage(body.to, body.text));
      case MessageListRequest.kind: {
        const list = await node.users.get(body.user).listMessages();
        return json(list.map((m) => ({ id: m.key, direction: m.direction, from: m.from, to: m.to, text: m.text, sentAtMs: m.sentAtMs, recordedAtMs: m.recordedAtMs })));
      }
      default:
        throw new PostError(ErrorCodes.BAD_REQUEST, `${kind} is not a control request`);
    }
  }

  /** Where a block just written is held, once the background writes past the majority have landed (bounded wait). */
  private async settledReplicas(id: string): Promise<string[]> {
    const node = this.deps.node();
    const k = node.replicas.replicationFactor;
    let holders = await node.replicas.where(id);
    for (let i = 0; i < PUT_SETTLE_POLLS_MAX && holders.length < k; i++) {
      await new Promise<void>((r) => this.deps.clock.setTimeout(r, PUT_SETTLE_POLL_MS));
      holders = await node.replicas.where(id);
    }
    return holders;
  }

  private open(s: Omit<Session, 'touchedMs'>): string {
    this.expire();
    if (this.sessions.size >= CONTROL_SESSIONS_MAX) throw new PostError(ErrorCodes.QUEUE_FULL, `this node already has ${CONTROL_SESSIONS_MAX} transfers open; try again later`);
    const id = `${this.deps.clock.now().toString(36)}-${(this.seq++).toString(36)}`;
    this.sessions.set(id, { ...s, touchedMs: this.deps.clock.now() });
    return id;
  }

  private session(id: string): Session {
    const s = this.sessions.get(id);
    if (!s) throw new PostError(ErrorCodes.BAD_REQUEST, `no transfer ${id} (it finished or was idle too long); start again`);
    s.touchedMs = this.deps.clock.now();
    return s;
  }

  /** Forget transfers idle for too long (a CLI that died mid-way). */
  private expire(): void {
    const now = this.deps.clock.now();
    for (const [id, s] of this.sessions)
      if (now - s.touchedMs > CONTROL_SESSION_IDLE_MS) {
        s.upload?.end();
        void s.download?.return(undefined);
        this.sessions.delete(id);
      }
  }
}
