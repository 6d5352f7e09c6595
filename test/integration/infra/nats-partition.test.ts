// Issue 13, item 4: a network partition of a real three-server NATS cluster (TLS, the deployment's
// accounts), made by configuration reload: cut() leaves each side's servers routed only to each other
// and refusing the other side's nodes, so every node ends up on a server of its own side and nothing
// crosses the cut; heal() makes the mesh whole again and messages cross once more, and a queue group
// with members on every server answers every request from every server (healed by reload, 2.9.10 kept
// stale interest and answered "no responders" to a share of them).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { postAccounts } from '../../../infra/nats/accounts';
import { natsClientSecurity } from '../../../infra/nats/clientSecurity';
import { cutConfig, natsServerConfig } from '../../../infra/nats/config';
import { clientNames, routedServers } from '../../../infra/nats/monitor';
import { ensureUserNkey } from '../../../infra/nats/nkeys';
import { NatsCluster } from '../../../infra/nats/server';
import { createNatsTls, type NatsTlsFiles } from '../../../infra/nats/tls';
import { NatsTransport } from '../../../infra/nats/transport';
import { JOIN_QUEUE_GROUP, replyPrefix, subjects } from '../../../protocol/subjects';
import { waitInRealTime } from '../../compliance/fabric';

const RING = 'a1'.repeat(32);
const NODES = ['11', '12', '21', '22'].map((b) => b.repeat(32));
const [A1, A2, B1, B2] = NODES as [string, string, string, string];
/** A client pinned to one server at a time, asking the queue group every node serves. */
const PROBE = '33'.repeat(32);
/** Requests per server to the queue group after the heal (a stale member lost about one in three). */
const QUEUE_ASKS = 20;
/** Bound on a client's failover to its own side, and on a message's trip. */
const SETTLE_MS = 15_000;

let dir: string;
let tls: NatsTlsFiles;
let cluster: NatsCluster;
const nkeys = new Map<string, string>();
const clients = new Map<string, NatsTransport>();
const heard = new Map<string, string[]>();
const key = (id: string) => join(dir, `${id.slice(0, 2)}.nk`);

/** The server (cluster member index) each node's connection is on, as the servers see it. */
async function placement(): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const [i, m] of cluster.members.entries()) for (const name of await clientNames(m.httpUrl, 100)) if (NODES.includes(name)) out.set(name, i);
  return out;
}

async function send(from: string, to: string, text: string): Promise<void> {
  clients.get(from)!.publish(subjects.node(RING, to), new TextEncoder().encode(text));
  await clients.get(from)!.flush();
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'post-nats-partition-'));
  tls = createNatsTls(join(dir, 'tls'), ['127.0.0.1', 'localhost']);
  for (const id of [...NODES, PROBE]) nkeys.set(id, ensureUserNkey(key(id)));
  const accounts = postAccounts({ rings: [RING], nodes: [...NODES, PROBE].map((nodeId) => ({ nodeId, ringId: RING, nkey: nkeys.get(nodeId)! })), operatorNkey: ensureUserNkey(join(dir, 'operator.nk')) });
  cluster = await NatsCluster.start({ dir: join(dir, 'nats'), size: 3, tls, accounts });
  for (const id of NODES) {
    // Each node lists every server, as lab nodes do; a node of side A starts on side B's server.
    const t = await NatsTransport.connect({ ...natsClientSecurity([...cluster.urls].reverse(), { credsFile: key(id), caFile: tls.caFile }), name: id, inboxPrefix: replyPrefix(id) });
    clients.set(id, t);
    heard.set(id, []);
    t.subscribe(subjects.node(RING, id), (m) => heard.get(id)!.push(new TextDecoder().decode(m.data)));
    t.subscribe(subjects.join(RING), (m) => m.reply && t.publish(m.reply, new TextEncoder().encode(id)), { queue: JOIN_QUEUE_GROUP });
    await t.flush();
  }
}, 60_000);

