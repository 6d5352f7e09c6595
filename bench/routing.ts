// Routing benchmark (issue 2): hops and routing state per node at N = 100, 1,000 and 10,000 simulated
// nodes; and route latency over real NATS against the raw NATS request round trip, in the same run,
// on NATS as shipped (TLS, per-node keys) and on plaintext servers: the difference is their cost.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createNode, type PostNode } from '../actors/node';
import { createCertificateAuthority, issueNodeCertificate, verifyNodeCertificateSync } from '../crypto/certificates';
import { OverlayChannel } from '../actors/overlayChannel';
import { decodeFrame } from '../protocol/frame';
import { Heartbeat, type OverlayAuthBody } from '../protocol/overlay';
import { signingKeyPairFromSeed } from '../crypto/sign';
import { wallClock } from '../infra/clock';
import { silentLog } from '../infra/log';
import { NatsCluster } from '../infra/nats/server';
import { NatsTransport } from '../infra/nats/transport';
import { postAccounts } from '../infra/nats/accounts';
import { natsClientSecurity } from '../infra/nats/clientSecurity';
import { ensureUserNkey } from '../infra/nats/nkeys';
import { createNatsTls } from '../infra/nats/tls';
import { replyPrefix, subjects } from '../protocol/subjects';
import { CryptoRandom } from '../infra/random';
import { MemoryStore } from '../infra/store/memory';
import { OVERLAY_TIMINGS } from '../protocol/limits';
import { SimCluster } from '../scenarios/sim/cluster';
import { type Bench, mean, round, summary } from './stats';
import { MemoryHostedUsers } from '../infra/sim/hostedUsers';

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

/**
 * `secured`: as every shipped deployment runs NATS (TLS on clients and routes, a key and permissions per
 * node, the organisation's account: infra/nats/accounts.ts); otherwise plaintext servers without
 * accounts. Both in one run give the cost of TLS and authorisation.
 */
