// Issue 7: every fault-injection scenario on the deterministic simulator, with a fixed seed and with
// a few random ones (printed, to replay with `post scenario run NAME --sim --seed N`), and a
// deliberately broken build (one copy, no repair) that the checkers must catch. Issue 13: the
// workload is concurrent senders, and the soak runs faults of every scenario one after another.
import { describe, expect, test } from 'vitest';
import { findScenario, runScenario, scenarios, type Verdict } from '../../scenarios/catalog';
import { SimEnv } from '../../scenarios/env/simEnv';
import type { FaultOp, MailOp, Operation } from '../../scenarios/history';
import { runSoak, soakPlans } from '../../scenarios/soak';
import { SCENARIO_GATEWAY_LOSS, SCENARIO_LOAD } from '../../protocol/limits';
import { simSeed } from './seed';

/** The most mails submitted at once at any moment of a history. */
function mostInFlight(history: readonly Operation[]): number {
  const mails = history.filter((o): o is MailOp => o.kind === 'mail');
  const edges = mails.flatMap((m) => [
    { at: m.invokedAtMs, d: 1 },
    { at: m.completedAtMs ?? Infinity, d: -1 },
  ]);
  // At one instant, completions first: a sender's next mail never overlaps its last.
  edges.sort((a, b) => a.at - b.at || a.d - b.d);
  let now = 0;
  let most = 0;
  for (const e of edges) most = Math.max(most, (now += e.d));
  return most;
}

async function run(name: string, seed: number, broken?: 'replication'): Promise<Verdict> {
  // A scenario across organisations (gateway-loss) gets a simulation with that many, as `post scenario run` builds it.
  const env = await SimEnv.create({ seed, broken, organisations: findScenario(name)!.organisations });
  try {
    return await runScenario(findScenario(name)!, env, { seed: String(seed) });
  } finally {
    await env.close();
  }
}

const failures = (v: Verdict) => v.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);

/** The scenarios the simulator runs (gc-expunged needs a lab with short leases). */
const onSim = scenarios.filter((s) => s.envs.includes('sim'));

