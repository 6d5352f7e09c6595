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
// (group commit). The append protocol is a pure transition function (appendProtocol.ts: idle, writing,
// catchingUp, backingOff, refreshing); this class holds its state and performs its effects. A round
// applies the batch to the state to learn the next head's counters and reverts it at once (in the same
// turn), stores blocks and the new head with putObject(next, replacesSeq), and only then applies the
// batch for good: the state a reader sees is always the committed one, so reads never wait for a
// write. When another writer got there first (CAS_MISMATCH), the state catches up with the newer head
// and the same operations go again on top (they are idempotent: nothing is lost, nothing doubled, and
// no fork survives because the ring accepts only a head that extends the stored one), unless the head
// the lost round tried made history after all (settleLostRounds). After
// LOG_CAS_ATTEMPTS_MAX lost rounds the callers get LOG_CONTENTION and retry the same operations later.
// That is rare but not impossible: the writer that lost a round learns of it after the winner learns it
// won, so against a device writing back-to-back it can lose several rounds in a row
// (test/unit/log/twoWriters.test.ts measures it).
//
// Ordering duties: blocks before the head that names them; listeners and the head notice only after
// the head is stored; one effect that changes the state at a time (the protocol's phases), and every
// change to the state made within one turn, so a synchronous reader never sees half of one.
import type { SigningKeyPair } from '../../crypto/sign';
import type { Log, Random } from '../../infra/ports';
import { ErrorCodes, logError, PostError } from '../../protocol/errors';
import { canonicalBytes } from '../../protocol/frame';
import { LOG_APPEND_QUEUE_OPS_MAX, LOG_CAS_BACKOFF_BASE_MS, LOG_CAS_BACKOFF_MAX_MS, LOG_FORK_CARRY_ATTEMPTS_MAX, OBJECT_PAYLOAD_BYTES_MAX } from '../../protocol/limits';
import type { PutOptions, StorageApi } from '../api';
import { type SignedObject, signObjectVersion, versionHash } from '../signedObject';
import { type AppendEffect, type AppendEvent, type AppendState, appendStep, initialAppendState, type RoundOutcome } from './appendProtocol';
import type { HeadMarks } from './headMarks';
import type { HeadWatch } from './headWatch';
import type { LogAddress } from './logAddress';
import { emptyHeadBody, type LogHeadBody, sealHeadBody } from './logFormat';
import type { Applied, ForkBase, LogModel } from './logModel';
import { continuation, decodeOp, forkBase, loadState, readHead, sameSummary, verifyHead } from './logReader';
import { nextHeadBody, OP_BYTES_MAX, planNextHead } from './nextHead';

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
  /** Where the node keeps track of its open logs (/state, the dashboard): told when a handle opens and closes. */
  readonly registry?: LogRegistry;
  /** Told when this writer found its log forked and merged the other branch (or failed to carry it over). */
  readonly onFork?: (info: { readonly log: string; readonly why: string; readonly carried: number }) => void;
  /** Where a listener that threw is reported (a bug in the listener; the others still hear the event). */
  readonly log?: Log;
}

/** What a node's registry of open logs sees of one (for /state and the dashboard). */
export interface OpenLogInfo {
  readonly name: string;
  readonly phase: AppendState['phase'];
  readonly seq: number;
  readonly counts: AppendState['counts'];
  /** Times the state was rebuilt from storage (a snapshot reload or a supervisor's restart). */
  readonly reloads: number;
}

/** An open log as its node's registry holds it. */
export interface RegisteredLog {
  info(): OpenLogInfo;
  rebuild(): Promise<RefreshOutcome>;
}

