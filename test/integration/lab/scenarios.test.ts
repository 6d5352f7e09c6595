// Issue 7: fault-injection scenarios through the `post scenario` command. On the real local lab (six
// node processes, three NATS servers, mail over SMTP and IMAP): two nodes die for good, a NATS
// server is SIGKILLed, actors crash inside their nodes, and the NATS cluster is cut in two (issue 13),
// while eight senders send mail at once; the checkers pass and the progress reaches the lab's NATS
// (where the dashboard shows it). A half-minute soak runs faults of every scenario under a steady load.
// On the simulator: a verdict as JSON, and a broken build that the checkers catch with a non-zero exit.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { isAlive } from '../../../infra/nats/process';
import { NatsTransport } from '../../../infra/nats/transport';
import { operatorNatsOptions } from '../../../lab/nats';
import { routedServers } from '../../../infra/nats/monitor';
import { SCENARIO_LOAD } from '../../../protocol/limits';
import { subjects } from '../../../protocol/subjects';
import { labEvents, post, labDown } from './cli';

type LabVerdict = {
    ok: boolean;
    scenario: string;
    checks: { name: string; ok: boolean; detail: string }[];
    stats: { mails: number; ok: number; unknown: number; faults: number; baselinePerSecond: number; workloadPerSecond: number };
    faults?: { n: number; scenario: string; ok: number; perSecond: number; floorPerSecond: number }[];
    history: { kind: string; outcome?: string }[];
  };
/** The verdict a run printed; a run that printed none (killed at its deadline) fails with its progress's tail. */
function verdictOf(r: { code: number; stdout: string; stderr: string }): LabVerdict {
  try {
    return JSON.parse(r.stdout) as LabVerdict;
  } catch {
    throw new Error(`no verdict on stdout (exit ${r.code}); stderr ends:\n${r.stderr.slice(-4000)}`);
  }
}
const failing = (v: ReturnType<typeof verdictOf>) => v.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);

