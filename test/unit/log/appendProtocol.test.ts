// The log append protocol as a pure transition function: a batch per round, retries after a lost
// compare-and-swap (catch up, back off, write again) up to LOG_CAS_ATTEMPTS_MAX, then LOG_CONTENTION;
// errors fail the batch; refreshes wait for the log to be idle. And the log handle that runs it: reads
// see the committed state at once, even while a round is out.
import { describe, expect, test } from 'vitest';
import { SimRandom } from '../../../infra/sim/random';
import { LOG_CAS_ATTEMPTS_MAX } from '../../../protocol/limits';
import { type AppendEvent, type AppendState, appendStep, checkAppend, initialAppendState } from '../../../storage/log/appendProtocol';
import { openFolderLog } from '../../../storage/folders/folderLogs';
import { MemoryStorage } from '../../../storage/memory/storage';
import type { ObjectPutResult } from '../../../storage/api';
import type { SignedObject } from '../../../storage/signedObject';
import { depsFor, insertFor, testOwner } from './logFixtures';

function run(events: AppendEvent[]) {
  let s: AppendState = initialAppendState;
  const effects: string[] = [];
  for (const e of events) {
    const step = appendStep(s, e);
    s = step.state;
    expect(checkAppend(s)).toBeUndefined();
    for (const f of step.effects) effects.push(f.type === 'backoff' ? `backoff:${f.attempt}` : f.type === 'failBatch' ? `fail:${f.attempts ?? 'error'}` : f.type);
  }
  return { state: s, effects };
}

