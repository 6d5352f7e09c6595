// The compose lab (docker-compose.yml, Dockerfile, infra/docker/): Compose 1.29 (Debian's
// docker-compose) validates the file; its normalised form has three clustered NATS servers, at least
// six nodes in two organisations running `post node start` with IMAP and SMTP published, identities
// and users from the init steps, and the dashboard on 8080. The compose file's own commands run as
// local processes (paths, hosts and ports rewritten): init (and its refusal of an older volume), two
// nodes behind infra/docker/expose.mjs, their healthcheck, users, then IMAP and SMTP through the
// forwarded ports. Last, where a Docker engine runs or can be started, the whole lab for real.
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { NATS_MAX_PAYLOAD_BYTES } from '../../../infra/nats/config';
import { freePorts } from '../../../infra/nats/free-ports';
import { findNatsServer } from '../../../infra/nats/binary';
import { NatsServerProcess } from '../../../infra/nats/process';
import { nkeyPublicKey } from '../../../infra/nats/nkeys';
import { NODE_STOP_GRACE_MS } from '../../../protocol/limits';
import { type DockerEngine, dockerEngine, noDockerEngine } from './docker';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');
const COMPOSE_FILE = join(ROOT, 'docker-compose.yml');
const run = promisify(execFile);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---- docker-compose config: validation and its normalised YAML --------------------------------------

const INSTALL_HINT = 'install it with `apt-get install -y --no-install-recommends docker-compose` (npm test does so when run as root)';

