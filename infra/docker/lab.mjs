#!/usr/bin/env node
// Identities and users of the compose lab (docker-compose.yml), in the shared volume LAB_DIR (/lab):
//
//   node infra/docker/lab.mjs init    NATS's TLS CA, server certificate and operator key (`post nats
//                                     init`), `post ca init` per organisation, `post node init` per node
//                                     (its NATS keys and the CA; every other organisation federated), the
//                                     servers' configuration with a user per node and the gateways (the
//                                     first two nodes of each organisation) in the global ring (`post nats
//                                     config` → LAB_DIR/nats/nats.conf), and lab.json describing the lab
//                                     as seen inside the compose network, with each node's host ports
//                                     (what the dashboard and `post ... --lab` read). Done once: a volume
//                                     that already holds this image's lab.json is left as it is; one from
//                                     an older image is refused (run `docker-compose down -v`).
//   node infra/docker/lab.mjs users   once every node is ready: postmaster@DOMAIN on the organisation's
//                                     MX node and user1..userN@DOMAIN spread over its nodes (`post user
//                                     add`); passwords go to lab.json and users.txt. Done once as well.
//
// Environment: LAB_TOPOLOGY "DOMAIN=NODE,NODE,... DOMAIN=..." (the first node of each organisation is
// its MX), LAB_NATS (comma-separated tls://HOST:4222 URLs: the hosts are the cluster's members, their
// routes on 6222), LAB_USERS (users per organisation, default 2),
// LAB_HOST_PORTS ("NAME=NN ...": where docker-compose.yml publishes each node's ports on the host,
// NN143 IMAP, NN525 SMTP, NN025 HTTP, NN526 MX; lab.json and the dashboard show them),
// LAB_READY_TIMEOUT_S (default 300), LAB_DIR (default /lab).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The ports a node serves on inside the network (infra/docker/expose.mjs forwards them). */
const NODE_PORTS = { imap: 1143, smtp: 2525, http: 8025, xmpp: 5222, mx: 2526 };
/** A NATS member's ports: clients (TLS), routes (mutual TLS), monitoring (its container's loopback: the healthcheck). */
const NATS_PORTS = { client: 4222, route: 6222, http: 8222 };

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const POST = join(ROOT, 'bin', 'post');
const LAB_DIR = process.env.LAB_DIR ?? '/lab';
const LAB_FILE = join(LAB_DIR, 'lab.json');

const say = (message) => console.log(`lab: ${message}`);
function fail(message) {
  console.error(`lab: ${message}`);
  process.exit(1);
}

