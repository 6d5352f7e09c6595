// Storage benchmark (issues 3 and 13), in one run: put and get latency and throughput over a real
// three-server NATS cluster with LMDB stores on disk (six nodes in this process) against the raw NATS
// request round trip (same payload size, same concurrency); then, on a real lab of node processes,
// the repair rate after a node is lost next to the raw NATS and LMDB rates (storageRepair.ts).
import { randomBytes } from 'node:crypto';
import { NatsTransport } from '../infra/nats/transport';
import { startRing, stopRing } from './ring';
import { type Bench, round, summary } from './stats';
import { labRepair } from './storageRepair';

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
  summary: 'put/get latency and throughput over real NATS vs the raw request round trip; repair rate after a node loss on a lab vs raw NATS and LMDB',
  async run({ quick, log }) {
    const inProcess = await putAndGet(quick, log);
    // Repair on a real lab (node processes), after the ring above is gone: they share two cores.
    const repair = await labRepair({ quick, log });
    return { ...inProcess, repair };
  },
};

/** Put and get over six nodes in this process, against the raw NATS round trip. */
async function putAndGet(quick: boolean, log: (line: string) => void) {
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

    return {
      rawRequest: raw,
      putBlock: put,
      getBlock: get,
      putVsRawP50: round(put.latencyMs.p50 / raw.latencyMs.p50, 2),
      getVsRawP50: round(get.latencyMs.p50 / raw.latencyMs.p50, 2),
      bulk: { MiB: bulkMiB, putMiBs: putMBs, getMiBs: getMBs },
    };
  } finally {
    await stopRing(ring);
  }
}
