// Issue 11: small mail travels inside its notifications (SUBMISSION_INLINE_BYTES_MAX). The sender stores
// nothing but the drop entries before the 250; the recipient's node stores the content as the usual
// convergent blocks when it delivers, under the reference the sender announced. Bigger mail is stored
// by the sender first, as before. Either way, mail waiting for a recipient whose node is down is durable.
import { describe, expect, test } from 'vitest';
import { SimCluster } from '../../scenarios/sim/cluster';
import { subjectOf } from '../../scenarios/env/env';
import { SUBMISSION_INLINE_BYTES_MAX } from '../../protocol/limits';
import { simSeed, withSeed } from './seed';
import { submitMail, textMail } from './submitMail';

describe('inline mail', () => {
  test('a small mail is stored by the recipient\'s node when it delivers, a big one by the sender; both wait durably for a recipient whose node is down', async () => {
    const cluster = await SimCluster.create({ seed: simSeed(43) });
    await withSeed(cluster, async () => {
      await cluster.addNodes(6, 50);
      await cluster.runUntil(() => cluster.allReady(), 20_000);
      const bobHome = cluster.live()[2]!;
      const aliceNode = cluster.live()[4]!;
      await cluster.addUser('bob@sim.example', 'b', bobHome);
      await cluster.addUser('alice@sim.example', 'a', aliceNode);
      const holders = (rootId: string) => [...cluster.disks.values()].filter((d) => d.blocks.map.has(rootId)).length;
      const heldAnywhere = (rootId: string) => holders(rootId) > 0;

      // Bob's node is down: nobody delivers for him, the notifications wait in his drop.
      await cluster.kill(bobHome.id);
      const small = textMail('alice@sim.example', 'bob@sim.example', 'small-inline', 2_000, cluster.clock.now());
      const big = textMail('alice@sim.example', 'bob@sim.example', 'big-stored', SUBMISSION_INLINE_BYTES_MAX + 1_000, cluster.clock.now());
      const smallReceipt = await submitMail(cluster, aliceNode, 'alice@sim.example', 'a', 'bob@sim.example', small, 'k-small');
      const bigReceipt = await submitMail(cluster, aliceNode, 'alice@sim.example', 'a', 'bob@sim.example', big, 'k-big');
      expect(smallReceipt.notified).toEqual(['bob@sim.example']);
      expect(bigReceipt.notified).toEqual(['bob@sim.example']);
      // Accepted: the big mail's blocks are at a majority of k = 3 replicas; the small one is nowhere but in the drop.
      expect(holders(bigReceipt.messageRef)).toBeGreaterThanOrEqual(2);
      expect(heldAnywhere(smallReceipt.messageRef)).toBe(false);

      // Bob's node returns, pulls, stores the small mail's blocks under the announced reference, delivers both.
      await cluster.restart(bobHome.id);
      const home = cluster.nodes.get(bobHome.id)!;
      await cluster.runUntil(() => heldAnywhere(smallReceipt.messageRef), 30_000);
      await cluster.runFor(5_000);
      expect(holders(smallReceipt.messageRef)).toBeGreaterThanOrEqual(2);
      const session = await cluster.settle(home.mail.authenticator.authenticate('bob@sim.example', 'b'));
      const inbox = await cluster.settle(session.openFolder('INBOX'));
      const bodies = await cluster.settle(Promise.all(inbox.messages.map((m) => session.readMessage(m.ref))));
      expect(bodies.map((b) => subjectOf(b)).sort()).toEqual(['big-stored', 'small-inline']);
      expect(bodies.find((b) => subjectOf(b) === 'small-inline')).toEqual(small);
      expect(bodies.find((b) => subjectOf(b) === 'big-stored')).toEqual(big);
      await cluster.settle(session.close());
    });
    await cluster.stop();
  }, 120_000);
});
