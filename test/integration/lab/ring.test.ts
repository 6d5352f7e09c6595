// Issue 2, integration: 8 node processes over a real three-server NATS cluster join and route
// correctly; after one NATS server and one node are killed with SIGKILL, routing is correct again.
// Driven through the `post` command exactly as an operator would.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { closest } from '../../../overlay/id';
import { isAlive } from '../../../infra/nats/process';
import { natsAccountsConfig } from '../../../infra/nats/config';
import { clusterAccounts, natsUserOfNode } from '../../../lab/nats';
import { post, postJson, labDown } from './cli';

const NODES = 8;
const dir = mkdtempSync(join(tmpdir(), 'post-lab-'));
let labFile = '';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const lab = () => JSON.parse(readFileSync(labFile, 'utf8'));

async function statusUntil(pred: (nodes: any[]) => boolean, timeoutMs: number): Promise<any[]> {
  const deadline = Date.now() + timeoutMs;
  let nodes: any[] = [];
  while (Date.now() < deadline) {
    nodes = (await postJson(['ring', 'status', '--lab', labFile])).nodes;
    if (pred(nodes)) return nodes;
    await sleep(500);
  }
  return nodes;
}

async function checkRoutes(liveIds: string[], count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const key = randomBytes(32).toString('hex');
    const from = liveIds[i % liveIds.length]!;
    const r = await postJson(['route', key, '--lab', labFile, '--from', from]);
    expect(r.root, `key ${key} from ${from}`).toBe(closest(liveIds, key));
    expect(r.path[0]).toBe(from);
    expect(r.path[r.path.length - 1]).toBe(r.root);
    expect(r.hops).toBe(r.path.length - 1);
  }
}

