// Mail benchmark (issues 5 and 11): the same phases run in this process against two mail systems one
// after the other, the reference (Debian's Postfix delivering over LMTP to Debian's Dovecot, started
// here on loopback ports) and POST (a target the lead registers with registerMailTarget), and each
// POST figure is printed next to the reference's with the ratio. The phases, each in bench/mail/:
//   e2e      SMTP submission to EXISTS on the recipient's IMAP session, one in flight and loaded (nodemailer, imapflow)
//   imap     imapflow clients, each its own user: APPEND all at once, then FETCH and SEARCH for a fixed time
//   latency  per-command latency, unloaded, p50/p99, with a raw IMAP client (TCP_NODELAY, no parse while timed)
//   mixed    10 clients, seeded LOGIN/SELECT/FETCH/STORE/EXPUNGE/APPEND/LOGOUT mix, every reply checked (0 errors or invalid)
//   store    STORE alone, 1 and 10 clients: server CPU per STORE; on POST the replicated-write floor beside it
//   smtp     SMTP submission matrix: persistent / a connection per message, 4 KiB / 100 KiB; accepted and visible;
//            on POST the replicated-write floor at each message size after it
//   growth   memory per hosted user and per open folder; latency as a folder and a host's user count grow
//   away     a session on a node that does not host the user: mail waiting at login, push with the home killed and back
// Every phase reports the CPU used by the clients (this process) and by the server (the target's
// processes: Postfix's and Dovecot's; POST's node processes and the lab's NATS servers), and warns when
// the clients used more: such a phase measures the clients too.
// `post bench mail --phase latency,mixed` runs a subset; `--spread` hosts the mixed and smtp phases' users
// across POST's nodes, each client at its user's own node, as an organisation's members are (default: all
// on the first node, one process serving every session, as the reference's one server does).
import { randomBytes } from 'node:crypto';
import { awayPhase } from './mail/away';
import { commandLatencyPhase } from './mail/commandLatency';
import { endToEndPhase } from './mail/endToEnd';
import { growthPhase } from './mail/growth';
import { imapClientsPhase } from './mail/imapClients';
import { MAIL_DOMAIN } from './mail/messages';
import { mixedWorkloadPhase } from './mail/mixedWorkload';
import type { BenchSize, Comparison, MailPhase } from './mail/phase';
import { smtpMatrixPhase } from './mail/smtpMatrix';
import { storeLoadPhase } from './mail/storeLoad';
import { sleep, type Log, type MailTarget, type MailTargetProvider, type MailUser } from './mail/target';
import { startReferenceMail } from './reference/mailServer';
import { stopOnInterrupt } from './interrupt';
import { type Bench, round } from './stats';

export type { MailTarget, MailTargetProvider, MailUser } from './mail/target';

/** In the order they run: growth late, as it leaves the largest folder and the most users behind; away last, as it kills and restarts the users' node. */
export const MAIL_PHASES: readonly MailPhase[] = [endToEndPhase, imapClientsPhase, commandLatencyPhase, mixedWorkloadPhase, storeLoadPhase, smtpMatrixPhase, growthPhase, awayPhase];

export const mailPhaseNames = MAIL_PHASES.map((p) => p.name);

/** Pause between phases: the last one's background work (deliveries, replication) settles. */
const BETWEEN_PHASES_MS = 500;

export interface MailBenchOptions {
  size: BenchSize;
  /** Names of the phases to run (all when absent), run in MAIL_PHASES order. */
  phases?: readonly string[];
  /** Per phase, options replacing the size's defaults (the integration test's tiny sizes). */
  overrides?: Record<string, object>;
  /** POST hosts the load phases' users across its nodes (each client at its user's node) rather than all on its first. */
  spread?: boolean;
  /** The ageing phases (MailPhase.ages) first run this long of their own load, untimed. */
  ageMs?: number;
  log?: Log;
}

/** The phases chosen, each with its options. */
export function planMailBench(opts: Pick<MailBenchOptions, 'size' | 'phases' | 'overrides' | 'ageMs'>): { phase: MailPhase; options: any }[] {
  const unknown = (opts.phases ?? []).filter((name) => !mailPhaseNames.includes(name));
  if (unknown.length > 0) throw new Error(`no mail benchmark phase ${unknown.join(', ')}; choose from ${mailPhaseNames.join(', ')}`);
  return MAIL_PHASES.filter((p) => !opts.phases || opts.phases.includes(p.name)).map((phase) => ({
    phase,
    options: { ...phase.options(opts.size), ...(phase.ages && opts.ageMs ? { ageMs: opts.ageMs } : {}), ...opts.overrides?.[phase.name] },
  }));
}

