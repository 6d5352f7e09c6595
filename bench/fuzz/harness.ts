// The fuzzing harness: runs a target's generated inputs one after another from one seed, and judges
// each run by what the target is allowed to do. An input may end only in a documented result (the
// target counts it under a label); anything thrown that is not a FuzzViolation is a crash, a
// FuzzViolation a broken invariant. Every input is timed (a slow one is a finding: no hang), and the
// heap is measured after a full collection at the start and the end (bounded memory), with the
// target's own bounds checked as it goes. Findings name the seed and the input's index: the same
// seed regenerates the same inputs. Errors are built without stack traces while inputs run (most
// inputs end in a documented error, and capturing stacks would cost more than the work); a target
// whose inputs can be replayed one by one runs a crashing input again with stacks, for the report.
// An input that never returns cannot be interrupted from inside: a watchdog thread sees the input
// index stop moving, writes which input of which seed hung, and kills the process.
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Worker } from 'node:worker_threads';
import { SimRandom } from '../../infra/sim/random';

/** An invariant of the target does not hold for this input. */
export class FuzzViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FuzzViolation';
  }
}

export interface FuzzContext {
  /** Counts a documented result. */
  count(label: string): void;
}

export interface FuzzRunner {
  /** Generates input `index` and runs it (sync where the target is sync: no microtask per input). */
  run(index: number, context: FuzzContext): void | Promise<void>;
  /** Inputs depend only on (seed, index): a crashing one can be run again alone. */
  readonly replayable?: boolean;
  /** The last input in a printable, bounded form (for findings). */
  describeLast(): string;
  /** Bounds on what the target retains between inputs; throws FuzzViolation when one is broken. */
  checkBounds?(): void;
  close?(): void | Promise<void>;
}

export interface FuzzTarget {
  readonly name: string;
  readonly summary: string;
  prepare(random: SimRandom): Promise<FuzzRunner>;
}

export type FindingKind = 'crash' | 'invariant' | 'slow' | 'memory';

export interface FuzzFinding {
  readonly kind: FindingKind;
  readonly input: number;
  readonly message: string;
  readonly sample: string;
  /** Inputs that gave the same message. */
  count: number;
  /** Where a crash was thrown (replayable targets). */
  stack?: string;
}

export interface FuzzReport {
  readonly target: string;
  readonly seed: string;
  readonly inputs: number;
  readonly seconds: number;
  readonly inputsPerSecond: number;
  /** CPU time of the process over the run: steadier than wall time on a shared machine. */
  readonly cpuSeconds: number;
  readonly outcomes: Record<string, number>;
  readonly slowestInputMs: number;
  readonly slowestInput: number;
  readonly heapGrowthBytes: number;
  readonly peakHeapBytes: number;
  readonly findings: FuzzFinding[];
}

export interface FuzzOptions {
  readonly inputs: number;
  readonly seed: string;
  /** An input taking longer than this (wall time: generous, the machine is shared) is a finding: a hang. */
  readonly inputTimeMaxMs?: number;
  /** Heap retained after the run (after a full collection) beyond this is a finding. */
  readonly heapGrowthMaxBytes?: number;
  readonly log?: (line: string) => void;
}

const BOUNDS_EVERY_INPUTS = 1_000;
const HEAP_SAMPLE_EVERY_INPUTS = 10_000;
const PROGRESS_EVERY_MS = 10_000;
/** Distinct finding messages kept per target (each with its count). */
const FINDINGS_KEPT_MAX = 20;

/** The watchdog: plain JavaScript in its own thread, so it runs while the main thread is stuck. */
const WATCHDOG_SOURCE = `
const { workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const { state, hangMs, target, seed } = workerData;
let seen = -1;
let since = Date.now();
setInterval(() => {
  const index = Atomics.load(state, 0);
  if (Atomics.load(state, 1) === 0 || index !== seen) { seen = index; since = Date.now(); return; }
  if (Date.now() - since < hangMs) return;
  writeSync(2, 'fuzz ' + target + ': input #' + index + ' of seed ' + seed + ' has run for ' + hangMs + ' ms without returning: a hang. Killing the process.\\n');
  process.kill(process.pid, 'SIGKILL');
}, 250);
`;

/** Watches the shared input index; returns what the loop marks inputs with, and a stop. */
function startWatchdog(target: string, seed: string, hangMs: number): { state: Int32Array; stop: () => Promise<number> } {
  const state = new Int32Array(new SharedArrayBuffer(8));
  const worker = new Worker(WATCHDOG_SOURCE, { eval: true, workerData: { state, hangMs, target, seed } });
  worker.unref();
  return { state, stop: () => worker.terminate() };
}

let collect: (() => void) | undefined;
/** A full garbage collection, so heap figures are what is retained (not what awaits collection). */
function fullGc(): void {
  if (!collect) {
    v8.setFlagsFromString('--expose-gc');
    collect = vm.runInNewContext('gc') as () => void;
  }
  collect();
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.split('\n', 1)[0]!.slice(0, 300);
}

