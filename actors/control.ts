// Operator requests on the node's control subject: status (`post ring status`, the lab), route
// probes (`post route`), data in and out of the ring (`post block put | get | where`), short messages
// as a hosted user, fault injection. Replies are ControlReply frames: JSON, or raw data for block reads.
//
// Nothing here acts on an unsigned request (issue 12). Each arrives in a SignedControl envelope and is
// taken only when: it is addressed to this node; its operator certificate verifies against the
// organisation's CA; it is stamped within the window and its nonce is new; the operator's signature
// verifies; the operator has the role the request needs (controlPolicy); and, for a request made as a
// user, that user is hosted here and signed it too. A request made as a user travels sealed to this
// node's key, and its reply sealed to the user's box key: a user's content is never on the bus in
// clear. Data an operator stores is charged to the operator's id on every replica.
import { type RingTrust, verifyOperatorCertificate } from '../crypto/certificates';
import { type ControlFields, verifyControlSignature, verifyControlUser } from '../crypto/controlAuth';
import type { StorageSigner } from '../crypto/insertAuth';
import { openAsNode } from '../crypto/nodeSeal';
import { sealTo } from '../crypto/notification';
import { NonceWindow } from '../crypto/replay';
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
  UserStandbyRequest,
  UsersPullRequest,
  ActorCrashRequest,
  controlPolicy,
  SignedControl,
} from '../protocol/control';
import { encodeSignedObject } from '../storage/signedObjectCodec';
import { ErrorCodes, PostError, type ErrorCode } from '../protocol/errors';
import { type AnyFrame, canonicalBytes, decodeFrame, frameHandlers, isKind, on } from '../protocol/frame';
import { type OperatorCertificate, operatorCertificateCodec } from '../protocol/identity';
import {
  CONTROL_NONCES_MAX,
  CONTROL_OPERATORS_CACHED_MAX,
  CONTROL_REQUEST_SKEW_MS,
  CONTROL_SESSION_IDLE_MS,
  CONTROL_SESSIONS_MAX,
  REFUSED_LOG_GAP_MS,
} from '../protocol/limits';
import { subjects } from '../protocol/subjects';
import { formatBlockRef, parseBlockRef } from '../storage/blocks';
import type { Metrics } from './metrics';
import type { PostNode } from './node';
import { Refusals } from './refusals';
import type { UserApp } from './users/userHost';

export interface ControlDeps {
  readonly transport: Transport;
  readonly clock: Clock;
  readonly log: Log;
  readonly trust: RingTrust;
  readonly nodeId: string;
  readonly node: () => PostNode;
  readonly metrics: Metrics;
  /** This node as an inserting member: operators' data is put by this node, charged to the operator. */
  readonly nodeSigner: StorageSigner;
}

type ReplyBody = Parameters<typeof ControlReply.encode>[0];

/** Who a request comes from, once authenticated: its operator, and the hosted user it is made as. */
interface Caller {
  readonly operator: OperatorCertificate;
  readonly user?: UserApp;
}

type Authenticated = { ok: true; caller: Caller; request: AnyFrame } | { ok: false; code: ErrorCode; reason: string };

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
  /** Only the operator that opened a transfer continues it. */
  readonly operatorId: string;
  touchedMs: number;
  upload?: Upload;
  download?: AsyncGenerator<Buffer>;
}

const json = (v: unknown): ReplyBody => ({ ok: true, json: JSON.stringify(v) });

export class ControlService {
  private sub: TransportSubscription | undefined;
  private readonly sessions = new Map<string, Session>();
  private seq = 0;
  private readonly nonces = new NonceWindow({ skewMs: CONTROL_REQUEST_SKEW_MS, max: CONTROL_NONCES_MAX });
  /** Operator certificates verified, by their canonical bytes, until they expire. */
  private readonly operators = new Map<string, number>();
  private readonly refusals: Refusals;

