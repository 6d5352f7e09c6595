// Fuzzing as a benchmark: `post bench fuzz [--quick] [--seed S] [--json]`. Three targets, each fed
// 10^6 generated inputs (10^5 with --quick) from one seed, grammar-aware mutations of valid input
// and random bytes (bench/fuzz/*Target.ts):
//   imap    the IMAP framer, tokenizer, command registry, argument schema and argument parsers
//   smtp    the SMTP session machine fed with command lines (scripted ports, simulated clock)
//   frame   the wire frame decoder: msgpack, version and kind checks, every registered body codec
// It prints inputs per second (wall and CPU: the machine is shared), the results seen, the slowest
// input, the heap retained, and every finding (crash, broken invariant, slow input, memory growth)
// with the seed and input index that reproduce it; the exit code is 1 when there is a finding.
// A short run of the same targets is a unit test (test/unit/fuzz/fuzz.test.ts).
import { runFuzz, type FuzzReport, type FuzzTarget } from './fuzz/harness';
import { frameFuzzTarget } from './fuzz/frameTarget';
import { imapFuzzTarget } from './fuzz/imapTarget';
import { smtpFuzzTarget } from './fuzz/smtpTarget';
import type { Bench } from './stats';

export const fuzzTargets: readonly FuzzTarget[] = [imapFuzzTarget, smtpFuzzTarget, frameFuzzTarget];

const FULL_INPUTS = 1_000_000;
const QUICK_INPUTS = 100_000;
const DEFAULT_SEED = '1';
/** Results listed per target (the most frequent). */
const OUTCOMES_SHOWN = 8;

function printReport(report: FuzzReport, log: (line: string) => void): void {
  const cpuRate = report.cpuSeconds > 0 ? Math.round(report.inputs / report.cpuSeconds) : 0;
  log(`  ${report.target}: ${report.inputs} inputs in ${report.seconds} s: ${report.inputsPerSecond} inputs/s (${cpuRate}/s of CPU)`);
  const outcomes = Object.entries(report.outcomes).sort((a, b) => b[1] - a[1]);
  log(`    results: ${outcomes.slice(0, OUTCOMES_SHOWN).map(([label, n]) => `${label} ${n}`).join(', ')}${outcomes.length > OUTCOMES_SHOWN ? `, ... (${outcomes.length} kinds)` : ''}`);
  log(`    slowest input #${report.slowestInput}: ${report.slowestInputMs} ms; heap retained after the run: ${Math.round(report.heapGrowthBytes / 1024)} KiB (peak ${Math.round(report.peakHeapBytes / 1048576)} MiB)`);
  if (report.findings.length === 0) log('    found nothing');
  for (const finding of report.findings) {
    log(`    FOUND ${finding.kind} x${finding.count}: ${finding.message}`);
    log(`      first at input #${finding.input} of seed ${report.seed}: ${finding.sample}`);
    if (finding.stack) log(finding.stack.split('\n').slice(0, 8).map((l) => `      ${l}`).join('\n'));
  }
}

export async function runFuzzBench(opts: { quick: boolean; seed?: string; log: (line: string) => void }): Promise<Record<string, FuzzReport>> {
  const seed = opts.seed ?? DEFAULT_SEED;
  const inputs = opts.quick ? QUICK_INPUTS : FULL_INPUTS;
  opts.log(`  seed ${seed}, ${inputs} inputs per target`);
  const reports: Record<string, FuzzReport> = {};
  for (const target of fuzzTargets) {
    const report = await runFuzz(target, { inputs, seed, log: opts.log });
    printReport(report, opts.log);
    reports[target.name] = report;
  }
  if (Object.values(reports).some((r) => r.findings.length > 0)) process.exitCode = 1;
  return reports;
}

export const fuzzBench: Bench = {
  name: 'fuzz',
  summary: 'IMAP command reader, SMTP session and wire frame decoder, 10^6 generated inputs each: crashes, hangs, memory',
  run: runFuzzBench,
};
