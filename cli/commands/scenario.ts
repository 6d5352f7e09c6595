// `post scenario list | run`: fault-injection scenarios (issue 7) on the deterministic simulator
// (--sim, the default; --seed N replays a run exactly) or on a running local lab (--lab FILE), and the
// soak (issue 13: random faults of every scenario under a steady mail load for --minutes). A run
// prints each checker's verdict and exits 1 when any check fails; progress goes to stderr (and, on
// the lab, to the dashboard).
import { osRandom } from '../../infra/random';
import { resolve } from 'node:path';
import { findScenario, runScenario, scenarios, type ScenarioPlan, type Verdict } from '../../scenarios/catalog';
import { Unsupported, type ScenarioEnv } from '../../scenarios/env/env';
import { runSoak, SOAK, soakPlans, type SoakVerdict } from '../../scenarios/soak';
import { SCENARIO_SOAK } from '../../protocol/limits';
import { CommandError, defineCommand, helpText, parse, printJson, subcommandHelp } from '../args';

/** A soak without --minutes. */
const DEFAULT_SOAK_MINUTES = 10;

const listSpec = defineCommand({
  usage: 'post scenario list [--json]',
  summary: 'The fault-injection scenarios, and where each can run (sim, lab).',
  options: { json: { type: 'boolean', description: 'print the list as JSON' } },
});

const runSpec = defineCommand({
  usage: 'post scenario run NAME|all|soak [--sim] [--seed N|random] [--lab FILE] [--minutes N] [--broken replication] [--json]',
  positionals: ['NAME'],
  summary:
    'Run a scenario: the unfaulted mail rate, then a concurrent mail workload with its faults, a heal phase and final reads, judged by the checkers (no acknowledged mail lost, exactly once in INBOX, k replicas, no forks, a throughput floor). `soak` runs random faults of every scenario one after another under a steady mail load for --minutes, a progress line per fault. Exits 1 on a violation.',
  options: {
    sim: { type: 'boolean', description: 'on the deterministic simulator (the default without --lab)' },
    seed: { type: 'string', description: 'simulator seed (and the soak\'s order of faults, on the lab too): a number, or random (printed, to replay); default 1, random for a soak on the lab' },
    lab: { type: 'string', description: 'on the running local lab described by this lab.json (post lab up --users 2 or more; for load, --submission-rate 100000/10000)' },
    minutes: { type: 'string', description: `soak only: how long the load and the faults last (default ${DEFAULT_SOAK_MINUTES}; fractions allowed)` },
    broken: { type: 'string', description: 'simulator only: run a deliberately broken build (replication: one copy, no repair) to see the checkers fail' },
    json: { type: 'boolean', description: 'print the verdicts (with every operation) as JSON' },
  },
});

export async function scenarioCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === 'list') return list(rest);
  if (sub === 'run') return run(rest);
  return subcommandHelp('scenario', sub, [listSpec, runSpec]);
}

function list(argv: string[]): void {
  const { values, help } = parse(listSpec, argv);
  if (help) return void console.log(helpText(listSpec));
  const rows = [
    ...scenarios.map((s) => ({ name: s.name, envs: s.envs, description: s.description })),
    { name: SOAK, envs: ['sim', 'lab'], description: 'random faults of every scenario, one after another, under a steady mail load for --minutes' },
  ];
  if (values.json) return printJson(rows);
  for (const r of rows) console.log(`${r.name.padEnd(17)} ${r.envs.join(',').padEnd(8)} ${r.description}`);
}

async function run(argv: string[]): Promise<void> {
  const { values, positionals, help } = parse(runSpec, argv);
  if (help) return void console.log(helpText(runSpec));
  const name = positionals[0]!;
  const onLab = values.lab !== undefined;
  if (onLab && values.sim) throw new CommandError('choose --sim or --lab FILE, not both', 2);
  const soak = name === SOAK;
  if (onLab && ((values.seed !== undefined && !soak) || values.broken !== undefined)) throw new CommandError('--seed and --broken are for the simulator (--sim); the lab runs the build it was started with', 2);
  if (values.broken !== undefined && values.broken !== 'replication') throw new CommandError(`--broken knows only replication, not ${values.broken}`, 2);
  if (values.minutes !== undefined && !soak) throw new CommandError('--minutes is for the soak (post scenario run soak)', 2);
  const seed = values.seed === 'random' || (soak && onLab && values.seed === undefined) ? String(1 + osRandom.int(2 ** 31 - 1)) : (values.seed ?? '1');
  if (!/^\d{1,15}$/.test(seed)) throw new CommandError(`--seed must be a number or random, not ${seed}`, 2);
  const kind = onLab ? 'lab' : 'sim';
  if (soak) return runSoakCommand(kind, { lab: values.lab, seed, broken: values.broken as 'replication' | undefined, minutes: values.minutes, json: values.json === true });
  const plans = selected(name, kind);

  const verdicts: Verdict[] = [];
  for (const plan of plans) {
    const env = await openEnv(kind, { lab: values.lab, seed, broken: values.broken as 'replication' | undefined, organisations: plan.organisations });
    try {
      const missing = plan.missing?.(env);
      if (missing && plans.length > 1) {
        console.error(`scenario: ${plan.name} skipped: ${missing}`);
        continue;
      }
      if (missing) throw new CommandError(missing, 2);
      const verdict = await runScenario(plan, env, { seed: onLab ? undefined : seed });
      verdicts.push(verdict);
      if (!values.json) printVerdict(verdict);
    } catch (e) {
      if (e instanceof Unsupported) throw new CommandError(e.message, 2);
      throw e;
    } finally {
      await env.close();
    }
  }
  if (values.json) printJson(verdicts.length === 1 ? verdicts[0] : verdicts);
  const failed = verdicts.filter((v) => !v.ok);
  if (failed.length > 0) throw new CommandError(`${failed.map((v) => v.scenario).join(', ')}: a check failed (see above)`, 1);
}