  constructor(private readonly deps: ControlDeps) {
    this.refusals = new Refusals(
      { log: deps.log, clock: deps.clock, metrics: deps.metrics, gapMs: REFUSED_LOG_GAP_MS },
      { name: 'post_control_refused_total', help: 'Control requests refused (unsigned, forged, replayed, not allowed)', event: 'control.refused' },
    );
  }

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
    const auth = this.authenticate(r.frame);
    if (!auth.ok) {
      this.refusals.note(auth.code, { detail: auth.reason });
      return answer({ ok: false, code: auth.code, error: auth.reason });
    }
    const { caller, request } = auth;
    try {
      const reply = await this.dispatch(request, caller);
      answer(caller.user && reply.json !== undefined ? { ok: reply.ok, sealed: sealTo(caller.user.user.box.publicKey, Buffer.from(reply.json, 'utf8')) } : reply);
    } catch (e) {
      answer({ ok: false, code: e instanceof PostError ? e.code : 'INTERNAL', error: (e as Error).message });
    }
  }

  /** Everything a request must prove before it is taken (see the top of this file), in order of cost. */
  private authenticate(frame: AnyFrame): Authenticated {
    const refuse = (code: ErrorCode, reason: string): Authenticated => ({ ok: false, code, reason });
    const { trust, nodeId, clock } = this.deps;
    if (!isKind(frame, SignedControl)) {
      const what = controlPolicy[frame.kind] ? `${frame.kind} is not signed` : `${frame.kind} is not a control request`;
      return refuse(ErrorCodes.UNSIGNED, `${what}: control requests must be signed by an operator key certified by the ${trust.org} CA (the post command signs with the operator file of the lab or organisation folder)`);
    }
    const env = frame.body;
    const operator = env.operator;
    if (env.nodeId !== nodeId) return refuse(ErrorCodes.NOT_AUTHORISED, `the request was signed for node ${env.nodeId.slice(0, 12)}, not for this one`);
    const nowMs = clock.now();
    const cert = this.checkOperator(operator, nowMs);
    if (!cert.ok) return refuse(cert.code, cert.reason);
    if (Math.abs(env.timeMs - nowMs) > CONTROL_REQUEST_SKEW_MS)
      return refuse(ErrorCodes.STALE, `the request is stamped ${Math.round((env.timeMs - nowMs) / 1000)} s from this node's clock, outside the ${CONTROL_REQUEST_SKEW_MS / 1000} s window: a replay, or clocks apart (check NTP)`);
    const fields: ControlFields = { ringId: trust.ringId, nodeId, timeMs: env.timeMs, nonce: env.nonce, request: env.request };
    if (!verifyControlSignature(fields, env.signature, operator.signingKey))
      return refuse(ErrorCodes.BAD_SIGNATURE, `the request is not signed by the key of operator ${operator.name}`);
    const fresh = this.nonces.check(`${operator.operatorId}:${Buffer.from(env.nonce).toString('hex')}`, env.timeMs, nowMs);
    if (fresh === 'replayed') return refuse(ErrorCodes.REPLAYED, 'this request was already taken once (its nonce is spent): a replay');
    if (fresh === 'full') return refuse(ErrorCodes.QUEUE_FULL, `more than ${CONTROL_NONCES_MAX} control requests within ${CONTROL_REQUEST_SKEW_MS / 1000} s; try again shortly`);
    const plain = env.sealed ? openAsNode(this.deps.nodeSigner.secretKey, env.request) : env.request;
    if (!plain) return refuse(ErrorCodes.BAD_REQUEST, 'the request is not sealed to this node\'s key');
    const inner = decodeFrame(plain);
    if (!inner.ok) return refuse(ErrorCodes.BAD_FRAME, inner.reason);
    const rule = controlPolicy[inner.frame.kind];
    if (!rule) return refuse(ErrorCodes.BAD_REQUEST, `${inner.frame.kind} is not a control request`);
    if (rule.role && !operator.roles.includes(rule.role))
      return refuse(ErrorCodes.NOT_AUTHORISED, `operator ${operator.name} may not make ${inner.frame.kind}: it needs the ${rule.role} role (\`post ca operator --roles ${rule.role}\`)`);
    if (!rule.actingUser) return { ok: true, caller: { operator }, request: inner.frame };
    const address = rule.actingUser(inner.frame.body).toLowerCase();
    const user = this.deps.node().users.users.get(address);
    if (!user) return refuse(ErrorCodes.UNKNOWN_USER, `${address} is not hosted and unlocked on this node`);
    if (!env.userSignature)
      return refuse(ErrorCodes.NOT_AUTHORISED, `a request made as ${address} needs ${address}'s own signature: the post command logs in as the user with its password`);
    if (!verifyControlUser(fields, operator.operatorId, env.userSignature, user.user.signing.publicKey))
      return refuse(ErrorCodes.BAD_SIGNATURE, `the request is not signed by ${address}'s key`);
    if (!env.sealed) return refuse(ErrorCodes.BAD_REQUEST, `a request made as ${address} must be sealed to this node's key: its content is the user's`);
    return { ok: true, caller: { operator, user }, request: inner.frame };
  }

  /** The operator certificate, verified against the CA once per certificate (and again once expired). */
  private checkOperator(cert: OperatorCertificate, nowMs: number): { ok: true } | { ok: false; code: ErrorCode; reason: string } {
    const key = Buffer.from(canonicalBytes(operatorCertificateCodec.encode(cert))).toString('base64');
    const until = this.operators.get(key);
    if (until !== undefined && nowMs < until) return { ok: true };
    const check = verifyOperatorCertificate(cert, this.deps.trust, nowMs);
    if (!check.ok) return check;
    if (this.operators.size >= CONTROL_OPERATORS_CACHED_MAX) this.operators.delete(this.operators.keys().next().value!);
    this.operators.set(key, cert.expiresAtMs);
    return check;
  }

  /** One handler per control request kind, each with its body as its codec decoded it. */
  private readonly dispatch = frameHandlers<[Caller], Promise<ReplyBody>>(
    [
      on(StatusRequest, async () => {
        const node = this.deps.node();
        await node.replicas.refreshTotals();
        return json(node.status());
      }),
      on(RouteProbeRequest, async (body) => {
        const o = await this.deps.node().router.route(body.key, { timeoutMs: body.timeoutMs });
        return json({ key: o.key, root: o.root, hops: o.hops, path: o.path });
      }),
      on(BlockPutBegin, async (_, caller) => {
        const operatorId = caller.operator.operatorId;
        const id = this.open({ operatorId, upload: new Upload() });
        const s = this.sessions.get(id)!;
        // Put by this node, charged to the operator on every replica (its quota, like a member's).
        const storage = this.deps.node().replicas.client({ ...this.deps.nodeSigner, id: operatorId });
        s.upload!.result = (async () => {
          const ref = await storage.putData(s.upload!.stream());
          return { ref: formatBlockRef(ref), id: ref.id, replicas: await this.settledReplicas(ref.id) };
        })();
        s.upload!.result.catch(() => {}); // reported at end
        return json({ session: id });
      }),
      on(BlockPutPiece, async (body, caller) => {
        const s = this.session(body.session, caller.operator.operatorId);
        if (!s.upload) throw new PostError(ErrorCodes.BAD_REQUEST, 'not an upload session');
        if (body.seq !== s.upload.next) throw new PostError(ErrorCodes.BAD_REQUEST, `piece ${body.seq} out of order (expected ${s.upload.next})`);
        s.upload.next++;
        s.upload.push(body.data);
        return { ok: true };
      }),
      on(BlockPutEnd, async (body, caller) => {
        const s = this.session(body.session, caller.operator.operatorId);
        if (!s.upload || body.pieces !== s.upload.next) throw new PostError(ErrorCodes.BAD_REQUEST, `upload ended after ${s.upload?.next} pieces, not ${body.pieces}`);
        s.upload.end();
        try {
          return json(await s.upload.result!);
        } finally {
          this.sessions.delete(body.session);
        }
      }),
      on(BlockOpen, async (body, caller) => {
        const parsed = parseBlockRef(body.ref);
        if (!parsed.ok) throw new PostError(parsed.code, parsed.message);
        const id = this.open({ operatorId: caller.operator.operatorId, download: this.deps.node().replicas.storage.readData(parsed.value) });
        return json({ session: id, sizeBytes: parsed.value.sizeBytes });
      }),
      on(BlockRead, async (body, caller) => {
        const s = this.session(body.session, caller.operator.operatorId);
        if (!s.download) throw new PostError(ErrorCodes.BAD_REQUEST, 'not a download session');
        const piece = await s.download.next();
        if (piece.done) {
          this.sessions.delete(body.session);
          return { ok: true, done: true };
        }
        return { ok: true, data: piece.value, done: false };
      }),
      on(AuditRequest, async () => json(await this.deps.node().replicas.audit())),
      on(UsersPullRequest, async () => {
        const apps = [...this.deps.node().users.users.values()];
        await Promise.all(apps.map((app) => app.pull()));
        return json({ users: apps.map((app) => app.address) });
      }),
      on(ActorCrashRequest, async (body) => {
        this.deps.node().injectCrash(body.actor);
        return json({ actor: body.actor });
      }),
      on(BlockWhere, async (body) => json({ id: body.id, replicas: await this.deps.node().replicas.where(body.id) })),
      on(ObjectGetRequest, async (body) => {
        const o = await this.deps.node().replicas.storage.getObject(body.objectId);
        return o ? { ok: true, data: encodeSignedObject(o) } : { ok: false, code: 'NOT_FOUND', error: `no object ${body.objectId.slice(0, 16)}` };
      }),
      on(ObjectPutRequest, async (body) => {
        const r = await this.deps.node().replicas.storage.putObject(body.object, body.replaces);
        return r.ok ? json({ ok: true }) : { ok: true, json: JSON.stringify({ ok: false, code: r.code, message: r.message }), data: r.current ? encodeSignedObject(r.current) : undefined };
      }),
      on(UserHostRequest, async (body) => {
        const node = this.deps.node();
        const app = await node.users.host(body.sealed);
        return json({ address: app.address, node: node.id });
      }),
      on(UserStandbyRequest, async (body) => json(await this.deps.node().standby.grant(body.sealed))),
      on(MessageSendRequest, async (body, caller) => json(await caller.user!.sendMessage(body.to, body.text))),
      on(MessageListRequest, async (_, caller) => {
        const list = await caller.user!.listMessages();
        return json(list.map((m) => ({ id: m.key, direction: m.direction, from: m.from, to: m.to, text: m.text, sentAtMs: m.sentAtMs, recordedAtMs: m.recordedAtMs })));
      }),
    ],
    async (frame) => {
      throw new PostError(ErrorCodes.BAD_REQUEST, `${frame.kind} is not a control request`);
    },
  );

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

  private session(id: string, operatorId: string): Session {
    const s = this.sessions.get(id);
    if (!s) throw new PostError(ErrorCodes.BAD_REQUEST, `no transfer ${id} (it finished or was idle too long); start again`);
    if (s.operatorId !== operatorId) throw new PostError(ErrorCodes.NOT_AUTHORISED, `transfer ${id} belongs to another operator`);
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
