// The replica side of the storage protocol: what a node does with storage requests from other nodes.
// Verify first (block hash, member certificate and insert signature, object signature and sequence),
// check the inserter's quota, then store durably, then answer. Every refusal is a reply with a stable
// code; nothing a peer sends can crash the actor.
import { blockIdOf } from '../../crypto/convergent';
import type { RingTrust } from '../../crypto/certificates';
import { blake2b } from '../../crypto/hash';
import { verifyInsert, verifyObjectInsert } from '../../crypto/insertAuth';
import type { LocalStore } from '../../infra/store/port';
import type { Clock, Log, TransportMessage } from '../../infra/ports';
import { ErrorCodes } from '../../protocol/errors';
import type { AnyFrame } from '../../protocol/frame';
import { QUOTA_BYTES_PER_MEMBER, STORAGE_LEASE_MS } from '../../protocol/limits';
import {
  BlockData,
  BlockGet,
  BlockPut,
  Digest,
  DigestReply,
  Has,
  HasReply,
  ObjectData,
  ObjectGet,
  ObjectPut,
  ObjectPutReply,
  Refresh,
  Scan,
  ScanReply,
  StorageReply,
} from '../../protocol/storage';
import { applyBlockPut, applyObjectPut, getVerifiedBlock, getVerifiedObject } from '../../storage/replicaStore';
import { versionHash } from '../../storage/signedObject';
import type { Metrics } from '../metrics';
import { type Answer, serveRequest } from './serveRequest';

export interface ReplicaDeps {
  readonly store: () => LocalStore;
  readonly trust: RingTrust;
  readonly clock: Clock;
  readonly log: Log;
  readonly metrics: Metrics;
  readonly quotaBytes?: number;
  /** A local copy was found corrupt and removed: fetch a good one from the other replicas. */
  readonly onCorrupt: (id: string, kind: 'block' | 'object') => void;
  readonly publish: (subject: string, bytes: Uint8Array) => void;
}

export class ReplicaHandlers {
  private readonly certs = new Map<string, { id: string; signingKey: Uint8Array; expiresAtMs: number }>();

  constructor(private readonly deps: ReplicaDeps) {}

  /** Entry point for every `storage.*` frame on this node's subject. */
  handle(frame: AnyFrame, msg: TransportMessage): void {
    const started = performance.now();
    serveRequest(frame, msg, this.deps, { event: 'storage.request.failed', failure: StorageReply }, (f, answer) =>
      this.dispatch(f, answer).finally(() =>
        this.deps.metrics.observe('post_storage_replica_ms', 'Storage requests this replica served, by kind, from arrival to answer', performance.now() - started, { kind: frame.kind }),
      ),
    );
  }

  private async dispatch(frame: AnyFrame, answer: Answer): Promise<void> {
    const body = frame.body as any;
    switch (frame.kind) {
      case BlockPut.kind:
        return this.blockPut(body, answer);
      case BlockGet.kind:
        return this.blockGet(body.id, answer);
      case ObjectPut.kind:
        return this.objectPut(body, answer);
      case ObjectGet.kind:
        return this.objectGet(body.objectId, answer);
      case Has.kind:
        return this.has(body, answer);
      case Refresh.kind:
        return this.refresh(body, answer);
      case Digest.kind: {
        const d = await this.deps.store().rangeDigest({ lo: body.lo, hi: body.hi });
        return answer(DigestReply, d);
      }
      case Scan.kind: {
        const range = { lo: body.lo, hi: body.hi };
        const store = this.deps.store();
        const opts = { afterId: body.afterId, limit: body.limit };
        const blocks = body.what === 'blocks' ? await store.scanBlocks(range, opts) : [];
        const objects = body.what === 'objects' ? await store.scanObjects(range, opts) : [];
        return answer(ScanReply, {
          blocks: blocks.map((b) => ({ id: b.id, expiresAtMs: b.expiresAtMs, insertedBy: b.insertedBy })),
          objects: objects.map((o) => ({ id: o.id, seq: o.seq })),
          more: blocks.length + objects.length === body.limit,
        });
      }
      default:
        answer(StorageReply, { ok: false, code: ErrorCodes.BAD_REQUEST, message: `${frame.kind} is not a storage request` });
    }
  }

  /** Refuse with a stable code; object puts answer in their own reply kind. */
  private refuse(answer: Answer, code: string, message: string, what: string, kind: typeof StorageReply | typeof ObjectPutReply = StorageReply): void {
    this.deps.metrics.inc('post_storage_refused_total', 'Storage requests refused by this replica', { code });
    this.deps.log.info('storage.refused', { what, code, message });
    answer(kind, { ok: false, code, message });
  }

  /** Leases are capped: nobody may pin data for longer than twice the standard lease. */
  private capLease(expiresAtMs: number): number {
    return Math.min(expiresAtMs, Math.floor(this.deps.clock.now() + 2 * STORAGE_LEASE_MS));
  }

