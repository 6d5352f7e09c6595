// `post bench NAME|all [--quick] [--json]`: run benchmarks; each prints figures with its baseline.
import { benches, findBench } from '../../bench/index';
import { CommandError, defineCommand, helpText, parse, printJson } from '../args';

/** `--age` at most an hour: the ageing load runs per phase and per target. */
const BENCH_AGE_SECONDS_MAX = 3600;

const spec = defineCommand({
  usage: 'post bench NAME|all [--quick] [--phase LIST] [--spread] [--age SECONDS] [--json] [--seed N]',
  summary: `Run a benchmark (${benches.map((b) => b.name).join(', ')}) or all of them.`,
  options: {
    quick: { type: 'boolean', description: 'smaller sizes, for a fast look' },
    phase: { type: 'string', description: 'only these phases, comma-separated (mail: e2e,imap,latency,mixed,smtp,growth,away)' },
    spread: { type: 'boolean', description: "mail: the load phases' users (mixed, smtp) hosted on every node of the lab, each client at its user's own node (default: all on the first node)" },
    age: {
      type: 'string',
      description: 'mail: the load phases (mixed, store, smtp) first run SECONDS of their own load, untimed, on each target: figures of a server in use, not a fresh one (costs that grow with use hide behind fresh labs)',
    },
    json: { type: 'boolean', description: 'print results as one JSON document on stdout (progress goes to stderr)' },
    seed: { type: 'string', description: 'seed of the simulated and generated benches (storage-requirements, fuzz): the same seed, the same figures or inputs (default 1)' },
  },
  positionals: ['NAME'],
});

export async function benchCommand(argv: string[]): Promise<void> {
  const { values, positionals, help } = parse(spec, argv);
  if (help) return void console.log(helpText(spec) + '\n\n' + benches.map((b) => `  ${b.name.padEnd(Math.max(...benches.map((x) => x.name.length)) + 1)} ${b.summary}`).join('\n'));
  const name = positionals[0]!;
  const chosen = name === 'all' ? benches : [findBench(name)].filter((b) => b !== undefined);
  if (chosen.length === 0) throw new CommandError(`no benchmark ${name}; choose one of: all, ${benches.map((b) => b.name).join(', ')}`);
  const phases = values.phase?.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (phases) {
    for (const b of chosen) {
      if (!b.phases) throw new CommandError(`bench ${b.name} has no phases; --phase is for ${benches.filter((x) => x.phases).map((x) => x.name).join(', ')}`);
      const unknown = phases.filter((p) => !b.phases!.includes(p));
      if (unknown.length > 0) throw new CommandError(`bench ${b.name} has no phase ${unknown.join(', ')}; choose from ${b.phases.join(', ')}`);
    }
  }
  if (values.spread && !chosen.some((b) => b.spreads)) throw new CommandError(`--spread is for ${benches.filter((b) => b.spreads).map((b) => b.name).join(', ')}`);
  const ageSeconds = values.age === undefined ? undefined : Number(values.age);
  if (ageSeconds !== undefined && !(Number.isFinite(ageSeconds) && ageSeconds > 0 && ageSeconds <= BENCH_AGE_SECONDS_MAX))
    throw new CommandError(`--age takes a number of seconds above 0, at most ${BENCH_AGE_SECONDS_MAX}, not ${values.age}`);
  if (ageSeconds !== undefined && !chosen.some((b) => b.ages)) throw new CommandError(`--age is for ${benches.filter((b) => b.ages).map((b) => b.name).join(', ')}`);
  const log = (line: string) => (values.json ? process.stderr : process.stdout).write(line + '\n');
  const results: Record<string, unknown> = {};
  const seed = values.seed !== undefined ? { seed: String(values.seed) } : {};
  for (const b of chosen) {
    log(`bench ${b.name}: ${b.summary}`);
    results[b.name] = await b.run({ quick: values.quick === true, log, ...seed, ...(phases ? { phases } : {}), ...(values.spread ? { spread: true } : {}), ...(ageSeconds ? { ageMs: ageSeconds * 1000 } : {}) });
  }
  if (values.json) printJson(results);
}
