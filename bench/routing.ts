// Routing benchmark (issue 2): hops and routing state per node at N = 100, 1,000 and 10,000 simulated
// nodes; and route latency over real NATS against the raw NATS request round trip, in the same run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createNode, type PostNode } from '../actors/node';
import { createCertificateAuthority, issueNodeCertificate } from '../crypto/certificates';
import { signingKeyPairFromSeed } from '../crypto/sign';
import { wallClock } from '../infra/clock';
import { silentLog } from '../infra/log';
import { NatsCluster } from '../infra/nats/server';
import { NatsTransport } from '../infra/nats/transport';
import { CryptoRandom } from '../infra/random';
import { MemoryStore } from '../infra/store/memory';
import { OVERLAY_TIMINGS } from '../protocol/limits';
import { SimCluster } from '../scenarios/sim/cluster';
import { type Bench, mean, round, summary } from './stats';

/** Failure detection is not what this measures: at 10,000 nodes heartbeats would dominate the run. */
const QUIET_TIMINGS = { ...OVERLAY_TIMINGS, heartbeatIntervalMs: 60_000, suspicionTimeoutMs: 240_000, deadProbeIntervalMs: 600_000 };

async function simulated(n: number, keys: number, log: (l: string) => void) {
  const started = Date.now();
  const cluster = await SimCluster.create({ seed: `bench-${n}`, timings: n > 1000 ? QUIET_TIMINGS : OVERLAY_TIMINGS, logLines: 1000 });
  for (let i = 0; i < n; i++) {
    await cluster.addNode();
    await cluster.runFor(n > 1000 ? 5 : 20);
    if (i % 1000 === 999) log(`  sim N=${n}: ${i + 1} nodes joined (${Math.round((Date.now() - started) / 1000)} s)`);
  }
  await cluster.runUntil(() => cluster.allReady(), 120_000);
  await cluster.runFor(2_000);
  const wrongLeafSets = cluster.wrongLeafSets().length;
  const r = await cluster.checkRoutes(keys);
  const nodes = cluster.live();
  const leaf = nodes.map((x) => x.router.leafSet().length);
  const table = nodes.map((x) => x.router.status().routingTableEntries);
  const bound = Math.ceil(Math.log(n) / Math.log(16)) + 1;
  const result = {
    nodes: n,
    keys,
    hops: summary(r.hops),
    withinBound: round(r.hops.filter((h) => h <= bound).length / Math.max(1, r.hops.length)),
    bound,
    wrongRoot: r.wrongRoot.length,
    failed: r.failed.length,
    wrongLeafSets,
    leafSetPerNode: round(mean(leaf), 1),
    routingTableEntriesPerNode: round(mean(table), 1),
    routingStatePerNode: round(mean(leaf) + mean(table), 1),
    log16N: round(Math.log(n) / Math.log(16), 2),
    wallSeconds: round((Date.now() - started) / 1000, 1),
  };
  await cluster.stop();
  log(
    `  sim N=${n}: hops mean ${result.hops.mean} p99 ${result.hops.p99} max ${result.hops.max} (log16 N = ${result.log16N}, ${result.withinBound * 100}% within ${bound}); ` +
      `state/node: leaf set ${result.leafSetPerNode} + table ${result.routingTableEntriesPerNode}; wrong roots ${result.wrongRoot}, failed ${result.failed}`,
  );
  return result;
}

async function overNats(nodesCount: number, samples: number, log: (l: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), 'post-bench-'));
  const cluster = await NatsCluster.start({ dir, size: 3 });
  const nodes: PostNode[] = [];
  const transports: NatsTransport[] = [];
  try {
    // Raw baseline: request/reply between two clients on different servers of the same cluster.
    const a = await NatsTransport.connect({ servers: [cluster.urls[0]!] });
    const b = await NatsTransport.connect({ servers: [cluster.urls[1]!] });
    transports.push(a, b);
    b.subscribe('bench.echo', (m) => m.reply && b.publish(m.reply, m.data));
    await b.flush();
    const payload = randomBytes(200);
    for (let i = 0; i < 200; i++) await a.request('bench.echo', payload, { timeoutMs: 2000 });
    const raw: number[] = [];
    for (let i = 0; i < samples; i++) {
      const t = performance.now();
      await a.request('bench.echo', payload, { timeoutMs: 2000 });
      raw.push(performance.now() - t);
    }
    // A ring of real nodes in this process, each with its own NATS connection, spread over the servers.
    const ca = await createCertificateAuthority('bench.example', randomBytes(32));
    for (let i = 0; i < nodesCount; i++) {
      const keys = await signingKeyPairFromSeed(randomBytes(32));
      const cert = await issueNodeCertificate(ca, keys, { nowMs: Date.now() });
      const transport = await NatsTransport.connect({ servers: [cluster.urls[i % 3]!], name: cert.nodeId });
      const node = createNode(
        { transport, clock: wallClock, random: new CryptoRandom(), log: silentLog, store: new MemoryStore() },
        { cert, signingSecretKey: keys.secretKey, trust: ca, convergenceSecret: randomBytes(32), replicationFactor: 3 },
      );
      node.start();
      await node.whenReady(15_000);
      nodes.push(node);
    }
    await new Promise((r) => setTimeout(r, 2000));
    const from = nodes[0]!;
    for (let i = 0; i < 200; i++) await from.router.route(randomBytes(32).toString('hex'));
    const route: number[] = [];
    const hops: number[] = [];
    for (let i = 0; i < samples; i++) {
      const t = performance.now();
      const o = await from.router.route(randomBytes(32).toString('hex'));
      route.push(performance.now() - t);
      hops.push(o.hops);
    }
    const result = {
      nodes: nodesCount,
      natsServers: 3,
      rawRequestMs: summary(raw),
      routeMs: summary(route),
      routeHops: summary(hops),
      ratioP50: round(summary(route).p50 / summary(raw).p50, 2),
      ratioPerHopP50: round(summary(route).p50 / summary(raw).p50 / Math.max(1, mean(hops)), 2),
    };
    log(
      `  NATS (${nodesCount} nodes, 3 servers): raw request p50 ${result.rawRequestMs.p50} ms p99 ${result.rawRequestMs.p99} ms; ` +
        `route p50 ${result.routeMs.p50} ms p99 ${result.routeMs.p99} ms, mean ${round(mean(hops), 2)} hops; route/raw p50 = ${result.ratioP50}`,
    );
    return result;
  } finally {
    for (const n of nodes) await n.stop().catch(() => {});
    for (const t of transports) await t.close().catch(() => {});
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export const routingBench: Bench = {
  name: 'routing',
  summary: 'Pastry hops and routing state at N = 100, 1,000, 10,000 (simulated); route latency over real NATS vs raw request',
  async run({ quick, log }) {
    const sizes = quick ? [100, 1000] : [100, 1000, 10_000];
    const sim = [];
    for (const n of sizes) sim.push(await simulated(n, n >= 10_000 ? 2000 : 5000, log));
    const nats = await overNats(8, quick ? 300 : 1000, log);
    return { simulated: sim, nats };
  },
};
