// The nats-server harness: finding the binary, detached clusters stopped from another process, and
// the leaf-node configuration the multi-organisation lab relies on (only allowed subjects cross).
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
  let dir: string;
  const servers: NatsServerProcess[] = [];
  let hubUrl = '';
  let leafUrl = '';
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'post-nats-leaf-'));
    const [hubPort, hubHttp, hubLeaf, leafPort, leafHttp] = await freePorts(5, HOST);
    hubUrl = `nats://${HOST}:${hubPort}`;
    leafUrl = `nats://${HOST}:${leafPort}`;
    const configs: [string, NatsServerConfig][] = [
      [
        'hub',
        {
          serverName: 'org-a',
          host: HOST,
          port: hubPort!,
          http: { host: HOST, port: hubHttp! },
          leafnodes: { accept: { host: HOST, port: hubLeaf!, users: [{ user: 'org-b', password: 's3cret', allow: ['post.global.>'] }] } },
        },
      ],
      [
        'leaf',
        {
          serverName: 'org-b',
          host: HOST,
          port: leafPort!,
          http: { host: HOST, port: leafHttp! },
          leafnodes: { remotes: [{ urls: [`nats-leaf://${HOST}:${hubLeaf}`], user: 'org-b', password: 's3cret' }] },
        },
      ],
    ];
    const binary = findNatsServer();
    for (const [name, config] of configs) {
      const configPath = join(dir, `${name}.conf`);
      writeFileSync(configPath, natsServerConfig(config));
      const server = new NatsServerProcess(
        { name, configPath, logPath: join(dir, `${name}.log`), clientUrl: `nats://${HOST}:${config.port}`, httpUrl: `http://${HOST}:${config.http!.port}` },
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

  it('carries the global ring subjects both ways (request/reply included) and nothing else', async () => {
    const hub = await NatsTransport.connect({ servers: [hubUrl], name: 'org-a-node' });
    const leaf = await NatsTransport.connect({ servers: [leafUrl], name: 'org-b-node' });
    try {
      const onLeaf: TransportMessage[] = [];
      const onHub: TransportMessage[] = [];
      for (const [transport, got] of [[leaf, onLeaf], [hub, onHub]] as const) {
        transport.subscribe('post.global.>', (msg) => got.push(msg));
        transport.subscribe('post.0123456789abcdef.>', (msg) => got.push(msg));
      }
      hub.subscribe('post.global.node.a', (msg) => hub.publish(msg.reply!, enc.encode('from org-a')));
      leaf.subscribe('post.global.node.b', (msg) => leaf.publish(msg.reply!, enc.encode('from org-b')));

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
      expect(await ask(leaf, 'post.global.node.a')).toBe('from org-a');
      expect(await ask(hub, 'post.global.node.b')).toBe('from org-b');

      // The public message follows the private one over the same link: once it is here, the private one would be too.
      for (const [from, to, got] of [[hub, 'leaf', onLeaf], [leaf, 'hub', onHub]] as const) {
        from.publish('post.0123456789abcdef.node.x', enc.encode(`private to ${to}`));
        from.publish('post.global.node.x', enc.encode(`public to ${to}`));
        expect(await waitInRealTime(() => got.some((m) => dec.decode(m.data) === `public to ${to}`), 10_000)).toBe(true);
        expect(got.map((m) => dec.decode(m.data))).not.toContain(`private to ${to}`);
      }
    } finally {
      await Promise.all([hub.close(), leaf.close()]);
    }
  });
});
