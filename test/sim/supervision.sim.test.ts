// Supervision of a node's actors on the simulator: a crashed router is restarted (observably) and
// rejoins; crashing beyond the restart intensity escalates and the node reports failure.
import { describe, expect, test } from 'vitest';
import type { InspectionEvent } from 'xstate';
import { SimCluster } from '../../scenarios/sim/cluster';
import { simSeed, withSeed } from './seed';

describe('supervision', () => {
  test('a crashed router is restarted, the restart is visible, and the node is back in the ring', async () => {
    const cluster = await SimCluster.create({ seed: simSeed(21) });
    await withSeed(cluster, async () => {
      await cluster.addNodes(10, 50);
      const inspected: string[] = [];
      const node = await cluster.addNode({
        inspect: (e: InspectionEvent) => {
          if (e.type === '@xstate.event' && e.event.type.startsWith('xstate.error.actor')) inspected.push(e.event.type);
        },
      });
      await cluster.runUntil(() => cluster.allReady(), 20_000);
      const restarts: string[] = [];
      node.restarts$.subscribe((r) => restarts.push(`${r.child}: ${r.error}`));
      node.injectCrash('router');
      await cluster.runFor(3_000); // the next heartbeat tick performs an effect and crashes
      expect(restarts).toEqual(['router: injected crash (fault injection)']);
      expect(inspected).toEqual(['xstate.error.actor.router']);
      expect(cluster.log.entries().some((e) => e.event === 'supervisor.restart' && e.child === 'router')).toBe(true);
      expect(node.status().restarts).toEqual({ router: 1 });
      await cluster.runUntil(() => node.router.state === 'ready', 20_000);
      expect(node.router.state).toBe('ready');
      await cluster.runFor(6_000);
      expect(cluster.wrongLeafSets()).toEqual([]);
      const r = await cluster.checkRoutes(300);
      expect(r.wrongRoot).toEqual([]);
      expect(r.failed).toEqual([]);
    });
    await cluster.stop();
  }, 60_000);

  test('a router crashing beyond the restart intensity escalates: the node fails', async () => {
    const cluster = await SimCluster.create({ seed: simSeed(22) });
    await withSeed(cluster, async () => {
      await cluster.addNodes(5, 50);
      const node = await cluster.addNode();
      await cluster.runUntil(() => cluster.allReady(), 20_000);
      let failed: Error | undefined;
      node.failed$.subscribe((e) => (failed = e));
      for (let i = 0; i < 7 && !failed; i++) {
        node.injectCrash('router');
        await cluster.runFor(1_100);
      }
      expect(failed?.message).toMatch(/child router exceeded its restart intensity/);
      expect(node.supervisorSnapshot?.value).toBe('escalated');
      expect(cluster.log.entries().some((e) => e.event === 'supervisor.escalate')).toBe(true);
    });
    await cluster.stop();
  }, 60_000);
});
