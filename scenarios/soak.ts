// The soak (issue 13): `post scenario run soak --lab FILE --minutes N`. First the run's unfaulted rate;
// then a steady mail load for N minutes under faults from every scenario, one after another, each
// round a fresh random order of all of them: a fault is injected, held under the load, healed, judged
// by its scenario's own checks, every node is brought back up, and the load gets a pause before the
// next. One progress line per fault, with its throughput against its floor (the scenario's fraction of
// the unfaulted rate). At the end the load stops and the checkers judge the whole history.
import { type CheckResult, rateOf, throughputFloor } from './checkers';
import { finalChecks, scenarios, type ScenarioPlan, type Verdict } from './catalog';
import type { ScenarioEnv } from './env/env';
import { History } from './history';
import { MailLoad, measureBaseline } from './workload';
import { SimRandom } from '../infra/sim/random';
import { SCENARIO_SIM_RUN_MS_MAX, SCENARIO_SOAK, SCENARIO_THROUGHPUT_FLOOR_FRACTION } from '../protocol/limits';

export const SOAK = 'soak';

/** One fault of a soak, as its progress line reported it. */
export interface SoakFault {
  readonly n: number;
  readonly scenario: string;
  readonly atMs: number;
  readonly ms: number;
  /** Mails acknowledged while the fault lasted (injected, held, healed, nodes back up). */
  readonly ok: number;
  readonly perSecond: number;
  readonly floorPerSecond: number;
  /** The scenario's own checks (two devices converge, every crashed actor restarted) that failed. */
  readonly failedChecks: readonly string[];
}

export interface SoakVerdict extends Verdict {
  readonly faults: readonly SoakFault[];
}

/** The scenarios a soak draws its faults from: every one that runs on this env as it is (see ScenarioPlan.missing). */
export const soakPlans = (env: ScenarioEnv): ScenarioPlan[] => scenarios.filter((s) => s.envs.includes(env.kind) && !s.missing?.(env));

export async function runSoak(env: ScenarioEnv, opts: { minutes: number; seed: string }): Promise<SoakVerdict> {
  if (!(opts.minutes > 0 && opts.minutes <= SCENARIO_SOAK.minutesMax)) throw new RangeError(`a soak lasts more than 0 and at most ${SCENARIO_SOAK.minutesMax} minutes, not ${opts.minutes}`);
  const plans = soakPlans(env);
  const random = new SimRandom(opts.seed).fork(SOAK);
  const history = new History(() => env.now(), Math.round(env.now()).toString(36));
  return env.run(async () => {
    const baseline = await measureBaseline(env, history, SOAK);
    const started = env.now();
    const end = started + opts.minutes * 60_000;
    const load = new MailLoad(env, history, { scenario: SOAK, part: 'load', mailsMax: SCENARIO_SOAK.mailsMax }).start();
    env.progress({ scenario: SOAK, phase: 'workload', env: env.kind, minutes: opts.minutes, faults: plans.map((p) => p.name) });
    const faults: SoakFault[] = [];
    let order: ScenarioPlan[] = [];
    while (env.now() < end) {
      if (order.length === 0) order = shuffled(plans, random);
      faults.push(await oneFault(env, history, load, order.shift()!, faults.length + 1, baseline.perSecond, started));
      await env.wait(SCENARIO_SOAK.settleMs);
    }
    await load.stop();
    const workload = rateOf(load.ok, env.now() - started);
    env.progress({ scenario: SOAK, phase: 'heal' });
    await env.revive();
    const checks = await finalChecks(env, history, SOAK);
    const slow = faults.filter((f) => f.perSecond < f.floorPerSecond);
    checks.push({
      name: 'throughput during every fault at least its scenario\'s fraction of the unfaulted rate',
      ok: baseline.ok > 0 && faults.length > 0 && slow.length === 0,
      detail: slow.length
        ? `${slow.length} of ${faults.length} faults below their floor, e.g. ${slow.slice(0, 3).map((f) => `#${f.n} ${f.scenario}: ${f.perSecond.toFixed(2)} < ${f.floorPerSecond.toFixed(2)} mails/s`).join('; ')}`
        : `${faults.length} faults, each at or above its floor (unfaulted ${baseline.perSecond.toFixed(2)} mails/s)`,
    });
    checks.push(throughputFloor(workload, baseline, SCENARIO_THROUGHPUT_FLOOR_FRACTION, 'over the whole soak'));
    const own = faults.flatMap((f) => f.failedChecks.map((c) => `#${f.n} ${f.scenario}: ${c}`));
    checks.push({ name: 'every fault\'s own checks held', ok: own.length === 0, detail: own.length ? own.slice(0, 5).join('; ') : `${faults.length} faults of ${new Set(faults.map((f) => f.scenario)).size} scenarios` });
    const stats = { ...history.summary(), workloadMs: workload.ms, baselinePerSecond: baseline.perSecond, workloadPerSecond: workload.perSecond };
    const verdict: SoakVerdict = { scenario: SOAK, env: env.kind, seed: opts.seed, ok: checks.every((c) => c.ok), checks, stats, faults, history: history.operations };
    env.progress({ scenario: SOAK, phase: 'verdict', verdict: verdict.ok ? 'pass' : 'FAIL', ...history.summary() });
    return verdict;
  }, opts.minutes * 60_000 + SCENARIO_SIM_RUN_MS_MAX);
}

/** A fault under the load: injected, held, healed, its own checks, every node back up. */
async function oneFault(env: ScenarioEnv, history: History, load: MailLoad, plan: ScenarioPlan, n: number, baselinePerSecond: number, soakStarted: number): Promise<SoakFault> {
  const t0 = env.now();
  const ok0 = load.ok;
  env.progress({ scenario: SOAK, phase: 'fault', n, fault: plan.name });
  const victims = (await plan.faults(env, history)) ?? [];
  await env.wait(SCENARIO_SOAK.holdMs);
  await plan.heal?.(env, history, victims);
  const own: CheckResult[] = plan.extraChecks ? await plan.extraChecks(env, history) : [];
  const revived = await env.revive();
  for (const id of revived) history.fault(`restart ${id.slice(0, 12)}`, 'heal');
  const rate = rateOf(load.ok - ok0, env.now() - t0);
  const fault: SoakFault = {
    n,
    scenario: plan.name,
    atMs: t0 - soakStarted,
    ms: rate.ms,
    ok: rate.ok,
    perSecond: rate.perSecond,
    floorPerSecond: baselinePerSecond * (plan.throughputFloorFraction ?? SCENARIO_THROUGHPUT_FLOOR_FRACTION),
    failedChecks: own.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`),
  };
  const s = history.summary();
  env.progress({
    scenario: SOAK,
    phase: 'fault done',
    n,
    fault: plan.name,
    seconds: Math.round(rate.ms / 1000),
    perSecond: Number(rate.perSecond.toFixed(2)),
    floor: Number(fault.floorPerSecond.toFixed(2)),
    mails: s.mails,
    ok: s.ok,
    unknown: s.unknown,
    failed: s.failed,
    ...(fault.failedChecks.length ? { failedChecks: fault.failedChecks } : {}),
  });
  return fault;
}

/** A random order of all of `items` (Fisher-Yates on the soak's seeded stream). */
function shuffled<T>(items: readonly T[], random: SimRandom): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
