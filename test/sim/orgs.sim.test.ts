// Organisations on the simulator (issue 6): three organisations, each its own ring, CA and
// convergence secret, linked through gateway nodes in the global ring. Churn in each; every
// cross-organisation notification is delivered exactly once; no organisation's node ever stores a
// block another organisation's member inserted; a foreign user's insert is refused.
import { describe, expect, test } from 'vitest';
import { issueUserCertificate } from '../../crypto/certificates';
import { userIdOf } from '../../crypto/hash';
import { signingKeyPairFromSeed } from '../../crypto/sign';
import { SimCluster } from '../../scenarios/sim/cluster';
import { simSeed, withSeed } from './seed';

const ORGS = ['a.example', 'b.example', 'c.example'];

async function federation(seed: number) {
  const cluster = await SimCluster.create({ seed, org: ORGS[0], moreOrgs: ORGS.slice(1) });
  for (const org of ORGS) {
    for (let i = 0; i < 7; i++) {
      await cluster.addNode({ org, gateway: i < 2 });
      await cluster.runFor(50);
    }
  }
  await cluster.runUntil(() => cluster.allReady(), 60_000);
  await cluster.runFor(5_000);
  return cluster;
}

describe('organisations', () => {
  test('three organisations with churn: cross-organisation mail notifications land exactly once, blocks stay home', async () => {
    const cluster = await federation(simSeed(61));
    await withSeed(cluster, async () => {
      expect(cluster.wrongLeafSets()).toEqual([]);
      const gateways = cluster.live().filter((n) => n.gateway);
      expect(gateways).toHaveLength(6);
      await cluster.runUntil(() => gateways.every((g) => g.gateway!.globalRouter.state === 'ready'), 30_000);
      for (const g of gateways) expect(g.gateway!.globalRouter.leafSet()).toHaveLength(5);

      // A user in each organisation, on an ordinary node (not a gateway).
      const apps = new Map<string, Awaited<ReturnType<SimCluster['addUser']>>>();
      for (const org of ORGS) {
        const node = cluster.live().find((n) => cluster.orgOf(n.id) === org && !n.gateway)!;
        apps.set(org, await cluster.addUser(`u@${org}`, 'pw', node));
      }
      const sent: string[] = [];
      for (let round = 0; round < 4; round++) {
        for (const from of ORGS)
          for (const to of ORGS) {
            if (from === to) continue;
            const text = `${round}: ${from} -> ${to}`;
            const r = await cluster.settle(apps.get(from)!.sendMessage([`u@${to}`], text));
            expect(r.failed).toEqual([]);
            sent.push(text);
          }
        // Churn in each organisation: one ordinary node dies, another joins; in round 2, a gateway dies.
        for (const org of ORGS) {
          const victims = cluster.live().filter((n) => cluster.orgOf(n.id) === org && !n.gateway && n.users.status().hosted.length === 0);
          await cluster.kill(victims[cluster.random.int(victims.length)]!.id);
          await cluster.addNode({ org });
          if (round === 2) await cluster.kill(cluster.live().find((n) => cluster.orgOf(n.id) === org && n.gateway)!.id);
        }
        await cluster.runFor(20_000);
      }
      await cluster.runFor(30_000);
      for (const to of ORGS) {
        const got = (await cluster.settle(apps.get(to)!.listMessages())).filter((m) => m.direction === 'in').map((m) => m.text);
        const expected = sent.filter((t) => t.endsWith(`-> ${to}`));
        expect([...got].sort()).toEqual([...expected].sort());
      }
      // The notifications really went through the gateways (the surviving ones performed drop puts).
      const performed = (n: (typeof gateways)[number]) => Number(/^post_gateway_performed_total\{type="dropPut"\} (\d+)/m.exec(n.metrics.render())?.[1] ?? 0);
      expect(cluster.live().reduce((sum, n) => sum + performed(n), 0)).toBeGreaterThan(0);
      // Every block held by a node was inserted by a member of that node's own organisation.
      const membersOf = (org: string) => new Set([...cluster.liveIds(org), ...[...cluster.disks.keys()].filter((id) => cluster.orgOf(id) === org), userIdOf(`u@${org}`)]);
      for (const [nodeId, disk] of cluster.disks) {
        const org = cluster.orgOf(nodeId);
        const members = membersOf(org);
        for (const [id, block] of disk.blocks.map) expect(members.has(block.meta.insertedBy), `block ${id.slice(0, 12)} on a ${org} node inserted by an outsider`).toBe(true);
      }
    });
    await cluster.stop();
  }, 600_000);

  test("an organisation's nodes refuse inserts from another organisation's users, with a clear error", async () => {
    const cluster = await federation(simSeed(62));
    await withSeed(cluster, async () => {
      const bKeys = await signingKeyPairFromSeed(cluster.random.fork('bob').bytes(32));
      const bCa = cluster.orgs.get('b.example')!.ca;
      const cert = await issueUserCertificate(bCa, { address: 'bob@b.example', signingKey: bKeys.publicKey, boxKey: new Uint8Array(32) }, { nowMs: cluster.clock.now() });
      const aNode = cluster.live().find((n) => cluster.orgOf(n.id) === 'a.example')!;
      const asBob = aNode.replicas.client({ member: { type: 'user', cert }, secretKey: bKeys.secretKey, id: userIdOf('bob@b.example') });
      const r = await cluster.settle(asBob.putBlock(new Uint8Array([1, 2, 3])).then(() => 'stored', (e) => e));
      expect(r.code).toBe('NOT_AUTHORISED');
      expect(r.message).toMatch(/certified for b\.example, not for a\.example/);
    });
    await cluster.stop();
  }, 300_000);
});
