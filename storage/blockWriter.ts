// Data of any size -> convergently encrypted blocks + one root reference.
//
// The data is cut into fixed chunks (storage/chunker.ts); each chunk is sealed and handed to `put`
// at once, and only its 74-byte reference is kept. References gather into manifests of up to
// `manifestEntriesMax` entries; a full manifest is sealed and its reference goes one level up, like
// a B-tree filled left to right. At the end the partial levels are closed bottom-up (a level left
// with one reference passes it up unwrapped). The tree's shape depends only on the number of chunks,
// so the same data always gives the same blocks and root id. Memory: one chunk, the puts in flight,
// and at most one manifest's references per level.
//
// A message stored by parts (writeMailLayout) is several such data, one per large part, under a mail
// layout block (storage/mailLayout.ts) instead of a manifest.
//
// Ordering duty: a manifest (or layout) is put only after the puts of everything it references were
// started; the result resolves after every put resolved, so the root reference is handed out only
// when all of its blocks were acknowledged.
import { sealConvergent } from '../crypto/convergent';
import { BLOCK_CHUNK_BYTES_MAX, BLOCK_PUTS_IN_FLIGHT_MAX, BLOCK_TAG_BYTES, MAIL_LAYOUT_INLINE_BYTES_MAX, MAIL_LAYOUT_PARTS_MAX, MANIFEST_DEPTH_MAX, MANIFEST_ENTRIES_MAX } from '../protocol/limits';
import type { BlockKind, BlockRef } from './blockRef';
import { type DataSource, chunksOf } from './chunker';
import { encodeMailLayout, type LayoutSegment, type MailSegment } from './mailLayout';
import { encodeManifest, manifestTotalBytes } from './manifest';

/**
 * One sealed block for the caller to store; `bytes` hash to `id`. They belong to the callee, unless
 * the write uses `reuseBuffers`: then they are valid only until the put's promise settles.
 */
export interface BlockToStore {
  readonly id: string;
  readonly kind: BlockKind;
  readonly bytes: Uint8Array;
}

export type PutBlock = (block: BlockToStore) => Promise<void>;

export interface BlockLimits {
  /** Chunk size. Only the default converges with everybody else's blocks: override in tests only. */
  chunkBytesMax: number;
  /** Manifest fan-out. Same caveat. */
  manifestEntriesMax: number;
}

export const DEFAULT_BLOCK_LIMITS: BlockLimits = { chunkBytesMax: BLOCK_CHUNK_BYTES_MAX, manifestEntriesMax: MANIFEST_ENTRIES_MAX };

export interface WriteOptions {
  /** The ring's 32-byte convergence secret. */
  convergenceSecret: Uint8Array;
  put: PutBlock;
  /** Puts started but not yet resolved (default 4, at most BLOCK_PUTS_IN_FLIGHT_MAX). */
  putsInFlightMax?: number;
  /**
   * Seal into a few buffers reused once their put settled, instead of a fresh one per block (which
   * costs page faults: ~20% of throughput on big data). Only for a `put` that is done with the bytes
   * when it resolves (it wrote or sent them, and keeps no reference for background work).
   */
  reuseBuffers?: boolean;
  limits?: Partial<BlockLimits>;
}

export interface WriteResult {
  root: BlockRef;
  /** Puts made (a chunk repeated inside the data is put each time; stores treat repeats as no-ops). */
  blockCount: number;
  /** Ciphertext bytes put. */
  storedBytes: number;
}

export async function writeBlocks(data: DataSource, opts: WriteOptions): Promise<WriteResult> {
  return write(opts, (sink) => sealDatum(data, sink));
}

/**
 * A message by parts (storage/mailLayout.ts): each `part` segment is sealed as a datum of its own, the
 * inline ones go into the layout, sealed last; the root is the layout's 'mail' reference. The layout's
 * put starts once the puts of every part block started (so it goes out in parallel with them, within
 * the window), and the result resolves after every put resolved, as for a manifest. Without any part
 * segment this is writeBlocks over the segments' bytes: the same single datum as ever.
 */
