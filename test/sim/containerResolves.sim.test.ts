// Issue 11: the node's dependency container is for wiring, not for the hot path. tsyringe resolves a
// registration each time it is asked (about a microsecond and a few objects each time), and a storage
// request, a mailbox's freshness check or a submission used to ask it several times per IMAP command.
// Once a node is up and a session is open, its writes resolve nothing from the container.
import 'reflect-metadata';
import { container } from 'tsyringe';
import { describe, expect, test, vi } from 'vitest';
import { rawMail } from '../../scenarios/env/env';
import { SimCluster } from '../../scenarios/sim/cluster';
import { sessionOnFiveNodes } from './commandRing';
import { simSeed, withSeed } from './seed';

describe('dependency container on the command path', () => {
  test('STOREs and APPENDs on an open session resolve nothing from the container', async () => {
    const cluster = await SimCluster.create({ seed: simSeed(11) });
    await withSeed(cluster, async () => {
      const { session } = await sessionOnFiveNodes(cluster, 'carol@sim.example', 'c');
      const appended: { uid: number }[] = [];
      const append = (i: number) => session.append('INBOX', rawMail('bob@sim.example', 'carol@sim.example', `m${i}`, cluster.clock.now(), 'hello\r\n'), [], cluster.clock.now());
      for (let i = 0; i < 3; i++) appended.push(await cluster.settle(append(i)));

      // Every container (the nodes' children too) resolves through the same prototype method.
      const resolves = vi.spyOn(Object.getPrototypeOf(container), 'resolve');
      try {
        for (let run = 0; run < 10; run++) {
          await cluster.settle(session.storeFlags('INBOX', [appended[run % 3]!.uid], { mode: run % 2 ? 'remove' : 'add', flags: ['\\Seen'] }));
        }
        for (let i = 3; i < 6; i++) await cluster.settle(append(i));
        expect(resolves.mock.calls.map((call) => String(call[0]))).toEqual([]);
      } finally {
        resolves.mockRestore();
      }
      await cluster.settle(session.close());
    });
    await cluster.stop();
  }, 120_000);
});
