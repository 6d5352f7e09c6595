// The replica side of the storage protocol: what a node does with storage requests from other nodes.
// Verify first (block hash, member certificate and insert signature, object signature and sequence),
// check the inserter's quota, then store durably, then answer. Every refusal is a reply with a stable
// code; nothing a peer sends can crash the actor.
import type { RingTrust } from '../../crypto/certificates';
import { blake2b } from '../../crypto/hash';
import { type InsertAuthValue, signOffer, type StorageSigner, verifyInsert, verifyObjectInsert, verifyOffer } from '../../crypto/insertAuth';
import type { LocalStore } from '../../infra/store/port';
import type { Clock, Log, TransportMessage } from '../../infra/ports';
import { ErrorCodes, type ErrorCode } from '../../protocol/errors';
import { type AnyFrame, type BodyOf, frameHandlers, on } from '../../protocol/frame';
import { QUOTA_BYTES_PER_MEMBER, REPAIR_BATCH_BYTES_MAX, REPLICA_OBJECT_MEMO_BYTES_MAX, STORAGE_LEASE_MS } from '../../protocol/limits';
import {
  BlockData,
  BlockGet,
  BlockOffer,
  BlockOfferReply,
  BlockPut,
  BlocksData,
  BlocksGet,
  Digest,
  DigestReply,
  Has,
  HasReply,
  ObjectData,
  ObjectGet,
  ObjectPut,
  ObjectPutReply,
  type OfferedBlock,
  Refresh,
  Scan,
  ScanReply,
  STORAGE_BATCH,
  StorageReply,
} from '../../protocol/storage';
import { offerDigest } from '../../storage/repair';
import { acceptBlocks, applyObjectPut, getVerifiedBlock, getVerifiedObject, StoredObjectMemo } from '../../storage/replicaStore';
import { checkSignedObject, versionHash } from '../../storage/signedObject';
import type { Metrics } from '../metrics';
import { type Answer, serveBatch, serveFrame } from './serveRequest';

export interface ReplicaDeps {
  readonly store: () => LocalStore;
  readonly trust: RingTrust;
  readonly clock: Clock;
  readonly log: Log;
  readonly metrics: Metrics;
  readonly quotaBytes?: number;
  /** A local copy was found corrupt and removed: fetch a good one from the other replicas. */
  readonly onCorrupt: (id: string, kind: 'block' | 'object') => void;
  /** Publish an answer: a frame encoded for it, never changed after (sent without a copy). */
  readonly publish: (subject: string, bytes: Uint8Array) => void;
  /** This node as a member: signs the pages of blocks it lists for anti-entropy (they are offers). */
  readonly signer: StorageSigner;
  /** A verified repair offer from node `source` of blocks this replica lacks: fetch them; returns how many are queued. */
  readonly fetchOffered: (source: string, blocks: readonly OfferedBlock[]) => number;
  /** A request failed with a programmer error (serveRequest): crash the replica manager. */
  readonly onBug?: (error: unknown) => void;
}

/** What an offer got: which blocks were here, how many of the others are queued; or a refusal. */
export type OfferAnswer = { ok: true; held: boolean[]; queued: number } | { ok: false; code: ErrorCode; message: string };

export class ReplicaHandlers {
  private readonly certs = new Map<string, { id: string; signingKey: Uint8Array; expiresAtMs: number }>();
  /** The versions this replica last stored: the next put of a log head skips re-reading the stored one. */
  private readonly stored = new StoredObjectMemo(REPLICA_OBJECT_MEMO_BYTES_MAX);

  constructor(private readonly deps: ReplicaDeps) {}

  /** Entry point for every `storage.*` frame on this node's subject. */
  handle(frame: AnyFrame, msg: TransportMessage): void {
    const reply = msg.reply;
    if (reply) void this.serve(frame, (bytes) => this.deps.publish(reply, bytes));
  }

  /** Serve one request, its answer handed to `respond`; timed by kind. */
  private serve(frame: AnyFrame, respond: (bytes: Uint8Array) => void): Promise<void> {
    const started = performance.now();
    return serveFrame(frame, respond, this.deps, { event: 'storage.request.failed', failure: StorageReply }, (f, answer) => this.dispatch(f, answer)).finally(() =>
      this.deps.metrics.observe('post_storage_replica_ms', 'Storage requests this replica served, by kind, from arrival to answer', performance.now() - started, { kind: frame.kind }),
    );
  }

