// Issue 7: fault-injection scenarios through the `post scenario` command. On the real local lab (six
// node processes, three NATS servers, mail over SMTP and IMAP): two nodes die for good, a NATS
// server is SIGKILLed, and actors crash inside their nodes, while mail flows; the checkers pass and the progress reaches the lab's NATS
// (where the dashboard shows it). On the simulator: a verdict as JSON, and a broken build that the
// checkers catch with a non-zero exit.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { isAlive } from '../../../infra/nats/process';
import { NatsTransport } from '../../../infra/nats/transport';
import { operatorNatsOptions } from '../../../cli/lab/nats';
import { subjects } from '../../../protocol/subjects';
import { post } from './cli';

const verdictOf = (stdout: string) => JSON.parse(stdout) as { ok: boolean; scenario: string; checks: { name: string; ok: boolean; detail: string }[]; stats: { mails: number; ok: number; faults: number } };
const failing = (v: ReturnType<typeof verdictOf>) => v.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);

describe('scenarios on the real lab', () => {
  const dir = mkdtempSync(join(tmpdir(), 'post-lab-scenarios-'));
  let labFile = '';
  const lab = () => JSON.parse(readFileSync(labFile, 'utf8'));
  let nats: NatsTransport;
  const events: any[] = [];

  beforeAll(async () => {
    const r = await post(['lab', 'up', '--nodes', '6', '--users', '3', '--dir', dir, '--no-dashboard'], { timeoutMs: 180_000 });
    expect(r.code, r.stderr).toBe(0);
    labFile = r.stdout.trim();
    nats = await NatsTransport.connect({ ...operatorNatsOptions(lab()), name: 'scenario-test' });
    nats.subscribe(subjects.scenario(), (m) => events.push(JSON.parse(Buffer.from(m.data).toString('utf8'))));
  }, 200_000);

  afterAll(async () => {
    await nats?.close();
    await post(['lab', 'down', '--dir', dir]);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  test('replicas-killed: two nodes die for good while mail flows; nothing acknowledged is lost, k replicas again', async () => {
    const r = await post(['scenario', 'run', 'replicas-killed', '--lab', labFile, '--json'], { timeoutMs: 420_000 });
    const v = verdictOf(r.stdout);
    expect(failing(v), r.stderr.slice(-3000)).toEqual([]);
    expect(r.code).toBe(0);
    expect(v.stats.mails).toBe(40);
    expect(v.stats.faults).toBe(2);
    // Progress went to stderr and onto the lab's NATS, phase by phase.
    expect(r.stderr).toMatch(/"phase":"faults"/);
    expect(events.filter((e) => e.scenario === 'replicas-killed').map((e) => e.phase)).toEqual(expect.arrayContaining(['workload', 'faults', 'heal', 'final reads', 'verdict']));
    // The scenario leaves the lab as it found it: the killed nodes are back.
    for (const n of lab().nodes) expect(isAlive(n.pid)).toBe(true);
  }, 450_000);

  test('nats-crash: a NATS server is SIGKILLed with mail in flight and restarted; nothing lost, nothing doubled', async () => {
    const r = await post(['scenario', 'run', 'nats-crash', '--lab', labFile, '--json'], { timeoutMs: 420_000 });
    const v = verdictOf(r.stdout);
    expect(failing(v), r.stderr.slice(-3000)).toEqual([]);
    expect(r.code).toBe(0);
  }, 450_000);

  test('actor-crash: the notifier, logWriter and router of the users\' nodes crash twice each; restarted in place, nothing lost', async () => {
    const pids = lab().nodes.map((n: { pid: number }) => n.pid);
    const r = await post(['scenario', 'run', 'actor-crash', '--lab', labFile, '--json'], { timeoutMs: 420_000 });
    const v = verdictOf(r.stdout);
    expect(failing(v), r.stderr.slice(-3000)).toEqual([]);
    expect(r.code).toBe(0);
    expect(v.checks.find((c) => c.name === 'every crashed actor was restarted')?.detail).toMatch(/^18 crashes, 18 restarts/);
    // The supervisors restarted the actors inside the running processes: no node process restarted.
    expect(lab().nodes.map((n: { pid: number }) => n.pid)).toEqual(pids);
    for (const pid of pids) expect(isAlive(pid)).toBe(true);
  }, 450_000);

  test('a fault the lab cannot make is refused with a clear error', async () => {
    const r = await post(['scenario', 'run', 'partition-heal', '--lab', labFile]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/runs only on the simulator.*--sim/);
  });
});

describe('post scenario on the simulator', () => {
  test('list names every scenario and where it runs', async () => {
    const r = await post(['scenario', 'list', '--json']);
    expect(r.code).toBe(0);
    const names = JSON.parse(r.stdout).map((s: any) => s.name);
    expect(names).toEqual(expect.arrayContaining(['replicas-killed', 'partition-heal', 'nats-crash', 'churn-mail-load', 'slow-node', 'corrupt-disk', 'two-devices']));
  });

  test('a run prints its verdict and every operation as JSON', async () => {
    const r = await post(['scenario', 'run', 'two-devices', '--sim', '--seed', '3', '--json'], { timeoutMs: 180_000 });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const v = JSON.parse(r.stdout);
    expect(v).toMatchObject({ scenario: 'two-devices', env: 'sim', seed: '3', ok: true });
    expect(v.history.filter((o: any) => o.kind === 'mail')).toHaveLength(40);
  }, 200_000);

  test('a broken build (no replication) fails the replica and lost-mail checkers and exits 1', async () => {
    const r = await post(['scenario', 'run', 'replicas-killed', '--sim', '--seed', '1', '--broken', 'replication'], { timeoutMs: 180_000 });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL {2}no acknowledged mail lost/);
    expect(r.stdout).toMatch(/FAIL {2}every block back to k=3 verified replicas/);
    expect(r.stderr).toMatch(/a check failed/);
  }, 200_000);

  test('bad arguments get clear errors', async () => {
    expect((await post(['scenario', 'run', 'no-such-thing'])).stderr).toMatch(/no scenario no-such-thing; there are: replicas-killed/);
    expect((await post(['scenario', 'run', 'two-devices', '--seed', 'x'])).stderr).toMatch(/--seed must be a number or random/);
    expect((await post(['scenario', 'run', 'two-devices', '--broken', 'disks'])).stderr).toMatch(/--broken knows only replication/);
  });
});
