// Issue 11: what one IMAP write costs on the wire, counted on the simulator (5 nodes, k = 3). A STORE is
// one log append: one replicated round (the signed head to each of its k replicas, one answer each)
// and one head notice; no read, no block. An APPEND adds the message's blocks (k puts each) before
// the head. Every frame between nodes costs CPU at both ends and in the NATS servers (on the lab, over
// TLS: the socket writes are the largest single item of a STORE's profile), so these counts are the
// budget: a change that adds a frame per command shows here. Background frames (overlay heartbeats,
// inspection, repair passes) are left out.
import { describe, expect, test } from 'vitest';
import { SimCluster } from '../../scenarios/sim/cluster';
import { rawMail } from '../../scenarios/env/env';
import { decodeFrame } from '../../protocol/frame';
import { sessionOnFiveNodes } from './commandRing';
import { simSeed, withSeed } from './seed';

/** Frames that are not a command's: the ring's own upkeep. */
const BACKGROUND = /^(overlay\.|inspect\.|storage\.(has|scan|digest|block\.offer|blocks\.get|refresh))/;

describe('frames per IMAP write command', () => {
  test('a STORE is one replicated head write (k puts, k answers) and one head notice; an APPEND adds k puts per block', async () => {
    const cluster = await SimCluster.create({ seed: simSeed(12) });
    await withSeed(cluster, async () => {
      const { session } = await sessionOnFiveNodes(cluster, 'carol@sim.example', 'c');
      const appended: { uid: number }[] = [];
      for (let i = 0; i < 5; i++) appended.push(await cluster.settle(session.append('INBOX', rawMail('bob@sim.example', 'carol@sim.example', `m${i}`, cluster.clock.now(), 'hello\r\n'), [], cluster.clock.now())));
      await cluster.runFor(2_000);

      const counted = new Map<string, number>();
      const stop = cluster.network.observe((_from, _subject, data) => {
        const decoded = decodeFrame(data);
        const kind = decoded.ok ? decoded.frame.kind : 'undecodable';
        if (!BACKGROUND.test(kind)) counted.set(kind, (counted.get(kind) ?? 0) + 1);
      });
      const count = async (runs: number, command: (run: number) => Promise<unknown>) => {
        counted.clear();
        for (let run = 0; run < runs; run++) await cluster.settle(command(run));
        await cluster.runFor(1_000); // the third replica's answer arrives after the quorum's
        return Object.fromEntries([...counted].sort().map(([kind, n]) => [kind, n / runs]));
      };

      const stores = 10;
      const perStore = await count(stores, (run) => session.storeFlags('INBOX', [appended[Math.floor(run / 2) % appended.length]!.uid], { mode: run % 2 ? 'remove' : 'add', flags: ['\\Answered'] }));
      console.log('frames per STORE', perStore);
      // The home node is one of its user's folder heads' replicas (storage/folders/folderLogs.ts
      // placement): that put is served in-process, never on the wire; the other k - 1 go out.
      const remotePuts = perStore['storage.object.put']!;
      expect(remotePuts).toBe(2);
      expect(perStore).toEqual({ 'log.head.notice': 1, 'storage.object.put': remotePuts, 'storage.object.reply': remotePuts });

      const perAppend = await count(5, (run) => session.append('INBOX', rawMail('bob@sim.example', 'carol@sim.example', `n${run}`, cluster.clock.now(), 'hello again\r\n'), [], cluster.clock.now()));
      console.log('frames per APPEND', perAppend);
      expect(perAppend['log.head.notice']).toBe(1);
      expect(perAppend['storage.object.put']).toBe(remotePuts);
      expect(perAppend['storage.object.get'] ?? 0).toBe(0);
      expect(perAppend['storage.block.get'] ?? 0).toBe(0);
      // A small message is one block, put at k replicas (in-process where the writer is one).
      expect(perAppend['storage.block.put']).toBeGreaterThanOrEqual(2);
      expect(perAppend['storage.block.put']).toBeLessThanOrEqual(3);
      expect(Object.keys(perAppend).sort()).toEqual(['log.head.notice', 'storage.object.put', 'storage.object.reply', 'storage.block.put', 'storage.reply'].sort());
      stop();
      await cluster.settle(session.close());
    });
    await cluster.stop();
  }, 120_000);
});
