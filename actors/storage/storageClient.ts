// The storage service for one inserting member (a user or this node): StorageApi over the ring.
// Writes go to all k replicas and succeed at a majority; reads ask the nearest replica first and fall
// back; everything read is verified. Lost requests are retried: every request is idempotent.
import { blockIdOf, matchesBlockId } from '../../crypto/convergent';
import type { BlockCache } from '../../infra/store/blockCache';
import { blake2b } from '../../crypto/hash';
import { signInsert, signObjectInsert, type StorageSigner } from '../../crypto/insertAuth';
import type { Clock } from '../../infra/ports';
import { type ErrorCode, errorCodeOf, ErrorCodes, PostError } from '../../protocol/errors';
import { STORAGE_BATCH_IDS_MAX, type StorageTimings } from '../../protocol/limits';
import { BlockData, BlockGet, BlockPut, ObjectData, ObjectGet, ObjectPut, ObjectPutReply, Refresh, StorageReply } from '../../protocol/storage';
import type { ObjectPutResult, PutOptions, StorageApi } from '../../storage/api';
import { type BlockRef, type DataSource, type MailSegment, readBlockData, readBlocks, type WriteOptions, writeBlocks, mailLayoutRef, writeMailLayout } from '../../storage/blocks';
import { checkSignedObject, distinctVersions, type SignedObject, versionHash } from '../../storage/signedObject';
import { majority } from '../../overlay/placement';
import type { Peers } from './peers';
import { runRead, runWrite, type WriteAnswer } from './sessions';

export interface ClientDeps {
  readonly peers: Peers;
  readonly clock: Clock;
  readonly timings: StorageTimings;
  readonly replicationFactor: number;
  readonly convergenceSecret: Uint8Array;
  /** The k (+ extra) nodes nearest an id, nearest first (local view or asked of the id's root). */
  readonly locate: (id: string, extra: number) => Promise<string[]>;
  /**
   * This node's id: a block read asks this node first when it is one of the candidates (its own store
   * answers over the local loop, without NATS); the copy is verified like any other.
   */
  readonly selfId?: string;
  /**
   * The host block cache: blocks read from (or written to) other nodes are kept here, and a read
   * looks here first; every copy is verified against its id like a replica's. Absent for repair,
   * which must see what the replicas hold.
   */
  readonly blockCache?: BlockCache;
  /**
   * This node's own replica store, read directly (no frame, no local loop): a block it holds and that
   * verifies is used at once. A copy that does not verify is left to the ordinary read, which asks
   * this node first and so has the replica report and drop it.
   */
  readonly readOwnBlock?: (id: string) => Promise<Uint8Array | undefined>;
  /** Told of every replicated read and write: what, whether it succeeded, how long it took (metrics). */
  readonly observe?: (op: StorageOp, ok: boolean, ms: number) => void;
}

export type StorageOp = 'putBlock' | 'getBlock' | 'putObject' | 'getObject' | 'refresh';

/** Extra candidates a reader asks after the k replicas, for the window before repair completes. */
const READ_EXTRA_CANDIDATES = 3;

export class StorageClient implements StorageApi {
  constructor(
    private readonly deps: ClientDeps,
    readonly signer: StorageSigner,
  ) {}

  /** Run a replicated operation and report it to `observe`. */
  private async timed<T>(op: StorageOp, run: () => Promise<T>, succeeded: (value: T) => boolean = () => true): Promise<T> {
    const observe = this.deps.observe;
    if (!observe) return run();
    const started = performance.now();
    try {
      const value = await run();
      observe(op, succeeded(value), performance.now() - started);
      return value;
    } catch (e) {
      observe(op, false, performance.now() - started);
      throw e;
    }
  }

  private get k(): number {
    return this.deps.replicationFactor;
  }

  private leaseEnd(opts?: PutOptions): number {
    return Math.floor(this.deps.clock.now() + (opts?.leaseMs ?? this.deps.timings.leaseMs));
  }

  // ---- data and blocks --------------------------------------------------------------------------

  async putData(data: DataSource, opts?: PutOptions): Promise<BlockRef> {
    return (await writeBlocks(data, this.writeOptions(opts))).root;
  }

  async putMail(segments: readonly MailSegment[], opts?: PutOptions): Promise<BlockRef> {
    return (await writeMailLayout(segments, this.writeOptions(opts))).root;
  }

