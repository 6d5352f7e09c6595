// One log's footprint in the ring, written by the real log code: every appended operation goes
// through storage/log/nextHead.ts (the pending batch in the head, entry blocks sealed when it
// overflows, a snapshot every LOG_SNAPSHOT_EVERY_ENTRIES entries), exactly as a LogWriter does for an
// append of one operation, with a StorageApi that only places the blocks it is given. The head is
// sealed and signed with the real formats when its size is asked for (at a month's end): only the
// newest version of a head is kept by replicas. Blocks a new snapshot supersedes are no longer
// refreshed by their owner (LogWriter.liveBlockIds): they leave once their lease runs out.
import { blockIdOf } from '../../crypto/convergent';
import type { SigningKeyPair } from '../../crypto/sign';
import type { Random } from '../../infra/ports';
import { LOG_PENDING_BYTES_MAX, LOG_PENDING_OPS_MAX, STORAGE_LEASE_MS, STORAGE_REFRESH_INTERVAL_MS } from '../../protocol/limits';
import type { SignedObject } from '../../protocol/objects';
import type { StorageApi } from '../../storage/api';
import type { LogAddress } from '../../storage/log/logAddress';
import { emptyHeadBody, type LogHeadBody, OP_FRAMING_BYTES, sealHeadBody } from '../../storage/log/logFormat';
import { nextHeadBody, planNextHead } from '../../storage/log/nextHead';
import { signObjectVersion } from '../../storage/signedObject';
import { encodeSignedObject } from '../../storage/signedObjectCodec';
import type { Ledger } from './ledger';
import type { LogStateKeeper } from './logStates';

/** A superseded block is gone at most a lease after its owner's last refresh. */
const SUPERSEDED_BLOCK_KEPT_MS = STORAGE_LEASE_MS + STORAGE_REFRESH_INTERVAL_MS;

/** Superseded log blocks in the order they stop being refreshed (time only grows). */
export class ExpiryQueue {
  private readonly items: { atMs: number; id: string; bytes: number }[] = [];
  private head = 0;

  push(atMs: number, id: string, bytes: number): void {
    this.items.push({ atMs, id, bytes });
  }

  /** Take every block whose lease ran out by `nowMs` off the ledger. */
  collect(nowMs: number, ledger: Ledger): void {
    while (this.head < this.items.length && this.items[this.head]!.atMs <= nowMs) {
      const { id, bytes } = this.items[this.head++]!;
      ledger.add('logBlocks', id, -bytes);
    }
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
  }
}

export interface LogEnv {
  /** Nonces for sealing (seeded: the same run seals the same bytes). */
  readonly random: Random;
  readonly ledger: Ledger;
  readonly expiring: ExpiryQueue;
  now(): number;
}

const unused = (what: string) => (): never => {
  throw new Error(`LogAccount: the log code called ${what}, which appending never does`);
};

export class LogAccount<Op, K extends LogStateKeeper<Op> = LogStateKeeper<Op>> {
  private body: LogHeadBody;
  /** Head versions written: one per append that changed something (its sequence number). */
  private heads = 0;
  /** Encoded operations appended but not yet given to nextHeadBody (they stay in the pending batch). */
  private held: Uint8Array[] = [];
  /** Operations and their bytes in the pending batch, held ones included. */
  private pendingOps = 0;
  private pendingBytes = 0;
  /** Blocks the owner still refreshes: snapshot pieces and entries since the snapshot. */
  private readonly live = new Map<string, number>();
  private readonly storage: StorageApi;
  /** Blocks put for this log (entries and snapshot pieces), live or not. */
  readonly blocksPut = { count: 0, bytes: 0 };