describe('lab: 8 nodes over a three-server NATS cluster', () => {
  beforeAll(async () => {
    const r = await post(['lab', 'up', '--nodes', String(NODES), '--dir', dir], { timeoutMs: 120_000 });
    expect(r.stderr).toBe('');
    expect(r.code, r.stderr).toBe(0);
    labFile = r.stdout.trim();
  }, 150_000);

  afterAll(async () => {
    await labDown(dir);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  test('every node is ready and knows every other node', async () => {
    const nodes = await statusUntil((ns) => ns.every((n) => n.state === 'ready' && n.leafSet.length === NODES - 1), 20_000);
    expect(nodes.map((n) => n.state)).toEqual(Array(NODES).fill('ready'));
    for (const n of nodes) expect(new Set(n.leafSet)).toEqual(new Set(nodes.map((m) => m.id).filter((id) => id !== n.id)));
    expect(lab().nats).toHaveLength(3);
  });

  test('keys route to their numerically closest node', async () => {
    await checkRoutes(lab().nodes.map((n: any) => n.id), 12);
  }, 120_000);

  test('after SIGKILL of one NATS server and one node, routing is correct again', async () => {
    const l = lab();
    const victim = l.nodes[3];
    process.kill(victim.pid, 'SIGKILL');
    const natsPids = JSON.parse(readFileSync(l.natsPidFile, 'utf8')).members;
    process.kill(natsPids[0].pid, 'SIGKILL');
    for (let i = 0; i < 100 && isAlive(victim.pid); i++) await sleep(50);
    expect(isAlive(victim.pid)).toBe(false);
    const live = l.nodes.filter((n: any) => n.id !== victim.id).map((n: any) => n.id);
    const nodes = await statusUntil(
      (ns) => ns.filter((n) => n.id !== victim.id).every((n) => n.state === 'ready' && n.leafSet.length === NODES - 2 && !n.leafSet.includes(victim.id)),
      30_000,
    );
    const survivors = nodes.filter((n) => n.id !== victim.id);
    for (const n of survivors) expect(n.leafSet).not.toContain(victim.id);
    expect(nodes.find((n) => n.id === victim.id)?.state).toBe('down');
    await checkRoutes(live, 12);
  }, 120_000);

  test('the killed node restarts from its data folder and rejoins', async () => {
    const victim = lab().nodes[3];
    const r = await post(['lab', 'restart', '--node', victim.id, '--dir', dir]);
    expect(r.code, r.stderr).toBe(0);
    const nodes = await statusUntil((ns) => ns.every((n) => n.state === 'ready' && n.leafSet.length === NODES - 1), 30_000);
    expect(nodes.every((n) => n.leafSet.length === NODES - 1)).toBe(true);
    await checkRoutes(lab().nodes.map((n: any) => n.id), 8);
  }, 120_000);

  test('a node certified by another CA: refused by NATS without the lab\'s keys, and at join with them, with clear log lines', async () => {
    const rogueCa = join(dir, 'rogue-ca');
    const rogueData = join(dir, 'rogue-node');
    const l = lab();
    expect((await post(['ca', 'init', '--org', 'lab.example', '--out', rogueCa])).code).toBe(0);
    expect((await post(['node', 'init', '--ca', rogueCa, '--data', rogueData, '--nats-ca', l.natsCa])).code).toBe(0);
    const start = () => post(['node', 'start', '--data', rogueData, '--nats', l.nats.join(','), '--http', '0'], { timeoutMs: 60_000 });
    const unknown = await start();
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/Authorization Violation/);

    // An operator who wrongly gives it a NATS user in the organisation's account (same domain, same ring id):
    // the ring still refuses it at join, because its certificate is not from lab.example's CA.
    const ringId = l.orgs[0].ringId;
    const users = [...l.nodes.map((n: any) => natsUserOfNode(n.data, false)), natsUserOfNode(rogueData, false)];
    const accounts = natsAccountsConfig(clusterAccounts({ rings: [ringId], nodes: users, operatorCreds: l.natsCreds }));
    // (The NATS server killed above stays down.)
    for (const member of JSON.parse(readFileSync(l.natsPidFile, 'utf8')).members.filter((m: any) => isAlive(m.pid))) {
      const conf = readFileSync(member.configPath, 'utf8');
      writeFileSync(member.configPath, conf.slice(0, conf.indexOf('accounts {')) + accounts);
      process.kill(member.pid, 'SIGHUP');
    }
    await sleep(500);
    const r = await start();
    expect(r.code).not.toBe(0);
    expect(r.stdout).toMatch(/overlay\.join\.refused.*does not verify against the CA of lab\.example/);
    const members = (await postJson(['ring', 'status', '--lab', labFile])).nodes;
    const rogueId = JSON.parse(readFileSync(join(rogueData, 'node.json'), 'utf8')).nodeId;
    for (const n of members) expect(n.leafSet).not.toContain(rogueId);
    // The member that refused says why, too.
    const logs = lab().nodes.map((n: any) => readFileSync(n.log, 'utf8')).join('\n');
    expect(logs).toMatch(/overlay\.peer\.refused.*does not verify against the CA of lab\.example/);
  }, 90_000);
});

describe('lab up that fails', () => {
  test('a node that cannot start: lab up fails naming it, stops every process it started, keeps the folder for the logs', async () => {
    const failing = mkdtempSync(join(tmpdir(), 'post-lab-failing-'));
    try {
      // Preloaded into every process `post` starts: the second node exits at once, as a broken build would.
      const preload = join(failing, 'fail-node-2.cjs');
      writeFileSync(preload, "if (process.argv.includes('start') && process.argv.some((a) => a.endsWith('node-2'))) process.exit(3);\n");
      const labDir = join(failing, 'lab');
      const r = await post(['lab', 'up', '--nodes', '2', '--dir', labDir, '--no-dashboard'], { timeoutMs: 120_000, env: { POST_NODE_FLAGS: `--require ${preload}` } });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/node [0-9a-f]{12} exited while starting; its log \(.*node-2\/node\.log\)/);
      expect(r.stderr).toMatch(/the lab's processes were stopped; its folder .* is kept for the logs/);
      expect(existsSync(join(labDir, 'nodes', 'node-2', 'node.log'))).toBe(true);
      // No process of that lab (a node's --data, a NATS server's -c) runs on.
      const running = spawnSync('pgrep', ['-af', labDir], { encoding: 'utf8' });
      expect(running.stdout.trim()).toBe('');
    } finally {
      await labDown(join(failing, 'lab'));
      rmSync(failing, { recursive: true, force: true });
    }
  }, 150_000);
});