export async function runFuzz(target: FuzzTarget, options: FuzzOptions): Promise<FuzzReport> {
  const random = new SimRandom(`${options.seed}/${target.name}`);
  const inputTimeMaxMs = options.inputTimeMaxMs ?? 1_000;
  const heapGrowthMaxBytes = options.heapGrowthMaxBytes ?? 64 * 1024 * 1024;
  const runner = await target.prepare(random);
  const outcomes: Record<string, number> = {};
  const findings = new Map<string, FuzzFinding>();
  const context: FuzzContext = { count: (label) => void (outcomes[label] = (outcomes[label] ?? 0) + 1) };
  const record = (kind: FindingKind, input: number, error: unknown, sample?: string): void => {
    const message = typeof error === 'string' ? error : firstLine(error);
    const known = findings.get(`${kind}:${message}`);
    if (known) known.count++;
    else if (findings.size < FINDINGS_KEPT_MAX) {
      const finding: FuzzFinding = { kind, input, message, sample: sample ?? runner.describeLast(), count: 1 };
      if (kind === 'crash' && runner.replayable) finding.stack = stackOf(runner, input);
      findings.set(`${kind}:${message}`, finding);
    }
  };
  const checkBounds = (input: number): void => {
    try {
      runner.checkBounds?.();
    } catch (error) {
      record(error instanceof FuzzViolation ? 'invariant' : 'crash', input, error, '(bounds between inputs)');
    }
  };

  fullGc();
  const watchdog = startWatchdog(target.name, options.seed, Math.max(10_000, inputTimeMaxMs * 10));
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  const heapBefore = process.memoryUsage().heapUsed;
  let peakHeapBytes = heapBefore;
  let slowestInputMs = 0;
  let slowestInput = 0;
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  let lastProgress = started;
  for (let i = 0; i < options.inputs; i++) {
    const t0 = performance.now();
    Atomics.store(watchdog.state, 0, i);
    Atomics.store(watchdog.state, 1, 1);
    try {
      const pending = runner.run(i, context);
      if (pending) await pending;
    } catch (error) {
      record(error instanceof FuzzViolation ? 'invariant' : 'crash', i, error);
    }
    Atomics.store(watchdog.state, 1, 0);
    const elapsed = performance.now() - t0;
    if (elapsed > slowestInputMs) {
      slowestInputMs = elapsed;
      slowestInput = i;
    }
    if (elapsed > inputTimeMaxMs) record('slow', i, `input took ${Math.round(elapsed)} ms (bound ${inputTimeMaxMs} ms)`);
    if (i % BOUNDS_EVERY_INPUTS === BOUNDS_EVERY_INPUTS - 1) checkBounds(i);
    if (i % HEAP_SAMPLE_EVERY_INPUTS === 0) peakHeapBytes = Math.max(peakHeapBytes, process.memoryUsage().heapUsed);
    if (options.log && t0 - lastProgress > PROGRESS_EVERY_MS) {
      lastProgress = t0;
      options.log(`  ${target.name}: ${i + 1} inputs, ${Math.round((i + 1) / ((t0 - started) / 1000))}/s`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStarted);
  Error.stackTraceLimit = stackTraceLimit;
  await watchdog.stop();
  checkBounds(options.inputs);
  await runner.close?.();
  fullGc();
  const heapGrowthBytes = process.memoryUsage().heapUsed - heapBefore;
  if (heapGrowthBytes > heapGrowthMaxBytes) record('memory', options.inputs, `heap grew by ${heapGrowthBytes} bytes over the run (bound ${heapGrowthMaxBytes})`, '(whole run)');
  return {
    target: target.name,
    seed: options.seed,
    inputs: options.inputs,
    seconds: Math.round(seconds * 100) / 100,
    inputsPerSecond: Math.round(options.inputs / seconds),
    cpuSeconds: Math.round((cpu.user + cpu.system) / 10_000) / 100,
    outcomes,
    slowestInputMs: Math.round(slowestInputMs * 100) / 100,
    slowestInput,
    heapGrowthBytes,
    peakHeapBytes,
    findings: [...findings.values()],
  };
}

/** Runs input `index` again with stack traces on; its stack, when it throws again. */
function stackOf(runner: FuzzRunner, index: number): string | undefined {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 20;
  try {
    const pending = runner.run(index, { count: () => undefined });
    if (pending) return '(asynchronous input: no stack)';
    return '(did not throw again)';
  } catch (error) {
    return (error as Error).stack;
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** A printable, bounded excerpt of an input. */
export function excerpt(bytes: Uint8Array | string, maxChars = 240): string {
  const text = typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('latin1');
  const shown = JSON.stringify(text.length > maxChars ? `${text.slice(0, maxChars)}...` : text);
  return `${shown} (${text.length} ${typeof bytes === 'string' ? 'chars' : 'bytes'})`;
}