function dockerCompose(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync('docker-compose', ['-f', COMPOSE_FILE, ...args], { encoding: 'utf8', timeout: 60_000 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`docker-compose is missing: the compose lab cannot be validated; ${INSTALL_HINT}`);
  if (r.error) throw r.error;
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

type Yaml = string | Yaml[] | { [key: string]: Yaml };

/**
 * The subset of YAML `docker-compose config` prints (PyYAML's block style): mappings, indentless
 * sequences of scalars, plain and quoted scalars folded over several lines, `{}` and `[]`.
 */
function parseComposeYaml(text: string): Yaml {
  const lines = text
    .split('\n')
    .map((raw) => ({ indent: raw.length - raw.trimStart().length, text: raw.trim() }))
    .filter((l) => l.text !== '' && !l.text.startsWith('#'));
  let i = 0;
  const isItem = (t: string) => t === '-' || t.startsWith('- ');
  const block = (indent: number): Yaml => (isItem(lines[i]!.text) ? sequence(indent) : mapping(indent));
  const scalar = (first: string, indent: number): Yaml => {
    let text = first;
    while (i < lines.length && lines[i]!.indent > indent) text += ` ${lines[i++]!.text}`;
    if (text === '{}') return {};
    if (text === '[]') return [];
    if (text.startsWith("'")) return text.slice(1, -1).replace(/''/g, "'");
    if (text.startsWith('"')) return JSON.parse(text) as string;
    return text;
  };
  function sequence(indent: number): Yaml[] {
    const items: Yaml[] = [];
    while (i < lines.length && lines[i]!.indent === indent && isItem(lines[i]!.text)) {
      const rest = lines[i++]!.text.slice(2);
      if (/^[^'"]+?:( |$)/.test(rest)) throw new Error(`unexpected mapping in a sequence: ${rest}`);
      items.push(scalar(rest, indent));
    }
    return items;
  }
  function mapping(indent: number): { [key: string]: Yaml } {
    const out: { [key: string]: Yaml } = {};
    while (i < lines.length && lines[i]!.indent === indent && !isItem(lines[i]!.text)) {
      const line = lines[i++]!;
      const m = /^('[^']*'|"[^"]*"|[^:]+?):(?: (.*))?$/.exec(line.text);
      if (!m) throw new Error(`cannot read line ${i}: ${line.text}`);
      const key = m[1]!.replace(/^['"]|['"]$/g, '');
      const next = lines[i];
      if (m[2]) out[key] = scalar(m[2], indent);
      else if (next && (next.indent > indent || (next.indent === indent && isItem(next.text)))) out[key] = block(next.indent);
      else out[key] = '';
    }
    return out;
  }
  return block(lines[0]!.indent);
}

/** The services of `docker-compose config` output. */
const composeServices = (yaml: string) => (parseComposeYaml(yaml) as unknown as { services: Record<string, Service> }).services;

interface Service {
  entrypoint?: string[];
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  volumes?: string[];
  image?: string;
}

const argAfter = (args: readonly string[], flag: string) => {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
};
/** The Dockerfile's ENTRYPOINT, for services that keep it (checked against the Dockerfile below). */
const IMAGE_ENTRYPOINT = ['/app/bin/post'];
const argv = (s: Service) => [...(s.entrypoint ?? IMAGE_ENTRYPOINT), ...(s.command ?? [])];
const isNats = (s: Service) => argv(s)[0] === 'nats-server';
/** The `post` arguments a service runs (after expose.mjs's forwards and `--`, if any). */
const postArgs = (s: Service) => {
  const all = argv(s);
  const at = all.findIndex((a) => a.endsWith('bin/post'));
  return at >= 0 ? all.slice(at + 1) : [];
};
const isNode = (s: Service) => postArgs(s)[0] === 'node' && postArgs(s)[1] === 'start';
/** expose.mjs forwards "PORT=LOCAL": the container port that reaches a loopback port. */
const forwardedTo = (s: Service, local: string) => argv(s).find((a) => a.endsWith(`=${local}`))?.split('=')[0];
/** "127.0.0.1:11143:1143/tcp" → { host: '11143', container: '1143' } */
const published = (s: Service) =>
  (s.ports ?? []).map((p) => {
    const parts = p.replace(/\/(tcp|udp)$/, '').split(':');
    return { host: parts[parts.length - 2]!, container: parts[parts.length - 1]! };
  });

describe('docker-compose.yml (Compose 1.29 schema)', () => {
  let services: Record<string, Service>;
  let topology: Map<string, string>; // node service → organisation

  beforeAll(() => {
    const check = dockerCompose('config', '-q');
    expect(check.stderr, 'docker-compose config -q').toBe('');
    expect(check.code).toBe(0);
    const config = dockerCompose('config');
    expect(config.code, config.stderr).toBe(0);
    services = composeServices(config.stdout);
    const init = Object.values(services).find((s) => argv(s).some((a) => a.endsWith('infra/docker/lab.mjs')) && argv(s).includes('init'));
    topology = new Map(
      (init?.environment?.LAB_TOPOLOGY ?? '')
        .split(/\s+/)
        .filter(Boolean)
        .flatMap((part) => part.split('=')[1]!.split(',').map((name) => [name, part.split('=')[0]!] as [string, string])),
    );
  });

  test('validates with docker-compose config -q and uses no top-level keys Compose 1.29 lacks', () => {
    const top = readFileSync(COMPOSE_FILE, 'utf8').match(/^[a-z][\w-]*(?=:)/gm) ?? [];
    expect(top).not.toContain('name');
    expect(top).not.toContain('include');
    expect(top).toContain('services');
  });

  test('three NATS servers from the configuration init writes, after init, on the lab volume', () => {
    const nats = Object.entries(services).filter(([, s]) => isNats(s));
    expect(nats.map(([name]) => name).sort()).toEqual(['nats-1', 'nats-2', 'nats-3']);
    const init = Object.entries(services).find(([, s]) => argv(s).some((a) => a.endsWith('infra/docker/lab.mjs')) && argv(s).includes('init'))!;
    for (const [name, s] of nats) {
      expect(argAfter(argv(s), '--config')).toBe('/lab/nats/nats.conf');
      expect(argAfter(argv(s), '--server_name')).toBe(name);
      expect(s.depends_on?.[init[0]]?.condition).toBe('service_completed_successfully');
      expect(s.volumes?.some((v) => v.startsWith('lab:/lab'))).toBe(true);
      expect(s.healthcheck?.test.join(' ')).toContain('/healthz');
    }
    // Clients reach them over TLS only.
    expect(init[1].environment?.LAB_NATS?.split(',').map((u) => new URL(u).protocol)).toEqual(['tls:', 'tls:', 'tls:']);
  });

  test('at least six nodes in two organisations run `post node start` against all three NATS servers', () => {
    const nodes = Object.entries(services).filter(([, s]) => isNode(s));
    expect(nodes.length).toBeGreaterThanOrEqual(6);
    const orgs = new Map<string, string[]>();
    for (const [name, s] of nodes) {
      expect(argAfter(postArgs(s), '--data')).toBe(`/lab/nodes/${name}`);
      expect(s.volumes).toContain('lab:/lab:rw');
      const urls = argAfter(postArgs(s), '--nats')!.split(',');
      expect(urls.map((u) => new URL(u).hostname).sort()).toEqual(['nats-1', 'nats-2', 'nats-3']);
      expect(urls.every((u) => u.startsWith('tls://'))).toBe(true);
      const org = topology.get(name);
      expect(org, `${name} is in LAB_TOPOLOGY of the init service`).toBeDefined();
      orgs.set(org!, [...(orgs.get(org!) ?? []), name]);
    }
    expect(orgs.size).toBeGreaterThanOrEqual(2);
    for (const members of orgs.values()) expect(members.length).toBeGreaterThanOrEqual(3);
    // Each organisation's MX node takes inbound mail for its postmaster.
    for (const [org, members] of orgs) expect(members.some((m) => argAfter(postArgs(services[m]!), '--gateway-user') === `postmaster@${org}`)).toBe(true);
  });

  test('every node publishes its IMAP, SMTP and XMPP ports (and HTTP) on distinct host ports', () => {
    const hostPorts: string[] = [];
    for (const s of Object.values(services).filter(isNode)) {
      for (const flag of ['--imap', '--smtp', '--http', '--xmpp']) {
        const container = forwardedTo(s, argAfter(postArgs(s), flag)!);
        expect(container, `${flag} is forwarded out of the container`).toBeDefined();
        const port = published(s).find((p) => p.container === container);
        expect(port, `${flag} (container port ${container}) is published`).toBeDefined();
        hostPorts.push(port!.host);
      }
    }
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
  });

  test('init creates identities before the nodes start; users are added once every node is healthy', () => {
    const byCommand = (step: string) => Object.entries(services).find(([, s]) => argv(s).some((a) => a.endsWith('infra/docker/lab.mjs')) && argv(s).includes(step));
    const [initName] = byCommand('init')!;
    const [, users] = byCommand('users')!;
    const dependsOnInit = (name: string, seen = new Set<string>()): boolean => {
      if (seen.has(name)) return false;
      seen.add(name);
      return Object.entries(services[name]?.depends_on ?? {}).some(([dep, d]) => (dep === initName && d.condition === 'service_completed_successfully') || dependsOnInit(dep, seen));
    };
    const nodes = Object.keys(services).filter((n) => isNode(services[n]!));
    for (const node of nodes) expect(dependsOnInit(node), `${node} waits for init`).toBe(true);
    for (const node of nodes) expect(users.depends_on?.[node]?.condition, `users waits for ${node}`).toBe('service_healthy');
    for (const [name, s] of Object.entries(services))
      for (const [dep, d] of Object.entries(s.depends_on ?? {})) {
        expect(['service_started', 'service_healthy', 'service_completed_successfully'], `${name} → ${dep}`).toContain(d.condition);
        if (d.condition === 'service_healthy') expect(services[dep]?.healthcheck, `${dep} has a healthcheck`).toBeDefined();
      }
  });

  test('the dashboard runs `post lab dashboard` on the lab file, published on 8080', () => {
    const dashboards = Object.values(services).filter((s) => postArgs(s)[0] === 'lab' && postArgs(s)[1] === 'dashboard');
    expect(dashboards).toHaveLength(1);
    const d = dashboards[0]!;
    expect(argAfter(postArgs(d), '--lab')).toBe('/lab/lab.json');
    expect(argAfter(postArgs(d), '--port')).toBe('8080');
    expect(published(d)).toContainEqual({ host: '8080', container: '8080' });
  });

  test('one image for every service: the Dockerfile builds `post` on node:20-bookworm with npm ci and nats-server', () => {
    const images = new Set(Object.values(services).map((s) => s.image));
    expect(images.size).toBe(1);
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^FROM node:20-bookworm(-slim)?$/m);
    expect(dockerfile).toMatch(/apt-get install -y[^\n]*nats-server/);
    expect(dockerfile).toMatch(/^RUN npm ci\b/m);
    expect(dockerfile).toContain(`ENTRYPOINT ${JSON.stringify(IMAGE_ENTRYPOINT)}`);
    for (const s of Object.values(services)) for (const a of argv(s)) if (a.startsWith('/app/')) expect(existsSync(join(ROOT, a.slice('/app/'.length))), a).toBe(true);
    expect(readFileSync(join(ROOT, '.dockerignore'), 'utf8')).toMatch(/^node_modules$/m);
  });
});

// ---- the compose file's commands, run here -----------------------------------------------------------

describe('infra/docker/expose.mjs', () => {
  test('a port it cannot listen on stops its command before it exits (the command is never left running alone)', async () => {
    const [taken] = await freePorts(1);
    const holder = await new Promise<import('node:net').Server>((resolve) => {
      const server = createServer();
      server.listen(taken, '127.0.0.1', () => resolve(server));
    });
    const pidFile = join(mkdtempSync(join(tmpdir(), 'post-expose-')), 'pid');
    try {
      // The command writes its pid, then would run for a minute.
      const r = spawnSync(process.execPath, [join(ROOT, 'infra/docker/expose.mjs'), `${taken}=${taken + 1}`, '--', 'sh', '-c', `echo $$ > ${pidFile}; exec sleep 60`], {
        env: { ...process.env, EXPOSE_HOST: '127.0.0.1' },
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`cannot listen on 127.0.0.1:${taken}`);
      // Stopped before it wrote its pid, or after: either way it is not running now.
      for (let i = 0; i < 20 && !existsSync(pidFile); i++) await new Promise((resolve) => setTimeout(resolve, 100));
      if (existsSync(pidFile)) {
        const pid = Number(readFileSync(pidFile, 'utf8'));
        expect(() => process.kill(pid, 0), `the command (pid ${pid}) is still running`).toThrow();
      }
    } finally {
      holder.close();
    }
  }, 60_000);
});

describe('the compose lab\'s init, node, healthcheck and users commands, run as local processes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'post-compose-'));
  const labDir = join(dir, 'lab');
  /** The three members of nats.conf, on loopback ports here. */
  const nats: NatsServerProcess[] = [];
  const natsUrls: string[] = [];
  let services: Record<string, Service>;
  const children: ChildProcess[] = [];
  /** Per node service: its container-side port numbers → free loopback ports here. */
  const portMaps = new Map<string, Map<string, string>>();
  let founders: string[] = [];

  /** Paths under /app and /lab, NATS hosts and (per service) port numbers, as they are on this machine. */
  function rewrite(arg: string, ports = new Map<string, string>()): string {
    let out = arg
      .replace(/^\/app\//, `${ROOT}/`)
      .replace(/^\/lab(?=\/|$)/, labDir)
      .replace(/tls:\/\/nats-(\d):4222/g, (_, n: string) => natsUrls[Number(n) - 1]!);
    out = out.replace(/^(\d+)=(\d+)$/, (_, p: string, l: string) => `${ports.get(p) ?? p}=${ports.get(l) ?? l}`);
    out = out.replace(/^\d+$/, (n) => ports.get(n) ?? n);
    return out.replace(/127\.0\.0\.1:(\d+)/g, (m, n: string) => (ports.has(n) ? `127.0.0.1:${ports.get(n)}` : m));
  }

  const labEnv = () => ({
    ...process.env,
    ...services.init!.environment,
    LAB_DIR: labDir,
    LAB_TOPOLOGY: founders.map((f) => `${topologyOf(f)}=${f}`).join(' '),
    LAB_USERS: '1',
    EXPOSE_HOST: '127.0.0.1',
  });
  const topologyOf = (node: string) =>
    services.init!.environment!.LAB_TOPOLOGY!.split(/\s+/).find((p) => p.split('=')[1]!.split(',').includes(node))!.split('=')[0]!;

  async function runStep(step: 'init' | 'users', timeoutMs: number) {
    const s = Object.values(services).find((x) => argv(x).some((a) => a.endsWith('infra/docker/lab.mjs')) && argv(x).includes(step))!;
    const [exe, ...args] = argv(s).map((a) => rewrite(a));
    return run(exe!, args, { env: labEnv(), timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
  }

  async function healthy(name: string, timeoutMs: number): Promise<void> {
    const [cmd, ...args] = services[name]!.healthcheck!.test.slice(1).map((a) => rewrite(a, portMaps.get(name)));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (spawnSync(cmd!, args, { timeout: 10_000 }).status === 0) return;
      if (Date.now() > deadline) throw new Error(`${name}'s healthcheck did not pass within ${timeoutMs} ms`);
      await sleep(500);
    }
  }

  beforeAll(async () => {
    services = composeServices(dockerCompose('config').stdout);
    // One node per organisation (its MX, the one that founds the ring) keeps this quick.
    founders = Object.keys(services).filter((n) => isNode(services[n]!) && argAfter(postArgs(services[n]!), '--gateway-user'));
  }, 60_000);

  /** nats.conf as init wrote it, each member on its own loopback ports here (routes rewritten to match). */
  async function startNats(): Promise<void> {
    const conf = readFileSync(join(labDir, 'nats', 'nats.conf'), 'utf8');
    const names = Object.keys(services).filter((n) => isNats(services[n]!)).sort();
    const ports = await freePorts(names.length * 3);
    const at = (i: number) => ({ client: ports[3 * i]!, route: ports[3 * i + 1]!, http: ports[3 * i + 2]! });
    for (const [i, name] of names.entries()) {
      const mine = at(i);
      const text = conf
        .replace('"0.0.0.0:4222"', `"127.0.0.1:${mine.client}"`)
        .replace('"127.0.0.1:8222"', `"127.0.0.1:${mine.http}"`)
        .replace('"0.0.0.0:6222"', `"127.0.0.1:${mine.route}"`)
        .replace(/nats-route:\/\/nats-(\d):6222/g, (_, n: string) => `nats-route://127.0.0.1:${at(names.indexOf(`nats-${n}`)).route}`);
      const configPath = join(dir, `${name}.conf`);
      writeFileSync(configPath, `server_name: ${JSON.stringify(name)}\n${text}`);
      natsUrls.push(`tls://127.0.0.1:${mine.client}`);
      nats.push(new NatsServerProcess({ name, configPath, logPath: join(dir, `${name}.log`), clientUrl: natsUrls[i]!, httpUrl: `http://127.0.0.1:${mine.http}` }, findNatsServer()));
    }
    for (const server of nats) server.start();
    await Promise.all(nats.map((server) => server.waitReady(nats.length - 1, 30_000)));
  }

  afterAll(async () => {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            const kill = setTimeout(() => c.kill('SIGKILL'), NODE_STOP_GRACE_MS + 2000);
            c.once('exit', () => (clearTimeout(kill), resolve()));
            c.kill('SIGTERM');
          }),
      ),
    );
    await Promise.all(nats.map((server) => server.stop()));
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  test('init, nodes behind expose.mjs, healthchecks and users: mail clients log in through the published ports', async () => {
    expect(founders.length).toBeGreaterThanOrEqual(2);
    const init = await runStep('init', 180_000);
    expect(init.stdout).toContain('lab.json written');
    const lab0 = JSON.parse(readFileSync(join(labDir, 'lab.json'), 'utf8'));
    expect(lab0.nodes.map((n: any) => n.name)).toEqual(founders);
    expect((await runStep('init', 180_000)).stdout).toContain('already in place');
    // Federated organisations, two gateways each, and the host ports the compose file publishes.
    for (const n of lab0.nodes) {
      expect(n.gateway, `${n.name} (its organisation's first node) is a gateway`).toBe(true);
      expect(postArgs(services[n.name]!)).toContain('--gateway');
      const ports = published(services[n.name]!);
      // CalDAV is the HTTP port's /dav/: inside the network and on the host.
      expect([n.caldav, n.published.caldav]).toEqual([`http://${n.name}:8025/dav/`, `http://127.0.0.1:${n.published.http.port}/dav/`]);
      for (const [what, port] of Object.entries(n.published as Record<string, { port: number } | string>))
        if (typeof port === 'object') expect(ports.find((p) => p.host === String(port.port))?.container, `${n.name} publishes its ${what} on ${port.port}`).toBe(String(n[what].port));
    }
    // A volume an older image made (lab.json without this image's version) is refused, saying what to do.
    const labJson = readFileSync(join(labDir, 'lab.json'), 'utf8');
    writeFileSync(join(labDir, 'lab.json'), JSON.stringify({ ...lab0, version: undefined }));
    const refused = await runStep('init', 180_000).then(
      () => undefined,
      (e: { stderr?: string }) => e,
    );
    expect(refused?.stderr).toContain('Run `docker-compose down -v`');
    writeFileSync(join(labDir, 'lab.json'), labJson);

    // The NATS servers' configuration: TLS on clients and routes, a user per node, routes to every member.
    const conf = readFileSync(join(labDir, 'nats', 'nats.conf'), 'utf8');
    for (const name of Object.keys(services).filter((n) => isNats(services[n]!))) expect(conf).toContain(`"nats-route://${name}:6222"`);
    expect(conf).toMatch(/cluster\s*\{[\s\S]*tls\s*\{[\s\S]*verify: true[\s\S]*routes/);
    expect(Number(/max_payload:\s*(\d+)/.exec(conf)?.[1])).toBe(NATS_MAX_PAYLOAD_BYTES);
    for (const n of lab0.nodes) expect(conf).toContain(`nkey: "${nkeyPublicKey(join(n.data, 'nats', 'node.nk'))}"`);
    const t = spawnSync('nats-server', ['-t', '-c', join(labDir, 'nats', 'nats.conf'), '--server_name', 'nats-1'], { encoding: 'utf8', cwd: tmpdir(), timeout: 30_000 });
    expect(t.status, `nats-server -t: ${t.stderr}`).toBe(0);
    expect(lab0.natsCa).toBe(join(labDir, 'nats', 'tls', 'ca.pem'));
    expect(lab0.natsCreds).toBe(join(labDir, 'nats', 'operator.nk'));
    await startNats();
    // lab.json names the servers as the compose network does; here they are on loopback.
    writeFileSync(join(labDir, 'lab.json'), JSON.stringify({ ...lab0, nats: natsUrls }, null, 2));

    // Every founder's ports from one freePorts call: two calls could hand out the same port again
    // while the first founder's processes have not bound theirs yet.
    const numbersOf = new Map(founders.map((name) => [name, [...new Set(argv(services[name]!).flatMap((a) => (/^\d+=\d+$/.test(a) ? a.split('=') : [])))]]));
    const free = await freePorts([...numbersOf.values()].reduce((n, numbers) => n + numbers.length, 0));
    for (const name of founders) {
      const s = services[name]!;
      const ports = new Map(numbersOf.get(name)!.map((n) => [n, String(free.shift()!)]));
      portMaps.set(name, ports);
      const [exe, ...args] = argv(s).map((a) => rewrite(a, ports));
      const child = spawn(exe!, args, { env: labEnv(), stdio: ['ignore', 'ignore', 'inherit'] });
      children.push(child);
    }
    for (const name of founders) await healthy(name, 180_000);

    const users = await runStep('users', 300_000);
    expect(users.stdout).toContain('users created');
    const lab = JSON.parse(readFileSync(join(labDir, 'lab.json'), 'utf8'));
    const orgs = founders.map(topologyOf);
    expect(lab.users.map((u: any) => u.address).sort()).toEqual(orgs.flatMap((o) => [`postmaster@${o}`, `user1@${o}`]).sort());
    expect(readFileSync(join(labDir, 'users.txt'), 'utf8')).toContain(`user1@${orgs[0]}`);

    // A mail client on the host: IMAP login and the SMTP greeting through the forwarded ports.
    const founder = founders[0]!;
    const node = lab.nodes.find((n: any) => n.name === founder);
    const user = lab.users.find((u: any) => u.address === `user1@${orgs[0]}`);
    expect(user.node).toBe(node.id);
    const ports = portMaps.get(founder)!;
    const client = new ImapFlow({ host: '127.0.0.1', port: Number(ports.get(String(node.imap.port))), secure: false, auth: { user: user.address, pass: user.password }, logger: false });
    await client.connect();
    const inbox = await client.status('INBOX', { messages: true });
    expect(inbox && inbox.messages).toBe(0);
    await client.logout();
    const greeting = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(ports.get(String(node.smtp.port))), '127.0.0.1');
      socket.setTimeout(10_000, () => socket.destroy(new Error('no SMTP greeting within 10 s')));
      socket.once('data', (b) => (resolve(b.toString('utf8')), socket.destroy()));
      socket.once('error', reject);
    });
    expect(greeting).toMatch(/^220 /);
  }, 900_000);
});

// ---- the compose lab, run for real ---------------------------------------------------------------------
//
// Where a Docker engine runs (or dockerd can be started: as root, with docker.io installed), the lab is
// built and started as a user would: a stand-in for the Dockerfile's base when no registry can be
// reached (infra/docker/stand-in-base.sh), `docker-compose build` and `up -d`, then mail across the two
// organisations over the published SMTP and IMAP ports, the dashboard in headless Chromium, a node
// killed and started again, and `down -v`. Anything else skips, saying why.

const PROJECT = 'post-compose-test';
const COMPOSE_ARTIFACT = join(ROOT, 'test-artifacts', 'compose-dashboard.png');
/** Building the image and starting the lab on a loaded two-core machine: minutes, bounded. */
const BUILD_TIMEOUT_MS = 15 * 60_000;
const UP_TIMEOUT_MS = 12 * 60_000;
const MAIL_TIMEOUT_MS = 90_000;
const noEngine = noDockerEngine();
if (noEngine) console.warn(`skipping the compose lab run: ${noEngine}`);

describe.skipIf(noEngine !== undefined)('the compose lab in Docker: docker-compose up, mail between organisations, a node killed', () => {
  const env = { ...process.env, COMPOSE_HTTP_TIMEOUT: '600', LAB_USERS: '1' };
  let lab: any;
  let started = false;
  let engine: DockerEngine | string = 'not started';
  /** Each test skips, saying why, when the engine could not be started after all. */
  const needEngine = (ctx: { skip: (note?: string) => void }) => typeof engine === 'string' && ctx.skip(`no Docker engine: ${engine}`);

  function compose(args: string[], timeoutMs: number): string {
    const r = spawnSync('docker-compose', ['-f', COMPOSE_FILE, '-p', PROJECT, ...args], { encoding: 'utf8', env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
    if (r.status !== 0) throw new Error(`docker-compose ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}):\n${(r.stderr ?? '').split('\n').slice(-30).join('\n')}`);
    return r.stdout;
  }
  const containerOf = (service: string) => compose(['ps', '-q', service], 30_000).trim();
  const docker = (args: string[], timeoutMs = 60_000) => {
    const r = spawnSync('docker', args, { encoding: 'utf8', timeout: timeoutMs });
    if (r.status !== 0) throw new Error(`docker ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout.trim();
  };
  const user = (address: string) => lab.users.find((u: any) => u.address === address);
  const nodeOfUser = (address: string) => lab.nodes.find((n: any) => n.id === user(address).node);
  const nodeNamed = (name: string) => lab.nodes.find((n: any) => n.name === name);
  const state = async (name: string) => (await fetch(`http://127.0.0.1:${nodeNamed(name).published.http.port}/state`)).json() as Promise<any>;

  async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await probe().catch(() => undefined);
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
      await sleep(1000);
    }
  }

  async function mail(from: string, to: string, subject: string): Promise<void> {
    const sender = user(from);
    const t = nodemailer.createTransport({ host: '127.0.0.1', port: nodeOfUser(from).published.smtp.port, auth: { user: from, pass: sender.password }, connectionTimeout: 30_000, socketTimeout: 60_000 });
    const info = await t.sendMail({ from, to, subject, text: `${subject}\n` });
    expect(info.accepted).toEqual([to]);
    const rcpt = user(to);
    const client = new ImapFlow({ host: '127.0.0.1', port: nodeOfUser(to).published.imap.port, secure: false, auth: { user: to, pass: rcpt.password }, logger: false });
    await client.connect();
    try {
      await until(`"${subject}" in ${to}'s INBOX`, MAIL_TIMEOUT_MS, async () => {
        const lock = await client.getMailboxLock('INBOX');
        try {
          const uids = await client.search({ subject }, { uid: true });
          return uids && uids.length === 1 ? true : undefined;
        } finally {
          lock.release();
        }
      });
    } finally {
      await client.logout().catch(() => {});
    }
  }

  beforeAll(async () => {
    engine = await dockerEngine(join(tmpdir(), `post-compose-dockerd-${process.pid}.log`));
    if (typeof engine === 'string') return console.warn(`skipping the compose lab run: ${engine}`);
    const t0 = Date.now();
    const base = spawnSync(join(ROOT, 'infra', 'docker', 'stand-in-base.sh'), [], { encoding: 'utf8', timeout: BUILD_TIMEOUT_MS });
    expect(base.status, `the stand-in base: ${base.stderr}`).toBe(0);
    compose(['build'], BUILD_TIMEOUT_MS);
    const t1 = Date.now();
    started = true;
    compose(['up', '-d'], UP_TIMEOUT_MS);
    // `users` runs once every node is healthy, and exits when the users exist.
    const users = containerOf('users');
    const code = docker(['wait', users], UP_TIMEOUT_MS);
    expect(code, `the users service: ${docker(['logs', '--tail', '20', users])}`).toBe('0');
    lab = JSON.parse(compose(['exec', '-T', 'dashboard', 'cat', '/lab/lab.json'], 60_000));
    console.log(`compose: base and image built in ${((t1 - t0) / 1000).toFixed(0)} s, lab up with its users in ${((Date.now() - t1) / 1000).toFixed(0)} s`);
  }, BUILD_TIMEOUT_MS + 2 * UP_TIMEOUT_MS);

  afterAll(async () => {
    try {
      if (started) compose(['down', '-v', '--remove-orphans'], 5 * 60_000);
    } finally {
      if (typeof engine !== 'string') await engine.stop();
    }
  }, 6 * 60_000);

  test('two federated organisations with gateways: mail a.example → b.example and back, read over IMAP on the host ports', async (ctx) => {
    needEngine(ctx);
    expect(lab.version).toBe(2);
    expect(lab.orgs.map((o: any) => o.domain).sort()).toEqual(['a.example', 'b.example']);
    for (const org of ['a.example', 'b.example']) expect(lab.nodes.filter((n: any) => n.org === org && n.gateway)).toHaveLength(2);
    const gateway = await state('node-a1');
    expect(gateway.global?.state).toBe('ready');
    // The whole actor tree, not just the supervisor's children.
    expect(gateway.actorTree.children.map((c: any) => c.id)).toEqual(expect.arrayContaining(Object.keys(gateway.actors)));
    expect(JSON.stringify(gateway.actorTree).match(/"id":/g)!.length).toBeGreaterThan(Object.keys(gateway.actors).length + 1);
    const t = Date.now();
    await mail('user1@a.example', 'user1@b.example', `compose a to b ${process.pid}`);
    await mail('user1@b.example', 'user1@a.example', `compose b to a ${process.pid}`);
    console.log(`compose: a → b and b → a delivered and read in ${Date.now() - t} ms`);
  }, 4 * MAIL_TIMEOUT_MS);

  test('the dashboard shows every node by service name with its host ports, at once on load', async (ctx) => {
    needEngine(ctx);
    if (!existsSync('/usr/bin/chromium')) return ctx.skip('/usr/bin/chromium is missing (apt-get install -y chromium)');
    const { chromium } = await import('playwright-core');
    const dir = mkdtempSync(join(tmpdir(), 'post-compose-chromium-'));
    const context = await chromium.launchPersistentContext(dir, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1500, height: 1100 },
      timeout: 30_000,
    });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      await page.goto('http://127.0.0.1:8080/', { timeout: 30_000 });
      // The state the server knows is in the page itself: every node is drawn before any live update.
      const first = await page.locator('article.node').count();
      expect(first).toBe(lab.nodes.length);
      await page.locator(`#summary[data-ready="${lab.nodes.length}"]`).waitFor({ timeout: 60_000 });
      const a1 = page.locator(`article.node[data-node-id="${nodeNamed('node-a1').id}"]`);
      expect(await a1.locator('[data-role=name]').textContent()).toBe('node-a1');
      expect(await a1.locator('[data-role=ports]').textContent()).toContain(`imap 127.0.0.1:${nodeNamed('node-a1').published.imap.port}`);
      mkdirSync(join(COMPOSE_ARTIFACT, '..'), { recursive: true });
      await page.screenshot({ path: COMPOSE_ARTIFACT, fullPage: true });
      console.log(`compose: dashboard screenshot at ${COMPOSE_ARTIFACT}`);
    } finally {
      await context.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  test('a killed node: mail still flows both ways, the ring heals, and it comes back', async (ctx) => {
    needEngine(ctx);
    const victim = nodeNamed('node-a3');
    const others = lab.nodes.filter((n: any) => n.org === 'a.example' && n.id !== victim.id).map((n: any) => n.name);
    for (const name of others) expect((await state(name)).leafSet).toContain(victim.id);
    compose(['kill', 'node-a3'], 60_000);
    const t = Date.now();
    for (const name of others) await until(`${name} drops node-a3 from its leaf set`, 60_000, async () => ((await state(name)).leafSet.includes(victim.id) ? undefined : true));
    console.log(`compose: node-a3 killed, dropped from the leaf sets after ${Date.now() - t} ms`);
    await mail('user1@a.example', 'user1@b.example', `compose a to b, node-a3 down ${process.pid}`);
    await mail('user1@b.example', 'user1@a.example', `compose b to a, node-a3 down ${process.pid}`);
    compose(['start', 'node-a3'], 60_000);
    for (const name of others) await until(`${name} takes node-a3 back into its leaf set`, 3 * 60_000, async () => ((await state(name)).leafSet.includes(victim.id) ? true : undefined));
    expect((await state('node-a3')).state).toBe('ready');
  }, 4 * MAIL_TIMEOUT_MS + 5 * 60_000);
});
