// Storage benchmark (issue 3), over a real three-server NATS cluster with LMDB stores on disk, in one
// run: put and get latency and throughput against the raw NATS request round trip (same payload size,
// same concurrency), and the repair rate after a node is lost.
import { randomBytes } from 'node:crypto';
import { NatsTransport } from '../infra/nats/transport';
import { kClosest } from '../overlay/id';
import { startRing, stopRing } from './ring';
import { getVerifiedBlock } from '../storage/replicaStore';
import { type Bench, round, summary } from './stats';

/** Latency (sequential) and throughput (`inFlight` at a time) of an async operation. */
async function measure(op: (i: number) => Promise<unknown>, count: number, inFlight: number) {
  const latency: number[] = [];
  for (let i = 0; i < Math.min(count, 300); i++) {
    const t = performance.now();
    await op(i);
    latency.push(performance.now() - t);
  }
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) await op(next++);
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return { latencyMs: summary(latency), opsPerSecond: round(count / seconds, 0) };
}

export const storageBench: Bench = {
  name: 'storage',
  summary: 'put/get latency and throughput over real NATS vs the raw request round trip; repair rate after a node loss',
  async run({ quick, log }) {
    const ring = await startRing(6);
    try {
      const [a, b] = [await NatsTransport.connect({ servers: [ring.cluster.urls[0]!] }), await NatsTransport.connect({ servers: [ring.cluster.urls[1]!] })];
      b.subscribe('bench.echo', (m) => m.reply && b.publish(m.reply, m.data));
      await b.flush();
      const small = randomBytes(4096);
      const count = quick ? 500 : 2000;
      const raw = await measure(() => a.request('bench.echo', small, { timeoutMs: 5000 }), count, 32);
      await a.close();
      await b.close();
      log(`  raw NATS request (4 KiB): p50 ${raw.latencyMs.p50} ms p99 ${raw.latencyMs.p99} ms; ${raw.opsPerSecond} req/s with 32 in flight`);

      const client = ring.nodes[0]!.replicas.storage;
      const blocks = Array.from({ length: count }, () => randomBytes(4096));
      const ids: string[] = [];
      const put = await measure(async (i) => ids.push(await client.putBlock(blocks[i % blocks.length]!)), count, 32);
      log(`  putBlock 4 KiB (k=3, majority): p50 ${put.latencyMs.p50} ms p99 ${put.latencyMs.p99} ms; ${put.opsPerSecond} puts/s with 32 in flight`);
      const reader = ring.nodes[3]!.replicas.storage;
      const get = await measure((i) => reader.getBlock(ids[i % ids.length]!), count, 32);
      log(`  getBlock 4 KiB: p50 ${get.latencyMs.p50} ms p99 ${get.latencyMs.p99} ms; ${get.opsPerSecond} gets/s with 32 in flight`);

      const bulkMiB = quick ? 32 : 128;
      const bulk = randomBytes(bulkMiB * 1024 * 1024);
      let t = performance.now();
      const ref = await client.putData(bulk);
      const putMBs = round(bulkMiB / ((performance.now() - t) / 1000), 1);
      t = performance.now();
      await reader.getData(ref);
      const getMBs = round(bulkMiB / ((performance.now() - t) / 1000), 1);
      log(`  putData ${bulkMiB} MiB: ${putMBs} MiB/s; getData: ${getMBs} MiB/s (each MiB stored on 3 replicas)`);

      // Repair: lose the node holding the most bytes; time until everything it held is on k nodes again.
      const heldBy = new Map<string, number>();
      for (const [id, store] of ring.stores) heldBy.set(id, (await store.totals()).blockBytes);
      const victimId = [...heldBy].sort((x, y) => y[1] - x[1])[0]![0];
      const lostBytes = heldBy.get(victimId)!;
      const victimStore = ring.stores.get(victimId)!;
      const lostIds = (await victimStore.scanBlocks({ lo: '0'.repeat(64), hi: '0'.repeat(64) }, { limit: 1000 })).map((e) => e.id);
      const victim = ring.nodes.find((n) => n.id === victimId)!;
      const killedAt = performance.now();
      await victim.stop();
      ring.nodes.splice(ring.nodes.indexOf(victim), 1);
      ring.stores.delete(victimId);
      const live = ring.nodes.map((n) => n.id);
      let detectedAt = 0;
      const watcher = ring.nodes[0]!;
      const sub = watcher.router.membership$.subscribe((c) => c.removed.includes(victimId) && !detectedAt && (detectedAt = performance.now()));
      const complete = async () => {
        for (const id of lostIds) for (const n of kClosest(live, id, 3)) if ((await getVerifiedBlock(ring.stores.get(n)!, id)).status !== 'ok') return false;
        return true;
      };
      while (!(await complete())) {
        if (performance.now() - killedAt > 120_000) throw new Error('repair did not finish within 120 s');
        await new Promise((r) => setTimeout(r, 100));
      }
      sub.unsubscribe();
      const doneAt = performance.now();
      const repairSeconds = (doneAt - (detectedAt || killedAt)) / 1000;
      const repair = {
        lostBytes,
        lostBlocks: lostIds.length,
        detectionMs: round(detectedAt ? detectedAt - killedAt : NaN, 0),
        repairMs: round(repairSeconds * 1000, 0),
        repairMBs: round(lostBytes / 1e6 / repairSeconds, 1),
      };
      log(
        `  repair after losing a node holding ${round(lostBytes / 1e6, 1)} MB in ${lostIds.length} blocks: detected after ${repair.detectionMs} ms ` +
          `(suspicion timeout), re-replicated in ${repair.repairMs} ms = ${repair.repairMBs} MB/s`,
      );
      return {
        rawRequest: raw,
        putBlock: put,
        getBlock: get,
        putVsRawP50: round(put.latencyMs.p50 / raw.latencyMs.p50, 2),
        getVsRawP50: round(get.latencyMs.p50 / raw.latencyMs.p50, 2),
        bulk: { MiB: bulkMiB, putMiBs: putMBs, getMiBs: getMBs },
        repair,
      };
    } finally {
      await stopRing(ring);
    }
  },
};
