// The `store` actor's binding (DESIGN 7): the node's local database as the other actors use it, behind
// machines/store.machine.ts. Every call goes to the database the current store actor opened; while the
// store is opening or failed a call is answered at once with UNAVAILABLE (never left hanging), and an
// operating failure of the database (the adapter's STORE_FAILED: disk full, EACCES, EIO) moves the
// actor to `failed` and is answered UNAVAILABLE too. A bug (any other error) propagates unchanged.
//
// A restarted store actor reopens the database: the old handle is closed and `reopen` opens a fresh
// one (LMDB on disk). Without `reopen` (the simulator's memory disk) the same handle is kept: its
// content is the disk, which a restart does not lose.
import type { ActorRefFrom } from 'xstate';
import type { Log } from '../infra/ports';
import type { LocalStore } from '../infra/store/port';
import { storeMachine } from '../machines/store.machine';
import { ErrorCodes, PostError } from '../protocol/errors';

type StoreRef = ActorRefFrom<typeof storeMachine>;

/** Every LocalStore operation but close: each is forwarded the same way. */
const OPERATIONS = [
  'putBlock',
  'putBlocks',
  'getBlock',
  'readBlocks',
  'hasBlock',
  'blockMeta',
  'deleteBlock',
  'extendLease',
  'deleteExpired',
  'getObject',
  'compareAndPutObject',
  'deleteObject',
  'putDropEntry',
  'getDropEntry',
  'listDrop',
  'countDrop',
  'deleteDropEntry',
  'deleteDropEntries',
  'hasTombstone',
  'deleteExpiredTombstones',
  'scanBlocks',
  'scanObjects',
  'scanDrops',
  'dropDigest',
  'rangeDigest',
  'bytesUsedBy',
  'totals',
] as const satisfies readonly Exclude<keyof LocalStore, 'close'>[];
type Operation = (typeof OPERATIONS)[number];
// A LocalStore operation missing from OPERATIONS is a compile error here.
const everyOperationForwarded: Exclude<keyof LocalStore, 'close' | Operation> extends never ? true : never = true;
void everyOperationForwarded;

export interface StoreBindingDeps {
  /** The database, already open (the process opened it before starting the node). */
  readonly store: LocalStore;
  /** Open the database again (a restarted store actor); absent: the same handle is kept. */
  readonly reopen?: () => LocalStore | Promise<LocalStore>;
  readonly log: Log;
  /** How long a failed store answers UNAVAILABLE before its actor fails (tests lengthen it). */
  readonly holdMs?: number;
}

type Forwarded = Pick<LocalStore, Operation>;
export interface StoreBinding extends Forwarded {}

export class StoreBinding implements LocalStore {
  private current: LocalStore;
  private ref: StoreRef | undefined;
  private generation = 0;
  private opening: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly log: Log;

  constructor(private readonly deps: StoreBindingDeps) {
    this.current = deps.store;
    this.log = deps.log.child({ actor: 'store' });
    for (const op of OPERATIONS) (this as unknown as Record<Operation, unknown>)[op] = (...args: unknown[]) => this.call(op, args);
  }

  /** The store actor's logic, a fresh one for each (re)start. */
  logic() {
    return storeMachine.provide({ actions: { open: () => void this.open() } });
  }

  get input(): { holdMs?: number } {
    return this.deps.holdMs === undefined ? {} : { holdMs: this.deps.holdMs };
  }

  attach(ref: StoreRef): void {
    this.ref = ref;
  }

  /** The store actor's state: opening, open, failed or closed (stopped when it is not running). */
  get state(): string {
    const s = this.ref?.getSnapshot();
    return s && s.status === 'active' ? String(s.value) : s?.status === 'done' ? 'closed' : 'stopped';
  }

  /** Open at the first start; reopen (a fresh handle) on every restart. Reports to the actor attached by then. */
  private async open(): Promise<void> {
    const generation = ++this.generation;
    let settle!: () => void;
    this.opening = new Promise<void>((resolve) => (settle = resolve));
    let event: { type: 'OPENED' } | { type: 'FAILED'; error: string } = { type: 'OPENED' };
    try {
      if (generation > 1 && this.deps.reopen) {
        await this.current.close().catch((e: Error) => this.log.warn('store.close.failed', { error: e.message }));
        this.current = await this.deps.reopen();
        this.log.info('store.reopened', {});
      }
    } catch (e) {
      if (!(e instanceof PostError && e.code === ErrorCodes.STORE_FAILED)) throw e;
      this.log.error('store.failed', { error: e.message });
      event = { type: 'FAILED', error: e.message };
    }
    // At the first start the actor is attached right after it spawned (the same transition): report after it.
    queueMicrotask(() => {
      if (generation === this.generation && this.ref?.getSnapshot().status === 'active') this.ref.send(event);
      settle();
    });
  }

  private async call(op: Operation, args: unknown[]): Promise<unknown> {
    // Opening takes one local open (milliseconds): wait for it rather than refuse.
    if (this.state === 'opening') await this.opening;
    const state = this.state;
    if (state !== 'open') throw this.unavailable(state === 'failed' ? `it failed (${this.failure()}); the node is reopening it` : `it is ${state}`);
    const store = this.current;
    try {
      return await (store[op] as (...a: unknown[]) => Promise<unknown>)(...args);
    } catch (e) {
      if (e instanceof PostError && e.code === ErrorCodes.STORE_FAILED) {
        if (store === this.current && this.ref?.getSnapshot().status === 'active') {
          this.log.error('store.failed', { op, error: e.message });
          this.ref.send({ type: 'FAILED', error: e.message });
        }
        throw this.unavailable(e.message);
      }
      // A call still running on a handle a restart has closed: the store was reopened under it.
      if (e instanceof PostError && e.code === ErrorCodes.STORE_CLOSED && store !== this.current) throw this.unavailable('it was reopened during the request');
      throw e;
    }
  }

  private failure(): string {
    return (this.ref?.getSnapshot().context as { error?: string } | undefined)?.error ?? 'unknown error';
  }

  private unavailable(why: string): PostError {
    return new PostError(ErrorCodes.UNAVAILABLE, `this node's local store is unavailable: ${why}; try another replica or again later`);
  }

  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.ref?.getSnapshot().status === 'active') this.ref.send({ type: 'CLOSED' });
    await this.current.close();
  }
}