  constructor(
    readonly address: LogAddress,
    private readonly signing: SigningKeyPair,
    readonly keeper: K,
    private readonly env: LogEnv,
  ) {
    this.body = emptyHeadBody(keeper.kind, address.name, keeper.summaryWire());
    this.storage = {
      putBlock: async (bytes) => {
        const id = blockIdOf(bytes).toString('hex');
        this.blocksPut.count++;
        this.blocksPut.bytes += bytes.length;
        if (!this.live.has(id)) {
          this.live.set(id, bytes.length);
          env.ledger.add('logBlocks', id, bytes.length);
        }
        return id;
      },
      putData: unused('putData'),
      putMail: unused('putMail'),
      mailRefOf: unused('mailRefOf'),
      getData: unused('getData'),
      readData: unused('readData'),
      getBlock: unused('getBlock'),
      putObject: unused('putObject'),
      getObject: unused('getObject'),
      refresh: unused('refresh'),
    };
  }

  /** Head versions written so far (the newest one's sequence number). */
  get headsWritten(): number {
    return this.heads;
  }

  /**
   * Append operations as one LogWriter.append(ops) writes them (one head); false when none changes
   * anything, so nothing is written. An append that only adds to the head's pending batch is held
   * here and handed to nextHeadBody with the next one that flushes (or when the head is measured):
   * the same bodies come out, with one call instead of fifty. Whether an append flushes is the test
   * nextHeadBody makes; the calibration's one-op appends against the real LogWriter check it.
   */
  async append(...ops: Op[]): Promise<boolean> {
    const encoded: Uint8Array[] = [];
    for (const op of ops) {
      const bytes = this.keeper.encodeOp(op);
      if (this.keeper.apply(op, bytes)) encoded.push(bytes);
    }
    if (encoded.length === 0) return false;
    this.heads++;
    const count = this.pendingOps + encoded.length;
    const bytes = this.pendingBytes + encoded.reduce((n, op) => n + op.length + OP_FRAMING_BYTES, 0);
    if (count <= LOG_PENDING_OPS_MAX && bytes <= LOG_PENDING_BYTES_MAX) {
      this.held.push(...encoded);
      this.pendingOps = count;
      this.pendingBytes = bytes;
      return true;
    }
    await this.writeHeld();
    await this.write(encoded);
    this.pendingOps = this.body.pending.length;
    this.pendingBytes = this.body.pending.reduce((n, op) => n + op.length + OP_FRAMING_BYTES, 0);
    return true;
  }

  private async writeHeld(): Promise<void> {
    if (this.held.length === 0) return;
    const held = this.held;
    this.held = [];
    await this.write(held);
  }

  private async write(ops: readonly Uint8Array[]): Promise<void> {
    const snapshotBefore = this.body.snapshot;
    this.body = await nextHeadBody({
      storage: this.storage,
      address: this.address,
      random: this.env.random,
      base: this.body,
      ops,
      summary: this.keeper.summaryWire(),
      ...(planNextHead(this.body, ops).snapshotDue ? { stateBytes: this.keeper.stateBytes() } : {}),
    });
    if (this.body.snapshot !== snapshotBefore) this.dropSuperseded();
  }

  /** Bytes of the newest head as a replica stores it (sealed body, signed, encoded); 0 if never written. */
  async headBytes(): Promise<number> {
    if (this.heads === 0) return 0;
    await this.writeHeld();
    const payload = sealHeadBody(this.address, this.body, this.env.random);
    const previous = this.heads > 1 ? this.placeholderVersion(this.heads - 1) : undefined;
    const head = await signObjectVersion({ keys: this.signing, name: this.address.objectName, payload, ...(previous ? { previous } : {}) });
    return encodeSignedObject(head).length;
  }

  private dropSuperseded(): void {
    const keep = new Set([...(this.body.snapshot?.blocks ?? []), ...this.body.tail.map((t) => t.id)]);
    for (const [id, bytes] of this.live) {
      if (keep.has(id)) continue;
      this.live.delete(id);
      this.env.expiring.push(this.env.now() + SUPERSEDED_BLOCK_KEPT_MS, id, bytes);
    }
  }

  /** The version before the newest: only its sequence (and its hash, as `prev`) shape the next one. */
  private placeholderVersion(seq: number): SignedObject {
    return {
      objectId: this.address.objectId,
      owner: this.signing.publicKey,
      name: this.address.objectName,
      seq,
      prev: new Uint8Array(32),
      payload: new Uint8Array(0),
      signature: new Uint8Array(64),
    };
  }
}