async function overNats(nodesCount: number, samples: number, secured: boolean, log: (l: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), 'post-bench-'));
  const ca = await createCertificateAuthority('bench.example', randomBytes(32));
  const identities = await Promise.all(
    Array.from({ length: nodesCount }, async () => {
      const keys = await signingKeyPairFromSeed(randomBytes(32));
      return { keys, cert: await issueNodeCertificate(ca, keys, { nowMs: Date.now() }) };
    }),
  );
  // The raw baseline's two clients are users of the organisation's account too, as nodes would be.
  const echo = ['ec'.repeat(32), 'ed'.repeat(32)] as const;
  const keyFile = (id: string) => join(dir, 'keys', `${id}.nk`);
  const tls = secured ? createNatsTls(join(dir, 'tls'), ['127.0.0.1', 'localhost']) : undefined;
  const accounts = secured
    ? postAccounts({
        rings: [ca.ringId],
        nodes: [...echo, ...identities.map((x) => x.cert.nodeId)].map((nodeId) => ({ nodeId, ringId: ca.ringId, nkey: ensureUserNkey(keyFile(nodeId)) })),
        operatorNkey: ensureUserNkey(keyFile('operator')),
      })
    : undefined;
  const cluster = await NatsCluster.start({ dir: join(dir, 'nats'), size: 3, tls, accounts });
  const connect = (server: string, nodeId: string) =>
    NatsTransport.connect({
      ...natsClientSecurity([server], secured ? { credsFile: keyFile(nodeId), caFile: tls!.caFile } : {}),
      name: nodeId,
      inboxPrefix: replyPrefix(nodeId),
    });
  const nodes: PostNode[] = [];
  const transports: NatsTransport[] = [];
  try {
    // Raw baseline: request/reply between two clients on different servers of the same cluster.
    const a = await connect(cluster.urls[0]!, echo[0]);
    const b = await connect(cluster.urls[1]!, echo[1]);
    transports.push(a, b);
    const echoSubject = subjects.node(ca.ringId, echo[1]);
    b.subscribe(echoSubject, (m) => m.reply && b.publish(m.reply, m.data));
    await b.flush();
    // b's interest reaches a's server over the route a little later: wait (bounded) for the first answer.
    for (let i = 0; i < 100; i++) {
      const answered = await a.request(echoSubject, new Uint8Array(1), { timeoutMs: 500 }).then(() => true, () => false);
      if (answered) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const payload = randomBytes(200);
    for (let i = 0; i < 200; i++) await a.request(echoSubject, payload, { timeoutMs: 2000 });
    const raw: number[] = [];
    for (let i = 0; i < samples; i++) {
      const t = performance.now();
      await a.request(echoSubject, payload, { timeoutMs: 2000 });
      raw.push(performance.now() - t);
    }
    // A ring of real nodes in this process, each with its own NATS connection, spread over the servers.
    for (const [i, { keys, cert }] of identities.entries()) {
      const transport = await connect(cluster.urls[i % 3]!, cert.nodeId);
      const node = createNode(
        { transport, clock: wallClock, random: new CryptoRandom(), log: silentLog, store: new MemoryStore() },
        { cert, signingSecretKey: keys.secretKey, trust: ca, convergenceSecret: randomBytes(32), replicationFactor: 3 },
        { hostedUsers: new MemoryHostedUsers(), standbyGrants: new MemoryHostedUsers() },
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
      nats: secured ? 'TLS, nkey per node, accounts' : 'plaintext, open',
      rawRequestMs: summary(raw),
      routeMs: summary(route),
      routeHops: summary(hops),
      ratioP50: round(summary(route).p50 / summary(raw).p50, 2),
      ratioPerHopP50: round(summary(route).p50 / summary(raw).p50 / Math.max(1, mean(hops)), 2),
    };
    log(
      `  NATS ${result.nats} (${nodesCount} nodes, 3 servers): raw request p50 ${result.rawRequestMs.p50} ms p99 ${result.rawRequestMs.p99} ms; ` +
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

/**
 * What authenticating overlay frames costs (issue 12): one node seals a Heartbeat for another, which
 * decodes and opens it, as the router does for every frame; MACed once the two know each other's
 * certificate (the usual case), signed (Ed25519) before that and for frames to anyone.
 */
async function frameAuthentication(count: number) {
  const ca = await createCertificateAuthority('bench.example', randomBytes(32));
  const member = async () => {
    const keys = await signingKeyPairFromSeed(randomBytes(32));
    const cert = await issueNodeCertificate(ca, keys, { nowMs: Date.now() });
    return { id: cert.nodeId, channel: new OverlayChannel({ ringId: ca.ringId, cert, signingSecretKey: keys.secretKey, clock: wallClock, verifyPeer: (c, nowMs) => verifyNodeCertificateSync(c, ca, nowMs) }) };
  };
  const [{ channel: a }, { channel: b, id: bId }] = [await member(), await member()];
  const heartbeat = { kind: Heartbeat, body: { from: bId } };
  const open = (to: OverlayChannel, bytes: Uint8Array) => {
    const decoded = decodeFrame(bytes);
    if (!decoded.ok) throw new Error(`bench: frame does not decode: ${decoded.reason}`);
    const opened = to.open(decoded.frame.body as OverlayAuthBody);
    if (!opened.ok) throw new Error(`bench: frame refused: ${opened.detail}`);
  };
  // b learns a's certificate from a signed frame, a learns b's: from then on frames between them are MACed.
  open(b, a.seal(heartbeat));
  open(a, b.seal(heartbeat));
  const perFrameUs = (to: string | undefined) => {
    const started = performance.now();
    for (let i = 0; i < count; i++) open(b, a.seal(heartbeat, to));
    return round(((performance.now() - started) * 1000) / count, 1);
  };
  perFrameUs(bId); // warm-up
  return { macSealOpenUs: perFrameUs(bId), signedSealOpenUs: perFrameUs(undefined) };
}

export const routingBench: Bench = {
  name: 'routing',
  summary: 'Pastry hops and routing state at N = 100, 1,000, 10,000 (simulated); route latency over real NATS vs raw request',
  async run({ quick, log }) {
    const sizes = quick ? [100, 1000] : [100, 1000, 10_000];
    const sim = [];
    for (const n of sizes) sim.push(await simulated(n, n >= 10_000 ? 2000 : 5000, log));
    const nats = await overNats(8, quick ? 300 : 1000, true, log);
    const plaintext = await overNats(8, quick ? 300 : 1000, false, log);
    log(
      `  TLS and authorisation cost: raw request p50 ${round(nats.rawRequestMs.p50 - plaintext.rawRequestMs.p50, 3)} ms, ` +
        `route p50 ${round(nats.routeMs.p50 - plaintext.routeMs.p50, 3)} ms (secured minus plaintext)`,
    );
    const auth = await frameAuthentication(quick ? 2000 : 10_000);
    // Every hop seals and opens one frame; a route's request and reply are two frames a hop.
    const perRouteMs = ((auth.macSealOpenUs * 2) / 1000) * Math.max(1, nats.routeHops.mean);
    log(
      `  overlay frame authentication: seal+open ${auth.macSealOpenUs} us MACed, ${auth.signedSealOpenUs} us signed; ` +
        `~${round(perRouteMs, 3)} ms of a ${nats.routeMs.p50} ms route p50 (${round((perRouteMs / nats.routeMs.p50) * 100, 1)}%)`,
    );
    return { simulated: sim, nats, plaintextNats: plaintext, frameAuthentication: auth };
  },
};