describe('scenarios on the real lab', () => {
  const dir = mkdtempSync(join(tmpdir(), 'post-lab-scenarios-'));
  let labFile = '';
  const lab = () => JSON.parse(readFileSync(labFile, 'utf8'));
  let nats: NatsTransport;
  const events: any[] = [];

  beforeAll(async () => {
    // The load outruns the default per-user submission rate (20 a minute): the lab is started without it.
    const r = await post(['lab', 'up', '--nodes', '6', '--users', '3', '--dir', dir, '--no-dashboard', '--submission-rate', '100000/10000'], { timeoutMs: 180_000 });
    expect(r.code, r.stderr).toBe(0);
    labFile = r.stdout.trim();
    nats = await NatsTransport.connect({ ...operatorNatsOptions(lab()), name: 'scenario-test' });
    nats.subscribe(subjects.scenario(), (m) => events.push(JSON.parse(Buffer.from(m.data).toString('utf8'))));
  }, 200_000);

  // A lost or doubled mail on a loaded CI machine: what the nodes logged, read before the lab is removed.
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail' && labFile) console.error(`lab after "${ctx.task.name}" failed:\n${labEvents(lab())}`);
  });

  afterAll(async () => {
    await nats?.close();
    await labDown(dir);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  test('replicas-killed: two nodes die for good while mail flows; nothing acknowledged is lost, k replicas again', async () => {
    const r = await post(['scenario', 'run', 'replicas-killed', '--lab', labFile, '--json'], { timeoutMs: 420_000 });
    const v = verdictOf(r);
    expect(failing(v), r.stderr.slice(-3000)).toEqual([]);
    expect(r.code).toBe(0);
    expect(v.stats.mails).toBeGreaterThanOrEqual(SCENARIO_LOAD.calibrationMails + SCENARIO_LOAD.mailsMin);
    expect(v.stats.faults).toBe(2);
    expect(v.stats.baselinePerSecond).toBeGreaterThan(0);
    // Progress went to stderr and onto the lab's NATS, phase by phase.
    expect(r.stderr).toMatch(/"phase":"faults"/);
    expect(events.filter((e) => e.scenario === 'replicas-killed').map((e) => e.phase)).toEqual(expect.arrayContaining(['workload', 'faults', 'heal', 'final reads', 'verdict']));
    // The scenario leaves the lab as it found it: the killed nodes are back.
    for (const n of lab().nodes) expect(isAlive(n.pid)).toBe(true);
  }, 450_000);

  test('calendar-churn: two devices write a calendar over CalDAV through two nodes while nodes die; nothing acknowledged lost, one calendar, no fork', async () => {
    const r = await post(['scenario', 'run', 'calendar-churn', '--lab', labFile, '--json'], { timeoutMs: 420_000 });
    const v = verdictOf(r);
    expect(failing(v), r.stderr.slice(-3000)).toEqual([]);
    expect(r.code).toBe(0);
    expect(v.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['no acknowledged calendar write lost or undone', 'the devices converge on one calendar', 'no log fork survives']));
    const writes = v.history.filter((o) => o.kind === 'calendar');
    expect(writes.filter((w) => w.outcome === 'ok').length).toBeGreaterThan(writes.length / 2);
    for (const n of lab().nodes) expect(isAlive(n.pid)).toBe(true);
  }, 450_000);

  test('nats-crash: a NATS server is SIGKILLed with mail in flight and restarted; nothing lost, nothing doubled', async () => {
    const r = await post(['scenario', 'run', 'nats-crash', '--lab', labFile, '--json'], { timeoutMs: 420_000 });
    const v = verdictOf(r);
    expect(failing(v), r.stderr.slice(-3000)).toEqual([]);
    expect(r.code).toBe(0);
  }, 450_000);

  test('actor-crash: the notifier, logWriter and router of the users\' nodes crash twice each; restarted in place, nothing lost', async () => {
    const pids = lab().nodes.map((n: { pid: number }) => n.pid);
    const r = await post(['scenario', 'run', 'actor-crash', '--lab', labFile, '--json'], { timeoutMs: 420_000 });
    const v = verdictOf(r);
    expect(failing(v), r.stderr.slice(-3000)).toEqual([]);
    expect(r.code).toBe(0);
    expect(v.checks.find((c) => c.name === 'every crashed actor was restarted')?.detail).toMatch(/^18 crashes, 18 restarts/);
    // The supervisors restarted the actors inside the running processes: no node process restarted.
    expect(lab().nodes.map((n: { pid: number }) => n.pid)).toEqual(pids);
    for (const pid of pids) expect(isAlive(pid)).toBe(true);
  }, 450_000);

  test('partition-heal: the NATS cluster is cut in two, each side\'s nodes on its own servers; healed, nothing lost, no fork', async () => {
    const r = await post(['scenario', 'run', 'partition-heal', '--lab', labFile, '--json'], { timeoutMs: 420_000 });
    const v = verdictOf(r);
    expect(failing(v), r.stderr.slice(-3000)).toEqual([]);
    expect(r.code).toBe(0);
    // While cut, the servers themselves (their /connz) had each side's nodes and no other.
    const cut = r.stderr.split('\n').filter((l) => l.includes('"phase":"partition"')).map((l) => JSON.parse(l.slice(l.indexOf('{'))));
    expect(cut).toHaveLength(1);
    const sides = cut[0].sides as { servers: string[]; nodes: string[] }[];
    expect(sides).toHaveLength(2);
    expect(sides[0]!.servers.filter((s) => sides[1]!.servers.includes(s))).toEqual([]);
    expect(sides[0]!.nodes.filter((n) => sides[1]!.nodes.includes(n))).toEqual([]);
    const ids = lab().nodes.map((n: { id: string }) => n.id).sort();
    expect([...sides[0]!.nodes, ...sides[1]!.nodes].sort()).toEqual(ids);
    expect(sides.map((s) => s.nodes.length)).toEqual([3, 3]);
    // Healed, every node answered its audits: none was lost in the servers' restarts (one such loss
    // cost an audit's whole two-minute timeout before the heal waited for every node to answer).
    const settles = r.stderr.split('\n').filter((l) => l.includes('"phase":"settle"')).map((l) => JSON.parse(l.slice(l.indexOf('{'))));
    expect(settles.length).toBeGreaterThan(0);
    expect(settles.flatMap((s) => s.unanswered ?? [])).toEqual([]);
    // Healed: every server's whole configuration is back and the mesh is full again.
    for (const m of JSON.parse(readFileSync(lab().natsPidFile, 'utf8')).members) {
      expect(existsSync(`${m.configPath}.whole`)).toBe(false);
      expect(await routedServers(m.httpUrl)).toBe(2);
    }
  }, 450_000);

  test('gateway-loss on a one-organisation lab says how to start a lab that can run it, before any mail', async () => {
    const r = await post(['scenario', 'run', 'gateway-loss', '--lab', labFile], { timeoutMs: 60_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/gateway-loss needs users of two organisations .*post lab up --nodes 8 --orgs a\.example,b\.example/);
    expect(r.stderr).not.toMatch(/"phase":"baseline"/);
  }, 90_000);

  test('soak: random faults of every scenario under a steady load for half a minute; a line per fault, the checkers at the end', async () => {
    // A fixed order of faults, so that a failure here replays (`--seed 1`: corrupt-disk, partition-heal, ...).
    // Random orders are for the soak run by hand. One of them (seed 424753305: two-devices, then
    // partition-heal) ends with a forked log: the two devices' mailboxes linger open on nodes on both
    // sides of the cut and both deliver. Open in issue 13; that order must pass here once it is fixed.
    const r = await post(['scenario', 'run', 'soak', '--lab', labFile, '--minutes', '0.5', '--seed', '1', '--json'], { timeoutMs: 540_000 });
    const v = verdictOf(r);
    expect(failing(v), r.stderr.slice(-3000)).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/soak on the lab for 0.5 min, seed 1, faults from replicas-killed, partition-heal/);
    // Half a minute holds one fault or a few (a churn alone takes longer); the simulator's soak test sees several in a row.
    expect(v.faults!.length).toBeGreaterThanOrEqual(1);
    const lines = r.stderr.split('\n').filter((l) => l.includes('"phase":"fault done"'));
    expect(lines).toHaveLength(v.faults!.length);
    for (const f of v.faults!) expect(f.ok, `fault #${f.n} ${f.scenario}`).toBeGreaterThan(0);
    expect(v.stats.mails).toBeGreaterThan(SCENARIO_LOAD.calibrationMails + SCENARIO_LOAD.senders);
    for (const n of lab().nodes) expect(isAlive(n.pid)).toBe(true);
  }, 570_000);
});