describe('scenarios on the simulator', () => {
  test.each(onSim.map((s) => s.name))('%s passes with a fixed seed', async (name) => {
    const seed = simSeed(1);
    const v = await run(name, seed);
    expect(failures(v), `reproduce: post scenario run ${name} --sim --seed ${seed}`).toEqual([]);
    expect(v.ok).toBe(true);
    // The workload really ran, with its senders at once, and the faults really happened.
    expect(v.stats.mails).toBeGreaterThanOrEqual(SCENARIO_LOAD.calibrationMails + SCENARIO_LOAD.mailsMin);
    expect(v.stats.ok).toBeGreaterThan(v.stats.mails / 2);
    // (home-node-down sends mails of its own during its faults, besides the senders')
    expect(mostInFlight(v.history)).toBeGreaterThanOrEqual(SCENARIO_LOAD.senders);
    expect(v.stats.baselinePerSecond).toBeGreaterThan(0);
    expect(v.stats.faults).toBeGreaterThan(0);
    expect(v.history.filter((o) => o.kind === 'mail').every((o) => o.kind === 'mail' && o.outcome !== undefined)).toBe(true);
  }, 180_000);

  // Three random (scenario, seed) pairs per run: new interleavings every time CI runs.
  const randomRuns = Array.from({ length: 3 }, () => ({ name: onSim[Math.floor(Math.random() * onSim.length)]!.name, seed: 1 + Math.floor(Math.random() * 1e9) }));
  test.each(randomRuns)('$name passes with random seed $seed', async ({ name, seed }) => {
    const v = await run(name, seed);
    expect(failures(v), `reproduce: post scenario run ${name} --sim --seed ${seed}`).toEqual([]);
  }, 180_000);

  // Seeds that once failed, kept as regressions: actor-crash 601810605 restarts every router at once,
  // so for seconds the nodes disagree on who is alive; a standby took over user2, found no folder index
  // in its view and created a second INBOX, and the mail it delivered there was lost when it handed back.
  // calendar-churn 918471375: both devices' puts at one sequence split the replicas and both lost; each
  // caught up with the other's head, the home device wrote on top of the other's (its delete of B-14),
  // and the other device, going again, found B-14 gone and answered its DELETE 404: a write that took
  // effect reported as refused (logWriter.ts settleLostRounds).
  test.each([
    { name: 'actor-crash', seed: 601810605 },
    { name: 'calendar-churn', seed: 918471375 },
  ])('$name passes with seed $seed (once lost or misreported a write)', async ({ name, seed }) => {
    const v = await run(name, seed);
    expect(failures(v), `reproduce: post scenario run ${name} --sim --seed ${seed}`).toEqual([]);
  }, 180_000);

  test('gateway-loss: both gateways of a.example die in turn while mail crosses both ways; each comes back a gateway, nothing lost or doubled', async () => {
    const seed = simSeed(2);
    const v = await run('gateway-loss', seed);
    expect(failures(v), `reproduce: post scenario run gateway-loss --sim --seed ${seed}`).toEqual([]);
    // Both gateways of one organisation went down and came back, one after the other.
    const faults = v.history.filter((o): o is FaultOp => o.kind === 'fault' || o.kind === 'heal').map((o) => o.what.replace(/ [0-9a-f]{12}/, ''));
    expect(faults).toEqual(
      [1, 2].flatMap((g) => [`hang for ${SCENARIO_GATEWAY_LOSS.hangMs} ms, gateway ${g} of a.example`, `kill, gateway ${g} of a.example`, `restart, gateway ${g} of a.example`]),
    );
    // The load crossed organisations, and kept crossing both ways while each gateway was down (the
    // second outage needs the first gateway back as a gateway).
    const mails = v.history.filter((o): o is MailOp => o.kind === 'mail');
    const org = (a: string) => a.split('@')[1];
    expect(new Set(mails.map((m) => `${org(m.from)}->${org(m.to)}`))).toEqual(new Set(['a.example->b.example', 'b.example->a.example']));
    const crossed = v.checks.find((c) => c.name === 'cross-organisation mail flowed both ways while each gateway was down');
    expect(crossed?.ok, crossed?.detail).toBe(true);
  }, 180_000);

  test('gateway-loss on one organisation says what it lacks (and a soak there leaves it out)', async () => {
    const env = await SimEnv.create({ seed: 1 });
    try {
      expect(env.orgs()).toEqual(['sim.example']);
      expect(findScenario('gateway-loss')!.missing!(env)).toMatch(/needs users of two organisations .* has 1 organisation\(s\), 0 gateway\(s\) in sim\.example\): post lab up --nodes 8 --orgs a\.example,b\.example/);
      expect(soakPlans(env).map((p) => p.name)).not.toContain('gateway-loss');
    } finally {
      await env.close();
    }
  }, 60_000);

  test('the same seed replays the same history', async () => {
    const [a, b] = [await run('churn-mail-load', 7), await run('churn-mail-load', 7)];
    expect(JSON.stringify(b.history)).toBe(JSON.stringify(a.history));
    expect(b.checks).toEqual(a.checks);
  }, 180_000);

  test('a broken build (replication disabled) fails the replica and lost-mail checkers', async () => {
    const v = await run('replicas-killed', 1, 'replication');
    expect(v.ok).toBe(false);
    const failed = new Set(v.checks.filter((c) => !c.ok).map((c) => c.name));
    expect([...failed]).toEqual(expect.arrayContaining(['no acknowledged mail lost', 'every block back to k=3 verified replicas']));
  }, 180_000);

  test('soak: faults of every scenario one after another under a steady load, each reported, the checkers at the end', async () => {
    const seed = simSeed(5);
    const env = await SimEnv.create({ seed });
    const lines: Record<string, unknown>[] = [];
    const progress = env.progress.bind(env);
    env.progress = (e) => (lines.push(e), progress(e));
    try {
      const v = await runSoak(env, { minutes: 1.5, seed: String(seed) });
      expect(v.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`), `reproduce: post scenario run soak --sim --seed ${seed} --minutes 1.5`).toEqual([]);
      expect(v.ok).toBe(true);
      // Faults follow one another, each scenario once before any repeats, and each has its progress line.
      const names = soakPlans(env).map((p) => p.name);
      expect(v.faults.length).toBeGreaterThanOrEqual(3);
      const firstRound = v.faults.slice(0, names.length).map((f) => f.scenario);
      expect(new Set(firstRound).size).toBe(firstRound.length);
      for (const f of v.faults) expect(names).toContain(f.scenario);
      expect(lines.filter((l) => l.phase === 'fault done').map((l) => l.fault)).toEqual(v.faults.map((f) => f.scenario));
      // The load was steady: mail went on during every fault, and at the senders' bound.
      for (const f of v.faults) expect(f.ok, `fault #${f.n} ${f.scenario}`).toBeGreaterThan(0);
      expect(mostInFlight(v.history)).toBe(SCENARIO_LOAD.senders);
      expect(v.stats.mails).toBeGreaterThan(200);
    } finally {
      await env.close();
    }
  }, 300_000);
});
