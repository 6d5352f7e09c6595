// The router under network faults, partitions and replays; invariants checked after every transition.
import { describe, expect, test } from 'vitest';
import { SimCluster } from '../../scenarios/sim/cluster';
import { simSeed, withSeed } from './seed';

async function ringOf(n: number, seed: number, opts: Partial<Parameters<typeof SimCluster.create>[0]> = {}) {
  const cluster = await SimCluster.create({ seed, checkInvariants: true, ...opts });
  await cluster.addNodes(n, 50);
  await cluster.runUntil(() => cluster.allReady(), 30_000);
  return cluster;
}

/** How long the member in the ring-of-one test stays down (30 min merged as fast; this keeps the test quick). */
const DOWN_MS = 3 * 60_000;

describe('router: faults', () => {
  test('with 2% loss, 2% duplication and reordering, joins converge and keys reach their root', async () => {
    const seed = simSeed(11);
    const cluster = await ringOf(60, seed, { faults: { lossProbability: 0.02, duplicateProbability: 0.02, delay: { minMs: 0.5, maxMs: 30 } } });
    await withSeed(cluster, async () => {
      expect(cluster.allReady()).toBe(true);
      const settled = await cluster.runUntilChecked(() => cluster.wrongLeafSets().length === 0, { everyMs: 500, maxMs: 30_000 });
      expect(cluster.wrongLeafSets()).toEqual([]);
      expect(settled).toBeDefined();
      const r = await cluster.checkRoutes(2000);
      expect(r.wrongRoot).toEqual([]);
      // A route is lost only when its result message is lost (2%), never misdelivered.
      expect(r.failed.length).toBeLessThan(2000 * 0.06);
      expect(cluster.violations).toEqual([]);
    });
    await cluster.stop();
  }, 120_000);

  test('a partition splits the ring in two and healing merges it back', async () => {
    const seed = simSeed(12);
    const cluster = await ringOf(40, seed);
    await withSeed(cluster, async () => {
      const ids = cluster.liveIds();
      const a = ids.filter((_, i) => i % 2 === 0);
      const b = ids.filter((_, i) => i % 2 === 1);
      cluster.network.partition([a, b]);
      await cluster.runFor(15_000);
      // Each side has become its own consistent ring: nobody lists a node across the cut.
      for (const node of cluster.live()) {
        const side = a.includes(node.id) ? a : b;
        for (const m of node.router.leafSet()) expect(side).toContain(m);
      }
      cluster.network.heal();
      const healedAfter = await cluster.runUntilChecked(() => cluster.wrongLeafSets().length === 0, { everyMs: 500, maxMs: 60_000 });
      console.log(`partition: leaf sets whole again ${healedAfter} ms after heal`);
      expect(cluster.wrongLeafSets()).toEqual([]);
      const r = await cluster.checkRoutes(1000);
      expect(r.wrongRoot).toEqual([]);
      expect(r.failed).toEqual([]);
      expect(cluster.violations).toEqual([]);
    });
    await cluster.stop();
  }, 120_000);

  test('two lone nodes started at once find each other and form one ring', async () => {
    const cluster = await SimCluster.create({ seed: simSeed(13), checkInvariants: true });
    await withSeed(cluster, async () => {
      await cluster.addNode();
      await cluster.addNode();
      await cluster.runFor(10_000);
      expect(cluster.allReady()).toBe(true);
      expect(cluster.wrongLeafSets()).toEqual([]);
      await cluster.addNodes(5, 100);
      await cluster.runFor(5_000);
      expect(cluster.wrongLeafSets()).toEqual([]);
    });
    await cluster.stop();
  });

  test('a member restarted where it reaches nobody founds a ring of one; once it can reach the others, the two rings become one', async () => {
    const cluster = await ringOf(12, simSeed(14));
    await withSeed(cluster, async () => {
      const x = cluster.liveIds()[5]!;
      await cluster.kill(x);
      await cluster.runFor(DOWN_MS);
      cluster.network.partition([[x]]);
      await cluster.restart(x);
      await cluster.runUntil(() => cluster.nodes.get(x)!.router.state === 'ready', 30_000);
      expect(cluster.nodes.get(x)!.router.leafSet()).toEqual([]);
      cluster.network.heal();
      const merged = await cluster.runUntilChecked(() => cluster.wrongLeafSets().length === 0, { everyMs: 500, maxMs: 60_000 });
      console.log(`ring of one: merged ${merged} ms after it could reach the others`);
      expect(cluster.wrongLeafSets()).toEqual([]);
      expect(cluster.nodes.get(x)!.router.leafSet().length).toBeGreaterThan(0);
      const r = await cluster.checkRoutes(500);
      expect(r.wrongRoot).toEqual([]);
    });
    await cluster.stop();
  }, 120_000);

  test('a seed replays exactly', async () => {
    const run = async () => {
      const c = await ringOf(30, 99, { faults: { lossProbability: 0.01, delay: { minMs: 0.5, maxMs: 10 } } });
      await c.kill(c.liveIds()[3]!);
      await c.runFor(8_000);
      const r = await c.checkRoutes(200);
      const summary = { stats: c.network.stats(), now: c.clock.now(), leafSets: c.live().map((n) => n.router.leafSet().join()), hops: r.hops };
      await c.stop();
      return JSON.stringify(summary);
    };
    expect(await run()).toBe(await run());
  }, 120_000);
});
