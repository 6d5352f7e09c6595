import { describe, expect, it } from 'vitest';
import { SimRandom } from '../../../infra/sim/random';
import {
  checkRead,
  checkWrite,
  onReadAnswer,
  onWriteAnswer,
  type ReadAnswer,
  type ReadEffect,
  type ReadStep,
  startRead,
  startWrite,
  type WriteAnswer,
  type WriteEffect,
  type WriteStep,
} from '../../../storage/quorum';

const settles = (effects: readonly (WriteEffect | ReadEffect)[]) => effects.filter((e) => e.type === 'settle');

describe('quorum: replicated writes', () => {
  it('settles ok at a majority and is done once every replica answered', () => {
    let s = startWrite({ targets: ['a', 'b', 'c'], quorum: 2, attemptsMax: 3 });
    expect(s.effects.map((e) => e.type)).toEqual(['send', 'send', 'send']);
    s = onWriteAnswer(s.state, 'a', { kind: 'ack' });
    expect(settles(s.effects)).toEqual([]);
    s = onWriteAnswer(s.state, 'b', { kind: 'ack' });
    expect(settles(s.effects)).toEqual([{ type: 'settle', outcome: { ok: true, acked: ['a', 'b'] } }]);
    expect(s.state.phase).toBe('committed');
    s = onWriteAnswer(s.state, 'c', { kind: 'refused', refusal: { code: 'QUOTA_EXCEEDED', message: 'full' } });
    expect(s.state.phase).toBe('done');
    expect(settles(s.effects)).toEqual([]);
  });

  it('fails as soon as a majority is impossible, with the dominant refusal', () => {
    let s = startWrite({ targets: ['a', 'b', 'c'], quorum: 2, attemptsMax: 3 });
    s = onWriteAnswer(s.state, 'a', { kind: 'refused', refusal: { code: 'CAS_MISMATCH', message: 'newer' } });
    s = onWriteAnswer(s.state, 'b', { kind: 'refused', refusal: { code: 'CAS_MISMATCH', message: 'newer' } });
    expect(s.state.phase).toBe('failed');
    expect(settles(s.effects)).toMatchObject([{ outcome: { ok: false, code: 'CAS_MISMATCH' } }]);
  });

  it('resends a lost request until attemptsMax, then counts the replica lost', () => {
    let s = startWrite({ targets: ['a'], quorum: 1, attemptsMax: 2 });
    s = onWriteAnswer(s.state, 'a', { kind: 'lost', code: 'TIMEOUT' });
    expect(s.effects).toEqual([{ type: 'send', node: 'a', attempt: 2 }]);
    s = onWriteAnswer(s.state, 'a', { kind: 'lost', code: 'TIMEOUT' });
    expect(s.state.phase).toBe('failed');
    expect(settles(s.effects)).toMatchObject([{ outcome: { ok: false, code: 'UNAVAILABLE' } }]);
  });

  it('with no target it fails at once', () => {
    const s = startWrite({ targets: [], quorum: 1, attemptsMax: 3 });
    expect(settles(s.effects)).toMatchObject([{ outcome: { ok: false, code: 'UNAVAILABLE' } }]);
  });

  it('keeps its invariants and settles exactly once over 2,000 random histories', () => {
    const random = new SimRandom(11);
    for (let run = 0; run < 2000; run++) {
      const n = 1 + random.int(5);
      const targets = Array.from({ length: n }, (_, i) => `n${i}`);
      let step: WriteStep = startWrite({ targets, quorum: Math.floor(n / 2) + 1, attemptsMax: 1 + random.int(3) });
      let settled = settles(step.effects).length;
      const inFlight = step.effects.filter((e) => e.type === 'send').map((e) => (e as { node: string }).node);
      for (let i = 0; i < 50 && inFlight.length > 0; i++) {
        const node = inFlight.splice(random.int(inFlight.length), 1)[0]!;
        const roll = random.int(3);
        const answer: WriteAnswer = roll === 0 ? { kind: 'ack' } : roll === 1 ? { kind: 'refused', refusal: { code: 'FORK', message: 'x' } } : { kind: 'lost', code: 'TIMEOUT' };
        step = onWriteAnswer(step.state, node, answer);
        expect(checkWrite(step.state)).toBeUndefined();
        settled += settles(step.effects).length;
        for (const e of step.effects) if (e.type === 'send') inFlight.push(e.node);
      }
      expect(inFlight).toEqual([]);
      expect(settled).toBe(1);
      expect(['done', 'failed']).toContain(step.state.phase);
    }
  });
});

describe('quorum: replicated reads', () => {
  it("'first' asks one candidate at a time and stops at the first verified copy", () => {
    let s = startRead({ candidates: ['a', 'b', 'c'], mode: 'first', attemptsMax: 2 });
    expect(s.effects).toEqual([{ type: 'ask', node: 'a', attempt: 1 }]);
    s = onReadAnswer(s.state, 'a', { kind: 'bad' });
    expect(s.effects).toEqual([{ type: 'ask', node: 'b', attempt: 1 }]);
    s = onReadAnswer(s.state, 'b', { kind: 'got', rank: 0 });
    expect(s.state.phase).toBe('found');
    expect(settles(s.effects)).toEqual([{ type: 'settle', outcome: { from: 'b', misses: [], bad: ['a'], lost: [] } }]);
  });

  it("'all' asks everyone and takes the newest verified version", () => {
    let s = startRead({ candidates: ['a', 'b', 'c'], mode: 'all', attemptsMax: 2 });
    expect(s.effects).toHaveLength(3);
    s = onReadAnswer(s.state, 'a', { kind: 'got', rank: 4 });
    s = onReadAnswer(s.state, 'c', { kind: 'got', rank: 7 });
    expect(settles(s.effects)).toEqual([]);
    s = onReadAnswer(s.state, 'b', { kind: 'missing' });
    expect(settles(s.effects)).toMatchObject([{ outcome: { from: 'c', misses: ['b'] } }]);
  });

  it('with no candidate it finds nothing at once', () => {
    for (const mode of ['first', 'all'] as const) expect(settles(startRead({ candidates: [], mode, attemptsMax: 1 }).effects)).toHaveLength(1);
  });

  it('keeps its invariants and settles exactly once over 2,000 random histories', () => {
    const random = new SimRandom(12);
    for (let run = 0; run < 2000; run++) {
      const candidates = Array.from({ length: random.int(6) }, (_, i) => `n${i}`);
      let step: ReadStep = startRead({ candidates, mode: random.int(2) ? 'first' : 'all', attemptsMax: 1 + random.int(3) });
      let settled = settles(step.effects).length;
      const inFlight = step.effects.filter((e) => e.type === 'ask').map((e) => (e as { node: string }).node);
      for (let i = 0; i < 60 && inFlight.length > 0; i++) {
        const node = inFlight.splice(random.int(inFlight.length), 1)[0]!;
        const roll = random.int(4);
        const answer: ReadAnswer = roll === 0 ? { kind: 'got', rank: random.int(9) } : roll === 1 ? { kind: 'missing' } : roll === 2 ? { kind: 'bad' } : { kind: 'lost' };
        step = onReadAnswer(step.state, node, answer);
        expect(checkRead(step.state)).toBeUndefined();
        settled += settles(step.effects).length;
        for (const e of step.effects) if (e.type === 'ask') inFlight.push(e.node);
      }
      expect(settled).toBe(1);
      expect(['found', 'notFound']).toContain(step.state.phase);
    }
  });
});
