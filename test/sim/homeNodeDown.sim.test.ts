// Issue 13: a user's home node being down never hides their mail. A session of the user on another
// node delivers while it lasts: mail pushed then shows within 1 s (simulated), mail that waited in the
// drop within 5 s of login; the home node, back, and the visited node deliver each message exactly once.
import { describe, expect, test } from 'vitest';
import type { FolderChange } from '../../mail/backend';
import type { PostNode } from '../../actors/node';
import { SimCluster } from '../../scenarios/sim/cluster';
import { simSeed, withSeed } from './seed';

function rawMail(from: string, to: string, subject: string): Buffer {
  return Buffer.from(`From: <${from}>\r\nTo: <${to}>\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@sim.example>\r\n\r\n${subject}\r\n`);
}

async function submit(cluster: SimCluster, node: PostNode, from: string, password: string, to: string, subject: string): Promise<void> {
  const submission = node.mail.submission;
  await cluster.settle(submission.authenticate(from, password));
  await cluster.settle(
    submission.submit({
      envelope: {
        authenticated: true,
        submitter: from,
        mailFrom: from,
        postRecipients: [to],
        externalRecipients: [],
        client: { address: '127.0.0.1', helo: 'sim', protocol: 'ESMTPA', tls: false },
        eightBitMime: false,
        smtpUtf8: false,
        receivedAtMs: cluster.clock.now(),
        sessionId: subject,
      },
      raw: rawMail(from, to, subject),
      idempotencyKey: subject,
    }),
  );
}

describe('home node down', () => {
  test('a session on another node delivers: pushed mail within 1 s, waiting mail within 5 s of login; exactly once when the home node returns', async () => {
    const cluster = await SimCluster.create({ seed: simSeed(31) });
    await withSeed(cluster, async () => {
      await cluster.addNodes(8, 50);
      await cluster.runUntil(() => cluster.allReady(), 20_000);
      const [aliceNode, bobHome, visited] = [cluster.live()[0]!, cluster.live()[3]!, cluster.live()[5]!];
      await cluster.addUser('alice@sim.example', 'a', aliceNode);
      await cluster.addUser('bob@sim.example', 'b', bobHome);

      await cluster.kill(bobHome.id);
      await submit(cluster, aliceNode, 'alice@sim.example', 'a', 'bob@sim.example', 'waited-in-drop');

      // Bob logs in on another node: what waited in his drop reaches INBOX within 5 s.
      const session = await cluster.settle(visited.mail.authenticator.authenticate('bob@sim.example', 'b'));
      const loggedInAt = cluster.clock.now();
      const changes: FolderChange[] = [];
      await cluster.settle(session.openFolder('INBOX'));
      session.watchFolder('INBOX', (c) => changes.push(c));
      await cluster.runUntil(() => changes.some((c) => c.kind === 'added'), 5_000);
      expect(cluster.clock.now() - loggedInAt).toBeLessThanOrEqual(5_000);
      expect(visited.users.status().visiting).toEqual(['bob@sim.example']);

      // Mail sent now is pushed to the visited node: within 1 s.
      const sentAt = cluster.clock.now();
      await submit(cluster, aliceNode, 'alice@sim.example', 'a', 'bob@sim.example', 'pushed');
      await cluster.runUntil(() => changes.filter((c) => c.kind === 'added').length >= 2, 1_000 + (cluster.clock.now() - sentAt));
      expect((await cluster.settle(session.openFolder('INBOX'))).messages).toHaveLength(2);

      // The home node comes back and pulls the same drop: still exactly once.
      await cluster.restart(bobHome.id);
      await cluster.runUntil(() => cluster.allReady(), 20_000);
      await submit(cluster, aliceNode, 'alice@sim.example', 'a', 'bob@sim.example', 'both-deliver');
      await cluster.runFor(5_000);
      const messages = (await cluster.settle(session.openFolder('INBOX'))).messages;
      expect(messages).toHaveLength(3);
      const home = cluster.nodes.get(bobHome.id)!;
      const homeSession = await cluster.settle(home.mail.authenticator.authenticate('bob@sim.example', 'b'));
      expect((await cluster.settle(homeSession.openFolder('INBOX'))).messages.map((m) => m.uid)).toEqual(messages.map((m) => m.uid));

      // The session ends and lingers out: the visited node stops delivering for bob.
      await cluster.settle(session.close());
      await cluster.settle(homeSession.close());
      await cluster.runFor(6 * 60_000);
      expect(visited.users.status().visiting).toEqual([]);
    });
    await cluster.stop();
  }, 120_000);
});