  async mailRefOf(segments: readonly MailSegment[]): Promise<BlockRef> {
    return mailLayoutRef(segments, this.deps.convergenceSecret);
  }

  private writeOptions(opts?: PutOptions): WriteOptions {
    return { convergenceSecret: this.deps.convergenceSecret, put: async (b) => void (await this.putBlockAs(b.id, b.bytes, this.leaseEnd(opts), this.signer.id)) };
  }

  async getData(ref: BlockRef, opts?: { maxBytes?: number }): Promise<Buffer> {
    const r = await readBlockData(ref, (id) => this.fetchBlock(id), opts);
    if (!r.ok) throw new PostError(r.code, r.message);
    return r.data;
  }

  readData(ref: BlockRef): AsyncGenerator<Buffer> {
    return readBlocks(ref, (id) => this.fetchBlock(id));
  }

  async putBlock(bytes: Uint8Array, opts?: PutOptions): Promise<string> {
    const id = blockIdOf(bytes).toString('hex');
    await this.putBlockAs(id, bytes, this.leaseEnd(opts), this.signer.id);
    return id;
  }

  async getBlock(id: string): Promise<Uint8Array> {
    const block = await this.fetchBlock(id);
    if (!block) throw new PostError(ErrorCodes.BLOCK_MISSING, `no replica has a good copy of block ${id.slice(0, 16)}`);
    return block;
  }

  /** Blocks are read nearest first; when none of the nearest answered, say unreachable rather than missing. */

  /** Write one block to its replicas under a given lease and inserter (repair uses another inserter). */
  putBlockAs(id: string, bytes: Uint8Array, expiresAtMs: number, insertedBy: string, targets?: readonly string[]): Promise<readonly string[]> {
    return this.timed('putBlock', () => this.putBlockTo(id, bytes, expiresAtMs, insertedBy, targets));
  }

  private async putBlockTo(id: string, bytes: Uint8Array, expiresAtMs: number, insertedBy: string, targets?: readonly string[]): Promise<readonly string[]> {
    const nodes = targets ?? (await this.deps.locate(id, 0)).slice(0, this.k);
    const auth = await signInsert(this.signer, [id, expiresAtMs, insertedBy]);
    const frame = BlockPut.encode({ id, block: bytes, expiresAtMs, insertedBy, auth });
    const outcome = await runWrite({ targets: nodes, quorum: majority(Math.min(this.k, nodes.length)), attemptsMax: this.deps.timings.attemptsMax }, async (node) =>
      answerOf(await this.deps.peers.requestBatched(node, frame, StorageReply, this.deps.timings.requestTimeoutMs)),
    );
    if (!outcome.ok) throw new PostError(outcome.code, `storing block ${id.slice(0, 16)}: ${outcome.message}`);
    if (!targets) this.cacheBlock(id, bytes, nodes);
    return outcome.acked;
  }

  /** A block, hash-verified; undefined when no candidate has a good copy. */
  async fetchBlock(id: string, exclude: readonly string[] = []): Promise<Uint8Array | undefined> {
    const near = exclude.length === 0 ? ((await this.ownBlock(id)) ?? this.cachedBlock(id)) : undefined;
    if (near) return near;
    return this.timed('getBlock', () => this.fetchBlockFrom(id, exclude), (block) => block !== undefined);
  }

  /** This node's replica copy when it verifies; undefined when there is none (or the store is not open now). */
  private async ownBlock(id: string): Promise<Uint8Array | undefined> {
    const read = this.deps.readOwnBlock;
    if (!read) return undefined;
    let copy: Uint8Array | undefined;
    try {
      copy = await read(id);
    } catch (e) {
      if (e instanceof PostError) return undefined; // the store is failed or reopening: the ring has it
      throw e;
    }
    return copy && matchesBlockId(Buffer.from(id, 'hex'), copy) ? copy : undefined;
  }

  /** The host cache's copy when it verifies; a copy that does not is dropped (the ring is read instead). */
  private cachedBlock(id: string): Uint8Array | undefined {
    const cache = this.deps.blockCache;
    const copy = cache?.get(id);
    if (!copy) return undefined;
    if (matchesBlockId(Buffer.from(id, 'hex'), copy)) return copy;
    cache!.delete(id);
    return undefined;
  }