describe('post scenario on the simulator', () => {
  test('list names every scenario and where it runs', async () => {
    const r = await post(['scenario', 'list', '--json']);
    expect(r.code).toBe(0);
    const names = JSON.parse(r.stdout).map((s: any) => s.name);
    expect(names).toEqual(expect.arrayContaining(['replicas-killed', 'partition-heal', 'nats-crash', 'churn-mail-load', 'slow-node', 'corrupt-disk', 'two-devices', 'soak']));
    expect(JSON.parse(r.stdout).find((s: any) => s.name === 'partition-heal').envs).toEqual(['sim', 'lab']);
  });

  test('a run prints its verdict and every operation as JSON', async () => {
    const r = await post(['scenario', 'run', 'two-devices', '--sim', '--seed', '3', '--json'], { timeoutMs: 180_000 });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const v = JSON.parse(r.stdout);
    expect(v).toMatchObject({ scenario: 'two-devices', env: 'sim', seed: '3', ok: true });
    expect(v.history.filter((o: any) => o.kind === 'mail').length).toBeGreaterThanOrEqual(SCENARIO_LOAD.calibrationMails + SCENARIO_LOAD.mailsMin);
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
    expect((await post(['scenario', 'run', 'two-devices', '--minutes', '3'])).stderr).toMatch(/--minutes is for the soak/);
    expect((await post(['scenario', 'run', 'soak', '--minutes', '0'])).stderr).toMatch(/--minutes must be a number above 0/);
  });
});
