// Notification benchmark (issue 4) and storage per message (issue 3), in one run:
// - latency from `send` to the recipient's log (p50, p99) over a real three-server NATS cluster on a
//   5-node ring, with the raw NATS request round trip measured beside it;
// - bytes stored in the ring per message as recipients grow from 1 to 100 (simulated ring: the same
//   code, counted exactly on its disks): content once, plus per-recipient notification and log cost.
import { randomBytes } from 'node:crypto';
import { firstValueFrom, filter } from 'rxjs';
import { KEYSTORE_KDF_CHEAP } from '../crypto/keystore';
import { sealToNode } from '../crypto/nodeSeal';
import { wallClock } from '../infra/clock';
import { NatsTransport } from '../infra/nats/transport';
import { CryptoRandom } from '../infra/random';
import { hostedUserCodec } from '../protocol/apps';
import { canonicalBytes } from '../protocol/frame';
import { SimCluster } from '../scenarios/sim/cluster';
import { createUser } from '../storage/users/createUser';
import { localUserIssuer } from '../storage/users/issuer';
import type { PostNode } from '../actors/node';
import type { CertificateAuthority } from '../crypto/certificates';
import { startRing, stopRing } from './ring';
import { type Bench, round, summary } from './stats';

async function hostUser(node: PostNode, ca: CertificateAuthority, address: string) {
  const password = randomBytes(9).toString('base64url');
  await createUser({ storage: node.replicas.storage, issuer: localUserIssuer(ca), address, password, clock: wallClock, random: new CryptoRandom(), kdf: KEYSTORE_KDF_CHEAP });
  return node.users.host(sealToNode(node.router.cert.signingKey, canonicalBytes(hostedUserCodec.encode({ address, password }))));
}

async function latencyOverNats(samples: number, log: (l: string) => void) {
  const ring = await startRing(5);
  try {
    const [a, b] = [await NatsTransport.connect({ servers: [ring.cluster.urls[0]!] }), await NatsTransport.connect({ servers: [ring.cluster.urls[1]!] })];
    b.subscribe('bench.echo', (m) => m.reply && b.publish(m.reply, m.data));
    await b.flush();
    const payload = randomBytes(1024);
    for (let i = 0; i < 100; i++) await a.request('bench.echo', payload, { timeoutMs: 5000 });
    const raw: number[] = [];
    for (let i = 0; i < samples; i++) {
      const t = performance.now();
      await a.request('bench.echo', payload, { timeoutMs: 5000 });
      raw.push(performance.now() - t);
    }
    await a.close();
    await b.close();

    const alice = await hostUser(ring.nodes[0]!, ring.ca, 'alice@bench.example');
    const bob = await hostUser(ring.nodes[3]!, ring.ca, 'bob@bench.example');
    for (let i = 0; i < 10; i++) {
      const got = firstValueFrom(bob.delivered$);
      await alice.sendMessage(['bob@bench.example'], `warm-up ${i}`);
      await got;
    }
    const toLog: number[] = [];
    const toDurable: number[] = [];
    for (let i = 0; i < samples; i++) {
      const got = firstValueFrom(bob.delivered$.pipe(filter((d) => d.app === 'message')));
      const t = performance.now();
      await alice.notify('bob@bench.example', 'message', canonicalBytes({ ref: 'x', from: 'alice@bench.example', to: ['bob@bench.example'], sentAtMs: 0 }));
      toDurable.push(performance.now() - t);
      await got;
      toLog.push(performance.now() - t);
    }
    const result = {
      rawRequestMs: summary(raw),
      sendDurableMs: summary(toDurable),
      sendToRecipientLogMs: summary(toLog),
      ratioP50: round(summary(toLog).p50 / summary(raw).p50, 1),
    };
    log(
      `  notification, 5 nodes over 3 NATS servers: durable at the drop p50 ${result.sendDurableMs.p50} ms p99 ${result.sendDurableMs.p99} ms; ` +
        `in the recipient's log p50 ${result.sendToRecipientLogMs.p50} ms p99 ${result.sendToRecipientLogMs.p99} ms; raw request p50 ${result.rawRequestMs.p50} ms (${result.ratioP50}x)`,
    );
    return result;
  } finally {
    await stopRing(ring);
  }
}

/** Bytes held by every node of the simulated ring (blocks, objects, drop entries). */
function ringBytes(cluster: SimCluster): number {
  let total = 0;
  for (const disk of cluster.disks.values()) {
    for (const b of disk.blocks.map.values()) total += b.bytes.length;
    for (const o of disk.objects.map.values()) total += o.bytes.length;
  }
  return total;
}