/** Every user the phases asked for, with fresh passwords. */
export function mailBenchUsers(plan: readonly { phase: MailPhase; options: any }[], domain = MAIL_DOMAIN): MailUser[] {
  const names = [...new Set(plan.flatMap(({ phase, options }) => phase.users(options)))];
  return names.map((name) => ({ address: `${name}@${domain}`, password: `bench-${randomBytes(9).toString('base64url')}` }));
}

export type PhaseOutcome = { ok: true; result: any } | { ok: false; error: string };

/** Runs the phases against one target, in order; a phase that fails is reported and the next one runs. */
export async function runMailPhases(target: MailTarget, plan: readonly { phase: MailPhase; options: any }[], log: Log): Promise<Record<string, PhaseOutcome>> {
  log(`  ${target.name}: SMTP ${target.smtp.host}:${target.smtp.port}, IMAP ${target.imap.host}:${target.imap.port}`);
  const outcomes: Record<string, PhaseOutcome> = {};
  for (const { phase, options } of plan) {
    log(`  ${target.name}, ${phase.name}: ${phase.summary}`);
    const t0 = performance.now();
    try {
      outcomes[phase.name] = { ok: true, result: await phase.run(target, options, log) };
    } catch (error) {
      const message = (error as Error).message;
      log(`    FAILED: ${target.name}, phase ${phase.name}: ${message}`);
      outcomes[phase.name] = { ok: false, error: message };
    }
    log(`    (${phase.name} took ${Math.round((performance.now() - t0) / 1000)} s)`);
    await sleep(BETWEEN_PHASES_MS);
  }
  return outcomes;
}

export interface RatedComparison extends Comparison {
  /** POST divided by the reference (null where one lacks the figure). */
  ratio: number | null;
  /** Whether POST meets the goal, when there is one and it can be judged. */
  goalMet: boolean | null;
}

export function rate(row: Comparison): RatedComparison {
  const { reference, post } = row;
  // A ratio needs two measured values; a memory delta below the heap's noise can come out negative.
  const ratio = reference === null || post === null || reference <= 0 || post < 0 ? null : round(post / reference, 3);
  let goalMet: boolean | null = null;
  const goal = /^(<=|>=) ([\d.]+)(x?)$/.exec(row.goal ?? '');
  if (goal && post !== null) {
    const value = goal[3] === 'x' ? ratio : post;
    const bound = Number(goal[2]);
    goalMet = value === null ? null : goal[1] === '<=' ? value <= bound : value >= bound;
  }
  return { ...row, ratio, goalMet };
}

const cell = (value: number | null, width: number) => String(value ?? '-').padStart(width);
function verdict(row: RatedComparison): string {
  if (row.ratio === null || row.ratio === 1) return '';
  if (row.bound) return ' (a bound: no POST code in it)';
  return (row.ratio > 1) === (row.better === 'higher') ? ' (POST better)' : ' (POST worse)';
}
/** The goal and whether it is met; a goal of '>= Nx' above the figure's reach says so (it is a bound on POST, not POST). */
export function goalText(row: RatedComparison): string {
  if (!row.goal) return '';
  const met = row.goalMet === null ? '?' : row.goalMet ? 'met' : 'not met';
  const goal = /^>= ([\d.]+)x$/.exec(row.goal);
  const outOfReach = row.goalMet === false && goal && row.reach !== undefined && row.reach < Number(goal[1]);
  return `   goal ${row.goal}: ${met}${outOfReach ? ` (out of reach in this run: a bare write durable at k = 3 alone reaches ${row.reach}x)` : ''}`;
}

export function printRows(rows: readonly RatedComparison[], log: Log): void {
  const width = Math.max(26, ...rows.map((r) => r.figure.length));
  for (const row of rows) log(`    ${row.figure.padEnd(width)} reference ${cell(row.reference, 9)}   POST ${cell(row.post, 9)}   ratio ${row.ratio ?? '-'}${verdict(row)}${goalText(row)}`);
}

/** The latency rows (LABEL p50 ms, LABEL p99 ms, LABEL server CPU ms/cmd) as one line per command. */
function printLatencyRows(rows: readonly RatedComparison[], log: Log): void {
  const labels = [...new Set(rows.map((r) => r.figure.replace(/ (p50 ms|p99 ms|server CPU ms\/cmd)$/, '')))];
  const width = Math.max(...labels.map((l) => l.length));
  log(`    ${'command'.padEnd(width)}   reference p50/p99 ms     POST p50/p99 ms   ratio p50/p99   server CPU ms/cmd ref/POST   goal (POST p50)`);
  for (const label of labels) {
    const get = (suffix: string) => rows.find((r) => r.figure === `${label} ${suffix}`)!;
    const [p50, p99, cpu] = [get('p50 ms'), get('p99 ms'), get('server CPU ms/cmd')];
    const goal = p50.goal ? `${p50.goal}: ${p50.goalMet ? 'met' : 'not met'}` : '';
    log(
      `    ${label.padEnd(width)}   ${cell(p50.reference, 9)} /${cell(p99.reference, 9)}  ${cell(p50.post, 9)} /${cell(p99.post, 9)}  ${cell(p50.ratio, 7)} /${cell(p99.ratio, 7)}   ${cell(cpu.reference, 9)} /${cell(cpu.post, 9)}     ${goal}`,
    );
  }
}

