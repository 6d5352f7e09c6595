import { describe, expect, it } from 'vitest';
import { SimRandom } from '../../../infra/sim/random';
import type { OfferedBlock } from '../../../protocol/storage';
import { REPAIR_FETCHES_AWAITING_MAX, REPAIR_FETCHES_IN_FLIGHT_MAX, REPAIR_FETCHES_PER_SOURCE_MAX } from '../../../protocol/limits';
import { type FetchOutcome, type FetchRequest, offerDigest, RepairQueue, type RepairQueueLimits } from '../../../storage/repair';

const MiB = 1024 * 1024;
const LIMITS: RepairQueueLimits = { queueMax: 1000, perSourceMax: 2, awaitingMax: 3, inFlightMax: 3, batchIdsMax: 4, batchBytesMax: 2 * MiB, attemptsMax: 3 };
const id = (n: number) => n.toString(16).padStart(64, '0');
const block = (n: number, sizeBytes = 1000): OfferedBlock => ({ id: id(n), expiresAtMs: 1_000_000 + n, insertedBy: 'ab'.repeat(32), sizeBytes });
const blocks = (from: number, count: number, sizeBytes?: number) => Array.from({ length: count }, (_, i) => block(from + i, sizeBytes));
const outcomes = (ids: readonly string[], outcome: FetchOutcome) => new Map(ids.map((i) => [i, outcome]));

