// The StorageApi in memory, with the ring's semantics but one copy: blocks are checked against their
// hash on put and on get, data is convergently encrypted and chunked exactly as the ring does it,
// signed objects go through the replica's acceptance rule (decidePut: signatures, compare-and-swap,
// forks). For tests, benchmarks and the simulator; not durable.
//
// Fault injection: `failNext(n)` fails the next n calls (UNAVAILABLE by default), `unavailable` fails
// every call, and `beforeCall` is awaited first by every call: a test delays calls there (on its
// clock) or interleaves concurrent callers (yield a seeded random number of microtasks). `calls`
// counts every call by kind, so a test can prove what an operation cost.
import { blockError, type ErrorCode, ErrorCodes, PostError } from '../../protocol/errors';
import { BLOCK_BYTES_MAX, CONVERGENCE_SECRET_BYTES } from '../../protocol/limits';
import type { ObjectPutResult, PutOptions, StorageApi } from '../api';
import { blockIdOf, type BlockRef, type DataSource, type MailSegment, matchesBlockId, readBlockData, readBlocks, type WriteOptions, writeBlocks, mailLayoutRef, writeMailLayout } from '../blocks';
import { decidePut, type SignedObject } from '../signedObject';
import { encodeSignedObject } from '../signedObjectCodec';

export type StorageCall = 'putData' | 'putMail' | 'getData' | 'readData' | 'putBlock' | 'getBlock' | 'putObject' | 'getObject' | 'refresh';

const CALLS: readonly StorageCall[] = ['putData', 'putMail', 'getData', 'readData', 'putBlock', 'getBlock', 'putObject', 'getObject', 'refresh'];

export interface MemoryStorageOptions {
  /** The ring's convergence secret (32 bytes); a fixed test secret by default. */
  readonly convergenceSecret?: Uint8Array;
  /** Awaited at the start of every call: latency, or interleaving of concurrent callers. */
  readonly beforeCall?: (call: StorageCall) => Promise<void> | void;
}

export type CallCounts = Record<StorageCall, number>;

const zeroCounts = (): CallCounts => Object.fromEntries(CALLS.map((c) => [c, 0])) as CallCounts;

export class MemoryStorage implements StorageApi {
  private readonly blocks = new Map<string, Uint8Array>();
  /** Encoded form (what a replica keeps, scanned by tests) and the version, verified when it was put. */
  private readonly objects = new Map<string, { bytes: Uint8Array; version: SignedObject }>();
  private readonly leases = new Map<string, number>();
  private readonly convergenceSecret: Uint8Array;
  private failures: { remaining: number; code: ErrorCode } = { remaining: 0, code: ErrorCodes.UNAVAILABLE };
  /** Calls made, by kind (reset with resetCalls). Internal block writes of putData are not counted as putBlock. */
  calls: CallCounts = zeroCounts();
  /** While true, every call fails UNAVAILABLE (a partition from every replica). */
  unavailable = false;

  constructor(private readonly options: MemoryStorageOptions = {}) {
    const secret = options.convergenceSecret ?? Buffer.alloc(CONVERGENCE_SECRET_BYTES, 7);
    if (secret.length !== CONVERGENCE_SECRET_BYTES) throw new RangeError(`convergence secret must be ${CONVERGENCE_SECRET_BYTES} bytes`);
    this.convergenceSecret = secret;
  }

  // ---- fault injection and inspection (tests) --------------------------------------------------

  /** Fail the next `count` calls with `code` (then behave normally again). */
  failNext(count: number, code: ErrorCode = ErrorCodes.UNAVAILABLE): void {
    this.failures = { remaining: count, code };
  }

  resetCalls(): void {
    this.calls = zeroCounts();
  }

  /** Total of the counted calls (optionally only some kinds). */
  callTotal(kinds: readonly StorageCall[] = CALLS): number {
    return kinds.reduce((n, k) => n + this.calls[k], 0);
  }

  get blockCount(): number {
    return this.blocks.size;
  }

  /** Every byte string held (blocks and encoded objects): tests scan these for secrets in clear. */
  *storedBytes(): Generator<Uint8Array> {
    yield* this.blocks.values();
    for (const o of this.objects.values()) yield o.bytes;
  }

  /** Flip one bit of a stored block, as bit rot on every replica would: reads then fail BLOCK_CORRUPT. */
  corruptBlock(id: string): void {
    const bytes = this.blocks.get(id);
    if (!bytes) throw new Error(`corruptBlock: no block ${id}`);
    bytes[bytes.length >> 1]! ^= 0x01;
  }

  /** The lease (ms) the last put or refresh of a block asked for, if any: no clock here, nothing expires. */
  leaseOf(id: string): number | undefined {
    return this.leases.get(id);
  }

  // ---- StorageApi -------------------------------------------------------------------------------

