// One node's handle on one log: the materialised state, appends with compare-and-swap, catching up
// with heads written elsewhere (another device of the same user), and a change feed.
//
//   const folder = await LogWriter.open(deps, address, folderModel);
//   const [applied] = await folder.append([{ type: 'insert', ... }]);     // applied.change.message.uid
//   folder.subscribe((event) => ...);                                      // local and remote changes
//   await folder.refresh();                                                // after a head notice
//   const count = await folder.read((state) => state.messages.size);
//
// Appends are grouped: calls made while a head write is in flight are written together by the next one
// (group commit). The append protocol is the `logAppend` machine (machines/logAppend.machine.ts), one
// actor per open log (in a node, a child of its user's actor under the logWriter); this class supplies
// its effects. A round applies the batch to the state, stores blocks and the new head with
// putObject(next, replacesSeq). When another writer got there first (CAS_MISMATCH), the batch is
// reverted, the state caught up with the newer head, and the same operations applied again on top
// (they are idempotent: nothing is lost, nothing doubled, and no fork survives because the ring
// accepts only a head that extends the stored one). After LOG_CAS_ATTEMPTS_MAX lost rounds the callers
// get LOG_CONTENTION and retry the same operations later. That is rare but not impossible: the writer
// that lost a round learns of it after the winner learns it won, so against a device writing
// back-to-back it can lose several rounds in a row (test/unit/log/twoWriters.test.ts measures it).
//
// Ordering duties: blocks before the head that names them; listeners and the head notice only after
// the head is stored; state is read (read()) only between batches, never while a batch is speculative
// (a batch, all its rounds and catch-ups included, is one turn of the lock reads and refreshes take).
import type { SigningKeyPair } from '../../crypto/sign';
import type { AnyActorRef } from 'xstate';
import type { Random } from '../../infra/ports';
import { ErrorCodes, PostError } from '../../protocol/errors';
import { canonicalBytes } from '../../protocol/frame';
import { LOG_APPEND_QUEUE_OPS_MAX, LOG_CAS_BACKOFF_BASE_MS, LOG_CAS_BACKOFF_MAX_MS, OBJECT_PAYLOAD_BYTES_MAX } from '../../protocol/limits';
import type { PutOptions, StorageApi } from '../api';
import { type SignedObject, signObjectVersion, versionHash } from '../signedObject';
import type { HeadMarks } from './headMarks';
import type { HeadWatch } from './headWatch';
import type { LogAddress } from './logAddress';
import { LogError } from './logErrors';
import { emptyHeadBody, type LogHeadBody, sealHeadBody } from './logFormat';
import type { Applied, LogModel } from './logModel';
import { collectOpsSince, decodeOp, loadState, readHead, sameSummary, verifyHead } from './logReader';
import { nextHeadBody, OP_BYTES_MAX } from './nextHead';

export interface LogDeps {
  readonly storage: StorageApi;
  /** The owner's keys; the public key must be the log address's owner. */
  readonly signing: SigningKeyPair;
  readonly random: Random;
  /**
   * Waits `delayMs` (the node passes its Clock's timer, the simulator its simulated one): the backoff
   * between repeatedly lost compare-and-swap rounds. Without it, retries run at once.
   */
  readonly pause?: (delayMs: number) => Promise<void>;
  /** High-water marks shared by this node's readers (rollback defence). */
  readonly marks?: HeadMarks;
  /** Told (objectId, seq) after every head this writer stores. */
  readonly headWatch?: HeadWatch;
  readonly putOptions?: PutOptions;
  /**
   * Starts this log's append actor (the `logAppend` machine, machines/logAppend.machine.ts, with these
   * effects): in a node under its user's actor in the logWriter; `standaloneLogActors` elsewhere.
   */
  readonly actors: LogActors;
}

/** How a round of a batch ended: stored, nothing to store (every operation already applied), or lost the CAS. */
export type RoundOutcome = 'stored' | 'nothing' | 'lost';