  /** One handler per storage request kind, each with its body as its codec decoded it. */
  private readonly dispatch = frameHandlers<[Answer], Promise<void>>(
    [
      on(BlockPut, (body, answer) => this.blockPut(body, answer)),
      on(BlockGet, (body, answer) => this.blockGet(body.id, answer)),
      on(ObjectPut, (body, answer) => this.objectPut(body, answer)),
      on(ObjectGet, (body, answer) => this.objectGet(body.objectId, answer)),
      on(Has, (body, answer) => this.has(body, answer)),
      on(BlockOffer, async (body, answer) => {
        const r = await this.takeOffer(body);
        if (!r.ok) return this.refuse(answer, r.code!, r.message!, 'offer', BlockOfferReply);
        return answer(BlockOfferReply, r);
      }),
      on(BlocksGet, (body, answer) => this.blocksGet(body.ids, answer)),
      on(Refresh, (body, answer) => this.refresh(body, answer)),
      on(Digest, async (body, answer) => answer(DigestReply, await this.deps.store().rangeDigest({ lo: body.lo, hi: body.hi }))),
      on(Scan, (body, answer) => this.scan(body, answer)),
      on(STORAGE_BATCH.request, async (body, answer) => answer(STORAGE_BATCH.reply, { replies: await serveBatch(body.frames, STORAGE_BATCH, StorageReply, (f, respond) => this.serve(f, respond)) })),
    ],
    async (frame, answer) => answer(StorageReply, { ok: false, code: ErrorCodes.BAD_REQUEST, message: `${frame.kind} is not a storage request` }),
  );

  private async scan(body: BodyOf<typeof Scan>, answer: Answer): Promise<void> {
    const range = { lo: body.lo, hi: body.hi };
    const store = this.deps.store();
    const opts = { afterId: body.afterId, limit: body.limit };
    const blocks = (body.what === 'blocks' ? await store.scanBlocks(range, opts) : []).map((b) => ({
      id: b.id,
      expiresAtMs: b.expiresAtMs,
      insertedBy: b.insertedBy,
      sizeBytes: b.sizeBytes,
    }));
    const objects = body.what === 'objects' ? await store.scanObjects(range, opts) : [];
    return answer(ScanReply, {
      blocks,
      objects: objects.map((o) => ({ id: o.id, seq: o.seq })),
      more: blocks.length + objects.length === body.limit,
      auth: blocks.length > 0 ? await signOffer(this.deps.signer, offerDigest(blocks)) : undefined,
    });
  }

  /** Refuse with a stable code; object puts and offers answer in their own reply kinds. */
  private refuse(answer: Answer, code: ErrorCode, message: string, what: string, kind: typeof StorageReply | typeof ObjectPutReply | typeof BlockOfferReply = StorageReply): void {
    this.deps.metrics.inc('post_storage_refused_total', 'Storage requests refused by this replica', { code });
    this.deps.log.info('storage.refused', { what, code, message });
    answer(kind, { ok: false, code, message });
  }

  /** Leases are capped: nobody may pin data for longer than twice the standard lease. */
  leaseCapAtMs(): number {
    return Math.floor(this.deps.clock.now() + 2 * STORAGE_LEASE_MS);
  }

  private capLease(expiresAtMs: number): number {
    return Math.min(expiresAtMs, this.leaseCapAtMs());
  }

  private async blockPut(body: BodyOf<typeof BlockPut>, answer: Answer): Promise<void> {
    const what = `block ${body.id.slice(0, 16)}`;
    const auth = await verifyInsert(body.auth, [body.id, body.expiresAtMs, body.insertedBy], this.deps.trust, this.deps.clock.now(), this.certs);
    if (!auth.ok) return this.refuse(answer, ErrorCodes.NOT_AUTHORISED, `${what}: ${auth.reason}`, what);
    if (auth.kind === 'user' && auth.memberId !== body.insertedBy)
      return this.refuse(answer, ErrorCodes.NOT_AUTHORISED, `${what}: a user may insert only as itself`, what);
    const [r] = await acceptBlocks(this.deps.store(), [{ id: body.id, bytes: body.block, expiresAtMs: body.expiresAtMs, insertedBy: body.insertedBy }], this.acceptance());
    if (!r!.ok) return this.refuse(answer, r!.code, r!.message, what);
    if (r!.value.created) this.deps.metrics.inc('post_storage_blocks_stored_total', 'Blocks this replica stored');
    answer(StorageReply, { ok: true });
  }

  /** What a block must meet here: its inserter's quota, and the lease cap. */
  private acceptance(): { quotaBytes: number; leaseCapAtMs: number } {
    return { quotaBytes: this.deps.quotaBytes ?? QUOTA_BYTES_PER_MEMBER, leaseCapAtMs: this.leaseCapAtMs() };
  }

