// The nats-server harness: finding the binary, detached clusters stopped from another process, and
// the leaf-node configuration the multi-organisation lab relies on (only the global ring crosses).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findNatsServer, NatsServerNotFoundError } from '../../../infra/nats/binary';
import { natsServerConfig, type NatsServerConfig } from '../../../infra/nats/config';
import { freePorts } from '../../../infra/nats/free-ports';
import { leafConnections } from '../../../infra/nats/monitor';
import { isAlive, NatsServerProcess } from '../../../infra/nats/process';
import { NatsCluster, startDetached } from '../../../infra/nats/server';
import { NatsTransport } from '../../../infra/nats/transport';
import { GLOBAL_ACCOUNT, postAccounts } from '../../../infra/nats/accounts';
import { natsClientSecurity } from '../../../infra/nats/clientSecurity';
import { ensureUserNkey } from '../../../infra/nats/nkeys';
import { createNatsTls } from '../../../infra/nats/tls';
import { replyPrefix, subjects } from '../../../protocol/subjects';
import type { TransportMessage } from '../../../infra/ports';
import { waitInRealTime } from '../../compliance/fabric';

const enc = new TextEncoder();
const dec = new TextDecoder();
const HOST = '127.0.0.1';

describe('findNatsServer', () => {
  it('finds the installed binary', () => {
    expect(findNatsServer()).toMatch(/nats-server$/);
  });

  it('tells how to install nats-server when there is none', () => {
    const missing = () => findNatsServer({ PATH: '/nonexistent' }, []);
    expect(missing).toThrow(NatsServerNotFoundError);
    expect(missing).toThrow(/apt-get install -y nats-server/);
  });
});

describe('detached cluster (the lab)', () => {
  let dir: string;
  let pidFile: string | undefined;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'post-nats-detached-'));
  });
  afterAll(async () => {
    // Whatever happened, leave no server behind.
    if (pidFile && existsSync(pidFile)) await NatsCluster.attach(pidFile).stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts detached, is controlled through its pid file, and is stopped by another process', async () => {
    const started = await startDetached({ dir, size: 3 });
    pidFile = started.pidFile;
    expect(started.urls).toHaveLength(3);
    const recorded = JSON.parse(readFileSync(pidFile, 'utf8')) as { members: { pid: number }[] };
    const pids = recorded.members.map((member) => member.pid);
    expect(pids.every(isAlive)).toBe(true);

    // Another process (here: a fresh handle) kills and restarts one member through the pid file.
    const attached = NatsCluster.attach(pidFile);
    await attached.kill(1);
    expect(isAlive(pids[1]!)).toBe(false);
    await attached.restart(1, { detached: true }); // rewrites the pid file with the new pid
    const client = await NatsTransport.connect({ servers: [started.urls[1]!], name: 'lab-client' });
    await client.close();

    const tsx = join(process.cwd(), 'node_modules', 'tsx', 'dist', 'cli.mjs');
    execFileSync(process.execPath, [tsx, join(__dirname, 'fixtures', 'stop-nats.ts'), pidFile], { timeout: 30_000 });
    expect(pids.filter(isAlive)).toEqual([]);
    expect(isAlive(attached.pid(1)!)).toBe(false);
    expect(existsSync(pidFile)).toBe(false);
  });
});