  private async enter(call: StorageCall): Promise<void> {
    this.calls[call]++;
    await this.options.beforeCall?.(call);
    if (this.unavailable) throw new PostError(ErrorCodes.UNAVAILABLE, `storage unavailable (${call}): no replica answered; retry later`);
    if (this.failures.remaining > 0) {
      this.failures.remaining--;
      throw new PostError(this.failures.code, `injected ${this.failures.code} on ${call}`);
    }
  }

  private storeBlock(id: string, bytes: Uint8Array, opts?: PutOptions): void {
    if (!this.blocks.has(id)) this.blocks.set(id, Uint8Array.from(bytes));
    if (opts?.leaseMs !== undefined) this.leases.set(id, opts.leaseMs);
  }

  private fetchBlock = async (id: string): Promise<Uint8Array | undefined> => {
    const bytes = this.blocks.get(id);
    if (!bytes) return undefined;
    return Uint8Array.from(bytes);
  };

  async putData(data: DataSource, opts?: PutOptions): Promise<BlockRef> {
    await this.enter('putData');
    return (await writeBlocks(data, this.writeOptions(opts))).root;
  }

  async putMail(segments: readonly MailSegment[], opts?: PutOptions): Promise<BlockRef> {
    await this.enter('putMail');
    return (await writeMailLayout(segments, this.writeOptions(opts))).root;
  }

  async mailRefOf(segments: readonly MailSegment[]): Promise<BlockRef> {
    return mailLayoutRef(segments, this.convergenceSecret);
  }

  private writeOptions(opts?: PutOptions): WriteOptions {
    return { convergenceSecret: this.convergenceSecret, put: async (block) => this.storeBlock(block.id, block.bytes, opts) };
  }

  async getData(ref: BlockRef, opts?: { maxBytes?: number }): Promise<Buffer> {
    await this.enter('getData');
    const r = await readBlockData(ref, this.fetchBlock, opts?.maxBytes === undefined ? {} : { maxBytes: opts.maxBytes });
    if (!r.ok) throw blockError(r.code, r.blockId, r.message);
    return r.data;
  }

  async *readData(ref: BlockRef): AsyncGenerator<Buffer> {
    await this.enter('readData');
    yield* readBlocks(ref, this.fetchBlock);
  }

  async putBlock(bytes: Uint8Array, opts?: PutOptions): Promise<string> {
    await this.enter('putBlock');
    if (bytes.length > BLOCK_BYTES_MAX) throw new PostError(ErrorCodes.DATA_TOO_LARGE, `block of ${bytes.length} bytes exceeds ${BLOCK_BYTES_MAX}`);
    const id = blockIdOf(bytes).toString('hex');
    this.storeBlock(id, bytes, opts);
    return id;
  }

  async getBlock(id: string): Promise<Uint8Array> {
    await this.enter('getBlock');
    const bytes = this.blocks.get(id);
    if (!bytes) throw blockError(ErrorCodes.BLOCK_MISSING, id, `block ${id} was not found on any replica`);
    if (!matchesBlockId(Buffer.from(id, 'hex'), bytes)) throw blockError(ErrorCodes.BLOCK_CORRUPT, id, `block ${id}: no replica holds a copy that hashes to its id`);
    return Uint8Array.from(bytes);
  }

  async putObject(object: SignedObject, replacesSeq: number): Promise<ObjectPutResult> {
    await this.enter('putObject');
    const decision = decidePut(this.objects.get(object.objectId)?.version, object, replacesSeq);
    if (!decision.accept) {
      return { ok: false, code: decision.code, message: decision.message, ...(decision.current ? { current: copyOf(decision.current) } : {}) };
    }
    const bytes = encodeSignedObject(object);
    this.objects.set(object.objectId, { bytes, version: copyOf(object) });
    return { ok: true };
  }

  async getObject(objectId: string): Promise<SignedObject | undefined> {
    await this.enter('getObject');
    return this.storedObject(objectId);
  }

  async refresh(blockIds: readonly string[], opts?: PutOptions): Promise<void> {
    await this.enter('refresh');
    for (const id of blockIds) if (this.blocks.has(id) && opts?.leaseMs !== undefined) this.leases.set(id, opts.leaseMs);
  }

  /** A copy of the stored version (verified by decidePut when it was put; memory does not rot). */
  private storedObject(objectId: string): SignedObject | undefined {
    const stored = this.objects.get(objectId);
    return stored && copyOf(stored.version);
  }
}

/** Callers never share the store's buffers. */
const copyOf = (o: SignedObject): SignedObject => ({
  ...o,
  owner: Uint8Array.from(o.owner),
  prev: Uint8Array.from(o.prev),
  payload: Uint8Array.from(o.payload),
  signature: Uint8Array.from(o.signature),
});
