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
import { FileHostedUsers } from '../infra/files/hostedUsers';

export interface Ring {
  ca: CertificateAuthority;
  /** Every organisation's CA (the first is `ca`), when the ring was started with several. */
  cas: CertificateAuthority[];
  nodes: PostNode[];
  stores: Map<string, LmdbStore>;
  cluster: NatsCluster;
  dir: string;
}

/**
 * `count` nodes per organisation (one organisation, bench.example, unless `orgs` names several: then
 * the first `gateways` nodes of each are gateways and every organisation federates with the others).
 */
export async function startRing(count: number, opts: { orgs?: string[]; gateways?: number } = {}): Promise<Ring> {
  const dir = mkdtempSync(join(tmpdir(), 'post-bench-storage-'));
  const cluster = await NatsCluster.start({ dir: join(dir, 'nats'), size: 3 });
  const orgs = opts.orgs ?? ['bench.example'];
  const cas: CertificateAuthority[] = [];
  for (const org of orgs) cas.push(await createCertificateAuthority(org, randomBytes(32)));
  const ca = cas[0]!;
  const secrets = cas.map(() => randomBytes(32));
  const nodes: PostNode[] = [];
  const stores = new Map<string, LmdbStore>();
  for (let i = 0; i < count * orgs.length; i++) {
    const o = i % orgs.length;
    const own = cas[o]!;
    const keys = await signingKeyPairFromSeed(randomBytes(32));
    const cert = await issueNodeCertificate(own, keys, { nowMs: Date.now() });
    const transport = await NatsTransport.connect({ servers: [cluster.urls[i % 3]!], name: cert.nodeId });
    const store = LmdbStore.open(join(dir, `node-${i}`));
    stores.set(cert.nodeId, store);
    const node = createNode(
      { transport, clock: wallClock, random: new CryptoRandom(), log: silentLog, store },
      {
        cert,
        signingSecretKey: keys.secretKey,
        trust: own,
        convergenceSecret: secrets[o]!,
        replicationFactor: 3,
        federated: cas.filter((c) => c !== own).map((c) => ({ org: c.org, ringId: c.ringId, caPublicKey: c.caPublicKey })),
      },
      {
        gateway: orgs.length > 1 && Math.floor(i / orgs.length) < (opts.gateways ?? 2),
        hostedUsers: new FileHostedUsers(join(dir, `node-${i}`)),
        standbyGrants: new FileHostedUsers(join(dir, `node-${i}`), 'standby'),
      },
    );
    node.start();
    await node.whenReady(15_000);
    nodes.push(node);
  }
  await new Promise((r) => setTimeout(r, 1500));
  return { nodes, stores, cluster, dir, ca, cas };
}

export async function stopRing(ring: Ring): Promise<void> {
  for (const n of ring.nodes) await n.stop().catch(() => {});
  await ring.cluster.stop();
  rmSync(ring.dir, { recursive: true, force: true });
}

