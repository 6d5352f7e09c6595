// Issue 13: a partition lets a session's node on the far side and the home node both write the user's
// INBOX; at the heal the branch with the newer head wins and the other is carried over on top
// (LogModel.recover). Flags merge three-way against the fork point: a flag set on the losing side
// survives beside one set on the winning side. Mail appended on both sides is all there after the
// merge, and no UID names two messages under one UIDVALIDITY (RFC 3501 2.3.1.1): the folder was
// renumbered under a new, greater UIDVALIDITY, and a session that held the old numbering was told.
import { describe, expect, test } from 'vitest';
import type { PostNode } from '../../actors/node';
import type { FolderChange, MailUserSession } from '../../mail/backend';
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

  test('both sides APPEND to INBOX: every mail is there once, and no UID names two messages under one UIDVALIDITY', async () => {
    const cluster = await SimCluster.create({ seed: simSeed(52) });
    await withSeed(cluster, async () => {
      await cluster.addNodes(8, 50);
      await cluster.runUntil(() => cluster.allReady(), 20_000);
      const bobHome = cluster.live()[3]!;
      await cluster.addUser('bob@sim.example', 'b', bobHome, { standbys: 0 });
      const home = await cluster.settle(bobHome.mail.authenticator.authenticate('bob@sim.example', 'b'));
      /** (UIDVALIDITY, UID) -> the content reference of every message a client was shown under it. */
      const shown = new Map<string, Set<string>>();
      const show = (uidValidity: number, uid: number, ref: string) => {
        const at = `${uidValidity}/${uid}`;
        shown.set(at, (shown.get(at) ?? new Set()).add(ref));
      };
      const append = async (session: MailUserSession, subject: string) => {
        const r = await cluster.settle(session.append('INBOX', rawMail('alice@sim.example', 'bob@sim.example', subject, cluster.clock.now()), [], cluster.clock.now()));
        show(r.uidValidity, r.uid, r.ref!);
        return r.ref!;
      };
      const look = async (session: MailUserSession) => {
        // Shown under the UIDVALIDITY of the moment (a renumbered folder's old one is retired).
        const snapshot = await cluster.settle(session.openFolder('INBOX'));
        for (const m of snapshot.messages) show(snapshot.folder.uidValidity, m.uid, m.ref);
        return snapshot;
      };
      const refs = [await append(home, 'before')];

      const ids = cluster.live().map((n) => n.id);
      const far = ids.filter((id) => id !== bobHome.id).slice(0, 4);
      const visited = cluster.nodes.get(far[0]!)!;
      const away = await cluster.settle(visited.mail.authenticator.authenticate('bob@sim.example', 'b'));
      await look(away);
      const awayChanges: FolderChange[] = [];
      away.watchFolder('INBOX', (c) => awayChanges.push(c)); // IDLE: the far node re-reads INBOX every few seconds
      cluster.network.partition([far, ids.filter((id) => !far.includes(id))]);
      await cluster.runFor(20_000);

      // Both sides append; the home side twice as often (its head is newer and wins).
      for (let i = 0; i < 2; i++) {
        refs.push(await append(home, `home ${i} a`), await append(home, `home ${i} b`));
        refs.push(await append(away, `away ${i}`));
      }
      await look(home);
      await look(away);
      cluster.network.heal();
      await cluster.runFor(30_000);

      const merged = await look(home);
      const again = await cluster.settle(visited.mail.authenticator.authenticate('bob@sim.example', 'b'));
      const seenAway = await look(again);
      expect(seenAway.folder.uidValidity).toBe(merged.folder.uidValidity);
      expect(seenAway.messages.map((m) => [m.uid, m.ref])).toEqual(merged.messages.map((m) => [m.uid, m.ref]));
      expect(merged.messages.map((m) => m.ref).sort()).toEqual([...refs].sort()); // each mail once
      // While the ring was cut both sides gave out UIDs 2 and 3 under one UIDVALIDITY (nothing can stop
      // that without a majority); after the merge no (UIDVALIDITY, UID) names a message other than the
      // one a session was shown by it.
      const clashed = [...shown].filter(([, named]) => named.size > 1).map(([at]) => at);
      expect(clashed.length).toBeGreaterThan(0);
      const contradicted = merged.messages.filter((m) => [...(shown.get(`${merged.folder.uidValidity}/${m.uid}`) ?? [])].some((ref) => ref !== m.ref));
      expect(contradicted).toEqual([]);
      expect(clashed.some((at) => at.startsWith(`${merged.folder.uidValidity}/`))).toBe(false);
      // The two sides had both given out UIDs 2 and 3: a new, greater UIDVALIDITY, and the session
      // that watched the far side's numbering was told it no longer holds.
      const before = [...shown.keys()].map((at) => Number(at.split('/')[0]));
      expect(merged.folder.uidValidity).toBe(Math.max(...before));
      expect(new Set(before).size).toBe(2);
      expect(awayChanges.some((c) => c.kind === 'renumbered')).toBe(true);
      await cluster.settle(again.close());
      await cluster.settle(away.close());
      await cluster.settle(home.close());
    });
    await cluster.stop();
  }, 300_000);
});
