// Timing commands run after run: warm-up runs first (untimed), then the timed ones; p50/p99 of each
// command and the CPU of both sides per run (the loop's CPU, helper commands included, over its runs,
// given to the first command a run times; the others of the run show none).
import { summary } from '../stats';
import { cpuMeter, cpuPerOp, type MailTarget } from './target';

export interface CommandFigures {
  runs: number;
  latencyMs: ReturnType<typeof summary>;
  serverCpuMsPerOp: number | null;
  clientCpuMsPerOp: number;
}

/**
 * Calls `once` warmUpRuns + runs times (run = 0, 1, ...); `once` returns the milliseconds of each
 * command it timed, by label. Returns the figures of each label over the timed runs.
 */
export async function measureRuns(
  target: Pick<MailTarget, 'serverCpuMs'>,
  runs: number,
  warmUpRuns: number,
  once: (run: number) => Promise<Record<string, number>>,
): Promise<Record<string, CommandFigures>> {
  for (let run = 0; run < warmUpRuns; run++) await once(run);
  const meter = cpuMeter(target);
  const times: Record<string, number[]> = {};
  for (let run = warmUpRuns; run < warmUpRuns + runs; run++) {
    for (const [label, ms] of Object.entries(await once(run))) (times[label] ??= []).push(ms);
  }
  const cpu = meter();
  const perRun = cpuPerOp(cpu, runs);
  return Object.fromEntries(
    Object.entries(times).map(([label, ms], i) => [label, { runs, latencyMs: summary(ms), ...(i === 0 ? perRun : { serverCpuMsPerOp: null, clientCpuMsPerOp: 0 }) }]),
  );
}
