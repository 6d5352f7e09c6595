// Issue 7: every fault-injection scenario on the deterministic simulator, with a fixed seed and with
// a few random ones (printed, to replay with `post scenario run NAME --sim --seed N`), and a
// deliberately broken build (one copy, no repair) that the checkers must catch.
import { describe, expect, test } from 'vitest';
import { findScenario, runScenario, scenarios, type Verdict } from '../../scenarios/catalog';
import { SimEnv } from '../../scenarios/env/simEnv';
import { simSeed } from './seed';

async function run(name: string, seed: number, broken?: 'replication'): Promise<Verdict> {
  const env = await SimEnv.create({ seed, broken });
  try {
    return await runScenario(findScenario(name)!, env, { seed: String(seed) });
  } finally {
    await env.close();
  }
}

const failures = (v: Verdict) => v.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);

describe('scenarios on the simulator', () => {
  test.each(scenarios.map((s) => s.name))('%s passes with a fixed seed', async (name) => {
    const seed = simSeed(1);
    const v = await run(name, seed);
    expect(failures(v), `reproduce: post scenario run ${name} --sim --seed ${seed}`).toEqual([]);
    expect(v.ok).toBe(true);
    // The workload really ran, and the faults really happened.
    expect(v.stats.mails).toBeGreaterThanOrEqual(40); // home-node-down sends more of its own during its faults
    expect(v.stats.ok).toBeGreaterThan(20);
    expect(v.stats.faults).toBeGreaterThan(0);
    expect(v.history.filter((o) => o.kind === 'mail').every((o) => o.kind === 'mail' && o.outcome !== undefined)).toBe(true);
  }, 180_000);

  // Three random (scenario, seed) pairs per run: new interleavings every time CI runs.
  const randomRuns = Array.from({ length: 3 }, () => ({ name: scenarios[Math.floor(Math.random() * scenarios.length)]!.name, seed: 1 + Math.floor(Math.random() * 1e9) }));
  test.each(randomRuns)('$name passes with random seed $seed', async ({ name, seed }) => {
    const v = await run(name, seed);
    expect(failures(v), `reproduce: post scenario run ${name} --sim --seed ${seed}`).toEqual([]);
  }, 180_000);

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
});
