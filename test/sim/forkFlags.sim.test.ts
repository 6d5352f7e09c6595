// Issue 13: a partition lets a session's node on the far side and the home node both write the user's
// INBOX; at the heal the branch with the newer head wins and the other is carried over on top
// (LogModel.recover). Flags merge three-way against the fork point: a flag set on the losing side
// survives beside one set on the winning side.
import { describe, expect, test } from 'vitest';
import type { PostNode } from '../../actors/node';
import { rawMail } from '../../scenarios/env/env';
import { SimCluster } from '../../scenarios/sim/cluster';
import { simSeed, withSeed } from './seed';
import { submitMail } from './submitMail';

async function submit(cluster: SimCluster, node: PostNode, from: string, password: string, to: string, subject: string): Promise<void> {
  await submitMail(cluster, node, from, password, to, rawMail(from, to, subject, cluster.clock.now()), subject);
}

describe('a forked INBOX after a partition', () => {
  test('a flag set on the losing side survives the merge, beside flags set on the winning side', async () => {
    const cluster = await SimCluster.create({ seed: simSeed(51) });
    await withSeed(cluster, async () => {
      await cluster.addNodes(8, 50);
      await cluster.runUntil(() => cluster.allReady(), 20_000);
      const [aliceNode, bobHome] = [cluster.live()[0]!, cluster.live()[3]!];
      await cluster.addUser('alice@sim.example', 'a', aliceNode);
      await cluster.addUser('bob@sim.example', 'b', bobHome, { standbys: 0 });
      const home = await cluster.settle(bobHome.mail.authenticator.authenticate('bob@sim.example', 'b'));
      await submit(cluster, aliceNode, 'alice@sim.example', 'a', 'bob@sim.example', 'first');
      await submit(cluster, aliceNode, 'alice@sim.example', 'a', 'bob@sim.example', 'second');
      await cluster.runFor(5_000);
      const [first, second] = (await cluster.settle(home.openFolder('INBOX'))).messages.map((m) => m.uid);
      expect([first, second]).toEqual([1, 2]);

      // Bob is logged in on a node of the far side too; the ring is cut in two halves.
      const ids = cluster.live().map((n) => n.id);
      const far = ids.filter((id) => id !== bobHome.id && id !== aliceNode.id).slice(0, 4);
      const visited = cluster.nodes.get(far[0]!)!;
      const away = await cluster.settle(visited.mail.authenticator.authenticate('bob@sim.example', 'b'));
      await cluster.settle(away.openFolder('INBOX'));
      away.watchFolder('INBOX', () => undefined); // IDLE: the far node re-reads INBOX every few seconds
      cluster.network.partition([far, ids.filter((id) => !far.includes(id))]);
      await cluster.runFor(20_000);

      // The far side reads mail 1; the home side flags mail 2 and labels it (two writes: its head is newer).
      await cluster.settle(away.storeFlags('INBOX', [1], { mode: 'add', flags: ['\\Seen'] }));
      await cluster.settle(home.storeFlags('INBOX', [2], { mode: 'add', flags: ['\\Flagged'] }));
      await cluster.settle(home.storeFlags('INBOX', [2], { mode: 'add', flags: ['$Work'] }));
      cluster.network.heal();
      await cluster.runFor(30_000);

      const flags = async (session: typeof home) =>
        Object.fromEntries((await cluster.settle(session.openFolder('INBOX'))).messages.map((m) => [m.uid, [...m.flags].filter((f) => f !== '\\Recent').sort()]));
      expect(await flags(home)).toEqual({ 1: ['\\Seen'], 2: ['$Work', '\\Flagged'] });
      const again = await cluster.settle(visited.mail.authenticator.authenticate('bob@sim.example', 'b'));
      expect(await flags(again)).toEqual({ 1: ['\\Seen'], 2: ['$Work', '\\Flagged'] });
      await cluster.settle(again.close());
      await cluster.settle(away.close());
      await cluster.settle(home.close());
    });
    await cluster.stop();
  }, 300_000);
});
