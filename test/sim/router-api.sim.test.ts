// What the router offers the other actors (route with application payloads, replicaSet, membership$)
// and how it treats bad input on the wire.
import { encode } from '@msgpack/msgpack';
import { describe, expect, test } from 'vitest';
import { closest, kClosest } from '../../overlay/id';
import { PROTOCOL_VERSION } from '../../protocol/limits';
import { Route } from '../../protocol/overlay';
import { subjects } from '../../protocol/subjects';
import { SimCluster } from '../../scenarios/sim/cluster';
import { simSeed, withSeed } from './seed';

describe('router API', () => {
  test('membership$ reports joins and deaths; replicaSet is the k closest live nodes', async () => {
    const cluster = await SimCluster.create({ seed: simSeed(31) });
    await withSeed(cluster, async () => {
      await cluster.addNodes(20, 50);
      await cluster.runUntil(() => cluster.allReady(), 10_000);
      const watcher = cluster.live()[0]!;
      const seen: { added: string[]; removed: string[] }[] = [];
      watcher.router.membership$.subscribe((c) => seen.push({ added: [...c.added], removed: [...c.removed] }));
      const key = watcher.id; // replica sets around the watcher's own id are within its leaf set
      expect(watcher.router.replicaSet(key, 3)).toEqual(kClosest(cluster.liveIds(), key, 3));
      const neighbour = watcher.router.leafSet()[0]!;
      await cluster.kill(neighbour);
      await cluster.runFor(6_000);
      expect(seen.some((c) => c.removed.includes(neighbour))).toBe(true);
      expect(watcher.router.replicaSet(key, 3)).toEqual(kClosest(cluster.liveIds(), key, 3));
      const newcomer = await cluster.addNode();
      await cluster.runFor(3_000);
      if (watcher.router.leafSet().includes(newcomer.id)) expect(seen.some((c) => c.added.includes(newcomer.id))).toBe(true);
    });
    await cluster.stop();
  });

  test('an application payload reaches the root and its answer comes back', async () => {
    const cluster = await SimCluster.create({ seed: simSeed(32) });
    await withSeed(cluster, async () => {
      await cluster.addNodes(30, 50);
      await cluster.runUntil(() => cluster.allReady(), 10_000);
      for (const n of cluster.live()) n.router.registerApp('echo', async ({ body }) => new Uint8Array([...body, 42]));
      const key = 'ab'.repeat(32);
      const from = cluster.live()[5]!;
      const p = from.router.route(key, { app: 'echo', body: new Uint8Array([1, 2]) });
      await cluster.runFor(1_000);
      const o = await p;
      expect(o.root).toBe(closest(cluster.liveIds(), key));
      expect([...o.response!]).toEqual([1, 2, 42]);
    });
    await cluster.stop();
  });

  test('malformed, unknown and oversized frames are dropped with a logged reason; the node carries on', async () => {
    const cluster = await SimCluster.create({ seed: simSeed(33) });
    await withSeed(cluster, async () => {
      await cluster.addNodes(8, 50);
      await cluster.runUntil(() => cluster.allReady(), 10_000);
      const victim = cluster.live()[2]!;
      const attacker = cluster.network.connect('attacker');
      const subject = subjects.node(cluster.ca.ringId, victim.id);
      const garbage = [
        new Uint8Array([1, 2, 3]),
        encode([PROTOCOL_VERSION, 'overlay.nonsense', {}]),
        encode([PROTOCOL_VERSION + 7, 'overlay.heartbeat', {}]),
        encode([PROTOCOL_VERSION, 'overlay.route', { msgId: 'x' }]),
        Route.encode({ msgId: 'm', key: 'cd'.repeat(32), origin: 'ef'.repeat(32), path: [], payload: { type: 'probe' } }).slice(0, 20),
      ];
      for (const g of garbage) attacker.publish(subject, g);
      await cluster.runFor(2_000);
      const dropped = cluster.log.entries().filter((e) => e.event === 'frame.dropped');
      expect(dropped.length).toBeGreaterThanOrEqual(garbage.length);
      expect(dropped.map((e) => String(e.reason))).toEqual(expect.arrayContaining([expect.stringMatching(/unknown frame kind/), expect.stringMatching(/unknown protocol version/)]));
      expect(victim.router.state).toBe('ready');
      expect(victim.status().restarts).toEqual({});
      const r = await cluster.checkRoutes(200);
      expect(r.wrongRoot).toEqual([]);
      expect(r.failed).toEqual([]);
    });
    await cluster.stop();
  });
});