/** What the append protocol asks of its log (the effects it names). */
export interface AppendEffects {
  /** Apply the batch and store the next head. */
  writeRound(): Promise<RoundOutcome>;
  /** Catch up with the head that won the compare-and-swap. */
  catchUp(): Promise<void>;
  /** A random pause that grows with the lost rounds (`attempt` is the round just lost). */
  backoff(attempt: number): Promise<void>;
  /** Take every queued append as the next batch. */
  takeBatch(): void;
  /** The batch is over (written or failed): start the next one if appends are queued. */
  batchEnded(): void;
  /** Fail the batch's callers; `attempts` set when the compare-and-swap was lost that many times. */
  failBatch(error: unknown, attempts?: number): void;
}

/** Where log actors run: start one as child `id` with a log's effects; release it when the log is closed. */
export interface LogActors {
  start(id: string, effects: AppendEffects): AnyActorRef;
  release(ref: AnyActorRef): void;
}

export type LogEvent<S, C> =
  /**
   * Changes in log order: `local` from this writer's appends, `remote` from a head written elsewhere.
   * `state` is the committed state right after them: read it during the call, keep no reference.
   */
  | { readonly kind: 'changes'; readonly origin: 'local' | 'remote'; readonly changes: readonly C[]; readonly seq: number; readonly state: S }
  /** The state was reloaded from a snapshot (the writer was too far behind): compare before and after. */
  | { readonly kind: 'reloaded'; readonly before: S; readonly after: S; readonly seq: number };

export type RefreshOutcome = 'unchanged' | 'caught-up' | 'reloaded' | 'stale';

interface AppendRequest<Op, C> {
  readonly ops: readonly Op[];
  readonly encoded: readonly Uint8Array[];
  resolve(applied: Applied<C>[]): void;
  reject(error: unknown): void;
}

/** Put failures after which the head may or may not have been stored. */
const AMBIGUOUS = new Set<string>([ErrorCodes.TIMEOUT, ErrorCodes.UNAVAILABLE, ErrorCodes.CLOSED, ErrorCodes.NO_RESPONDERS]);
const LOST_RACE = new Set<string>([ErrorCodes.CAS_MISMATCH, ErrorCodes.FORK, ErrorCodes.SEQ_NOT_NEWER]);

export class LogWriter<S, Op, C, Sum> {
  private head: SignedObject | undefined;
  private body: LogHeadBody;
  private committedSummary: Sum;
  private queue: AppendRequest<Op, C>[] = [];
  private queuedOps = 0;
  /** The batch the append actor is writing (taken from the queue); empty between batches. */
  private inflight: AppendRequest<Op, C>[] = [];
  /** The head that beat the last round, if the put returned it. */
  private lostTo: SignedObject | undefined;
  /**
   * A head put that lost or failed may still have reached some replicas: a version at this sequence
   * that is not the one committed there (by us later, or by another device). Repair only carries newer versions, so such an orphan would
   * stay beside the committed head (a fork) until the next write; see supersedeOrphan().
   */
  private orphanSeq: number | undefined;
  private actor: AnyActorRef | undefined;
  private closing = false;
  /** Held from a batch's start to its end: reads and refreshes wait for the whole batch, as one turn. */
  private batchHold: { ready: Promise<void>; release: () => void } | undefined;
  /** Rounds and catch-ups of batches, one at a time (an effect can outlive a restarted actor). */
  private rounds: Promise<unknown> = Promise.resolve();
  private lock: Promise<unknown> = Promise.resolve();
  private readonly listeners = new Set<(event: LogEvent<S, C>) => void>();
  /** Head writes stored and compare-and-swap rounds lost (for tests and metrics). */
  readonly stats = { headsWritten: 0, casLost: 0, reloads: 0 };

