// Node processes of the local lab: started detached (they outlive `post lab up`), logging to a file
// in their data folder, stopped with SIGTERM and then SIGKILL.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive } from '../infra/nats/process';
import { freePorts, saysPortTaken } from '../infra/nats/free-ports';
import { stopByPidFile } from '../infra/nats/server';
import { DASHBOARD_START_TIMEOUT_MS, PORT_START_ATTEMPTS, LAB_READY_TIMEOUT_MS, NODE_STOP_GRACE_MS } from '../protocol/limits';
import { OperatorError } from './errors';
import { postCommand } from './paths';
import type { LabClient } from './client';
import type { LabDashboard, LabFile, LabNode } from './labFile';

export function startNodeProcess(node: Omit<LabNode, 'pid'>, nats: readonly string[]): number {
  const args = [
    'node',
    'start',
    '--data',
    node.data,
    '--nats',
    nats.join(','),
    '--http',
    String(node.http.port),
    '--imap',
    String(node.imap.port),
    '--smtp',
    String(node.smtp.port),
    ...(node.xmpp ? ['--xmpp', String(node.xmpp.port)] : []),
    ...(node.gateway ? ['--gateway'] : []),
    ...(node.mx ? ['--mx', String(node.mx.port)] : []),
    ...(node.gatewayUser ? ['--gateway-user', node.gatewayUser] : []),
    ...(node.submissionRate ? ['--submission-rate', node.submissionRate] : []),
    ...(node.gc ? ['--gc-lease', String(node.gc.leaseS), '--gc-interval', String(node.gc.intervalS)] : []),
    ...(node.tls ? ['--tls-cert', node.tls.certFile, '--tls-key', node.tls.keyFile] : []),
  ];
  const [exe, argv] = postCommand(args);
  const out = openSync(node.log, 'a');
  try {
    const child = spawn(exe, argv, { detached: true, stdio: ['ignore', out, out], env: process.env });
    child.unref();
    if (child.pid === undefined) throw new OperatorError(`could not start node ${node.id.slice(0, 12)}; see ${node.log}`);
    return child.pid;
  } finally {
    closeSync(out);
  }
}

