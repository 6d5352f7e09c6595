// One log's append queue, compare-and-swap rounds and catch-ups, as a pure transition function
// (state + event -> next state + named effects). The log handle (logWriter.ts) holds the state,
// performs the effects and feeds their outcomes back as events. The chart:
//
//   idle ──QUEUED──▶ writing ──stored / nothing to write──▶ next
//     │                 │ lost the compare-and-swap
//     │                 ├── attempts left ──▶ catchingUp ──▶ backingOff ──▶ writing (the batch again,
//     │                 │                                                   with what queued meanwhile)
//     │                 └── none left ─────▶ next (the batch fails with LOG_CONTENTION)
//     └──REFRESH──▶ refreshing ──▶ next
//   next: a refresh asked for meanwhile ──▶ refreshing; else appends queued ──▶ writing; else idle.
//
// Only one effect that touches the log's state runs at a time (a round, a catch-up, a refresh), so the
// committed state is never changed by two of them at once, and reads never wait: a round applies its
// batch to find the next head's counters, reverts it at once, and applies it for good only once the
// head is stored (see logWriter.ts). A batch is every append queued when its round began (group
// commit); a refresh asked for while the log is busy runs once it is idle again.
import { LOG_CAS_ATTEMPTS_MAX } from '../../protocol/limits';

export type AppendPhase = 'idle' | 'writing' | 'catchingUp' | 'backingOff' | 'refreshing';

export interface AppendCounts {
  readonly batches: number;
  readonly headsWritten: number;
  readonly casLost: number;
  readonly failed: number;
  readonly refreshes: number;
}

export interface AppendState {
  readonly phase: AppendPhase;
  /** Rounds tried for the current batch (1 in the first). */
  readonly attempt: number;
  /** Appends are waiting for a round. */
  readonly queued: boolean;
  /** A refresh was asked for while the log was busy. */
  readonly refreshWanted: boolean;
  readonly counts: AppendCounts;
}

export type RoundOutcome = 'stored' | 'nothing' | 'lost';

export type AppendEvent =
  | { readonly type: 'QUEUED' }
  | { readonly type: 'REFRESH' }
  | { readonly type: 'ROUND_DONE'; readonly outcome: RoundOutcome }
  | { readonly type: 'ROUND_FAILED'; readonly error: unknown }
  | { readonly type: 'CAUGHT_UP' }
  | { readonly type: 'CATCH_UP_FAILED'; readonly error: unknown }
  | { readonly type: 'BACKED_OFF' }
  | { readonly type: 'REFRESHED' }
  | { readonly type: 'REFRESH_FAILED'; readonly error: unknown };

export type AppendEffect =
  /** Take every queued append into the batch (a retry keeps the batch and adds what queued meanwhile). */
  | { readonly type: 'takeBatch' }
  /** Apply the batch and store the next head; answers ROUND_DONE or ROUND_FAILED. */
  | { readonly type: 'writeRound' }
  /** Catch up with the head that won the compare-and-swap; answers CAUGHT_UP or CATCH_UP_FAILED. */
  | { readonly type: 'catchUp' }
  /** A pause that grows with the lost rounds (`attempt`: the round just lost); answers BACKED_OFF. */
  | { readonly type: 'backoff'; readonly attempt: number }
  /** Catch up with the newest head in storage for everyone who asked; answers REFRESHED or REFRESH_FAILED. */
  | { readonly type: 'refresh' }
  /** Fail the batch's callers; `attempts` set when the compare-and-swap was lost that many times. */
  | { readonly type: 'failBatch'; readonly error?: unknown; readonly attempts?: number };

export interface AppendStep {
  readonly state: AppendState;
  readonly effects: readonly AppendEffect[];
}

export const initialAppendState: AppendState = {
  phase: 'idle',
  attempt: 0,
  queued: false,
  refreshWanted: false,
  counts: { batches: 0, headsWritten: 0, casLost: 0, failed: 0, refreshes: 0 },
};

const count = (s: AppendState, key: keyof AppendCounts): AppendState => ({ ...s, counts: { ...s.counts, [key]: s.counts[key] + 1 } });

/** Leave a busy phase: a wanted refresh first, then queued appends, else idle. */
function next(s: AppendState, effects: AppendEffect[]): AppendStep {
  if (s.refreshWanted) {
    effects.push({ type: 'refresh' });
    return { state: { ...count(s, 'refreshes'), phase: 'refreshing', attempt: 0, refreshWanted: false }, effects };
  }
  if (s.queued) {
    effects.push({ type: 'takeBatch' }, { type: 'writeRound' });
    return { state: { ...count(s, 'batches'), phase: 'writing', attempt: 1, queued: false }, effects };
  }
  return { state: { ...s, phase: 'idle', attempt: 0 }, effects };
}

export function appendStep(s: AppendState, e: AppendEvent): AppendStep {
  switch (e.type) {
    case 'QUEUED':
      return s.phase === 'idle' ? next({ ...s, queued: true }, []) : { state: { ...s, queued: true }, effects: [] };
    case 'REFRESH':
      return s.phase === 'idle' ? next({ ...s, refreshWanted: true }, []) : { state: { ...s, refreshWanted: true }, effects: [] };
    case 'ROUND_DONE':
      if (s.phase !== 'writing') return unexpected(s, e);
      if (e.outcome === 'stored') return next(count(s, 'headsWritten'), []);
      if (e.outcome === 'nothing') return next(s, []);
      if (s.attempt < LOG_CAS_ATTEMPTS_MAX) return { state: { ...count(s, 'casLost'), phase: 'catchingUp' }, effects: [{ type: 'catchUp' }] };
      return next(count(count(s, 'casLost'), 'failed'), [{ type: 'failBatch', attempts: s.attempt }]);
    case 'ROUND_FAILED':
      if (s.phase !== 'writing') return unexpected(s, e);
      return next(count(s, 'failed'), [{ type: 'failBatch', error: e.error }]);
    case 'CAUGHT_UP':
      if (s.phase !== 'catchingUp') return unexpected(s, e);
      return { state: { ...s, phase: 'backingOff' }, effects: [{ type: 'backoff', attempt: s.attempt }] };
    case 'CATCH_UP_FAILED':
      if (s.phase !== 'catchingUp') return unexpected(s, e);
      return next(count(s, 'failed'), [{ type: 'failBatch', error: e.error }]);
    case 'BACKED_OFF':
      if (s.phase !== 'backingOff') return unexpected(s, e);
      return { state: { ...s, phase: 'writing', attempt: s.attempt + 1, queued: false }, effects: [{ type: 'takeBatch' }, { type: 'writeRound' }] };
    case 'REFRESHED':
    case 'REFRESH_FAILED':
      if (s.phase !== 'refreshing') return unexpected(s, e);
      return next(s, []);
  }
}

/** An effect answered in a phase that did not ask for it: a bug in the log handle. */
function unexpected(s: AppendState, e: AppendEvent): never {
  throw new Error(`logAppend: ${e.type} in phase ${s.phase}`);
}

/** Invariants, checked after every step in tests. */
export function checkAppend(s: AppendState): string | undefined {
  if (s.phase === 'idle' && (s.queued || s.refreshWanted)) return 'idle with work waiting';
  if ((s.phase === 'writing' || s.phase === 'catchingUp' || s.phase === 'backingOff') && (s.attempt < 1 || s.attempt > LOG_CAS_ATTEMPTS_MAX)) return `attempt ${s.attempt} out of range`;
  if (s.counts.headsWritten > s.counts.batches) return 'more heads written than batches';
  return undefined;
}
