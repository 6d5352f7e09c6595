// Issue 11: a submission to a recipient hosted on the submitting node goes straight into the recipient's
// INBOX there, durable (the INBOX head at k replicas) before the submission resolves: no inbox drop, no
// push, no receipt. A recipient hosted elsewhere is notified through their drop, as before, and a
// client's retry of the same message delivers nothing twice.
import { describe, expect, test } from 'vitest';
import { userIdOf } from '../../crypto/hash';
import { dropIdOf } from '../../crypto/notification';
import { SimCluster } from '../../scenarios/sim/cluster';
import { subjectOf } from '../../scenarios/env/env';
import { SUBMISSION_INLINE_BYTES_MAX } from '../../protocol/limits';
import { simSeed, withSeed } from './seed';
import { submitMail, textMail } from './submitMail';

describe('direct delivery', () => {
  test('mail to a user hosted on the submitting node is in their INBOX when the submission resolves, with no drop entry; others are notified', async () => {
    const cluster = await SimCluster.create({ seed: simSeed(47) });
    await withSeed(cluster, async () => {
      await cluster.addNodes(6, 50);
      await cluster.runUntil(() => cluster.allReady(), 20_000);
      const home = cluster.live()[1]!;
      const elsewhere = cluster.live()[4]!;
      await cluster.addUser('alice@sim.example', 'a', home);
      await cluster.addUser('bob@sim.example', 'b', home);
      await cluster.addUser('carol@sim.example', 'c', elsewhere);
      const pending = (address: string) => [...cluster.disks.values()].reduce((n, d) => n + d.drops.count(dropIdOf(userIdOf(address))), 0);
      const subjectsIn = async (address: string, password: string, node: typeof home) => {
        const session = await cluster.settle(node.mail.authenticator.authenticate(address, password));
        const inbox = await cluster.settle(session.openFolder('INBOX'));
        const bodies = await cluster.settle(Promise.all(inbox.messages.map((m) => session.readMessage(m.ref))));
        await cluster.settle(session.close());
        return bodies;
      };

      const now = cluster.clock.now();
      const small = textMail('alice@sim.example', 'bob@sim.example', 'small', 2_000, now);
      const big = textMail('alice@sim.example', 'bob@sim.example', 'big', SUBMISSION_INLINE_BYTES_MAX + 1_000, now);
      const toCarol = textMail('alice@sim.example', 'carol@sim.example', 'to-carol', 2_000, now);
      expect((await submitMail(cluster, home, 'alice@sim.example', 'a', 'bob@sim.example', small, 'k-small')).notified).toEqual(['bob@sim.example']);
      expect((await submitMail(cluster, home, 'alice@sim.example', 'a', 'bob@sim.example', big, 'k-big')).notified).toEqual(['bob@sim.example']);
      // Carol lives on another node: her notification waits in her drop (at a majority of its replicas) until her node takes it.
      expect((await submitMail(cluster, home, 'alice@sim.example', 'a', 'carol@sim.example', toCarol, 'k-carol')).notified).toEqual(['carol@sim.example']);
      expect(pending('carol@sim.example')).toBeGreaterThanOrEqual(2);

      // Bob's mail went nowhere but his INBOX, and is there, byte for byte, as soon as the submissions resolved.
      expect(pending('bob@sim.example')).toBe(0);
      expect(home.metrics.render()).toMatch(/^post_mail_delivered_direct_total 2$/m);
      const bobs = await subjectsIn('bob@sim.example', 'b', home);
      expect(bobs.map((b) => subjectOf(b)).sort()).toEqual(['big', 'small']);
      expect(bobs.find((b) => subjectOf(b) === 'small')).toEqual(small);
      expect(bobs.find((b) => subjectOf(b) === 'big')).toEqual(big);

      // A client retrying the same message (same idempotency key) delivers nothing twice.
      expect((await submitMail(cluster, home, 'alice@sim.example', 'a', 'bob@sim.example', small, 'k-small')).notified).toEqual(['bob@sim.example']);
      expect((await subjectsIn('bob@sim.example', 'b', home)).length).toBe(2);

      // Carol's node takes her notification from the drop and delivers it.
      await cluster.runUntil(() => pending('carol@sim.example') === 0, 30_000);
      expect((await subjectsIn('carol@sim.example', 'c', elsewhere)).map((b) => subjectOf(b))).toEqual(['to-carol']);
    });
    await cluster.stop();
  }, 120_000);
});