export async function stopProcess(pid: number, graceMs = NODE_STOP_GRACE_MS): Promise<void> {
  if (!isAlive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return;
    await sleep(50);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

/** Stop every process of a lab: its nodes, its dashboard, its NATS servers. */
export async function stopLab(lab: LabFile): Promise<void> {
  await Promise.all([...lab.nodes.map((n) => (n.pid > 0 ? stopProcess(n.pid) : undefined)), lab.dashboard ? stopProcess(lab.dashboard.pid) : undefined]);
  for (const org of lab.orgs) if (org.natsPidFile) await stopByPidFile(org.natsPidFile).catch(() => {});
  // Its pid file goes with the servers: a lab stopped before (a failed `lab up`) has none left.
  if (existsSync(lab.natsPidFile)) await stopByPidFile(lab.natsPidFile);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function logTail(path: string, lines = 15): string {
  if (!existsSync(path)) return '(no log)';
  return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

/** Where a CalDAV client finds the node's calendars (DESIGN 10: lab.json's `caldav`). */
export const caldavUrlOf = (http: { host: string; port: number }, tls = false): string => `${tls ? 'https' : 'http'}://${http.host}:${http.port}/dav/`;

/** Fresh free ports on the node's host for its IMAP, SMTP, HTTP, XMPP (and MX) listeners, found just before it starts. */
export async function assignFreePorts(node: LabNode): Promise<void> {
  const [imap, smtp, http, xmpp, mx] = await freePorts(node.mx ? 5 : 4, node.imap.host);
  node.imap = { ...node.imap, port: imap! };
  node.smtp = { ...node.smtp, port: smtp! };
  node.http = { ...node.http, port: http! };
  node.caldav = caldavUrlOf(node.http, node.tls !== undefined);
  if (node.xmpp) node.xmpp = { ...node.xmpp, port: xmpp! };
  if (node.mx) node.mx = { ...node.mx, port: mx! };
}

/** A node that exited because a port it was given was taken meanwhile (its log's last lines say EADDRINUSE). */
const lostItsPort = (node: LabNode): boolean => saysPortTaken(logTail(node.log, 40));

/**
 * Wait until every given node answers `ready`; a node whose process died fails with its log's tail.
 * With `startOnFreshPorts`, a node that died because one of its ports was taken is started again
 * through it (fresh ports, a new pid), up to PORT_START_ATTEMPTS starts in all.
 */
export async function waitReady(
  client: LabClient,
  nodes: readonly LabNode[],
  opts: { timeoutMs?: number; startOnFreshPorts?: (node: LabNode) => Promise<void> } = {},
): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? LAB_READY_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(nodes);
  const starts = new Map<LabNode, number>(nodes.map((n) => [n, 1]));
  while (pending.size > 0) {
    for (const node of [...pending]) {
      if (!isAlive(node.pid)) {
        const started = starts.get(node)!;
        if (opts.startOnFreshPorts && started < PORT_START_ATTEMPTS && lostItsPort(node)) {
          starts.set(node, started + 1);
          await opts.startOnFreshPorts(node);
          continue;
        }
        throw new OperatorError(`node ${node.id.slice(0, 12)} exited while starting; its log (${node.log}) ends:\n${logTail(node.log)}`);
      }
      const s = await client.status(node, 1000).catch(() => undefined);
      if (s?.state === 'ready') pending.delete(node);
      else if (s?.state === 'failed') throw new OperatorError(`node ${node.id.slice(0, 12)} failed to join: ${s.failure?.reason ?? 'see its log'} (${node.log})`);
    }
    if (pending.size === 0) return;
    if (Date.now() > deadline)
      throw new OperatorError(`nodes not ready after ${timeoutMs} ms: ${[...pending].map((n) => `${n.id.slice(0, 12)} (${n.log})`).join(', ')}`);
    await sleep(200);
  }
}

export function labPath(dir: string): string {
  return join(dir, 'lab.json');
}

export function runningPids(lab: LabFile): number[] {
  return lab.nodes.map((n) => n.pid).filter((pid) => pid > 0 && isAlive(pid));
}

/** Start `post lab dashboard` for the lab at `labFile`, detached, logging to `log`; returns its entry for lab.json. */
export function startDashboardProcess(labFile: string, endpoint: { host: string; port: number }, log: string): LabDashboard {
  const [exe, argv] = postCommand(['lab', 'dashboard', '--lab', labFile, '--host', endpoint.host, '--port', String(endpoint.port)]);
  const out = openSync(log, 'a');
  try {
    const child = spawn(exe, argv, { detached: true, stdio: ['ignore', out, out], env: process.env });
    child.unref();
    if (child.pid === undefined) throw new OperatorError(`could not start the lab's dashboard; see ${log}`);
    return { host: endpoint.host, port: endpoint.port, pid: child.pid };
  } finally {
    closeSync(out);
  }
}

/** Wait until the dashboard answers /api/state; a dashboard that exited or stays silent fails with its log's tail. */
export async function waitDashboard(dashboard: LabDashboard, log: string, timeoutMs = DASHBOARD_START_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isAlive(dashboard.pid)) throw new OperatorError(`the lab's dashboard exited while starting; its log (${log}) ends:\n${logTail(log)}`);
    const ok = await fetch(`http://${dashboard.host}:${dashboard.port}/api/state`, { signal: AbortSignal.timeout(1000) })
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) return;
    if (Date.now() > deadline) throw new OperatorError(`the lab's dashboard did not answer on ${dashboard.host}:${dashboard.port} within ${timeoutMs} ms; see ${log}`);
    await sleep(200);
  }
}