describe('leaf-node link between two organisations', () => {
  // Each organisation's server has its own account and a GLOBAL account; the leaf link joins the two
  // GLOBAL accounts (TLS, a password), so only the global ring crosses. A gateway of each organisation
  // is in its server's GLOBAL account with its global-ring key.
  const RING_A = 'a1'.repeat(32);
  const RING_B = 'b2'.repeat(32);
  const [GW_A, GW_B, NODE_A, NODE_B] = ['11', '21', '12', '22'].map((b) => b.repeat(32)) as [string, string, string, string];
  const LINK = { user: 'leaf-b', password: 's3cret' };
  let dir: string;
  const servers: NatsServerProcess[] = [];
  let hubUrl = '';
  let leafUrl = '';
  let caFile = '';
  const key = (name: string) => join(dir, `${name}.nk`);
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'post-nats-leaf-'));
    const tls = createNatsTls(join(dir, 'tls'), ['127.0.0.1', 'localhost']);
    caFile = tls.caFile;
    const [hubPort, hubHttp, hubLeaf, leafPort, leafHttp] = await freePorts(5, HOST);
    hubUrl = `tls://${HOST}:${hubPort}`;
    leafUrl = `tls://${HOST}:${leafPort}`;
    const operatorNkey = ensureUserNkey(key('operator'));
    const user = (name: string, nodeId: string, ringId: string, gateway: boolean) => ({
      nodeId,
      ringId,
      nkey: ensureUserNkey(key(name)),
      ...(gateway ? { globalNkey: ensureUserNkey(key(`${name}-global`)) } : {}),
    });
    const configs: [string, NatsServerConfig][] = [
      [
        'hub',
        {
          serverName: 'org-a',
          host: HOST,
          port: hubPort!,
          http: { host: HOST, port: hubHttp! },
          tls,
          leafnodes: { accept: { host: HOST, port: hubLeaf! } },
          accounts: postAccounts({ rings: [RING_A], nodes: [user('gw-a', GW_A, RING_A, true), user('node-a', NODE_A, RING_A, false)], operatorNkey, leafUsers: [LINK] }),
        },
      ],
      [
        'leaf',
        {
          serverName: 'org-b',
          host: HOST,
          port: leafPort!,
          http: { host: HOST, port: leafHttp! },
          tls,
          leafnodes: { remotes: [{ urls: [`nats-leaf://${HOST}:${hubLeaf}`], ...LINK, account: GLOBAL_ACCOUNT, caFile }] },
          accounts: postAccounts({ rings: [RING_B], nodes: [user('gw-b', GW_B, RING_B, true), user('node-b', NODE_B, RING_B, false)], operatorNkey }),
        },
      ],
    ];
    const binary = findNatsServer();
    for (const [name, config] of configs) {
      const configPath = join(dir, `${name}.conf`);
      writeFileSync(configPath, natsServerConfig(config));
      const server = new NatsServerProcess(
        { name, configPath, logPath: join(dir, `${name}.log`), clientUrl: `tls://${HOST}:${config.port}`, httpUrl: `http://${HOST}:${config.http!.port}` },
        binary,
      );
      servers.push(server);
      server.start();
      await server.waitReady(0, 15_000);
    }
    const deadline = Date.now() + 15_000;
    while ((await leafConnections(servers[0]!.spec.httpUrl)) < 1) {
      if (Date.now() > deadline) throw new Error(`leaf link not up:\n${servers[1]!.logTail()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  const connect = (url: string, name: string, nodeId: string) =>
    NatsTransport.connect({ ...natsClientSecurity([url], { credsFile: key(name), caFile }), name, inboxPrefix: replyPrefix(nodeId) });

  it("carries the global ring both ways (request/reply included), and no organisation's own subjects", async () => {
    const hub = await connect(hubUrl, 'gw-a-global', GW_A);
    const leaf = await connect(leafUrl, 'gw-b-global', GW_B);
    const nodeA = await connect(hubUrl, 'node-a', NODE_A);
    const nodeB = await connect(leafUrl, 'node-b', NODE_B);
    try {
      const onNodeB: TransportMessage[] = [];
      nodeB.subscribe(subjects.node(RING_B, NODE_B), (msg) => onNodeB.push(msg));
      nodeB.subscribe(subjects.join(RING_B), (msg) => onNodeB.push(msg));
      hub.subscribe(subjects.ringGateways(RING_A), (msg) => hub.publish(msg.reply!, enc.encode('from org-a')));
      leaf.subscribe(subjects.ringGateways(RING_B), (msg) => leaf.publish(msg.reply!, enc.encode('from org-b')));

      // Interest crosses the link asynchronously: retry (bounded) until the first request goes through.
      const ask = async (from: NatsTransport, subject: string) => {
        for (let attempt = 0; attempt < 60; attempt++) {
          try {
            return dec.decode(await from.request(subject, enc.encode('hi'), { timeoutMs: 250 }));
          } catch {
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        }
        throw new Error(`no reply on ${subject} across the leaf link`);
      };
      expect(await ask(leaf, subjects.ringGateways(RING_A))).toBe('from org-a');
      expect(await ask(hub, subjects.ringGateways(RING_B))).toBe('from org-b');

      // org-a's node may publish only in its own ring: b's subjects (in any account) stay out of reach.
      nodeA.publish(subjects.node(RING_B, NODE_B), enc.encode('from a node of org-a'));
      nodeA.publish(subjects.join(RING_B), enc.encode('from a node of org-a'));
      nodeB.publish(subjects.node(RING_B, NODE_B), enc.encode('own ring'));
      expect(await waitInRealTime(() => onNodeB.some((m) => dec.decode(m.data) === 'own ring'), 10_000)).toBe(true);
      expect(onNodeB.map((m) => dec.decode(m.data))).not.toContain('from a node of org-a');
    } finally {
      await Promise.all([hub.close(), leaf.close(), nodeA.close(), nodeB.close()]);
    }
  });
});
