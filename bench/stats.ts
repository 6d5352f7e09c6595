// Small statistics helpers for benchmarks.
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);

export function summary(values: readonly number[]) {
  return { n: values.length, mean: round(mean(values)), p50: round(percentile(values, 50)), p99: round(percentile(values, 99)), max: round(Math.max(...values)) };
}

export const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;

/** A benchmark prints human lines as it goes and returns one JSON-able result. */
export interface Bench {
  readonly name: string;
  readonly summary: string;
  /** Parts that can be run alone (`--phase a,b`), when the benchmark has them. */
  readonly phases?: readonly string[];
  /** `seed` is for benches that simulate or generate their inputs (the same seed, the same figures or inputs); others ignore it. */
  /** Whether `--spread` means something to it (mail: the load phases' users on every node). */
  readonly spreads?: boolean;
  /** Whether `--age` means something to it (mail: its load phases first run that long of their own load, untimed). */
  readonly ages?: boolean;
  run(opts: { quick: boolean; log: (line: string) => void; seed?: string; phases?: string[]; spread?: boolean; ageMs?: number }): Promise<unknown>;
}