export interface LogRegistry {
  opened(log: RegisteredLog): void;
  closed(log: RegisteredLog): void;
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

/** A round of the current batch that lost the compare-and-swap (see lostRounds). */
interface LostRound<C> {
  readonly head: SignedObject;
  readonly body: LogHeadBody;
  /** A replica may hold `head` (ObjectPutResult's mayHold): only then can it become history. */
  readonly mayHold: boolean;
  readonly calls: number;
  readonly results: Applied<C>[][];
}

interface RefreshRequest {
  resolve(outcome: RefreshOutcome): void;
  reject(error: unknown): void;
}

/** Put failures after which the head may or may not have been stored. */
const AMBIGUOUS = new Set<string>([ErrorCodes.TIMEOUT, ErrorCodes.UNAVAILABLE, ErrorCodes.CLOSED, ErrorCodes.NO_RESPONDERS]);
const LOST_RACE = new Set<string>([ErrorCodes.CAS_MISMATCH, ErrorCodes.FORK, ErrorCodes.SEQ_NOT_NEWER]);

export class LogWriter<S, Op, C, Sum> {
  private head: SignedObject | undefined;
  private body: LogHeadBody;
  private committedSummary: Sum;
  private protocol: AppendState = initialAppendState;
  private queue: AppendRequest<Op, C>[] = [];
  private queuedOps = 0;
  /** The batch being written (taken from the queue by the protocol's takeBatch). */
  private batch: AppendRequest<Op, C>[] = [];
  /** Refreshes waiting for the next catch-up with storage, and a head already in hand if one was given. */
  private refreshes: RefreshRequest[] = [];
  private refreshHint: SignedObject | undefined;
  /** Some waiting refresh gave no hint: it reads the newest head from storage. */
  private refreshFromStorage = false;
  /** The next refresh rebuilds the state from storage rather than catching up (rebuild()). */
  private rebuildWanted = false;
  /** The head that beat the last round, if the put returned it. */
  private lostTo: SignedObject | undefined;
  /**
   * The current batch's rounds that lost the compare-and-swap (at most LOG_CAS_ATTEMPTS_MAX), each with
   * the head it tried (and its body), whether a replica may hold it, how many of the batch's calls it
   * held and the results they would have had. Such a head may still make history: stored on the
   * replicas that took it, another writer can catch up with it and write on top (settleLostRounds).
   */
  private lostRounds: LostRound<C>[] = [];
  /**
   * A head put that lost or failed may still have reached some replicas: a version at this sequence
   * that is not the one committed there (by us later, or by another device). Repair only carries newer versions, so such an orphan would
   * stay beside the committed head (a fork) until the next write; see supersedeOrphan().
   */
  private orphanSeq: number | undefined;
  private closed = false;
  private readonly listeners = new Set<(event: LogEvent<S, C>) => void>();
  /** Head writes stored and compare-and-swap rounds lost (for tests and metrics). */
  readonly stats = { headsWritten: 0, casLost: 0, reloads: 0, forksMerged: 0 };
  /** Appends carrying a fork's lost branch over (see merge). */
  private carrying: Promise<unknown> = Promise.resolve();

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
    deps.registry?.opened(this);
  }

  /** Open a log: its newest head, verified, and the state it describes (a log never written is empty). */
  static async open<S, Op, C, Sum>(deps: LogDeps, address: LogAddress, model: LogModel<S, Op, C, Sum>): Promise<LogWriter<S, Op, C, Sum>> {
    if (!Buffer.from(deps.signing.publicKey).equals(Buffer.from(address.owner))) throw new Error(`LogWriter: log ${address.name} belongs to another key`);
    const head = await readHead(deps.storage, address, model.kind, deps.marks);
    if (!head) return new LogWriter(deps, address, model, model.initial(), undefined, undefined);
    const state = await loadState(deps.storage, address, model, head.body);
    return new LogWriter(deps, address, model, state, head.object, head.body);
  }

  /**
   * Blocks this log still needs: its snapshot's pieces and the entries since the snapshot (what an
   * opener reads). The owner refreshes their leases; older entries may expire.
   */
  liveBlockIds(): string[] {
    return [...(this.body.snapshot?.blocks ?? []), ...this.body.tail.map((t) => t.id)];
  }

  /** Sequence of the newest head this writer knows (0: never written). */
  get seq(): number {
    return this.head?.seq ?? 0;
  }

  /** Operations in the log as this writer knows it. */
  get opCount(): number {
    return this.body.opCount;
  }

  /** The model's counters as of the newest committed head. */
  get summary(): Sum {
    return this.committedSummary;
  }

  info(): OpenLogInfo {
    return { name: this.address.name, phase: this.protocol.phase, seq: this.seq, counts: this.protocol.counts, reloads: this.stats.reloads };
  }

