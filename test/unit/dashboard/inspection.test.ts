// The node side of the dashboard on the simulator: every node publishes its view on its inspect
// subject every interval and at once on notable events; the frame decodes and carries the router's
// state and leaf set, the actor tree with live states, the store's totals and replica health; a
// stopping node says so; a replica that stops answering shows as objects short of k replicas.
import { describe, expect, test } from 'vitest';
import { InspectionPublisher } from '../../../actors/inspection';
import { MemoryStore } from '../../../infra/store/memory';
import { InspectFrame, type InspectView, parseActors } from '../../../protocol/inspect';
import { INSPECT_EVENT_GAP_MS, INSPECT_INTERVAL_MS } from '../../../protocol/limits';
import { subjects } from '../../../protocol/subjects';
import { SimCluster } from '../../../scenarios/sim/cluster';
import { simSeed, withSeed } from '../../sim/seed';

async function cluster4() {
  const cluster = await SimCluster.create({ seed: simSeed(77) });
  await cluster.addNodes(4, 50);
  await cluster.runUntil(() => cluster.allReady(), 30_000);
  await cluster.runFor(2_000);
  const frames: InspectView[] = [];
  const observer = cluster.network.connect('dashboard');
  observer.subscribe(subjects.inspectAll(cluster.ca.ringId), (m) => {
    const r = InspectFrame.decode(m.data);
    if (!r.ok) throw new Error(r.reason);
    frames.push(r.body);
  });
  const publishers = new Map(
    cluster.live().map((node) => [
      node.id,
      new InspectionPublisher({
        transport: cluster.network.connect(`inspect-${node.id}`),
        clock: cluster.clock,
        log: cluster.log,
        node,
        store: new MemoryStore(cluster.disks.get(node.id)!),
      }),
    ]),
  );
  return { cluster, frames, publishers };
}

describe('inspection publisher (simulated ring)', () => {
  test('every node publishes its view each interval; the frame carries router, actor tree, storage and users; stopping is announced', async () => {
    const { cluster, frames, publishers } = await cluster4();
    await withSeed(cluster, async () => {
      for (const p of publishers.values()) p.start();
      await cluster.runFor(5 * INSPECT_INTERVAL_MS + 200);
      for (const id of publishers.keys()) {
        const mine = frames.filter((f) => f.nodeId === id);
        expect(mine.length, `frames from ${id.slice(0, 8)}`).toBeGreaterThanOrEqual(5);
        expect(mine.length).toBeLessThanOrEqual(7);
        expect(mine[0]).toMatchObject({ seq: 0, reason: 'start', org: 'sim.example', ringId: cluster.ca.ringId, intervalMs: INSPECT_INTERVAL_MS });
        const last = mine.at(-1)!;
        expect(last.router.state).toBe('ready');
        expect(new Set(last.router.leafSet)).toEqual(new Set(cluster.liveIds().filter((n) => n !== id)));
        const actors = parseActors(last)!;
        expect(actors.id).toBe('node');
        expect(actors.children!.map((c) => c.id)).toEqual(['transport', 'store', 'router', 'replicaManager', 'notifier', 'logWriter', 'mailGateway']);
        expect(actors.children!.find((c) => c.id === 'router')!.value).toMatchObject({ ready: expect.anything() });
        expect(actors.children!.find((c) => c.id === 'replicaManager')!.value).toMatchObject({ repair: expect.any(String), scrub: expect.any(String) });
        expect(last.passes).toMatchObject({ repair: expect.any(Number), antiEntropy: expect.any(Number) });
        expect(last.storage).toEqual({ objects: expect.any(Number), bytes: expect.any(Number), dropEntries: 0, dropBytes: 0 });
        expect(last.users).toEqual({ hosted: 0, unlocking: 0, listed: [] });
        expect(InspectFrame.encode(last).length).toBeLessThan(4096);
      }
      const [id, publisher] = [...publishers][0]!;
      await publisher.stop();
      await cluster.runFor(10);
      expect(frames.filter((f) => f.nodeId === id).at(-1)!.reason).toBe('stopping');
      for (const p of publishers.values()) await p.stop();
    });
  }, 60_000);

  test('a notable event (a supervisor restart) is published at once, not at the next interval', async () => {
    const { cluster, frames, publishers } = await cluster4();
    await withSeed(cluster, async () => {
      for (const p of publishers.values()) p.start();
      await cluster.runFor(INSPECT_INTERVAL_MS + 50);
      const node = cluster.live()[1]!;
      let restartedAt: number | undefined;
      node.restarts$.subscribe(() => (restartedAt ??= cluster.clock.now()));
      node.injectCrash('router'); // the router's next effect throws; the supervisor restarts it
      await cluster.runUntil(() => restartedAt !== undefined, 10_000);
      expect(restartedAt).toBeDefined();
      const seen = () => frames.find((f) => f.nodeId === node.id && f.reason === 'restart');
      await cluster.runUntil(() => seen() !== undefined, INSPECT_EVENT_GAP_MS + 50);
      const frame = seen();
      expect(frame, 'a restart frame within INSPECT_EVENT_GAP_MS').toBeDefined();
      expect(frame!.sentAtMs - restartedAt!).toBeLessThanOrEqual(INSPECT_EVENT_GAP_MS + 1);
      expect(frame!.restarts).toMatchObject({ router: 1 });
      expect(frame!.recentRestarts).toMatchObject([{ child: 'router', recent: 1 }]);
      for (const p of publishers.values()) await p.stop();
    });
  }, 60_000);

  test('replica health: objects held here that their k replicas cannot all confirm are counted', async () => {
    const { cluster, publishers } = await cluster4();
    await withSeed(cluster, async () => {
      const writer = cluster.live()[0]!;
      const puts = Array.from({ length: 12 }, (_, i) => writer.replicas.storage.putBlock(new TextEncoder().encode(`block ${i}`)));
      let done = 0;
      puts.forEach((p) => p.finally(() => done++));
      await cluster.runUntil(() => done === puts.length, 30_000);
      await Promise.all(puts);
      await cluster.runFor(3_000);
      const check = async (p: InspectionPublisher) => {
        let out: Awaited<ReturnType<InspectionPublisher['checkHealth']>> | undefined;
        void p.checkHealth().then((h) => (out = h));
        await cluster.runUntil(() => out !== undefined, 30_000);
        return out!;
      };
      const [watcherId, watcher] = [...publishers][1]!;
      const healthy = await check(watcher);
      expect(healthy.checked).toBeGreaterThan(0);
      expect(healthy).toMatchObject({ underReplicated: 0, unreachable: 0, partial: false });

      // A replica dies; before the leaf sets notice, its share cannot be confirmed.
      const victim = cluster.liveIds().find((n) => n !== watcherId && n !== writer.id)!;
      await cluster.kill(victim);
      const hurt = await check(watcher);
      expect(hurt.underReplicated).toBeGreaterThan(0);
      expect(hurt.unreachable).toBe(1);

      // Once the ring repaired itself, every object is back at k.
      await cluster.runFor(40_000);
      expect(await check(watcher)).toMatchObject({ underReplicated: 0, unreachable: 0 });
    });
  }, 60_000);
});