  private async blockPut(body: { id: string; block: Uint8Array; expiresAtMs: number; insertedBy: string; auth: any }, answer: Answer): Promise<void> {
    const what = `block ${body.id.slice(0, 16)}`;
    if (blockIdOf(body.block).toString('hex') !== body.id)
      return this.refuse(answer, ErrorCodes.BLOCK_CORRUPT, `${what}: its bytes do not hash to its id`, what);
    const auth = await verifyInsert(body.auth, [body.id, body.expiresAtMs, body.insertedBy], this.deps.trust, this.deps.clock.now(), this.certs);
    if (!auth.ok) return this.refuse(answer, ErrorCodes.NOT_AUTHORISED, `${what}: ${auth.reason}`, what);
    if (auth.kind === 'user' && auth.memberId !== body.insertedBy)
      return this.refuse(answer, ErrorCodes.NOT_AUTHORISED, `${what}: a user may insert only as itself`, what);
    const store = this.deps.store();
    if (!(await store.hasBlock(body.id))) {
      const used = await store.bytesUsedBy(body.insertedBy);
      const quota = this.deps.quotaBytes ?? QUOTA_BYTES_PER_MEMBER;
      if (used + body.block.length > quota)
        return this.refuse(answer, ErrorCodes.QUOTA_EXCEEDED, `${what}: ${body.insertedBy.slice(0, 12)} would use ${used + body.block.length} bytes here, over its quota of ${quota}`, what);
    }
    const r = await applyBlockPut(store, body.id, body.block, { expiresAtMs: this.capLease(body.expiresAtMs), insertedBy: body.insertedBy });
    if (!r.ok) return this.refuse(answer, r.code, r.message, what);
    if (r.value.created) this.deps.metrics.inc('post_storage_blocks_stored_total', 'Blocks this replica stored');
    answer(StorageReply, { ok: true });
  }

  private async blockGet(id: string, answer: Answer): Promise<void> {
    const local = await getVerifiedBlock(this.deps.store(), id);
    if (local.status === 'ok') return answer(BlockData, { found: true, block: local.bytes });
    if (local.status === 'corrupt') {
      this.deps.log.warn('storage.corrupt', { block: id, found: 'on read' });
      await this.deps.store().deleteBlock(id);
      this.deps.onCorrupt(id, 'block');
      return answer(BlockData, { found: false, code: ErrorCodes.BLOCK_CORRUPT });
    }
    answer(BlockData, { found: false, code: ErrorCodes.BLOCK_MISSING });
  }

  private async objectPut(body: { object: any; replaces?: number; auth: any }, answer: Answer): Promise<void> {
    const o = body.object;
    const what = `object ${o.objectId.slice(0, 16)}`;
    const auth = await verifyObjectInsert(body.auth, [o.objectId, o.seq, versionHash(o)], o.owner, this.deps.trust, this.deps.clock.now(), this.certs);
    if (!auth.ok) return this.refuse(answer, ErrorCodes.NOT_AUTHORISED, `${what}: ${auth.reason}`, what, ObjectPutReply);
    // A user writes only its own objects; nodes write for the CA (directory records) and repair.
    if (auth.kind === 'user' && Buffer.compare(Buffer.from(auth.signingKey), Buffer.from(o.owner)) !== 0)
      return this.refuse(answer, ErrorCodes.NOT_AUTHORISED, `${what}: a user may write only objects it owns`, what, ObjectPutReply);
    const store = this.deps.store();
    let decision = await applyObjectPut(store, o, body.replaces);
    // This replica is behind (it missed versions while down or before it became a replica): a verified
    // newer version is taken as repair; the writer's majority decides the compare-and-swap.
    if (!decision.accept && decision.code === ErrorCodes.CAS_MISMATCH && body.replaces !== undefined && (decision.current?.seq ?? 0) < body.replaces)
      decision = await applyObjectPut(store, o, undefined);
    if (decision.accept) return answer(ObjectPutReply, { ok: true });
    this.deps.metrics.inc('post_storage_refused_total', 'Storage requests refused by this replica', { code: decision.code });
    answer(ObjectPutReply, { ok: false, code: decision.code, message: decision.message, current: decision.current });
  }

  private async objectGet(objectId: string, answer: Answer): Promise<void> {
    const store = this.deps.store();
    const o = await getVerifiedObject(store, objectId);
    if (o) return answer(ObjectData, { found: true, object: o });
    if (await store.getObject(objectId)) {
      this.deps.log.warn('storage.corrupt', { object: objectId, found: 'on read' });
      await store.deleteObject(objectId);
      this.deps.onCorrupt(objectId, 'object');
      return answer(ObjectData, { found: false, code: ErrorCodes.BLOCK_CORRUPT });
    }
    answer(ObjectData, { found: false });
  }

  private async has(body: { blocks: string[]; objects: string[]; verify: boolean }, answer: Answer): Promise<void> {
    const store = this.deps.store();
    const blocks: boolean[] = [];
    for (const id of body.blocks) blocks.push(body.verify ? (await getVerifiedBlock(store, id)).status === 'ok' : await store.hasBlock(id));
    const objects: number[] = [];
    for (const id of body.objects) objects.push(body.verify ? ((await getVerifiedObject(store, id))?.seq ?? 0) : ((await store.getObject(id))?.seq ?? 0));
    answer(HasReply, { blocks, objects });
  }

  private async refresh(body: { ids: string[]; expiresAtMs: number; auth: any }, answer: Answer): Promise<void> {
    const digest = blake2b(body.ids.map((id) => Buffer.from(id, 'hex')));
    const auth = await verifyInsert(body.auth, [digest, body.expiresAtMs], this.deps.trust, this.deps.clock.now(), this.certs);
    if (!auth.ok) return this.refuse(answer, ErrorCodes.NOT_AUTHORISED, `lease refresh: ${auth.reason}`, 'refresh');
    const store = this.deps.store();
    const expires = this.capLease(body.expiresAtMs);
    for (const id of body.ids) await store.extendLease(id, expires);
    answer(StorageReply, { ok: true });
  }
}