  private constructor(
    private readonly deps: LogDeps,
    readonly address: LogAddress,
    private readonly model: LogModel<S, Op, C, Sum>,
    private state: S,
    head: SignedObject | undefined,
    body: LogHeadBody | undefined,
  ) {
    this.head = head;
    this.body = body ?? emptyHeadBody(model.kind, address.name, model.encodeSummary(model.summarize(state)));
    this.committedSummary = model.decodeSummary(this.body.summary);
  }

  /** Open a log: its newest head, verified, and the state it describes (a log never written is empty). */
  static async open<S, Op, C, Sum>(deps: LogDeps, address: LogAddress, model: LogModel<S, Op, C, Sum>): Promise<LogWriter<S, Op, C, Sum>> {
    if (!Buffer.from(deps.signing.publicKey).equals(Buffer.from(address.owner))) throw new Error(`LogWriter: log ${address.name} belongs to another key`);
    const head = await readHead(deps.storage, address, model.kind, deps.marks);
    if (!head) return new LogWriter(deps, address, model, model.initial(), undefined, undefined);
    const state = await loadState(deps.storage, address, model, head.body);
    return new LogWriter(deps, address, model, state, head.object, head.body);
  }

  /** Sequence of the newest head this writer knows (0: never written). */
  /**
   * Blocks this log still needs: its snapshot's pieces and the entries since the snapshot (what an
   * opener reads). The owner refreshes their leases; older entries may expire.
   */
  liveBlockIds(): string[] {
    return [...(this.body.snapshot?.blocks ?? []), ...this.body.tail.map((t) => t.id)];
  }

  get seq(): number {
    return this.head?.seq ?? 0;
  }

  /** Operations in the log as this writer knows it. */
  get opCount(): number {
    return this.body.opCount;
  }

  /** The model's counters as of the newest committed head (never speculative). */
  get summary(): Sum {
    return this.committedSummary;
  }

  /** Run `reader` on the committed state, between writes. It must not keep references into the state. */
  read<T>(reader: (state: S) => T): Promise<T> {
    return this.exclusive(async () => reader(this.state));
  }

  subscribe(listener: (event: LogEvent<S, C>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Apply and store `ops`; resolves with one result per op once a head containing them is stored. */
  append(ops: readonly Op[]): Promise<Applied<C>[]> {
    let encoded: Uint8Array[];
    try {
      encoded = ops.map((op) => canonicalBytes(this.model.encodeOp(op)));
    } catch (e) {
      return Promise.reject(e);
    }
    // An operation its own schema would refuse on reading must never be written: every reader of the
    // log (another device, a catch-up after a lost compare-and-swap) would stop at it.
    for (const bytes of encoded) {
      try {
        decodeOp(this.address, this.model, bytes, this.opCount);
      } catch (e) {
        return Promise.reject(new PostError(ErrorCodes.BAD_REQUEST, `log ${this.address.name}: an operation does not pass its schema: ${(e as Error).message}`));
      }
    }
    const tooBig = encoded.find((bytes) => bytes.length > OP_BYTES_MAX);
    if (tooBig) return Promise.reject(new LogError('LOG_TOO_LARGE', `an operation of ${tooBig.length} bytes exceeds ${OP_BYTES_MAX}: split it`, this.address.name));
    if (this.queuedOps + ops.length > LOG_APPEND_QUEUE_OPS_MAX) {
      return Promise.reject(new LogError('QUEUE_FULL', `log ${this.address.name} has ${this.queuedOps} operations queued; retry later`, this.address.name));
    }
    if (ops.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.queue.push({ ops, encoded, resolve, reject });
      this.queuedOps += ops.length;
      this.kick();
    });
  }

  /** Catch up with the newest head in storage (or `hint`, a version already in hand). */
  refresh(hint?: SignedObject): Promise<RefreshOutcome> {
    return this.exclusive(() => this.catchUp(hint));
  }

  /** Refresh only if `seq` (from a head notice) is newer than what this writer knows. */
  async refreshIfNewer(seq: number): Promise<RefreshOutcome> {
    if (seq <= this.seq) return 'unchanged';
    return this.refresh();
  }

  // ---- internals ---------------------------------------------------------------------------------

  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.lock.then(task, task);
    this.lock = run.catch(() => undefined);
    return run;
  }