  /**
   * A repair offer (or an anti-entropy or pull page, which is one): which of the blocks are here; the
   * others (of those `wanted`, if given) are queued for fetching from the offering node, if its
   * signature shows it is one of the ring's.
   */
  async takeOffer(offer: { blocks: readonly OfferedBlock[]; verify: boolean; auth?: InsertAuthValue }, wanted?: (id: string) => boolean): Promise<OfferAnswer> {
    const store = this.deps.store();
    const held: boolean[] = [];
    const lacking: OfferedBlock[] = [];
    for (const b of offer.blocks) {
      // A listed page (a pull) may hold keys this node does not replicate: neither checked nor fetched.
      if (wanted && !wanted(b.id)) {
        held.push(false);
        continue;
      }
      let here: boolean;
      if (offer.verify) {
        const local = await getVerifiedBlock(store, b.id);
        // A rotten copy goes, so that the good one fetched from the offerer can take its place.
        if (local.status === 'corrupt') {
          this.deps.log.warn('storage.corrupt', { block: b.id, found: 'on a repair offer' });
          await store.deleteBlock(b.id);
        }
        here = local.status === 'ok';
      } else here = await store.hasBlock(b.id);
      held.push(here);
      if (!here) lacking.push(b);
    }
    if (lacking.length === 0) return { ok: true, held, queued: 0 };
    // Only now does the offer's word matter (the leases the copies will be kept under): check it.
    if (!offer.auth) return { ok: false, code: ErrorCodes.NOT_AUTHORISED, message: 'repair offer: not signed' };
    const auth = await verifyOffer(offer.auth, offerDigest(offer.blocks), this.deps.trust, this.deps.clock.now(), this.certs);
    if (!auth.ok) return { ok: false, code: ErrorCodes.NOT_AUTHORISED, message: `repair offer: ${auth.reason}` };
    return { ok: true, held, queued: this.deps.fetchOffered(auth.memberId, lacking) };
  }

  /**
   * Repair's bulk read: the blocks asked for, in order, up to REPAIR_BATCH_BYTES_MAX (the fetcher
   * verifies them), encoded straight from the store's buffers (no copy of each block of its own).
   */
  private async blocksGet(ids: string[], answer: Answer): Promise<void> {
    await this.deps.store().readBlocks(ids, REPAIR_BATCH_BYTES_MAX, (blocks) => answer(BlocksData, { blocks: blocks.map(({ id, bytes }) => ({ id, block: bytes })) }));
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

  private async objectPut(body: BodyOf<typeof ObjectPut>, answer: Answer): Promise<void> {
    const o = body.object;
    const what = `object ${o.objectId.slice(0, 16)}`;
    const auth = await verifyObjectInsert(body.auth, [o.objectId, o.seq, versionHash(o)], o.owner, this.deps.trust, this.deps.clock.now(), this.certs);
    if (!auth.ok) return this.refuse(answer, ErrorCodes.NOT_AUTHORISED, `${what}: ${auth.reason}`, what, ObjectPutReply);
    // A user writes only its own objects; nodes write for the CA (directory records) and repair.
    if (auth.kind === 'user' && Buffer.compare(Buffer.from(auth.signingKey), Buffer.from(o.owner)) !== 0)
      return this.refuse(answer, ErrorCodes.NOT_AUTHORISED, `${what}: a user may write only objects it owns`, what, ObjectPutReply);
    const store = this.deps.store();
    const checked = checkSignedObject(o); // once, however often the put is decided
    let decision = await applyObjectPut(store, o, body.replaces, this.stored, checked);
    // This replica is behind (it missed versions while down or before it became a replica): a verified
    // newer version is taken as repair; the writer's majority decides the compare-and-swap.
    if (!decision.accept && decision.code === ErrorCodes.CAS_MISMATCH && body.replaces !== undefined && (decision.current?.seq ?? 0) < body.replaces)
      decision = await applyObjectPut(store, o, undefined, this.stored, checked);
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
      this.stored.forget(objectId);
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

  private async refresh(body: BodyOf<typeof Refresh>, answer: Answer): Promise<void> {
    const digest = blake2b(body.ids.map((id) => Buffer.from(id, 'hex')));
    const auth = await verifyInsert(body.auth, [digest, body.expiresAtMs], this.deps.trust, this.deps.clock.now(), this.certs);
    if (!auth.ok) return this.refuse(answer, ErrorCodes.NOT_AUTHORISED, `lease refresh: ${auth.reason}`, 'refresh');
    const store = this.deps.store();
    const expires = this.capLease(body.expiresAtMs);
    for (const id of body.ids) await store.extendLease(id, expires);
    answer(StorageReply, { ok: true });
  }
}