async function runSoakCommand(kind: 'sim' | 'lab', o: { lab?: string; seed: string; broken?: 'replication'; minutes?: string; json: boolean }): Promise<void> {
  const minutes = o.minutes === undefined ? DEFAULT_SOAK_MINUTES : Number(o.minutes);
  if (!(minutes > 0 && minutes <= SCENARIO_SOAK.minutesMax)) throw new CommandError(`--minutes must be a number above 0 and at most ${SCENARIO_SOAK.minutesMax}, not ${o.minutes}`, 2);
  const env = await openEnv(kind, o);
  let verdict: SoakVerdict;
  try {
    const plans = soakPlans(env);
    const left = scenarios.filter((s) => s.envs.includes(kind) && !plans.includes(s)).map((s) => `${s.name} (${s.missing?.(env)})`);
    process.stderr.write(`scenario: soak on the ${kind} for ${minutes} min, seed ${o.seed}, faults from ${plans.map((p) => p.name).join(', ')}${left.length ? `; left out: ${left.join(', ')}` : ''}\n`);
    verdict = await runSoak(env, { minutes, seed: o.seed });
  } catch (e) {
    if (e instanceof Unsupported) throw new CommandError(e.message, 2);
    throw e;
  } finally {
    await env.close();
  }
  if (o.json) printJson(verdict);
  else printVerdict(verdict);
  if (!verdict.ok) throw new CommandError('soak: a check failed (see above)', 1);
}

function selected(name: string, kind: 'sim' | 'lab'): ScenarioPlan[] {
  if (name === 'all') return scenarios.filter((s) => s.envs.includes(kind));
  const plan = findScenario(name);
  if (!plan) throw new CommandError(`no scenario ${name}; there are: ${scenarios.map((s) => s.name).join(', ')}`, 2);
  if (!plan.envs.includes(kind))
    throw new CommandError(
      kind === 'lab'
        ? `${name} runs only on the simulator: its fault (${plan.description}) cannot be made between processes on one machine; run it with --sim`
        : `${name} runs only on a lab: post lab up, then post scenario run ${name} --lab FILE`,
      2,
    );
  return [plan];
}

/** `organisations`: the simulator builds that many (a lab has what it was started with). */
async function openEnv(kind: 'sim' | 'lab', o: { lab?: string; seed: string; broken?: 'replication'; organisations?: number }): Promise<ScenarioEnv> {
  if (kind === 'lab') {
    const { LabEnv } = await import('../../scenarios/env/labEnv');
    try {
      return await LabEnv.open(resolve(o.lab!));
    } catch (e) {
      throw new CommandError((e as Error).message);
    }
  }
  const { SimEnv } = await import('../../scenarios/env/simEnv');
  return SimEnv.create({ seed: Number(o.seed), broken: o.broken, organisations: o.organisations });
}

function printVerdict(v: Verdict | SoakVerdict): void {
  const s = v.stats;
  console.log(`scenario ${v.scenario} on the ${v.env === 'sim' ? `simulator (seed ${v.seed})` : `lab${v.seed ? ` (seed ${v.seed})` : ''}`}: ${v.ok ? 'PASS' : 'FAIL'}`);
  console.log(`  ${s.mails} mails: ${s.ok} ok, ${s.failed} failed, ${s.unknown} unknown; ${s.faults} faults and heals; workload ${(s.workloadMs / 1000).toFixed(1)} s`);
  console.log(`  ${s.workloadPerSecond.toFixed(2)} acknowledged mails/s under faults, ${s.baselinePerSecond.toFixed(2)} unfaulted`);
  if ('faults' in v) for (const f of v.faults) console.log(`  fault #${f.n} ${f.scenario.padEnd(16)} ${(f.ms / 1000).toFixed(0).padStart(4)} s  ${f.perSecond.toFixed(2)} mails/s (floor ${f.floorPerSecond.toFixed(2)})${f.failedChecks.length ? `  FAIL ${f.failedChecks.join('; ')}` : ''}`);
  for (const c of v.checks) console.log(`  ${c.ok ? 'pass' : 'FAIL'}  ${c.name}: ${c.detail}`);
}