export async function writeMailLayout(segments: readonly MailSegment[], opts: WriteOptions): Promise<WriteResult> {
  const pieces: MailSegment[] = [];
  for (const s of segments) {
    if (s.kind === 'part' && s.bytes.length === 0) throw new RangeError('a mail part holds at least one byte');
    const last = pieces.at(-1);
    if (s.kind === 'inline' && last?.kind === 'inline') pieces[pieces.length - 1] = { kind: 'inline', bytes: Buffer.concat([last.bytes, s.bytes]) };
    else if (s.bytes.length > 0) pieces.push(s);
  }
  const parts = pieces.filter((s) => s.kind === 'part').length;
  if (parts === 0) return writeBlocks(pieces[0]?.bytes ?? new Uint8Array(0), opts);
  // The caller (mail/mime/messageSegments.ts) keeps within the layout's bounds: check before storing anything.
  const inlineBytes = pieces.reduce((n, s) => n + (s.kind === 'inline' ? s.bytes.length : 0), 0);
  if (parts > MAIL_LAYOUT_PARTS_MAX || inlineBytes > MAIL_LAYOUT_INLINE_BYTES_MAX) {
    throw new RangeError(`a mail layout holds at most ${MAIL_LAYOUT_PARTS_MAX} parts and ${MAIL_LAYOUT_INLINE_BYTES_MAX} inline bytes, got ${parts} and ${inlineBytes}`);
  }
  return write(opts, async (sink) => {
    const layout: LayoutSegment[] = [];
    for (const s of pieces) layout.push(s.kind === 'inline' ? { inline: s.bytes } : { part: await sealDatum(s.bytes, sink) });
    const totalBytes = pieces.reduce((n, s) => n + s.bytes.length, 0);
    return sink.store('mail', encodeMailLayout({ totalBytes, segments: layout }), totalBytes);
  });
}

/** The root reference writeMailLayout would give `segments`, sealing them and storing nothing. */
export async function mailLayoutRef(segments: readonly MailSegment[], convergenceSecret: Uint8Array): Promise<BlockRef> {
  return (await writeMailLayout(segments, { convergenceSecret, put: async () => {} })).root;
}

/** One write: its limits, put window, buffers and counters, shared by every datum it seals. */
class BlockSink {
  blockCount = 0;
  storedBytes = 0;

  constructor(
    readonly limits: BlockLimits,
    private readonly convergenceSecret: Uint8Array,
    private readonly window: PutWindow,
    private readonly pool: BufferPool | undefined,
  ) {}

  /** Seal `plaintext` and start its put; resolves with its reference once the window has room again. */
  async store(kind: BlockKind, plaintext: Uint8Array, sizeBytes: number): Promise<BlockRef> {
    // Sealed synchronously: `plaintext` may be the chunker's reused buffer.
    const out = this.pool?.acquire(plaintext.length + BLOCK_TAG_BYTES);
    const sealed = sealConvergent(this.convergenceSecret, plaintext, out);
    const ref: BlockRef = { id: sealed.id.toString('hex'), key: sealed.key, kind, sizeBytes };
    this.blockCount++;
    this.storedBytes += sealed.ciphertext.length;
    await this.window.add({ id: ref.id, kind, bytes: sealed.ciphertext }, out && (() => this.pool!.release(out)));
    return ref;
  }
}

/** Seal one datum's chunks and manifests; resolves with its root once every one of its puts started. */
async function sealDatum(data: DataSource, sink: BlockSink): Promise<BlockRef> {
  const tree = new ManifestTree((entries) => sink.store('manifest', encodeManifest(entries), manifestTotalBytes(entries)), sink.limits.manifestEntriesMax);
  for await (const chunk of chunksOf(data, sink.limits.chunkBytesMax)) await tree.add(await sink.store('chunk', chunk, chunk.length));
  return tree.finish();
}