  /** Run `reader` on the committed state. It must not keep references into the state. */
  read<T>(reader: (state: S) => T): Promise<T> {
    try {
      return Promise.resolve(this.readNow(reader));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** `read`, synchronously: the state is always the committed one, so nobody waits. */
  readNow<T>(reader: (state: S) => T): T {
    return reader(this.state);
  }

  subscribe(listener: (event: LogEvent<S, C>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Apply and store `ops`; resolves with one result per op once a head containing them is stored. */
  append(ops: readonly Op[]): Promise<Applied<C>[]> {
    return this.appendOps(ops, false);
  }

  /** `append`; with `first`, ahead of every append queued or waiting for a retried round (see carry). */
  private appendOps(ops: readonly Op[], first: boolean): Promise<Applied<C>[]> {
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
    if (tooBig) return Promise.reject(logError('LOG_TOO_LARGE', this.address.name, `an operation of ${tooBig.length} bytes exceeds ${OP_BYTES_MAX}: split it`));
    if (this.queuedOps + ops.length > LOG_APPEND_QUEUE_OPS_MAX) {
      return Promise.reject(logError('QUEUE_FULL', this.address.name, `log ${this.address.name} has ${this.queuedOps} operations queued; retry later`));
    }
    if (ops.length === 0) return Promise.resolve([]);
    return this.enqueue(ops, encoded, first);
  }

  /**
   * Queue a batch for the next round (an empty one still runs a round: supersedeOrphan's head). With
   * `first`, it goes ahead of what is queued, and ahead of the batch a lost round is about to retry.
   */
  private enqueue(ops: readonly Op[], encoded: Uint8Array[], first = false): Promise<Applied<C>[]> {
    return new Promise((resolve, reject) => {
      const request = { ops, encoded, resolve, reject };
      if (first && this.batch.length > 0) {
        this.batch.unshift(request); // taken already: a catch-up between two rounds of this batch
      } else {
        if (first) this.queue.unshift(request);
        else this.queue.push(request);
        this.queuedOps += ops.length;
      }
      this.dispatch({ type: 'QUEUED' });
    });
  }

  /** Catch up with the newest head in storage (or `hint`, a version already in hand), once the log is not busy. */
  refresh(hint?: SignedObject): Promise<RefreshOutcome> {
    if (!hint) this.refreshFromStorage = true;
    else if (!this.refreshHint || hint.seq > this.refreshHint.seq) this.refreshHint = hint;
    return new Promise((resolve, reject) => {
      this.refreshes.push({ resolve, reject });
      this.dispatch({ type: 'REFRESH' });
    });
  }

  /**
   * Throw the in-memory state away and load it again from the newest head in storage, once the log is
   * not busy (the node's logWriter was restarted: whatever a bug did to memory does not survive it).
   * Watchers hear the difference, as after any reload.
   */
  rebuild(): Promise<RefreshOutcome> {
    this.rebuildWanted = true;
    return this.refresh();
  }

  /** Refresh only if `seq` (from a head notice) is newer than what this writer knows. */
  async refreshIfNewer(seq: number): Promise<RefreshOutcome> {
    if (seq <= this.seq) return 'unchanged';
    return this.refresh();
  }

  /**
   * Before this handle is put away by a node that will not watch the log any more (a session's node,
   * a standby handing back): catch up with the newest head, which carries our branch over if it lost a
   * fork meanwhile, and wait for that. Nobody else would notice what only this writer wrote.
   */
  async reconcile(): Promise<void> {
    await this.refresh();
    await this.carrying;
    await this.settleForks();
  }

  /**
   * A fork left at the newest sequence (two writers each stored a head there, on replicas that did not
   * overlap while views were split; nobody wrote since) is settled here: every other version at that
   * sequence is opened and what it holds carried over (as after any fork), and if that carried nothing,
   * one more head with no new operations is stored on top, which repair then carries over every
   * replica of the fork (it is newer). No replica may drop a version at one sequence by itself: only
   * its owner can merge what it holds. Returns how many other versions were found.
   */
  async settleForks(): Promise<number> {
    const versions = (await this.deps.storage.getObjectVersions?.(this.address.objectId)) ?? [];
    const top = versions[0]?.seq;
    const atTop = versions.filter((v) => v.seq === top);
    if (atTop.length < 2) return 0;
    for (const v of atTop) if (!this.head || !versionHash(v).equals(versionHash(this.head))) await this.refresh(v);
    await this.carrying;
    if (this.seq === top) {
      // Nothing carried: bury the fork under an empty head (supersedeOrphan writes it in the next round).
      this.orphanSeq = top;
      await this.enqueue([], []);
    }
    return atTop.length - 1;
  }

  /** This handle is no longer cached by its owner: appends already queued are still written. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.deps.registry?.closed(this);
  }

  // ---- the append protocol: its state here, its transitions in appendProtocol.ts ------------------

  private dispatch(event: AppendEvent): void {
    const step = appendStep(this.protocol, event);
    this.protocol = step.state;
    for (const effect of step.effects) this.perform(effect);
  }

  /** Run an async effect; its outcome comes back as the event `done` or `failed` makes of it. */
  private settle<T>(run: () => Promise<T>, done: (value: T) => AppendEvent, failed: (error: unknown) => AppendEvent): void {
    run().then(
      (value) => this.dispatch(done(value)),
      (error: unknown) => this.dispatch(failed(error)),
    );
  }

  private perform(effect: AppendEffect): void {
    switch (effect.type) {
      case 'takeBatch':
        this.batch = [...this.batch, ...this.queue];
        this.queue = [];
        this.queuedOps = 0;
        return;
      case 'writeRound':
        return this.settle(
          () => this.round(),
          (outcome) => ({ type: 'ROUND_DONE', outcome }),
          (error) => ({ type: 'ROUND_FAILED', error }),
        );
      case 'catchUp':
        return this.settle(
          async () => {
            // A refresh may have caught up past the head that beat us: then that head is stale news.
            const hint = this.lostTo && this.lostTo.seq > this.seq ? this.lostTo : undefined;
            this.lostTo = undefined;
            await this.catchUp(hint);
            await this.settleLostRounds();
          },
          () => ({ type: 'CAUGHT_UP' }),
          (error) => ({ type: 'CATCH_UP_FAILED', error }),
        );
      case 'backoff':
        return this.settle(
          () => this.backoff(effect.attempt),
          () => ({ type: 'BACKED_OFF' }),
          () => ({ type: 'BACKED_OFF' }),
        );
      case 'refresh': {
        const waiting = this.refreshes;
        this.refreshes = [];
        const hint = this.refreshFromStorage ? undefined : this.refreshHint;
        const rebuild = this.rebuildWanted;
        this.refreshHint = undefined;
        this.refreshFromStorage = false;
        this.rebuildWanted = false;
        return this.settle(
          () => (rebuild ? this.reload() : this.catchUp(hint)),
          (outcome) => {
            for (const r of waiting) r.resolve(outcome);
            return { type: 'REFRESHED' };
          },
          (error) => {
            for (const r of waiting) r.reject(error);
            return { type: 'REFRESH_FAILED', error };
          },
        );
      }
      case 'failBatch': {
        const batch = this.batch;
        this.batch = [];
        this.lostRounds = [];
        const e =
          effect.attempts !== undefined
            ? logError('LOG_CONTENTION', this.address.name, `log ${this.address.name}: another writer won ${effect.attempts} compare-and-swap rounds in a row; retry later`)
            : effect.error;
        for (const r of batch) r.reject(e);
        return;
      }
    }
  }

  private emit(event: LogEvent<S, C>): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (error) {
        // A listener must not throw; one that does loses only its own event, and is reported.
        this.deps.log?.error('log.listener.failed', { log: this.address.name, error: String((error as Error)?.stack ?? error) });
      }
    }
  }

  /** Apply every operation of `batch` to the state, in order: the results, and the effective changes with their bytes. */
  private applyBatch(batch: readonly AppendRequest<Op, C>[]) {
    const effective: { bytes: Uint8Array; change: C }[] = [];
    try {
      const results = batch.map((r) =>
        r.ops.map((op, k) => {
          const applied = this.model.apply(this.state, op);
          if (applied.effective) effective.push({ bytes: r.encoded[k]!, change: applied.change });
          return applied;
        }),
      );
      return { results, effective };
    } catch (e) {
      this.revert(effective);
      throw e;
    }
  }

  private revert(effective: readonly { change: C }[]): void {
    for (let k = effective.length - 1; k >= 0; k--) this.model.revert(this.state, effective[k]!.change);
  }

  /**
   * One round of the current batch. The batch is applied to learn what the next head holds (its
   * operations, counters and, when one is due, the snapshot) and reverted in the same turn; once the
   * head is stored it is applied for good, again in one turn: the same state and operations give the
   * same changes, since nothing else changes the state while a round is out (the protocol's phases).
   */
  private async round(): Promise<RoundOutcome> {
    const batch = this.batch;
    if (batch.length === 0) return 'nothing';
    const trial = this.applyBatch(batch);
    const ops = trial.effective.map((e) => e.bytes);
    const summary = this.model.encodeSummary(this.model.summarize(this.state));
    const stateBytes = ops.length > 0 && planNextHead(this.body, ops).snapshotDue ? canonicalBytes(this.model.encodeState(this.state)) : undefined;
    this.revert(trial.effective);
    if (ops.length === 0) {
      this.batch = [];
      this.lostRounds = [];
      await this.supersedeOrphan(); // before answering: settleForks waits for its empty head
      batch.forEach((r, i) => r.resolve(trial.results[i]!));
      return 'nothing';
    }
    const outcome = await this.storeHead(ops, summary, stateBytes);
    if (!outcome.stored) {
      this.stats.casLost++;
      this.lostTo = outcome.current;
      this.lostRounds.push({ head: outcome.tried, body: outcome.triedBody, mayHold: outcome.mayHold, calls: batch.length, results: trial.results });
      return 'lost';
    }
    const final = this.applyBatch(batch);
    if (final.effective.length !== ops.length) throw new Error(`log ${this.address.name}: the batch applied differently after its head was stored`);
    this.commit(outcome.head, outcome.body);
    this.batch = [];
    this.lostRounds = [];
    batch.forEach((r, i) => r.resolve(final.results[i]!));
    this.emit({ kind: 'changes', origin: 'local', changes: final.effective.map((e) => e.change), seq: outcome.head.seq, state: this.state });
    this.deps.headWatch?.publish(this.address.objectId, outcome.head.seq);
    await this.supersedeOrphan();
    return 'stored';
  }

  /**
   * After a catch-up, before the batch goes again. A round of this batch that lost the compare-and-swap
   * can still make history: two writers whose puts split the replicas both lose, each catches up with
   * the other's head (the replicas that took it hold it), and whichever is written on top stays (seed
   * 918471375 of calendar-churn). When the committed head's history holds a head one of our lost rounds
   * tried, that round's operations are in the log where the round put them: its callers get the results
   * it had, and only the calls queued after it go again. Going again instead would apply them a second
   * time on top, where a delete of what the round itself deleted answers "not found".
   * - The committed head is that head, or was written on top of it: told from the heads alone (a head
   *   names the version before it), with no read.
   * - Buried under two or more newer heads: the committed head's history is read as far back as that
   *   round's head, and must hold its entries and operations. Only for a head a replica may hold
   *   (mayHold): a head every replica refused never makes history (an atomic store's lost put, such as
   *   the in-memory one's). In the ring a put is decided at its second refusal, before the third replica
   *   answers, so the read runs there whenever the committed head is that far ahead; it reaches only
   *   entries flushed since the round's head. A read that fails leaves the calls to go again.
   */
  private async settleLostRounds(): Promise<void> {
    const head = this.head;
    if (this.lostRounds.length === 0 || !head) return;
    const [current, before] = [versionHash(head), Buffer.from(head.prev)];
    const onTop = this.lostRounds.find((r) => {
      const tried = versionHash(r.head);
      return tried.equals(current) || tried.equals(before);
    });
    if (onTop) return this.settleRound(onTop);
    for (const round of this.lostRounds) {
      if (!round.mayHold || this.seq < round.head.seq + 2) continue;
      let next;
      try {
        next = await continuation(this.deps.storage, this.address, this.body, round.body, { walk: false });
      } catch (e) {
        if (!(e instanceof PostError)) throw e;
        continue;
      }
      if (next.kind === 'extends') return this.settleRound(round);
    }
  }

  /** `round` made history: its calls (the batch's first) get the results it had; the rest go again. */
  private settleRound(round: LostRound<C>): void {
    this.lostRounds = [];
    this.batch.splice(0, round.calls).forEach((r, i) => r.resolve(round.results[i]!));
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
      const outcome = await this.storeHead([], this.model.encodeSummary(this.model.summarize(this.state)), undefined);
      if (!outcome.stored) return; // another device wrote on top: that head supersedes the orphan
      this.commit(outcome.head, outcome.body);
      this.deps.headWatch?.publish(this.address.objectId, outcome.head.seq);
    } catch (e) {
      // Remembered by storeHead (orphanSeq): retried after the next write. Only operating errors are expected here.
      if (!(e instanceof PostError)) throw e;
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
  private async storeHead(ops: readonly Uint8Array[], summary: unknown, stateBytes: Uint8Array | undefined) {
    const { storage, random, signing } = this.deps;
    const body = await nextHeadBody({
      storage,
      address: this.address,
      random,
      base: this.body,
      ops,
      summary,
      ...(stateBytes ? { stateBytes } : {}),
      ...(this.deps.putOptions ? { putOptions: this.deps.putOptions } : {}),
    });
    const payload = sealHeadBody(this.address, body, random);
    if (payload.length > OBJECT_PAYLOAD_BYTES_MAX) throw logError('LOG_TOO_LARGE', this.address.name, `head of log ${this.address.name} would be ${payload.length} bytes`);
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
    if (LOST_RACE.has(result.code)) return { stored: false as const, tried: next, triedBody: body, mayHold: result.mayHold === true, ...(result.current ? { current: result.current } : {}) };
    throw new PostError(result.code, `log ${this.address.name}: head refused: ${result.message}`);
  }

  /** After a put whose outcome is unknown: is our version the stored one? */
  private async landed(next: SignedObject): Promise<boolean> {
    try {
      const stored = await this.deps.storage.getObject(next.objectId);
      return stored !== undefined && stored.seq === next.seq && versionHash(stored).equals(versionHash(next));
    } catch (e) {
      if (e instanceof PostError) return false; // still unknown: treated as not landed (the orphan is superseded later)
      throw e;
    }
  }

  /**
   * Load the state afresh from the newest head in storage (rebuild()). If that head is another
   * branch than ours (our writes lost a fork), what our own head held is carried over on top, read
   * from storage rather than from the memory a rebuild distrusts.
   */
  private async reload(): Promise<RefreshOutcome> {
    const { storage, marks } = this.deps;
    const object = await storage.getObject(this.address.objectId);
    if (!object) {
      if (this.head) throw logError('LOG_ROLLBACK', this.address.name, `log ${this.address.name}: no replica has its head, but seq ${this.head.seq} was written`);
      return 'unchanged';
    }
    if (this.head && object.seq <= this.head.seq && !versionHash(object).equals(versionHash(this.head))) {
      await this.mergeOlderBranch(object);
      return object.seq < this.head.seq ? 'stale' : 'unchanged';
    }
    const { body } = verifyHead(this.address, object, this.model.kind, marks);
    const mine = this.head ? this.body : undefined;
    const lost = mine && (await continuation(storage, this.address, body, mine)).kind === 'forked' ? await this.stateOf(mine) : undefined;
    const fork = lost && mine ? await this.forkOf(mine, body) : undefined;
    this.replaceState(object, body, await loadState(storage, this.address, this.model, body));
    if (lost) this.merge(lost, `seq ${object.seq} does not extend this writer's seq`, fork);
    return 'reloaded';
  }

  /** The state a head of this log describes, or undefined when it cannot be read any more (its blocks gone). */
  private async stateOf(body: LogHeadBody): Promise<S | undefined> {
    try {
      return await loadState(this.deps.storage, this.address, this.model, body);
    } catch (e) {
      if (!(e instanceof PostError)) throw e;
      this.deps.onFork?.({ log: this.address.name, why: `the lost branch cannot be read: ${e.message}`, carried: 0 });
      return undefined;
    }
  }

  /** Where the branches `lost` and `winner` went apart (LogModel.recover's `fork`), or undefined when that cannot be read (the winner's flags then stand). */
  private async forkOf(lost: LogHeadBody, winner: LogHeadBody): Promise<ForkBase<S, Op> | undefined> {
    if (!this.model.recover) return undefined;
    try {
      return await forkBase(this.deps.storage, this.address, this.model, lost, winner);
    } catch (e) {
      if (!(e instanceof PostError)) throw e;
      return undefined;
    }
  }

  private replaceState(object: SignedObject, body: LogHeadBody, after: S): void {
    const before = this.state;
    this.state = after;
    this.head = object;
    this.body = body;
    this.committedSummary = this.model.decodeSummary(body.summary);
    this.stats.reloads++;
    this.emit({ kind: 'reloaded', before, after, seq: object.seq });
  }

  private async catchUp(hint?: SignedObject): Promise<RefreshOutcome> {
    const { storage, marks } = this.deps;
    const object = hint ?? (await storage.getObject(this.address.objectId));
    if (!object) {
      if (this.head) throw logError('LOG_ROLLBACK', this.address.name, `log ${this.address.name}: no replica has its head, but seq ${this.head.seq} was written`);
      return 'unchanged';
    }
    if (this.head && object.seq <= this.head.seq) {
      if (versionHash(object).equals(versionHash(this.head))) return 'unchanged';
      await this.mergeOlderBranch(object);
      return object.seq < this.head.seq ? 'stale' : 'unchanged';
    }
    const { body } = verifyHead(this.address, object, this.model.kind, marks);
    const next = await continuation(storage, this.address, body, this.body);
    if (next.kind === 'extends') {
      // Decode everything first: a malformed operation changes nothing.
      const decoded = next.ops.map((bytes, k) => decodeOp(this.address, this.model, bytes, this.body.opCount + k));
      const changes: C[] = [];
      for (const op of decoded) {
        const applied = this.model.apply(this.state, op);
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
    const fork = next.kind === 'forked' ? await this.forkOf(this.body, body) : undefined;
    this.replaceState(object, body, await loadState(storage, this.address, this.model, body));
    // Our branch lost (a partition healed and the other side's head is newer): carry what it held over.
    if (next.kind === 'forked') this.merge(before, `seq ${object.seq} does not extend this writer's seq`, fork);
    return 'reloaded';
  }

  /**
   * A head no newer than ours and not ours: a stale replica (our own history), an orphan of ours, or
   * the other branch of a fork that a replica still holds, which our newer head would bury at the
   * heal. Open it and carry what it holds over. Best effort: a head that does not verify or whose
   * blocks are gone is ignored, as a stale one always was.
   */
  private async mergeOlderBranch(object: SignedObject): Promise<void> {
    if (!this.model.recover) return;
    const { storage } = this.deps;
    try {
      // Not checked against the high-water marks: it is older than them by definition.
      const { body } = verifyHead(this.address, object, this.model.kind);
      // Only as far back as our head names entries: a stale replica far behind costs no walk.
      if ((await continuation(storage, this.address, this.body, body, { walk: false })).kind !== 'forked') return;
      const lost = await this.stateOf(body);
      if (lost) this.merge(lost, `seq ${object.seq} is not in this writer's history`, await this.forkOf(body, this.body));
    } catch (e) {
      if (!(e instanceof PostError)) throw e;
    }
  }

  /** Append what `lost` (a fork's other branch) holds and the state does not. */
  private merge(lost: S | undefined, why: string, fork: ForkBase<S, Op> | undefined): void {
    if (!lost) return;
    const ops = this.model.recover?.(lost, this.state, fork) ?? [];
    this.stats.forksMerged++;
    this.deps.onFork?.({ log: this.address.name, why, carried: ops.length });
    if (ops.length > 0) this.carrying = Promise.all([this.carrying, this.carry(ops)]);
  }

  /**
   * Append what a merge carries over, retried after a pause (another writer may be merging too). It
   * goes ahead of every append queued meanwhile, and of a batch whose lost round led to the merge:
   * those were made against the lost branch, and the carried operations are planned against the
   * state the merge saw (a folder keeps the lost branch's UIDs only if nothing took them first).
   */
  private async carry(ops: readonly Op[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.appendOps(ops, true);
        return;
      } catch (e) {
        if (attempt >= LOG_FORK_CARRY_ATTEMPTS_MAX || !(e instanceof PostError)) {
          this.deps.onFork?.({ log: this.address.name, why: `carrying ${ops.length} operations failed: ${(e as Error).message}`, carried: 0 });
          return;
        }
        await this.deps.pause?.(LOG_CAS_BACKOFF_MAX_MS);
      }
    }
  }
}