async function bytesPerMessage(counts: number[], log: (l: string) => void) {
  const cluster = await SimCluster.create({ seed: 'bench-bytes', logLines: 100 });
  await cluster.addNodes(20, 30);
  await cluster.runUntil(() => cluster.allReady(), 60_000);
  const nodes = cluster.live();
  const sender = await cluster.addUser('sender@sim.example', 'pw', nodes[0]!);
  const max = Math.max(...counts);
  const recipients: string[] = [];
  for (let i = 0; i < max; i++) {
    const address = `r${i}@sim.example`;
    await cluster.addUser(address, 'pw', nodes[(i % (nodes.length - 1)) + 1]!);
    recipients.push(address);
  }
  await cluster.runFor(5_000);
  const rows = [];
  const body = randomBytes(10 * 1024).toString('base64');
  for (const n of counts) {
    const before = ringBytes(cluster);
    await cluster.settle(sender.sendMessage(recipients.slice(0, n), `${n}: ${body}`));
    await cluster.runFor(10_000); // delivered, receipts taken, background writes done
    const stored = ringBytes(cluster) - before;
    rows.push({ recipients: n, contentBytes: body.length, storedBytes: stored, perRecipientBytes: round(stored / n, 0) });
    log(`  one ${round(body.length / 1024, 1)} KiB message to ${n} recipient(s): ${stored} bytes stored in the ring (k=3), ${round(stored / n, 0)} per recipient`);
  }
  await cluster.stop();
  return rows;
}

/** Same-organisation and cross-organisation delivery, measured alternately in one run. */
async function acrossOrganisations(samples: number, log: (l: string) => void) {
  const ring = await startRing(3, { orgs: ['a.example', 'b.example'], gateways: 2 });
  try {
    const [a0, b0, a1] = [ring.nodes[4]!, ring.nodes[5]!, ring.nodes[2]!]; // ordinary nodes, not gateways
    const hostOn = async (node: PostNode, ca: CertificateAuthority, address: string) => {
      const password = randomBytes(9).toString('base64url');
      await createUser({ storage: node.replicas.storage, issuer: localUserIssuer(ca), address, password, clock: wallClock, random: new CryptoRandom(), kdf: KEYSTORE_KDF_CHEAP });
      return node.users.host(sealToNode(node.router.cert.signingKey, canonicalBytes(hostedUserCodec.encode({ address, password }))));
    };
    const alice = await hostOn(a0, ring.cas[0]!, 'alice@a.example');
    const carol = await hostOn(a1, ring.cas[0]!, 'carol@a.example');
    const bob = await hostOn(b0, ring.cas[1]!, 'bob@b.example');
    await new Promise((r) => setTimeout(r, 2000));
    const time = async (to: typeof bob) => {
      const got = firstValueFrom(to.delivered$);
      const t = performance.now();
      await alice.sendMessage([to.address], 'x');
      await got;
      return performance.now() - t;
    };
    for (let i = 0; i < 5; i++) (await time(carol), await time(bob));
    const same: number[] = [];
    const cross: number[] = [];
    for (let i = 0; i < samples; i++) {
      same.push(await time(carol));
      cross.push(await time(bob));
    }
    const result = { sameOrgMs: summary(same), crossOrgMs: summary(cross), ratioP50: round(summary(cross).p50 / summary(same).p50, 2) };
    log(`  message to the recipient's log: same organisation p50 ${result.sameOrgMs.p50} ms p99 ${result.sameOrgMs.p99} ms; across organisations (two gateways) p50 ${result.crossOrgMs.p50} ms p99 ${result.crossOrgMs.p99} ms (${result.ratioP50}x)`);
    return result;
  } finally {
    await stopRing(ring);
  }
}

export const notifyBench: Bench = {
  name: 'notify',
  summary: 'notification latency send → recipient log over real NATS (vs raw request); across organisations vs within; bytes stored per message for 1..100 recipients',
  async run({ quick, log }) {
    const latency = await latencyOverNats(quick ? 100 : 300, log);
    const organisations = await acrossOrganisations(quick ? 30 : 100, log);
    const bytes = await bytesPerMessage(quick ? [1, 10] : [1, 10, 100], log);
    return { latency, organisations, bytesPerMessage: bytes };
  },
};
