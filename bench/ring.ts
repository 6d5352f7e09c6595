// A ring of real nodes in this process for benchmarks: a three-server NATS cluster on loopback and
// LMDB stores on disk; every node its own NATS connection.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNode, type PostNode } from '../actors/node';
import { type CertificateAuthority, createCertificateAuthority, issueNodeCertificate } from '../crypto/certificates';
import { signingKeyPairFromSeed } from '../crypto/sign';
import { wallClock } from '../infra/clock';
import { silentLog } from '../infra/log';
import { NatsCluster } from '../infra/nats/server';
import { NatsTransport } from '../infra/nats/transport';
import { CryptoRandom } from '../infra/random';
import { LmdbStore } from '../infra/store/lmdb';

export interface Ring {
  ca: CertificateAuthority;
  nodes: PostNode[];
  stores: Map<string, LmdbStore>;
  cluster: NatsCluster;
  dir: string;
}

export async function startRing(count: number): Promise<Ring> {
  const dir = mkdtempSync(join(tmpdir(), 'post-bench-storage-'));
  const cluster = await NatsCluster.start({ dir: join(dir, 'nats'), size: 3 });
  const ca = await createCertificateAuthority('bench.example', randomBytes(32));
  const convergenceSecret = randomBytes(32);
  const nodes: PostNode[] = [];
  const stores = new Map<string, LmdbStore>();
  for (let i = 0; i < count; i++) {
    const keys = await signingKeyPairFromSeed(randomBytes(32));
    const cert = await issueNodeCertificate(ca, keys, { nowMs: Date.now() });
    const transport = await NatsTransport.connect({ servers: [cluster.urls[i % 3]!], name: cert.nodeId });
    const store = LmdbStore.open(join(dir, `node-${i}`));
    stores.set(cert.nodeId, store);
    const node = createNode(
      { transport, clock: wallClock, random: new CryptoRandom(), log: silentLog, store },
      { cert, signingSecretKey: keys.secretKey, trust: ca, convergenceSecret, replicationFactor: 3 },
    );
    node.start();
    await node.whenReady(15_000);
    nodes.push(node);
  }
  await new Promise((r) => setTimeout(r, 1500));
  return { nodes, stores, cluster, dir, ca };
}

export async function stopRing(ring: Ring): Promise<void> {
  for (const n of ring.nodes) await n.stop().catch(() => {});
  await ring.cluster.stop();
  rmSync(ring.dir, { recursive: true, force: true });
}