  /** Keeps a verified block in the host cache unless this node is one of its replicas (it has it anyway). */
  private cacheBlock(id: string, bytes: Uint8Array, holders: readonly string[]): void {
    const cache = this.deps.blockCache;
    if (cache && !(this.deps.selfId !== undefined && holders.includes(this.deps.selfId))) cache.put(id, bytes);
  }

  private async fetchBlockFrom(id: string, exclude: readonly string[]): Promise<Uint8Array | undefined> {
    const candidates = localFirst((await this.deps.locate(id, READ_EXTRA_CANDIDATES)).filter((n) => !exclude.includes(n)), this.deps.selfId);
    const { value, outcome } = await runRead<Uint8Array>({ candidates, mode: 'first', attemptsMax: this.deps.timings.attemptsMax }, async (node) => {
      const r = await this.deps.peers.request(node, BlockGet, { id }, BlockData, this.deps.timings.requestTimeoutMs);
      if (!r.ok) return { kind: 'lost' };
      if (!r.body.found || !r.body.block) return { kind: 'missing' };
      return blockIdOf(r.body.block).toString('hex') === id ? { kind: 'got', value: r.body.block, rank: 0 } : { kind: 'bad' };
    });
    if (value && exclude.length === 0 && outcome.from !== undefined) this.cacheBlock(id, value, [outcome.from]);
    return value;
  }

  // ---- signed objects ---------------------------------------------------------------------------

  async putObject(object: SignedObject, replacesSeq: number): Promise<ObjectPutResult> {
    return this.putObjectTo(object, replacesSeq);
  }

  /** A put of a signed object; `replacesSeq` undefined is a repair put (store if newer). */
  putObjectTo(object: SignedObject, replacesSeq: number | undefined, targets?: readonly string[]): Promise<ObjectPutResult & { acked?: readonly string[] }> {
    return this.timed('putObject', () => this.putObjectAt(object, replacesSeq, targets), (r) => r.ok);
  }

  private async putObjectAt(object: SignedObject, replacesSeq: number | undefined, targets?: readonly string[]): Promise<ObjectPutResult & { acked?: readonly string[] }> {
    // Not verified here: the writer just signed it (or repair read it verified); every replica verifies it.
    const nodes = targets ?? (await this.deps.locate(object.objectId, 0)).slice(0, this.k);
    const auth = await signObjectInsert(this.signer, object.owner, [object.objectId, object.seq, versionHash(object)]);
    const frame = ObjectPut.encode({ object, replaces: replacesSeq, auth });
    const outcome = await runWrite({ targets: nodes, quorum: majority(Math.min(this.k, nodes.length)), attemptsMax: this.deps.timings.attemptsMax }, async (node) => {
      const r = await this.deps.peers.requestBatched(node, frame, ObjectPutReply, this.deps.timings.requestTimeoutMs);
      if (!r.ok) return { kind: 'lost', code: r.code };
      if (r.body.ok) return { kind: 'ack' };
      const current = r.body.current && checkSignedObject(r.body.current).ok ? r.body.current : undefined;
      return { kind: 'refused', refusal: { code: errorCodeOf(r.body.code, ErrorCodes.UNAVAILABLE), message: r.body.message ?? 'refused', detail: current } };
    });
    if (outcome.ok) return { ok: true, acked: outcome.acked };
    // The newest verified version any refusing replica reported: what the writer should re-read.
    let current: SignedObject | undefined;
    for (const r of Object.values(outcome.refusals)) {
      const c = r.detail as SignedObject | undefined;
      if (c && (!current || c.seq > current.seq)) current = c;
    }
    const mayHold = Object.keys(outcome.refusals).length < nodes.length;
    return { ok: false, code: outcome.code, message: outcome.message, ...(current ? { current } : {}), ...(mayHold ? { mayHold: true as const } : {}) };
  }

  /**
   * The newest verified version, or undefined when the object does not exist: a majority of its
   * replicas said so. When too few answered to tell "absent" from "unreachable", UNAVAILABLE.
   */
  getObject(objectId: string): Promise<SignedObject | undefined> {
    return this.timed('getObject', () => this.newestObject(objectId));
  }

  getObjectVersions(objectId: string): Promise<SignedObject[]> {
    return this.timed('getObject', async () => {
      const { all } = await this.readObjectFrom(objectId, (await this.deps.locate(objectId, 0)).slice(0, this.k));
      return distinctVersions(all, objectId);
    });
  }

