// `post lab up | down | restart`: the local lab as processes on this machine: a three-server NATS
// cluster on loopback (TLS, a key per node, an account per organisation: lab/nats.ts) and N node
// processes in one or more organisations, described by lab.json.
import { osRandom } from '../../infra/random';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePorts } from '../../infra/nats/free-ports';
import { startDetached, stopByPidFile } from '../../infra/nats/server';
import { defineCommand, CommandError, helpText, intOption, parse, printJson, subcommandHelp } from '../args';
import { LabClient } from '../../lab/client';
import { findNode, type LabFile, type LabNode, type LabOrg, readLab, writeLab } from '../../lab/labFile';
import { assignFreePorts, labPath, runningPids, startDashboardProcess, startNodeProcess, stopLab, stopProcess, waitDashboard, waitReady } from '../../lab/processes';
import { dashboardCommand, dashboardSpec } from './dashboard';
import { DEFAULT_REPLICATION_FACTOR, OPERATOR_FILE } from '../../infra/files/identity';
import { initOrganisation } from './ca';
import { gcOptions, initNode, parseSubmissionRate } from './node';
import { addUser, newPassword } from '../../lab/users';
import { natsOf } from '../../lab/labFile';
import { GLOBAL_ACCOUNT } from '../../infra/nats/accounts';
import { clusterAccounts, initNatsSecurity, LOOPBACK_NAMES, natsUserOfNode } from '../../lab/nats';
import { createNatsTls } from '../../infra/nats/tls';

const DEFAULT_DIR = '.lab';
const DEFAULT_NODES = 5;
const DEFAULT_ORG = 'lab.example';

const upSpec = defineCommand({
  usage: 'post lab up [--nodes N] [--orgs DOMAIN,...] [--users N] [--dir DIR] [--submission-rate PER_MINUTE[/BURST]] [--gc-lease SECONDS --gc-interval SECONDS] [--tls] [--json]',
  summary:
    'Start a local lab: a three-server NATS cluster on loopback (TLS under a CA of its own, a key per node; natsCa and natsCreds in lab.json) and N nodes; prints the path of lab.json.',
  options: {
    nodes: { type: 'string', description: `node processes (default ${DEFAULT_NODES}), spread over the organisations` },
    orgs: { type: 'string', description: `organisations, comma-separated (default ${DEFAULT_ORG})` },
    users: { type: 'string', description: 'users per organisation (user1@DOMAIN ...)' },
    dir: { type: 'string', description: `lab folder (default ./${DEFAULT_DIR})` },
    'nats-topology': { type: 'string', description: 'shared (one NATS cluster, default) or per-org (a cluster per organisation, linked by leaf nodes)' },
    replication: { type: 'string', description: `replicas per object in each organisation (default ${DEFAULT_REPLICATION_FACTOR})` },
    'submission-rate': { type: 'string', description: 'every node\'s per-user submission rate (post node start --submission-rate); benchmarks raise it' },
    'gc-lease': { type: 'string', description: 'lease of stored data in seconds on every node (post node start --gc-lease): watch GC, e.g. 60' },
    'gc-interval': { type: 'string', description: 'seconds between GC passes on every node (post node start --gc-interval), e.g. 5' },
    tls: { type: 'boolean', description: 'the nodes\' client-facing listeners take a certificate under a CA of the lab (clientCa in lab.json): HTTPS for CalDAV, STARTTLS for IMAP, SMTP, XMPP' },
    json: { type: 'boolean', description: 'print {"lab": PATH} as JSON' },
    'no-dashboard': { type: 'boolean', description: 'do not start the live dashboard (otherwise on a free port, recorded in lab.json)' },
  },
});

const downSpec = defineCommand({
  usage: 'post lab down [--dir DIR] [--keep]',
  summary: 'Stop every node and NATS server of the lab and remove its folder (--keep leaves the folder).',
  options: {
    dir: { type: 'string', description: `lab folder (default ./${DEFAULT_DIR})` },
    keep: { type: 'boolean', description: 'keep data and logs' },
  },
});