let postProvider: MailTargetProvider | undefined;

/** Supplies the POST target (a fresh system with `users`) that the benchmark compares. */
export function registerMailTarget(provider: MailTargetProvider): void {
  postProvider = provider;
}

/** Runs the chosen phases on the reference, then on POST, and prints the comparison. */
export async function runMailBench(opts: MailBenchOptions) {
  const log = opts.log ?? (() => {});
  const plan = planMailBench(opts);
  const users = mailBenchUsers(plan);
  const aged = plan.filter(({ phase, options }) => phase.ages && options.ageMs > 0).map(({ phase }) => phase.name);
  log(`  phases: ${plan.map((p) => p.phase.name).join(', ')} (${opts.size}); ${users.length} users on each target${aged.length ? `; ${aged.join(', ')} first run ${opts.ageMs! / 1000} s of their load untimed (--age)` : ''}`);
  const reference = await startReferenceMail({ users, log });
  const forgetReference = stopOnInterrupt(() => reference.stop());
  let referenceOutcomes: Record<string, PhaseOutcome>;
  try {
    const target: MailTarget = { name: 'reference (Postfix + Dovecot)', smtp: reference.smtp, imap: reference.imap, users, serverCpuMs: reference.cpuMs, serverMemory: reference.dovecotMemory };
    referenceOutcomes = await runMailPhases(target, plan, log);
  } finally {
    forgetReference();
    await reference.stop();
  }
  let postOutcomes: Record<string, PhaseOutcome> | null = null;
  if (!postProvider) {
    log('  POST target: missing (nothing registered with registerMailTarget); reference figures only, no ratios');
  } else {
    const startedAtMs = performance.now();
    const loadUsers = new Set(plan.filter(({ phase }) => phase.load).flatMap(({ phase, options }) => phase.users(options)));
    const post = await postProvider(users, { spread: opts.spread ? users.filter((u) => loadUsers.has(u.address.split('@')[0]!)) : [] });
    const forgetPost = stopOnInterrupt(() => post.stop());
    log(`  ${post.target.name}: started with ${users.length} users in ${Math.round((performance.now() - startedAtMs) / 1000)} s`);
    try {
      postOutcomes = await runMailPhases(post.target, plan, log);
    } finally {
      forgetPost();
      await post.stop();
    }
  }

  const problems: string[] = [];
  const comparison: Record<string, RatedComparison[]> = {};
  for (const [targetName, outcomes] of [['reference', referenceOutcomes], ['POST', postOutcomes]] as const) {
    for (const { phase } of plan) {
      const outcome = outcomes?.[phase.name];
      if (!outcome) continue;
      if (!outcome.ok) problems.push(`${targetName}, ${phase.name}: failed: ${outcome.error}`);
      else for (const p of phase.problems?.(outcome.result) ?? []) problems.push(`${targetName}, ${phase.name}: ${p}`);
    }
  }
  if (postOutcomes) {
    log('  POST / reference, same phases, same machine, one after the other:');
    for (const { phase } of plan) {
      const [p, r] = [postOutcomes[phase.name], referenceOutcomes[phase.name]];
      if (!p?.ok || !r?.ok) {
        log(`  ${phase.name}: no comparison (the phase failed on ${!p?.ok ? 'POST' : 'the reference'})`);
        continue;
      }
      const rows = phase.compare(p.result, r.result).map(rate);
      comparison[phase.name] = rows;
      log(`  ${phase.name}: ${phase.summary}`);
      if (phase.name === commandLatencyPhase.name) printLatencyRows(rows, log);
      else printRows(rows, log);
    }
  }
  for (const problem of problems) log(`  PROBLEM: ${problem}`);
  const valid = problems.length === 0;
  const options = Object.fromEntries(plan.map(({ phase, options }) => [phase.name, options]));
  return { size: opts.size, phases: plan.map((p) => p.phase.name), options, reference: referenceOutcomes, post: postOutcomes, comparison, valid, problems };
}

export const mailBench: Bench = {
  name: 'mail',
  summary: 'POST vs Postfix+Dovecot on the same phases: e2e SMTP->IMAP, imapflow clients, per-command latency, mixed 10-client load, STORE alone with the replicated-write floor, SMTP matrix with the floor at each message size, growth, a session away from the home node',
  phases: mailPhaseNames,
  spreads: true,
  ages: true,
  run: ({ quick, log, phases, spread, ageMs }) => runMailBench({ size: quick ? 'quick' : 'full', log, ...(phases ? { phases } : {}), ...(spread ? { spread } : {}), ...(ageMs ? { ageMs } : {}) }),
};