afterAll(async () => {
  await Promise.all([...clients.values()].map((t) => t.close()));
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('a NATS cluster cut in two by configuration, and healed', () => {
  test('the cut config keeps the side\'s routes and drops the refused users, nothing else', () => {
    const config = natsServerConfig({
      serverName: 'n',
      host: '127.0.0.1',
      port: 1,
      cluster: { name: 'c', host: '127.0.0.1', port: 2, routes: ['nats-route://127.0.0.1:3', 'nats-route://127.0.0.1:4'] },
      accounts: [{ name: 'A', users: [{ nkey: 'UAAA' }, { nkey: 'UBBB' }, { nkey: 'UCCC' }] }],
    });
    const cut = cutConfig(config, { routes: ['nats-route://127.0.0.1:4'], refusedNkeys: ['UBBB'] });
    expect(cut).toMatch(/^ {2}routes: \["nats-route:\/\/127\.0\.0\.1:4"\]$/m);
    expect(cut).not.toMatch(/UBBB/);
    expect(cut).toMatch(/UAAA[\s\S]*UCCC/);
    expect(cut.split('\n').length).toBe(config.split('\n').length - 1);
    expect(() => cutConfig(natsServerConfig({ serverName: 'n', host: '127.0.0.1', port: 1 }), { routes: [], refusedNkeys: [] })).toThrow(/only a cluster can be cut/);
  });

  test('while cut, every node is on its side\'s server and nothing crosses; after heal, everything does', async () => {
    const sideA = [A1, A2];
    const sideB = [B1, B2];
    await cluster.cut([
      { members: [0], refusedNkeys: sideB.map((id) => nkeys.get(id)!) },
      { members: [1, 2], refusedNkeys: sideA.map((id) => nkeys.get(id)!) },
    ]);
    expect(existsSync(`${cluster.members[0]!.configPath}.whole`)).toBe(true);
    expect(await routedServers(cluster.members[0]!.httpUrl)).toBe(0);
    expect(await routedServers(cluster.members[1]!.httpUrl)).toBe(1);
    // Refused nodes fail over to a server of their side (the client keeps trying past refusals).
    const onOwnSide = async () => {
      const p = await placement();
      return NODES.every((id) => p.has(id) && (p.get(id) === 0) === sideA.includes(id));
    };
    let settled = false;
    for (const deadline = Date.now() + SETTLE_MS; !settled && Date.now() < deadline; ) {
      settled = await onOwnSide();
      if (!settled) await new Promise((r) => setTimeout(r, 200));
    }
    expect(settled, JSON.stringify([...(await placement())])).toBe(true);
    for (const t of clients.values()) expect(t.status$.value).toBe('connected');

    await send(A1, A2, 'a1 to a2 during the cut');
    await send(B2, B1, 'b2 to b1 during the cut');
    await send(A1, B1, 'a1 to b1 during the cut');
    await send(B2, A2, 'b2 to a2 during the cut');
    expect(await waitInRealTime(() => heard.get(A2)!.includes('a1 to a2 during the cut') && heard.get(B1)!.includes('b2 to b1 during the cut'), SETTLE_MS)).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    expect(heard.get(B1)).not.toContain('a1 to b1 during the cut');
    expect(heard.get(A2)).not.toContain('b2 to a2 during the cut');

    await cluster.heal();
    expect(existsSync(`${cluster.members[0]!.configPath}.whole`)).toBe(false);
    expect(readFileSync(cluster.members[0]!.configPath, 'utf8')).toContain(nkeys.get(B1)!);
    for (const m of cluster.members) expect(await routedServers(m.httpUrl)).toBe(2);
    // Interest crosses the healed routes: a message from each side reaches the other.
    const crossed = () => heard.get(B1)!.includes('a1 to b1 after heal') && heard.get(A2)!.includes('b2 to a2 after heal');
    for (const deadline = Date.now() + SETTLE_MS; !crossed() && Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
      // The heal restarts the servers: a client may still be reconnecting (its flush fails; try again).
      await send(A1, B1, 'a1 to b1 after heal').catch(() => {});
      await send(B2, A2, 'b2 to a2 after heal').catch(() => {});
    }
    expect(crossed()).toBe(true);

    // A queue group with members on every server answers every request, whichever server asks.
    const missed: string[] = [];
    for (const [i, url] of cluster.urls.entries()) {
      const probe = await NatsTransport.connect({ ...natsClientSecurity([url], { credsFile: key(PROBE), caFile: tls.caFile }), name: PROBE, inboxPrefix: replyPrefix(PROBE) });
      try {
        for (let n = 0; n < QUEUE_ASKS; n++) await probe.request(subjects.join(RING), new Uint8Array([n]), { timeoutMs: SETTLE_MS }).catch((e: Error) => missed.push(`server ${i}: ${e.message}`));
      } finally {
        await probe.close();
      }
    }
    expect(missed).toEqual([]);
  }, 60_000);
});