const restartSpec = defineCommand({
  usage: 'post lab restart --node NODEID [--dir DIR]',
  summary: 'Restart one node from its data folder (same ports); lab.json is updated with its new pid.',
  options: {
    node: { type: 'string', description: 'node id (or a unique prefix)' },
    dir: { type: 'string', description: `lab folder (default ./${DEFAULT_DIR})` },
  },
});

export async function labCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === 'up') return labUp(rest);
  if (sub === 'down') return labDown(rest);
  if (sub === 'restart') return labRestart(rest);
  if (sub === 'dashboard') return dashboardCommand(rest);
  return subcommandHelp('lab', sub, [upSpec, downSpec, restartSpec, dashboardSpec]);
}

async function labUp(argv: string[]): Promise<void> {
  const { values, help } = parse(upSpec, argv);
  if (help) return void console.log(helpText(upSpec));
  const dir = resolve(values.dir ?? DEFAULT_DIR);
  const count = intOption(values.nodes, 'nodes', DEFAULT_NODES, { min: 1, max: 200 });
  const replication = intOption(values.replication, 'replication', DEFAULT_REPLICATION_FACTOR, { min: 1, max: 16 });
  const domains = (values.orgs ?? DEFAULT_ORG).split(',').map((d) => d.trim().toLowerCase()).filter(Boolean);
  if (domains.length === 0) throw new CommandError('--orgs needs at least one domain');
  const userCount = intOption(values.users, 'users', 0, { min: 0, max: 1000 });
  const submissionRate = values['submission-rate'];
  if (submissionRate !== undefined) parseSubmissionRate(submissionRate);
  const gcTimings = gcOptions(values['gc-lease'], values['gc-interval']).storageTimings;
  const gc = gcTimings ? { leaseS: gcTimings.leaseMs / 1000, intervalS: gcTimings.gcIntervalMs / 1000 } : undefined;
  const path = labPath(dir);
  if (existsSync(path)) {
    const old = readLab(path);
    if (runningPids(old).length > 0) throw new CommandError(`a lab is already running in ${dir}; stop it with \`post lab down --dir ${dir}\``);
    if (old.dashboard) await stopProcess(old.dashboard.pid);
    for (const org of old.orgs) if (org.natsPidFile) await stopByPidFile(org.natsPidFile).catch(() => {});
    await stopByPidFile(old.natsPidFile).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
  mkdirSync(dir, { recursive: true });

  const topology = values['nats-topology'] ?? 'shared';
  if (topology !== 'shared' && topology !== 'per-org') throw new CommandError(`--nats-topology must be shared or per-org, got ${topology}`);
  const trusts: { domain: string; ca: string; ringId: string }[] = [];
  for (const domain of domains) {
    const ca = join(dir, 'orgs', domain, 'ca');
    trusts.push({ domain, ca, ringId: (await initOrganisation(domain, ca, replication)).ringId });
  }
  // NATS takes TLS and per-node credentials: a CA and server certificate for loopback, the operator's key.
  const security = initNatsSecurity(join(dir, 'nats'), LOOPBACK_NAMES);
  // Clients (CalDAV, IMAP, XMPP) get a CA of their own: trusting it says nothing about the NATS servers.
  // The certificate names the organisations' domains too: XMPP clients check it against the JID's domain (RFC 6120 13.7.2.1).
  const clientTls = values.tls ? createNatsTls(join(dir, 'clients'), [...LOOPBACK_NAMES, ...domains]) : undefined;
  // Ports are found free just before each node starts (assignFreePorts), and found again if taken meanwhile.
  const unassigned = 0;
  const nodes: LabNode[] = [];
  for (let i = 0; i < count; i++) {
    const org = trusts[i % trusts.length]!;
    const data = join(dir, 'nodes', `node-${i + 1}`);
    const cert = await initNode(org.ca, data, false, trusts.map((o) => o.ca), security.tls.caFile);
    const host = '127.0.0.1';
    // Each organisation's first node is its MX: inbound Internet mail, stored under postmaster@DOMAIN.
    const first = i < trusts.length;
    // With several organisations, the first two nodes of each are its gateways (one may die).
    const gateway = trusts.length > 1 && i < 2 * trusts.length;
    nodes.push({
      id: cert.nodeId,
      org: org.domain,
      name: `node-${i + 1}`,
      pid: 0,
      data,
      log: join(data, 'node.log'),
      imap: { host, port: unassigned },
      smtp: { host, port: unassigned },
      http: { host, port: unassigned },
      xmpp: { host, port: unassigned },
      ...(first ? { mx: { host, port: unassigned }, gatewayUser: `postmaster@${org.domain}` } : {}),
      ...(gateway ? { gateway: true } : {}),
      ...(submissionRate !== undefined ? { submissionRate } : {}),
      ...(gc ? { gc } : {}),
      ...(clientTls ? { tls: { certFile: clientTls.certFile, keyFile: clientTls.keyFile } } : {}),
    });
  }
  const natsUsers = nodes.map((n) => natsUserOfNode(n.data, n.gateway === true));
  const tlsCluster = { tls: security.tls, size: 3 };
  // shared: one cluster, an account per organisation. per-org: the first organisation's cluster is the
  // hub; every other one has its own cluster, whose global-ring account is linked to the hub's by
  // leaf-node connections (TLS, a password per link) that carry only the global ring's subjects.
  const perOrg = topology === 'per-org' && trusts.length > 1;
  const leafUsers = perOrg ? trusts.slice(1).map((t) => ({ user: `leaf-${t.domain}`, password: Buffer.from(osRandom.bytes(18)).toString('base64url') })) : [];
  const hubRings = perOrg ? [trusts[0]!.ringId] : trusts.map((t) => t.ringId);
  const nats = await startDetached({
    dir: join(dir, 'nats'),
    ...tlsCluster,
    accounts: clusterAccounts({ rings: hubRings, nodes: natsUsers.filter((u) => hubRings.includes(u.ringId)), operatorCreds: security.operatorCreds, leafUsers }),
    ...(perOrg ? { acceptLeafs: true } : {}),
  });
  const orgs: LabOrg[] = [];
  for (const [i, t] of trusts.entries()) {
    const leaf = perOrg && i > 0 ? leafUsers[i - 1]! : undefined;
    const own = leaf
      ? await startDetached({
          dir: join(dir, 'orgs', t.domain, 'nats'),
          ...tlsCluster,
          clusterName: `post-${i}`,
          accounts: clusterAccounts({ rings: [t.ringId], nodes: natsUsers.filter((u) => u.ringId === t.ringId), operatorCreds: security.operatorCreds }),
          leafRemotes: [{ urls: nats.leafUrls, user: leaf.user, password: leaf.password, account: GLOBAL_ACCOUNT, caFile: security.tls.caFile }],
        })
      : undefined;
    orgs.push({ domain: t.domain, ringId: t.ringId, ca: t.ca, operator: join(t.ca, OPERATOR_FILE), ...(own ? { nats: own.urls, natsPidFile: own.pidFile } : {}) });
  }
  const lab: LabFile = { nats: nats.urls, natsCreds: security.operatorCreds, natsCa: security.tls.caFile, ...(clientTls ? { clientCa: clientTls.caFile } : {}), natsPidFile: nats.pidFile, orgs, nodes, users: [] };
  writeLab(path, lab);
  try {
    await startLab(lab, path, dir, userCount, values['no-dashboard'] === true);
  } catch (e) {
    // Nothing of a lab that did not come up keeps running; its folder stays, for the logs.
    await stopLab(lab).catch(() => {});
    if (e instanceof Error) e.message += `\n(the lab's processes were stopped; its folder ${dir} is kept for the logs)`;
    throw e;
  }
  if (values.json) printJson({ lab: path });
  else console.log(path);
}

/** Start the dashboard and the nodes of a lab whose NATS servers run, and create its users. */
async function startLab(lab: LabFile, path: string, dir: string, userCount: number, noDashboard: boolean): Promise<void> {
  const { orgs, nodes } = lab;
  // The live dashboard (`post lab dashboard`) follows the lab from its first node on.
  const dashboardLog = join(dir, 'dashboard.log');
  if (!noDashboard) {
    const [port] = await freePorts(1);
    lab.dashboard = startDashboardProcess(path, { host: '127.0.0.1', port: port! }, dashboardLog);
    writeLab(path, lab);
  }

  const client = await LabClient.connect(lab);
  try {
    // The first node of each organisation founds its ring; the others join once it is ready.
    const founders = orgs.map((o) => nodes.find((n) => n.org === o.domain)).filter((n): n is LabNode => n !== undefined);
    const startOnFreshPorts = async (n: LabNode): Promise<void> => {
      await assignFreePorts(n);
      n.pid = startNodeProcess(n, natsOf(lab, n));
      writeLab(path, lab);
    };
    for (const n of founders) await startOnFreshPorts(n);
    await waitReady(client, founders, { startOnFreshPorts });
    const rest = nodes.filter((n) => !founders.includes(n));
    for (const n of rest) await startOnFreshPorts(n);
    await waitReady(client, rest, { startOnFreshPorts });
    // Users user1..userN in every organisation, spread over that organisation's nodes, and each
    // organisation's postmaster on its MX node.
    for (const org of orgs) {
      const mxNode = nodes.find((n) => n.org === org.domain && n.gatewayUser)!;
      const postmasterPassword = newPassword();
      const postmaster = await addUser(client, mxNode, org.ca, mxNode.gatewayUser!, postmasterPassword);
      lab.users.push({ address: mxNode.gatewayUser!, password: postmasterPassword, node: mxNode.id, standbys: postmaster.standbys });
      const orgNodes = nodes.filter((n) => n.org === org.domain);
      for (let i = 1; i <= userCount; i++) {
        const password = newPassword();
        const r = await addUser(client, orgNodes[(i - 1) % orgNodes.length]!, org.ca, `user${i}@${org.domain}`, password);
        lab.users.push({ address: r.address, password, node: r.node, standbys: r.standbys });
        writeLab(path, lab);
      }
    }
  } finally {
    await client.close();
  }
  // The lab is usable without its dashboard: say so, but do not fail.
  if (lab.dashboard) await waitDashboard(lab.dashboard, dashboardLog).catch((e: Error) => console.error(`post lab: the lab is up, but its dashboard is not: ${e.message}`));
}

async function labDown(argv: string[]): Promise<void> {
  const { values, help } = parse(downSpec, argv);
  if (help) return void console.log(helpText(downSpec));
  const dir = resolve(values.dir ?? DEFAULT_DIR);
  const path = labPath(dir);
  if (!existsSync(path)) {
    if (existsSync(join(dir, 'nats'))) await stopByPidFile(join(dir, 'nats', 'nats.pid.json')).catch(() => {});
    console.log(`no lab running in ${dir}`);
    return;
  }
  await stopLab(readLab(path));
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
  console.log(`lab in ${dir} stopped`);
}

async function labRestart(argv: string[]): Promise<void> {
  const { values, help } = parse(restartSpec, argv);
  if (help) return void console.log(helpText(restartSpec));
  if (!values.node) throw new CommandError(`--node is required\nusage: ${restartSpec.usage}`);
  const dir = resolve(values.dir ?? DEFAULT_DIR);
  const path = labPath(dir);
  const lab = readLab(path);
  const node = findNode(lab, values.node);
  await stopProcess(node.pid);
  node.pid = startNodeProcess(node, natsOf(lab, node));
  writeLab(path, lab);
  const client = await LabClient.connect(lab);
  try {
    await waitReady(client, [node]);
  } finally {
    await client.close();
  }
  console.log(`node ${node.id} restarted (pid ${node.pid})`);
}