async function write(opts: WriteOptions, seal: (sink: BlockSink) => Promise<BlockRef>): Promise<WriteResult> {
  const limits = { ...DEFAULT_BLOCK_LIMITS, ...opts.limits };
  if (!(limits.chunkBytesMax >= 1 && limits.chunkBytesMax <= BLOCK_CHUNK_BYTES_MAX)) throw new RangeError(`chunkBytesMax out of range: ${limits.chunkBytesMax}`);
  if (!(limits.manifestEntriesMax >= 2 && limits.manifestEntriesMax <= MANIFEST_ENTRIES_MAX)) {
    throw new RangeError(`manifestEntriesMax out of range: ${limits.manifestEntriesMax}`);
  }
  const putsInFlightMax = Math.min(Math.max(1, opts.putsInFlightMax ?? 4), BLOCK_PUTS_IN_FLIGHT_MAX);
  const window = new PutWindow(opts.put, putsInFlightMax);
  const sink = new BlockSink(limits, opts.convergenceSecret, window, opts.reuseBuffers ? new BufferPool(putsInFlightMax + 1) : undefined);
  try {
    const root = await seal(sink);
    await window.drain();
    return { root, blockCount: sink.blockCount, storedBytes: sink.storedBytes };
  } finally {
    await window.settle();
  }
}

/** Levels of pending references; level 0 holds chunk references. */
class ManifestTree {
  private readonly levels: BlockRef[][] = [[]];

  constructor(
    private readonly sealManifest: (entries: BlockRef[]) => Promise<BlockRef>,
    private readonly fanout: number,
  ) {}

  async add(ref: BlockRef, level = 0): Promise<void> {
    const list = (this.levels[level] ??= []);
    list.push(ref);
    if (list.length === this.fanout) {
      this.levels[level] = [];
      await this.add(await this.seal(list, level), level + 1);
    }
  }

  /** Close the partial levels bottom-up; the last reference standing is the root. */
  async finish(): Promise<BlockRef> {
    for (let level = 0; level < this.levels.length; level++) {
      const refs = this.levels[level]!;
      const higher = this.levels.slice(level + 1).some((l) => l.length > 0);
      if (!higher && refs.length === 1) return refs[0]!;
      this.levels[level] = [];
      if (refs.length === 1) await this.add(refs[0]!, level + 1);
      else if (refs.length > 1) await this.add(await this.seal(refs, level), level + 1);
    }
    throw new Error('ManifestTree.finish: no blocks were added');
  }

  private seal(entries: BlockRef[], level: number): Promise<BlockRef> {
    if (level + 1 > MANIFEST_DEPTH_MAX) throw new RangeError(`data needs more than ${MANIFEST_DEPTH_MAX} manifest levels`);
    return this.sealManifest(entries);
  }
}

/** Bounded concurrency for puts; the first failure fails the write. */
class PutWindow {
  private readonly inFlight = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly put: PutBlock,
    private readonly max: number,
  ) {}

  /** Start a put; `settled` runs once it resolved or failed (to recycle its buffer). */
  async add(block: BlockToStore, settled?: () => void): Promise<void> {
    this.throwIfFailed();
    let started: Promise<void>;
    try {
      started = this.put(block);
    } catch (e) {
      started = Promise.reject(e);
    }
    const tracked: Promise<void> = started.then(
      () => {
        this.inFlight.delete(tracked);
        settled?.();
      },
      (error) => {
        this.inFlight.delete(tracked);
        this.failure ??= { error };
        settled?.();
      },
    );
    this.inFlight.add(tracked);
    while (this.inFlight.size >= this.max) await Promise.race(this.inFlight);
    this.throwIfFailed();
  }

  async drain(): Promise<void> {
    await this.settle();
    this.throwIfFailed();
  }

  /** Wait for every put in flight, whatever its outcome (never rejects). */
  async settle(): Promise<void> {
    await Promise.all(this.inFlight);
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }
}

/** Ciphertext buffers recycled between puts (reuseBuffers): at most `keepMax` are kept free. */
class BufferPool {
  private readonly free: Buffer[] = [];

  constructor(private readonly keepMax: number) {}

  acquire(sizeBytes: number): Buffer {
    const at = this.free.findIndex((b) => b.length >= sizeBytes);
    return at >= 0 ? this.free.splice(at, 1)[0]! : Buffer.allocUnsafeSlow(sizeBytes);
  }

  release(buffer: Buffer): void {
    if (this.free.length < this.keepMax) this.free.push(buffer);
  }
}