  /** Take the lock until release(): `ready` once every earlier holder is done. */
  private holdLock(): { ready: Promise<void>; release: () => void } {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const ready = this.lock.then(
      () => undefined,
      () => undefined,
    );
    this.lock = ready.then(() => held);
    return { ready, release };
  }

  /** A step of the current batch: inside the batch's turn of the lock, after the steps before it. */
  private inBatch<T>(task: () => Promise<T>): Promise<T> {
    const ready = this.batchHold?.ready ?? Promise.resolve();
    const run = this.rounds.then(() => ready).then(task);
    this.rounds = run.catch(() => undefined);
    return run;
  }

  /** Start a batch if the append actor is idle (it ignores KICK while writing, and looks again after). */
  private kick(): void {
    if (this.queue.length === 0 && this.inflight.length === 0) return;
    this.ensureActor().send({ type: 'KICK' });
  }

  private ensureActor(): AnyActorRef {
    if (this.actor?.getSnapshot().status === 'active') return this.actor;
    this.actor = this.deps.actors.start(`log:${this.address.name}`, this.effects());
    return this.actor;
  }

  /** The append protocol's effects on this log. */
  private effects(): AppendEffects {
    // An effect that outlives its actor (the node's logWriter restarted, or the log was closed mid-batch)
    // hands the batch to a new actor: the batch stays in `inflight` until written or failed.
    const guarded = <A extends unknown[], T>(run: (...args: A) => Promise<T>) => async (...args: A): Promise<T> => {
      const owner = this.actor;
      try {
        return await run(...args);
      } finally {
        if (owner?.getSnapshot().status !== 'active') queueMicrotask(() => this.kick());
      }
    };
    return {
      writeRound: guarded(() => this.inBatch(() => this.round())),
      catchUp: guarded(() =>
        this.inBatch(async () => {
          // A refresh (a head notice) may have caught up past the head that beat us while the actor was
          // between rounds: then that head is stale news, and storage has the newest.
          const hint = this.lostTo && this.lostTo.seq > this.seq ? this.lostTo : undefined;
          this.lostTo = undefined;
          await this.catchUp(hint);
        }),
      ),
      backoff: guarded((attempt: number) => this.backoff(attempt)),
      takeBatch: () => {
        this.batchHold ??= this.holdLock();
        this.inflight = [...this.inflight, ...this.queue];
        this.queue = [];
        this.queuedOps = 0;
      },
      batchEnded: () => {
        // The batch is over (a new actor's first idle, with a carried-over batch, is not its end).
        if (this.inflight.length === 0) {
          this.batchHold?.release();
          this.batchHold = undefined;
        }
        if (this.queue.length || this.inflight.length) queueMicrotask(() => this.kick());
        else if (this.closing && this.actor) queueMicrotask(() => this.retire());
      },
      failBatch: (error, attempts) => {
        const batch = this.inflight;
        this.inflight = [];
        const e = attempts !== undefined ? new LogError('LOG_CONTENTION', `log ${this.address.name}: another writer won ${attempts} compare-and-swap rounds in a row; retry later`, this.address.name) : error;
        batch.forEach((r) => r.reject(e));
      },
    };
  }

  /**
   * This handle is no longer cached by its owner: once its batches are written, its actor is released
   * (a later append starts a new one).
   */
  close(): void {
    this.closing = true;
    if (this.queue.length === 0 && this.inflight.length === 0) this.retire();
  }

  private retire(): void {
    const actor = this.actor;
    if (!actor || this.queue.length || this.inflight.length) return;
    this.actor = undefined;
    this.deps.actors.release(actor);
  }

