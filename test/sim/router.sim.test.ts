// The router on the deterministic simulator: joins, routing against a global oracle, mass failure
// and repair. A failing run prints "reproduce with seed=N".
import { describe, expect, test } from 'vitest';
import { percentile, SimCluster } from '../../scenarios/sim/cluster';
import { OVERLAY_TIMINGS } from '../../protocol/limits';
import { simSeed, withSeed } from './seed';

const N = 500;
const KEYS = 10_000;
/** Repair after the suspicion timeout must finish within this much simulated time. */
const REPAIR_BOUND_MS = 10_000;

describe('router: 500 simulated nodes', () => {
  test('routes 10,000 keys to their numerically closest live node, before and after 20% of nodes die at once', async () => {
    const seed = simSeed(1);
    const cluster = await SimCluster.create({ seed });
    console.log(`router sim: seed=${seed} nodes=${N} keys=${KEYS}`);
    await withSeed(cluster, async () => {
      await cluster.addNodes(N, 20);
      expect(await cluster.runUntil(() => cluster.allReady(), 30_000)).toBe(true);
      // Leaf sets settle within a few heartbeat periods of the last join.
      const settledAfter = await cluster.runUntilChecked(() => cluster.wrongLeafSets().length === 0, { everyMs: 500, maxMs: 20_000 });
      expect(cluster.wrongLeafSets()).toEqual([]);
      expect(settledAfter).toBeDefined();

      const before = await cluster.checkRoutes(KEYS, 'before');
      expect(before.failed).toEqual([]);
      expect(before.wrongRoot).toEqual([]);
      const bound = Math.ceil(Math.log(N) / Math.log(16)) + 1;
      const within = before.hops.filter((h) => h <= bound).length / before.hops.length;
      console.log(`router sim: hops p50=${percentile(before.hops, 50)} p99=${percentile(before.hops, 99)} max=${Math.max(...before.hops)} bound=${bound} within=${(within * 100).toFixed(2)}%`);
      expect(within).toBeGreaterThanOrEqual(0.99);

      // Kill 20% at once.
      const victims = cluster.liveIds().filter((_, i) => i % 5 === 0);
      for (const v of victims) await cluster.kill(v);
      const repairedAfter = await cluster.runUntilChecked(() => cluster.wrongLeafSets().length === 0, {
        everyMs: 250,
        maxMs: OVERLAY_TIMINGS.suspicionTimeoutMs + REPAIR_BOUND_MS,
      });
      console.log(`router sim: leaf sets correct ${repairedAfter} ms after killing ${victims.length} nodes`);
      expect(cluster.wrongLeafSets()).toEqual([]);

      const after = await cluster.checkRoutes(KEYS, 'after');
      expect(after.failed).toEqual([]);
      expect(after.wrongRoot).toEqual([]);
    });
    await cluster.stop();
  }, 600_000); // 500 nodes authenticating every overlay frame: minutes of CPU on a shared machine
});