describe('repair queue: fetching what holders offered', () => {
  it('fetches a block offered by two holders once, from one of them', () => {
    const q = new RepairQueue(LIMITS);
    expect(q.offer('a', blocks(1, 3))).toBe(3);
    expect(q.offer('b', blocks(1, 3))).toBe(3);
    const started = q.start();
    expect(q.check()).toEqual([]);
    const asked = started.flatMap((r) => r.ids);
    expect(asked.sort()).toEqual([id(1), id(2), id(3)]);
    for (const r of started) q.settle(r.requestId, outcomes(r.ids, 'stored'));
    expect(q.size).toBe(0);
    expect(q.start()).toEqual([]);
  });

  it('batches by count and by offered bytes, and keeps within the per-source and overall limits', () => {
    const q = new RepairQueue(LIMITS);
    q.offer('a', blocks(1, 10)); // small: 4 per request
    q.offer('b', blocks(100, 3, MiB + 16)); // full blocks: one per request (two would exceed batchBytesMax)
    q.offer('c', blocks(200, 2));
    const started = q.start();
    expect(q.check()).toEqual([]);
    expect(started).toHaveLength(3);
    const bySource = (s: string) => started.filter((r) => r.source === s);
    expect(bySource('a')[0]!.ids).toHaveLength(4);
    expect(bySource('b')[0]!.ids).toHaveLength(1);
    expect(bySource('c')[0]!.ids).toHaveLength(2);
    expect(q.start()).toEqual([]); // overall limit reached
    q.settle(bySource('c')[0]!.requestId, outcomes(bySource('c')[0]!.ids, 'stored'));
    const next = q.start();
    expect(next).toHaveLength(1);
    expect(q.check()).toEqual([]);
  });

  it('a source is asked again once an answer arrived, while that batch is stored; all requests count until settled', () => {
    const q = new RepairQueue({ ...LIMITS, inFlightMax: 3 });
    q.offer('a', blocks(1, 20));
    const first = q.start();
    expect(first.map((r) => r.source)).toEqual(['a', 'a']); // perSourceMax
    q.received(first[0]!.requestId);
    const second = q.start();
    expect(second.map((r) => r.source)).toEqual(['a']);
    expect(q.check()).toEqual([]);
    q.received(second[0]!.requestId);
    expect(q.start()).toEqual([]); // three requests not yet settled: inFlightMax
    q.settle(first[0]!.requestId, outcomes(first[0]!.ids, 'stored'));
    expect(q.start()).toHaveLength(1);
    expect(q.check()).toEqual([]);
  });

  it('at most awaitingMax requests await their answers; answered ones being stored count only against inFlightMax', () => {
    const q = new RepairQueue({ ...LIMITS, awaitingMax: 2, inFlightMax: 4 });
    q.offer('a', blocks(1, 40));
    q.offer('b', blocks(100, 40));
    q.offer('c', blocks(200, 40));
    const first = q.start();
    expect(first).toHaveLength(2);
    expect(q.start()).toEqual([]);
    q.received(first[0]!.requestId);
    const second = q.start();
    expect(second).toHaveLength(1);
    expect(q.check()).toEqual([]);
    q.received(first[1]!.requestId);
    q.received(second[0]!.requestId);
    expect(q.start()).toHaveLength(1); // three being stored, one awaiting: inFlightMax
    expect(q.check()).toEqual([]);
    q.settle(first[0]!.requestId, outcomes(first[0]!.ids, 'stored'));
    expect(q.start()).toHaveLength(1);
    expect(q.check()).toEqual([]);
  });

  it("with the node's limits, answers keep coming while the batches of the last three rounds are still being stored", () => {
    // On the loaded lab a batch takes longer to verify and store durably than to arrive: the batches being
    // stored must not take the slots of the requests that keep the link busy.
    const q = new RepairQueue({ ...LIMITS, perSourceMax: REPAIR_FETCHES_PER_SOURCE_MAX, awaitingMax: REPAIR_FETCHES_AWAITING_MAX, inFlightMax: REPAIR_FETCHES_IN_FLIGHT_MAX });
    for (let s = 0; s < REPAIR_FETCHES_AWAITING_MAX; s++) q.offer(`source${s}`, blocks(1000 * (s + 1), 100));
    for (let round = 0; round < 4; round++) {
      const asked = q.start();
      expect(asked).toHaveLength(REPAIR_FETCHES_AWAITING_MAX);
      expect(q.check()).toEqual([]);
      for (const r of asked) q.received(r.requestId); // answered; stored later
    }
  });

  it('a block one source lacks or has corrupt is fetched from another; one no source can give is dropped', () => {
    const q = new RepairQueue(LIMITS);
    q.offer('a', [block(1), block(2)]);
    q.offer('b', [block(1)]);
    const [first] = q.start().filter((r) => r.source === 'a');
    expect(first!.ids).toEqual([id(1), id(2)]);
    q.settle(first!.requestId, new Map([[id(1), 'corrupt'], [id(2), 'missing']]));
    expect(q.dropped).toBe(1); // id(2): a was its only source
    const retry = q.start();
    expect(retry).toEqual([{ requestId: expect.any(Number), source: 'b', ids: [id(1)] }]);
    q.settle(retry[0]!.requestId, outcomes(retry[0]!.ids, 'stored'));
    expect(q.size).toBe(0);
  });

  it('a lost request is asked again, at most attemptsMax times, then dropped', () => {
    const q = new RepairQueue(LIMITS);
    q.offer('a', [block(7)]);
    for (let attempt = 1; attempt <= LIMITS.attemptsMax; attempt++) {
      const [r] = q.start();
      expect(r!.ids).toEqual([id(7)]);
      q.fail(r!.requestId);
      expect(q.check()).toEqual([]);
    }
    expect(q.size).toBe(0);
    expect(q.dropped).toBe(1);
    expect(q.start()).toEqual([]);
  });

  it('a refused block (quota) is not asked again; the queue holds at most queueMax blocks', () => {
    const q = new RepairQueue({ ...LIMITS, queueMax: 5 });
    expect(q.offer('a', blocks(1, 8))).toBe(5);
    const [r] = q.start();
    q.settle(r!.requestId, outcomes(r!.ids, 'refused'));
    expect(q.size).toBe(1);
    expect(q.offer('a', blocks(1, 8))).toBe(5); // ids 1..4 come back, 5 was still queued, the queue is full again
    expect(q.size).toBe(5);
  });

  it('answers after clear() are ignored', () => {
    const q = new RepairQueue(LIMITS);
    q.offer('a', blocks(1, 2));
    const [r] = q.start();
    q.clear();
    q.settle(r!.requestId, outcomes(r!.ids, 'stored'));
    expect(q.size).toBe(0);
    expect(q.check()).toEqual([]);
  });

  it('under random offers and answers, the invariants hold and every block ends stored or dropped', () => {
    const random = new SimRandom(7);
    const q = new RepairQueue({ ...LIMITS, awaitingMax: 2, inFlightMax: 4 });
    const sources = ['a', 'b', 'c', 'd'];
    const inFlight: FetchRequest[] = [];
    const settled = new Set<string>();
    for (let step = 0; step < 2000; step++) {
      if (random.int(3) === 0) {
        const from = random.int(200);
        q.offer(sources[random.int(sources.length)]!, blocks(from, 1 + random.int(6), random.int(2) ? 1000 : MiB));
      }
      inFlight.push(...q.start());
      if (inFlight.length > 0 && random.int(3) === 0) q.received(inFlight[random.int(inFlight.length)]!.requestId);
      if (inFlight.length > 0 && random.int(2) === 0) {
        const r = inFlight.splice(random.int(inFlight.length), 1)[0]!;
        const kinds: FetchOutcome[] = ['stored', 'stored', 'stored', 'missing', 'corrupt', 'lost', 'refused'];
        const answer = new Map(r.ids.map((i) => [i, kinds[random.int(kinds.length)]!]));
        if (random.int(10) === 0) q.fail(r.requestId);
        else q.settle(r.requestId, answer);
        for (const [i, o] of answer) if (o === 'stored') settled.add(i);
      }
      expect(q.check()).toEqual([]);
    }
    while (inFlight.length > 0 || q.size > 0) {
      inFlight.push(...q.start());
      const r = inFlight.shift()!;
      q.settle(r.requestId, outcomes(r.ids, 'stored'));
      expect(q.check()).toEqual([]);
    }
    expect(q.size).toBe(0);
  });
});

describe('repair offers', () => {
  it('the digest covers every field of every block, in order', () => {
    const base = offerDigest([block(1), block(2)]);
    expect(Buffer.from(offerDigest([block(1), block(2)])).equals(Buffer.from(base))).toBe(true);
    for (const changed of [
      [block(2), block(1)],
      [block(1)],
      [{ ...block(1), expiresAtMs: 5 }, block(2)],
      [{ ...block(1), insertedBy: 'cd'.repeat(32) }, block(2)],
      [{ ...block(1), sizeBytes: 999 }, block(2)],
    ])
      expect(Buffer.from(offerDigest(changed)).equals(Buffer.from(base))).toBe(false);
  });
});