  private emit(event: LogEvent<S, C>): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch {
        // A listener must not throw; one that does loses only its own event.
      }
    }
  }

  /** One round of the current batch: applied, then stored ('stored'), or beaten by another head ('lost'). */
  private async round(): Promise<RoundOutcome> {
    const batch = this.inflight;
    if (batch.length === 0) return 'nothing';
    const effective: { bytes: Uint8Array; change: C }[] = [];
    const revert = () => {
      for (let k = effective.length - 1; k >= 0; k--) this.model.revert(this.state, effective[k]!.change);
    };
    let results: Applied<C>[][];
    try {
      results = batch.map((r) =>
        r.ops.map((op, k) => {
          const applied = this.model.apply(this.state, op);
          if (applied.effective) effective.push({ bytes: r.encoded[k]!, change: applied.change });
          return applied;
        }),
      );
    } catch (e) {
      revert();
      throw e;
    }
    const resolve = () => {
      if (this.inflight === batch) this.inflight = [];
      batch.forEach((r, i) => r.resolve(results[i]!));
    };
    if (effective.length === 0) {
      resolve();
      await this.supersedeOrphan();
      return 'nothing';
    }
    let outcome: { stored: true; head: SignedObject; body: LogHeadBody } | { stored: false; current?: SignedObject };
    try {
      outcome = await this.storeHead(effective.map((e) => e.bytes));
    } catch (e) {
      revert();
      throw e;
    }
    if (outcome.stored) {
      this.commit(outcome.head, outcome.body);
      resolve();
      this.emit({ kind: 'changes', origin: 'local', changes: effective.map((e) => e.change), seq: outcome.head.seq, state: this.state });
      this.deps.headWatch?.publish(this.address.objectId, outcome.head.seq);
      await this.supersedeOrphan();
      return 'stored';
    }
    revert();
    this.stats.casLost++;
    this.lostTo = outcome.current;
    return 'lost';
  }

  /**
   * The committed head is at the sequence where an earlier put of ours that lost or failed may have
   * been left on some replica: store one more head with no new operations, which repair carries over
   * the orphan (it is newer). When our operations still need a head, that head does it instead. Best
   * effort: if it fails too, the orphan is remembered at that sequence and the next write retries.
   */
  private async supersedeOrphan(): Promise<void> {
    const orphan = this.orphanSeq;
    if (orphan === undefined || this.seq < orphan) return;
    this.orphanSeq = undefined;
    if (this.seq !== orphan) return; // already superseded by a newer head
    try {
      const outcome = await this.storeHead([]);
      if (!outcome.stored) return; // another device wrote on top: that head supersedes the orphan
      this.commit(outcome.head, outcome.body);
      this.deps.headWatch?.publish(this.address.objectId, outcome.head.seq);
    } catch {
      // Remembered by storeHead: retried after the next write.
    }
  }

  private commit(head: SignedObject, body: LogHeadBody): void {
    this.head = head;
    this.body = body;
    this.committedSummary = this.model.decodeSummary(body.summary);
    this.stats.headsWritten++;
    this.deps.marks?.record(head);
  }

  /**
   * A random pause that grows with the lost rounds. Of two puts racing on one replica exactly one wins,
   * so the first retries go at once (a pause would only hand the winner more rounds); pauses matter
   * when puts split across replicas and both writers lose, which repeats only if they stay in step.
   */
  private async backoff(attempt: number): Promise<void> {
    const pause = this.deps.pause;
    if (!pause || attempt < 3) return;
    const ceilingMs = Math.min(LOG_CAS_BACKOFF_MAX_MS, LOG_CAS_BACKOFF_BASE_MS * 2 ** attempt);
    await pause(this.deps.random.int(ceilingMs + 1));
  }

  /** Build, sign and put the next head; `stored: false` when another writer's head is in the way. */
  private async storeHead(ops: readonly Uint8Array[]) {
    const { storage, random, signing } = this.deps;
    const body = await nextHeadBody({
      storage,
      address: this.address,
      random,
      base: this.body,
      ops,
      summary: this.model.encodeSummary(this.model.summarize(this.state)),
      stateBytes: () => canonicalBytes(this.model.encodeState(this.state)),
      ...(this.deps.putOptions ? { putOptions: this.deps.putOptions } : {}),
    });
    const payload = sealHeadBody(this.address, body, random);
    if (payload.length > OBJECT_PAYLOAD_BYTES_MAX) throw new LogError('LOG_TOO_LARGE', `head of log ${this.address.name} would be ${payload.length} bytes`, this.address.name);
    const next = await signObjectVersion({ keys: signing, name: this.address.objectName, payload, ...(this.head ? { previous: this.head } : {}) });
    let result;
    try {
      result = await storage.putObject(next, this.seq);
    } catch (e) {
      if (e instanceof PostError && AMBIGUOUS.has(e.code) && (await this.landed(next))) return { stored: true as const, head: next, body };
      this.orphanSeq = next.seq;
      throw e;
    }
    if (result.ok) return { stored: true as const, head: next, body };
    // Lost or failed, our version may still sit on a replica that took it.
    this.orphanSeq = next.seq;
    if (LOST_RACE.has(result.code)) return { stored: false as const, ...(result.current ? { current: result.current } : {}) };
    throw new PostError(result.code, `log ${this.address.name}: head refused: ${result.message}`);
  }

  /** After a put whose outcome is unknown: is our version the stored one? */
  private async landed(next: SignedObject): Promise<boolean> {
    try {
      const stored = await this.deps.storage.getObject(next.objectId);
      return stored !== undefined && stored.seq === next.seq && versionHash(stored).equals(versionHash(next));
    } catch {
      return false;
    }
  }

  private async catchUp(hint?: SignedObject): Promise<RefreshOutcome> {
    const { storage, marks } = this.deps;
    const object = hint ?? (await storage.getObject(this.address.objectId));
    if (!object) {
      if (this.head) throw new LogError('LOG_ROLLBACK', `log ${this.address.name}: no replica has its head, but seq ${this.head.seq} was written`, this.address.name);
      return 'unchanged';
    }
    if (this.head && object.seq <= this.head.seq) {
      if (object.seq < this.head.seq) return 'stale';
      if (versionHash(object).equals(versionHash(this.head))) return 'unchanged';
      throw new LogError('LOG_FORK', `log ${this.address.name}: two different heads with seq ${object.seq}`, this.address.name);
    }
    const { body } = verifyHead(this.address, object, this.model.kind, marks);
    if (body.opCount < this.body.opCount) throw new LogError('LOG_CORRUPT', `log ${this.address.name}: head seq ${object.seq} holds fewer operations than seq ${this.seq}`, this.address.name);
    const ops = await collectOpsSince(storage, this.address, body, this.body.opCount);
    if (ops) {
      const changes: C[] = [];
      let index = this.body.opCount;
      for (const bytes of ops) {
        const applied = this.model.apply(this.state, decodeOp(this.address, this.model, bytes, index++));
        if (applied.effective) changes.push(applied.change);
      }
      if (sameSummary(this.model, this.state, body)) {
        this.head = object;
        this.body = body;
        this.committedSummary = this.model.decodeSummary(body.summary);
        this.emit({ kind: 'changes', origin: 'remote', changes, seq: object.seq, state: this.state });
        return 'caught-up';
      }
      // The replay disagrees with the head's counters: undo it (watchers saw none of it) and trust
      // the snapshot and tail instead.
      for (let k = changes.length - 1; k >= 0; k--) this.model.revert(this.state, changes[k]!);
    }
    const before = this.state;
    const after = await loadState(storage, this.address, this.model, body);
    this.state = after;
    this.head = object;
    this.body = body;
    this.committedSummary = this.model.decodeSummary(body.summary);
    this.stats.reloads++;
    this.emit({ kind: 'reloaded', before, after, seq: object.seq });
    return 'reloaded';
  }
}