describe('log append protocol', () => {
  test('a stored round ends the batch and the log is idle', () => {
    const { state, effects } = run([{ type: 'QUEUED' }, { type: 'ROUND_DONE', outcome: 'stored' }]);
    expect(effects).toEqual(['takeBatch', 'writeRound']);
    expect(state.phase).toBe('idle');
    expect(state.counts).toMatchObject({ batches: 1, headsWritten: 1, casLost: 0, failed: 0 });
  });

  test('appends queued during a round make the next batch (group commit)', () => {
    const { state, effects } = run([{ type: 'QUEUED' }, { type: 'QUEUED' }, { type: 'QUEUED' }, { type: 'ROUND_DONE', outcome: 'stored' }, { type: 'ROUND_DONE', outcome: 'stored' }]);
    expect(effects).toEqual(['takeBatch', 'writeRound', 'takeBatch', 'writeRound']);
    expect(state.counts.batches).toBe(2);
  });

  test('a lost round catches up, backs off and writes the batch again', () => {
    const { state, effects } = run([
      { type: 'QUEUED' },
      { type: 'ROUND_DONE', outcome: 'lost' },
      { type: 'CAUGHT_UP' },
      { type: 'BACKED_OFF' },
      { type: 'ROUND_DONE', outcome: 'lost' },
      { type: 'CAUGHT_UP' },
      { type: 'BACKED_OFF' },
      { type: 'ROUND_DONE', outcome: 'stored' },
    ]);
    expect(effects).toEqual(['takeBatch', 'writeRound', 'catchUp', 'backoff:1', 'takeBatch', 'writeRound', 'catchUp', 'backoff:2', 'takeBatch', 'writeRound']);
    expect(state.counts).toMatchObject({ batches: 1, headsWritten: 1, casLost: 2 });
  });

  test(`after ${LOG_CAS_ATTEMPTS_MAX} lost rounds the batch fails with the count`, () => {
    const events: AppendEvent[] = [{ type: 'QUEUED' }];
    for (let i = 1; i < LOG_CAS_ATTEMPTS_MAX; i++) events.push({ type: 'ROUND_DONE', outcome: 'lost' }, { type: 'CAUGHT_UP' }, { type: 'BACKED_OFF' });
    events.push({ type: 'ROUND_DONE', outcome: 'lost' });
    const { state, effects } = run(events);
    expect(effects.filter((e) => e === 'writeRound')).toHaveLength(LOG_CAS_ATTEMPTS_MAX);
    expect(effects.at(-1)).toBe(`fail:${LOG_CAS_ATTEMPTS_MAX}`);
    expect(state.phase).toBe('idle');
    expect(state.counts.failed).toBe(1);
  });

  test('an error fails the batch and queued appends start a fresh one', () => {
    const { state, effects } = run([{ type: 'QUEUED' }, { type: 'QUEUED' }, { type: 'ROUND_FAILED', error: new Error('disk on fire') }, { type: 'ROUND_DONE', outcome: 'stored' }]);
    expect(effects).toEqual(['takeBatch', 'writeRound', 'fail:error', 'takeBatch', 'writeRound']);
    expect(state).toMatchObject({ phase: 'idle', counts: { batches: 2, headsWritten: 1, failed: 1 } });
  });

  test('a refresh asked for during a round runs after it, before the next batch', () => {
    const { state, effects } = run([{ type: 'QUEUED' }, { type: 'REFRESH' }, { type: 'QUEUED' }, { type: 'ROUND_DONE', outcome: 'stored' }, { type: 'REFRESHED' }, { type: 'ROUND_DONE', outcome: 'nothing' }]);
    expect(effects).toEqual(['takeBatch', 'writeRound', 'refresh', 'takeBatch', 'writeRound']);
    expect(state.phase).toBe('idle');
  });

  test('an effect answered in the wrong phase is a bug and throws', () => {
    expect(() => appendStep(initialAppendState, { type: 'ROUND_DONE', outcome: 'stored' })).toThrow(/ROUND_DONE in phase idle/);
  });

  test('random histories keep the invariants and never run two effects on the state at once', () => {
    const random = new SimRandom(5);
    for (let history = 0; history < 60; history++) {
      let s: AppendState = initialAppendState;
      let busy: AppendEvent['type'][] = []; // the answers the one outstanding effect may give
      for (let i = 0; i < 200; i++) {
        let e: AppendEvent;
        if (busy.length > 0 && random.int(3) > 0) {
          const type = busy[random.int(busy.length)]!;
          e = type === 'ROUND_DONE' ? { type, outcome: (['stored', 'nothing', 'lost'] as const)[random.int(3)]! } : ({ type, error: new Error('x') } as AppendEvent);
        } else e = { type: random.int(2) ? 'QUEUED' : 'REFRESH' };
        const step = appendStep(s, e);
        s = step.state;
        expect(checkAppend(s)).toBeUndefined();
        const started = step.effects.filter((f) => f.type === 'writeRound' || f.type === 'catchUp' || f.type === 'backoff' || f.type === 'refresh');
        expect(started.length).toBeLessThanOrEqual(1);
        if (busy.length > 0 && e.type !== 'QUEUED' && e.type !== 'REFRESH') busy = [];
        if (started.length === 1) {
          expect(busy).toEqual([]);
          const t = started[0]!.type;
          busy = t === 'writeRound' ? ['ROUND_DONE', 'ROUND_FAILED'] : t === 'catchUp' ? ['CAUGHT_UP', 'CATCH_UP_FAILED'] : t === 'backoff' ? ['BACKED_OFF'] : ['REFRESHED', 'REFRESH_FAILED'];
        }
        expect(busy.length === 0).toBe(s.phase === 'idle');
      }
    }
  });
});

/** Storage whose head puts wait until released: a round that is out for as long as the test likes. */
class HeldPuts extends MemoryStorage {
  held: (() => void)[] = [];
  hold = false;
  override async putObject(object: SignedObject, replacesSeq: number): Promise<ObjectPutResult> {
    if (this.hold) await new Promise<void>((resolve) => this.held.push(resolve));
    return super.putObject(object, replacesSeq);
  }
}

describe('log handle', () => {
  test('reads see the committed state at once while a round is out, and the new state once it is stored', async () => {
    const storage = new HeldPuts();
    const owner = await testOwner(7);
    const log = await openFolderLog(depsFor(storage, owner, 'held'), owner, 'f-held');
    await log.append([insertFor(1)]);
    storage.hold = true;
    const pending = log.append([insertFor(2)]);
    for (let i = 0; i < 20 && storage.held.length === 0; i++) await new Promise((r) => setImmediate(r));
    expect(storage.held).toHaveLength(1);
    // The round is out: a reader does not wait, and sees message 1 only.
    expect(log.readNow((s) => [...s.messages.keys()])).toEqual([1]);
    expect(log.summary.uidNext).toBe(2);
    storage.hold = false;
    storage.held.shift()!();
    const [r] = await pending;
    expect(r!.change).toMatchObject({ type: 'insert', outcome: 'added', message: { uid: 2 } });
    expect(log.readNow((s) => [...s.messages.keys()])).toEqual([1, 2]);
    expect(log.summary.uidNext).toBe(3);
  });
});