  private async newestObject(objectId: string): Promise<SignedObject | undefined> {
    const candidates = (await this.deps.locate(objectId, 0)).slice(0, this.k);
    const first = await this.readObjectFrom(objectId, candidates);
    if (first.value) return first.value;
    // None of the k replicas has it: look a little further (a membership change not yet repaired).
    const wider = (await this.deps.locate(objectId, READ_EXTRA_CANDIDATES)).filter((n) => !candidates.includes(n));
    const second = await this.readObjectFrom(objectId, wider);
    if (second.value) return second.value;
    if (first.outcome.misses.length + first.outcome.bad.length < majority(Math.max(1, candidates.length)))
      throw new PostError(ErrorCodes.UNAVAILABLE, `object ${objectId.slice(0, 16)}: only ${first.outcome.misses.length} of ${candidates.length} replicas answered; cannot tell whether it exists`);
    return undefined;
  }

  private async readObjectFrom(objectId: string, candidates: readonly string[]) {
    return runRead<SignedObject>({ candidates, mode: 'all', attemptsMax: this.deps.timings.attemptsMax }, async (node) => {
      const r = await this.deps.peers.request(node, ObjectGet, { objectId }, ObjectData, this.deps.timings.requestTimeoutMs);
      if (!r.ok) return { kind: 'lost' };
      if (!r.body.found || !r.body.object) return { kind: 'missing' };
      const o = r.body.object;
      return o.objectId === objectId && checkSignedObject(o).ok ? { kind: 'got', value: o, rank: o.seq } : { kind: 'bad' };
    });
  }

  // ---- leases -------------------------------------------------------------------------------------

  refresh(blockIds: readonly string[], opts?: PutOptions): Promise<void> {
    return this.timed('refresh', () => this.refreshLeases(blockIds, opts));
  }

  private async refreshLeases(blockIds: readonly string[], opts?: PutOptions): Promise<void> {
    const expiresAtMs = this.leaseEnd(opts);
    const byNode = new Map<string, string[]>();
    for (const id of blockIds) for (const node of (await this.deps.locate(id, 0)).slice(0, this.k)) byNode.set(node, [...(byNode.get(node) ?? []), id]);
    const failed: string[] = [];
    await Promise.all(
      [...byNode].map(async ([node, ids]) => {
        for (let i = 0; i < ids.length; i += STORAGE_BATCH_IDS_MAX) {
          const batch = ids.slice(i, i + STORAGE_BATCH_IDS_MAX);
          const digest = blake2b(batch.map((id) => Buffer.from(id, 'hex')));
          const auth = await signInsert(this.signer, [digest, expiresAtMs]);
          let ok = false;
          for (let attempt = 0; attempt < this.deps.timings.attemptsMax && !ok; attempt++) {
            const r = await this.deps.peers.request(node, Refresh, { ids: batch, expiresAtMs, auth }, StorageReply, this.deps.timings.requestTimeoutMs);
            ok = r.ok && r.body.ok;
            if (r.ok && !r.body.ok) break;
          }
          if (!ok) failed.push(node);
        }
      }),
    );
    if (failed.length * 2 >= byNode.size && byNode.size > 0)
      throw new PostError(ErrorCodes.UNAVAILABLE, `lease refresh failed on ${failed.length} of ${byNode.size} replicas`);
  }
}

/**
 * The candidates with this node first when it is one: its copy costs no network round trip (a SEARCH
 * BODY reads every message of a folder; with k = 3 of 5 nodes, 3 blocks in 5 are here). A miss here
 * costs one local lookup before the nearest replica is asked, as before.
 */
export function localFirst(candidates: readonly string[], selfId: string | undefined): readonly string[] {
  const at = selfId === undefined ? -1 : candidates.indexOf(selfId);
  return at <= 0 ? candidates : [candidates[at]!, ...candidates.slice(0, at), ...candidates.slice(at + 1)];
}

function answerOf(r: { ok: true; body: { ok: boolean; code?: string; message?: string } } | { ok: false; code: ErrorCode; message: string }): WriteAnswer {
  if (!r.ok) return { kind: 'lost', code: r.code };
  if (r.body.ok) return { kind: 'ack' };
  return { kind: 'refused', refusal: { code: errorCodeOf(r.body.code, ErrorCodes.UNAVAILABLE), message: r.body.message ?? 'refused' } };
}