function post(args) {
  try {
    return execFileSync(POST, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    fail(`post ${args.join(' ')} failed: ${(e.stderr || e.message).trim()}`);
  }
}
const postJson = (args) => JSON.parse(post([...args, '--json']));

/** "a.example=node-a1,node-a2 b.example=node-b1" → [{ domain, nodes: [names] }] */
function parseTopology(spec) {
  const orgs = (spec ?? '')
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map((part) => {
      const [domain, names] = part.split('=');
      const nodes = (names ?? '').split(',').filter(Boolean);
      if (!domain || nodes.length === 0) fail(`LAB_TOPOLOGY: expected DOMAIN=NODE,NODE..., got ${part}`);
      return { domain: domain.toLowerCase(), nodes };
    });
  if (orgs.length === 0) fail('LAB_TOPOLOGY is empty: set it to "DOMAIN=NODE,NODE,... DOMAIN=..."');
  return orgs;
}

function writeLab(lab) {
  writeFileSync(`${LAB_FILE}.tmp`, JSON.stringify(lab, null, 2) + '\n');
  renameSync(`${LAB_FILE}.tmp`, LAB_FILE);
}

/**
 * What this image writes into the volume. A volume from an image without this number (or another one)
 * is refused: its identities were made otherwise (before federation and gateways, version 2).
 */
const LAB_VOLUME_VERSION = 2;

/** Where a CalDAV client finds a node's calendars, as lab/processes.ts caldavUrlOf says for the local lab. */
const caldavUrl = (http) => `http://${http.host}:${http.port}/dav/`;

/** LAB_HOST_PORTS "NAME=NN ...": the node's ports on the host are NN143 (IMAP), NN525 (SMTP), NN025 (HTTP and CalDAV), NN222 (XMPP), NN526 (MX). */
function parseHostPorts(spec) {
  const out = new Map();
  for (const part of (spec ?? '').trim().split(/\s+/).filter(Boolean)) {
    const m = /^([\w.-]+)=([1-6]\d?)$/.exec(part);
    if (!m) fail(`LAB_HOST_PORTS: expected NAME=NN (ports NN143, NN525, NN025, NN526), got ${part}`);
    const at = (suffix) => ({ host: '127.0.0.1', port: Number(`${m[2]}${suffix}`) });
    out.set(m[1], { imap: at('143'), smtp: at('525'), http: at('025'), xmpp: at('222'), mx: at('526') });
  }
  return out;
}

function checkVolume() {
  let version;
  try {
    version = JSON.parse(readFileSync(LAB_FILE, 'utf8')).version;
  } catch (e) {
    fail(`${LAB_FILE} cannot be read (${e.message}): run \`docker-compose down -v\` to start afresh`);
  }
  if (version !== LAB_VOLUME_VERSION)
    fail(
      `the lab volume was made by an older image (lab.json version ${version ?? 1}, this image writes ${LAB_VOLUME_VERSION}: ` +
        'organisations that federate, gateway nodes): its identities cannot be used. Run `docker-compose down -v` ' +
        '(this forgets the lab\'s users and mail), then `docker-compose up -d` again.',
    );
  say(`${LAB_FILE} exists: identities are already in place (\`docker-compose down -v\` starts afresh)`);
}

function init() {
  if (existsSync(LAB_FILE)) return checkVolume();
  const topology = parseTopology(process.env.LAB_TOPOLOGY);
  const nats = (process.env.LAB_NATS ?? '').split(',').filter(Boolean);
  if (nats.length === 0) fail('LAB_NATS is empty: set it to the NATS URLs, comma-separated');
  const natsHosts = nats.map((url) => {
    if (!url.startsWith('tls://')) fail(`LAB_NATS: the lab's NATS takes TLS only: give tls://HOST:${NATS_PORTS.client}, got ${url}`);
    return new URL(url).hostname;
  });
  mkdirSync(LAB_DIR, { recursive: true });
  const natsDir = join(LAB_DIR, 'nats');
  const security = postJson(['nats', 'init', '--dir', natsDir, '--hosts', [...natsHosts, 'localhost', '127.0.0.1'].join(',')]);
  say(`NATS: CA ${security.ca}, operator ${security.operatorUser.slice(0, 12)}...`);
  // Every organisation first: each node trusts the others' CAs (federation), as `post lab up` does.
  const orgs = topology.map(({ domain }) => {
    const ca = join(LAB_DIR, 'orgs', domain, 'ca');
    const org = postJson(['ca', 'init', '--org', domain, '--out', ca, '--force']);
    say(`organisation ${domain}: ring ${org.ringId.slice(0, 16)}`);
    return { domain, ringId: org.ringId, ca, operator: org.operator };
  });
  const hostPorts = parseHostPorts(process.env.LAB_HOST_PORTS);
  const nodes = [];
  for (const [o, { domain, nodes: names }] of topology.entries()) {
    const ca = orgs[o].ca;
    const federate = orgs.filter((other) => other.domain !== domain).map((other) => other.ca);
    names.forEach((name, i) => {
      const data = join(LAB_DIR, 'nodes', name);
      const node = postJson(['node', 'init', '--ca', ca, '--data', data, '--nats-ca', security.ca, ...(federate.length > 0 ? ['--federate', federate.join(',')] : []), '--force']);
      const at = (port) => ({ host: name, port });
      const published = hostPorts.get(name);
      // With several organisations, the first two nodes of each are its gateways (one may die), as in `post lab up`.
      const gateway = orgs.length > 1 && i < 2;
      nodes.push({
        id: node.id,
        org: domain,
        name,
        pid: 0, // runs in its own container, not a process of this one
        data,
        log: '',
        imap: at(NODE_PORTS.imap),
        smtp: at(NODE_PORTS.smtp),
        http: at(NODE_PORTS.http),
        xmpp: at(NODE_PORTS.xmpp),
        // CalDAV is served on the HTTP port (DESIGN 10: lab.json's caldav), so it is published with it.
        caldav: caldavUrl(at(NODE_PORTS.http)),
        ...(gateway ? { gateway: true } : {}),
        ...(i === 0 ? { mx: at(NODE_PORTS.mx), gatewayUser: `postmaster@${domain}` } : {}),
        ...(published ? { published: { imap: published.imap, smtp: published.smtp, http: published.http, xmpp: published.xmpp, caldav: caldavUrl(published.http), ...(i === 0 ? { mx: published.mx } : {}) } } : {}),
      });
      say(`node ${name} of ${domain}: ${node.id.slice(0, 16)}${i === 0 ? ' (MX)' : ''}${gateway ? ' (gateway)' : ''}`);
    });
  }
  // One configuration for every member (each gets its name with --server_name); the routes list them all.
  const routes = natsHosts.map((host) => `nats-route://${host}:${NATS_PORTS.route}`);
  const gateways = nodes.filter((n) => n.gateway).map((n) => n.data);
  post(['nats', 'config', '--dir', natsDir, '--nodes', nodes.map((n) => n.data).join(','), ...(gateways.length > 0 ? ['--gateways', gateways.join(',')] : []),
    '--listen', `0.0.0.0:${NATS_PORTS.client}`, '--http', `127.0.0.1:${NATS_PORTS.http}`, '--cluster', `0.0.0.0:${NATS_PORTS.route}`, '--routes', routes.join(','),
    '--cluster-name', 'post-lab', '--out', join(natsDir, 'nats.conf')]);
  say(`${join(natsDir, 'nats.conf')} written: TLS, a NATS user per node, the global ring for gateways`);
  writeLab({ version: LAB_VOLUME_VERSION, nats, natsCreds: security.operatorCreds, natsCa: security.ca, natsPidFile: '', orgs, nodes, users: [] });
  say(`${LAB_FILE} written: ${orgs.length} organisations, ${nodes.length} nodes`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitReady(timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let states = [];
    try {
      states = JSON.parse(execFileSync(POST, ['ring', 'status', '--lab', LAB_FILE, '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })).nodes;
    } catch {
      /* NATS not reachable yet */
    }
    const waiting = states.filter((n) => n.state !== 'ready');
    if (states.length > 0 && waiting.length === 0) return;
    if (Date.now() > deadline) fail(`nodes not ready after ${timeoutMs / 1000} s: ${waiting.map((n) => `${n.id.slice(0, 12)} ${n.state}`).join(', ') || 'no answer'}`);
    await sleep(2000);
  }
}

async function users() {
  if (!existsSync(LAB_FILE)) fail(`no ${LAB_FILE}: the init service has not run`);
  let lab = JSON.parse(readFileSync(LAB_FILE, 'utf8'));
  if (lab.users.length > 0) return report(lab, 'users already exist');
  const perOrg = Number(process.env.LAB_USERS ?? 2);
  if (!Number.isInteger(perOrg) || perOrg < 0 || perOrg > 1000) fail(`LAB_USERS must be a whole number from 0 to 1000, got ${process.env.LAB_USERS}`);
  await waitReady(Number(process.env.LAB_READY_TIMEOUT_S ?? 300) * 1000);
  const secrets = mkdtempSync(join(tmpdir(), 'lab-passwords-'));
  try {
    for (const org of lab.orgs) {
      const orgNodes = lab.nodes.filter((n) => n.org === org.domain);
      const mx = orgNodes.find((n) => n.gatewayUser) ?? orgNodes[0];
      const wanted = [
        ...(mx.gatewayUser ? [{ address: mx.gatewayUser, node: mx }] : []),
        ...Array.from({ length: perOrg }, (_, i) => ({ address: `user${i + 1}@${org.domain}`, node: orgNodes[i % orgNodes.length] })),
      ];
      for (const { address, node } of wanted) {
        const passwordFile = join(secrets, address);
        writeFileSync(passwordFile, randomBytes(12).toString('base64url') + '\n', { mode: 0o600 });
        post(['user', 'add', address, '--ca', org.ca, '--password-file', passwordFile, '--lab', LAB_FILE, '--node', node.id]);
        say(`user ${address} on ${node.name ?? node.id.slice(0, 12)}`);
      }
    }
  } finally {
    rmSync(secrets, { recursive: true, force: true });
  }
  lab = JSON.parse(readFileSync(LAB_FILE, 'utf8'));
  report(lab, 'users created');
}

/** Who can log in where: printed and kept in LAB_DIR/users.txt. */
function report(lab, what) {
  const byId = new Map(lab.nodes.map((n) => [n.id, n]));
  const lines = lab.users.map((u) => {
    const node = byId.get(u.node);
    const at = node?.published ?? node;
    return `${u.address.padEnd(28)} ${u.password}  ${node?.name ?? u.node.slice(0, 12)}: IMAP ${at?.imap.host}:${at?.imap.port}, SMTP ${at?.smtp.host}:${at?.smtp.port}`;
  });
  writeFileSync(join(LAB_DIR, 'users.txt'), lines.join('\n') + '\n', { mode: 0o600 });
  say(`${what}:\n${lines.join('\n')}`);
}

const [step] = process.argv.slice(2);
if (step === 'init') init();
else if (step === 'users') await users();
else fail('usage: node infra/docker/lab.mjs init|users');
