// Supervision of a node's actors on the simulator: a crashed router is restarted (observably) as a
// fresh RouterService and rejoins; a crashed notifier is restarted as a fresh service with fresh inboxes,
// a crashed logWriter rebuilds the open logs from storage, and mail keeps flowing; a crashed replica
// manager, mail gateway and store come back as new objects that serve; crashing beyond the restart
// intensity escalates and the node reports failure.
import { describe, expect, test } from 'vitest';
import type { InspectionEvent } from 'xstate';
import { actorTree } from '../../actors/inspection';
import type { NotifierService } from '../../actors/notify/notifier';
import type { RouterService } from '../../actors/router';
import type { ReplicaManagerService } from '../../actors/storage/replicaManager';
import { Has, HasReply } from '../../protocol/storage';
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
      const crashed = node.service('router') as RouterService;
      node.injectCrash('router');
      await cluster.runFor(3_000); // the next heartbeat tick performs an effect and crashes
      expect(restarts).toEqual(['router: injected crash (fault injection)']);
      // A new RouterService runs; the old one holds no subscription or machine any more.
      expect(node.service('router')).not.toBe(crashed);
      expect(node.router.current).toBe(node.service('router'));
      expect(crashed.state).toBe('stopped');
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

  test('a crashed notifier is restarted with its inboxes, a crashed logWriter rebuilds every open log from storage; messages still arrive once', async () => {
    const cluster = await SimCluster.create({ seed: simSeed(23) });
    await withSeed(cluster, async () => {
      await cluster.addNodes(8, 50);
      await cluster.runUntil(() => cluster.allReady(), 20_000);
      const bobNode = cluster.live()[3]!;
      const alice = await cluster.addUser('alice@sim.example', 'a', cluster.live()[0]!);
      await cluster.addUser('bob@sim.example', 'b', bobNode);
      // As /state and the dashboard show it: the inboxes are root actors, listed under the notifier.
      const children = (id: string) => (actorTree(bobNode).children ?? []).find((c) => c.id === id)?.children?.map((c) => c.id) ?? [];
      const received = async () => (await cluster.settle(bobNode.users.get('bob@sim.example').listMessages())).filter((m) => m.direction === 'in').map((m) => m.text);
      await cluster.settle(alice.sendMessage(['bob@sim.example'], 'before'));
      // 'before' delivered: bob's messages log is open (with the folders), so the crash finds both to rebuild.
      await cluster.runUntil(() => bobNode.logWriters.openLogs().some((l) => l.name === 'messages'), 10_000);
      expect(children('notifier')).toEqual(['inbox:bob@sim.example']);
      const reloadsBefore = bobNode.logWriters.openLogs().reduce((n, l) => n + l.reloads, 0);

      const restarts: string[] = [];
      bobNode.restarts$.subscribe((r) => restarts.push(r.child));
      const crashedNotifier = bobNode.service('notifier') as NotifierService;
      const crashedInboxes = Object.values(crashedNotifier.actors());
      expect(crashedInboxes.map((a) => a.getSnapshot().status)).toEqual(['active']);
      bobNode.injectCrash('notifier');
      bobNode.injectCrash('logWriter');
      await cluster.runFor(100);
      expect(restarts).toEqual(['notifier', 'logWriter']);
      expect(bobNode.status().restarts).toMatchObject({ notifier: 1, logWriter: 1 });
      expect(children('notifier')).toEqual(['inbox:bob@sim.example']); // the inbox is given to the new notifier at once
      // A fresh notifier service with a fresh inbox (its own push subscription); the old one has none left.
      expect(bobNode.service('notifier')).not.toBe(crashedNotifier);
      expect(crashedNotifier.inboxCount()).toBe(0);
      // Nothing of the crashed notifier runs on: its inbox actors are stopped, not left beside the new ones.
      expect(crashedInboxes.map((a) => a.getSnapshot().status)).toEqual(['stopped']);
      expect(Object.values(bobNode.ownedActors('notifier'))).not.toContain(crashedInboxes[0]);
      expect((bobNode.service('notifier') as NotifierService).inboxCount()).toBe(1);
      // Every log bob's node had open was loaded again from storage.
      await cluster.runUntil(() => bobNode.logWriters.openLogs().every((l) => l.phase === 'idle'), 10_000);
      const open = bobNode.logWriters.openLogs();
      expect(open.reduce((n, l) => n + l.reloads, 0)).toBe(reloadsBefore + open.length);

      await cluster.settle(alice.sendMessage(['bob@sim.example'], 'after'));
      await cluster.runFor(3_000);
      expect((await received()).sort()).toEqual(['after', 'before']);
    });
    await cluster.stop();
  }, 60_000);

  test('a crashed replica manager, mail gateway and store come back as new objects, and the node serves its replicas', async () => {
    const cluster = await SimCluster.create({ seed: simSeed(24) });
    await withSeed(cluster, async () => {
      await cluster.addNodes(6, 50);
      await cluster.runUntil(() => cluster.allReady(), 20_000);
      const [asker, node] = [cluster.live()[0]!, cluster.live()[3]!];
      const alice = await cluster.addUser('alice@sim.example', 'a', asker);
      await cluster.addUser('bob@sim.example', 'b', node);
      await cluster.settle(alice.sendMessage(['bob@sim.example'], 'before'));
      const restarts: string[] = [];
      node.restarts$.subscribe((r) => restarts.push(r.child));
      const crashedReplicas = node.service('replicaManager') as ReplicaManagerService;
      const crashedMail = node.service('mailGateway');
      node.injectCrash('replicaManager');
      node.injectCrash('mailGateway');
      node.injectCrash('store');
      await cluster.runFor(100);
      expect(restarts).toEqual(['replicaManager', 'mailGateway', 'store']);
      expect(node.status().restarts).toMatchObject({ replicaManager: 1, mailGateway: 1, store: 1 });
      expect(node.service('replicaManager')).not.toBe(crashedReplicas);
      expect(node.service('mailGateway')).not.toBe(crashedMail);
      expect(crashedReplicas.snapshot).toBeUndefined(); // detached: no machine, no leaf-set subscription
      expect(node.replicas.snapshot?.status).toBe('active');
      expect(node.store.state).toBe('open');

      // The new replica manager's handlers answer a peer for what the node's store holds.
      const [held] = await cluster.settle(node.store.scanBlocks({ lo: '0'.repeat(64), hi: '0'.repeat(64) }, { limit: 1 }));
      expect(held).toBeDefined();
      const has = await cluster.settle(asker.replicas.peers.request(node.id, Has, { blocks: [held!.id], objects: [], verify: true }, HasReply, 1_000));
      expect(has).toMatchObject({ ok: true, body: { blocks: [true] } });
      // And mail still flows through the node.
      await cluster.settle(alice.sendMessage(['bob@sim.example'], 'after'));
      await cluster.runFor(3_000);
      const received = (await cluster.settle(node.users.get('bob@sim.example').listMessages())).filter((m) => m.direction === 'in').map((m) => m.text);
      expect(received.sort()).toEqual(['after', 'before']);
    });
    await cluster.stop();
  }, 60_000);

  test('a crashed global router on a gateway is a fresh router that rejoins the global ring', async () => {
    const cluster = await SimCluster.create({ seed: simSeed(25), org: 'a.example', moreOrgs: ['b.example'] });
    await withSeed(cluster, async () => {
      for (const org of ['a.example', 'b.example'])
        for (let i = 0; i < 3; i++) {
          await cluster.addNode({ org, gateway: i < 2 });
          await cluster.runFor(50);
        }
      const gateways = cluster.live().filter((n) => n.gateway);
      await cluster.runUntil(() => cluster.allReady() && gateways.every((g) => g.gateway!.globalRouter.state === 'ready' && g.gateway!.globalRouter.leafSet().length === 3), 60_000);
      const node = gateways[0]!;
      const crashed = node.gateway!.globalRouter.current;
      const restarts: string[] = [];
      node.restarts$.subscribe((r) => restarts.push(r.child));
      node.injectCrash('globalRouter');
      await cluster.runFor(3_000);
      expect(restarts).toEqual(['globalRouter']);
      expect(node.gateway!.globalRouter.current).not.toBe(crashed);
      expect(crashed.state).toBe('stopped');
      await cluster.runUntil(() => node.gateway!.globalRouter.state === 'ready' && node.gateway!.globalRouter.leafSet().length === 3, 30_000);
      expect(node.router.state).toBe('ready'); // its own ring's router never stopped
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
