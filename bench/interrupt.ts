// What a benchmark starts outside its own process (the reference mail servers, a lab's detached nodes
// and NATS servers) is stopped when the run is interrupted (SIGINT, SIGTERM) as it is when the run
// ends: a signal ends the process without running its `finally` blocks.
//
//   const forget = stopOnInterrupt(() => lab.stop());
//   try { ... } finally { forget(); await lab.stop(); }

import type { PhaseOutcome } from './mail';
import type { Log } from './mail/target';

/** Bound on the stops after a signal: then the process exits anyway. */
const INTERRUPT_STOP_MS = 20_000;

const stops = new Set<() => Promise<void>>();
let installed = false;

/** Runs `stop` if the process is interrupted before the returned function is called. */
export function stopOnInterrupt(stop: () => Promise<void>): () => void {
  if (!installed) {
    installed = true;
    const onSignal = (signal: NodeJS.Signals) => {
      process.stderr.write(`bench: ${signal}: stopping what the benchmark started\n`);
      const bounded = new Promise((resolve) => setTimeout(resolve, INTERRUPT_STOP_MS).unref());
      void Promise.race([Promise.allSettled([...stops].map((s) => s())), bounded]).finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  stops.add(stop);
  return () => void stops.delete(stop);
}

/**
 * Runs `work` on a target that `start` brings up, and stops the target whatever happens (also on a
 * signal); a target that fails to start or a failing run is an outcome with its error, logged.
 */
export async function onStartedTarget<T extends { name: string }>(what: string, start: () => Promise<{ target: T; stop: () => Promise<void> }>, work: (target: T) => Promise<unknown>, log: Log): Promise<PhaseOutcome> {
  const startedAtMs = performance.now();
  let started: { target: T; stop: () => Promise<void> };
  try {
    started = await start();
  } catch (error) {
    const message = (error as Error).message;
    log(`  FAILED: ${what} could not be started: ${message}`);
    return { ok: false, error: message };
  }
  const forget = stopOnInterrupt(started.stop);
  log(`  ${started.target.name}: started in ${Math.round((performance.now() - startedAtMs) / 1000)} s`);
  try {
    return { ok: true, result: await work(started.target) };
  } catch (error) {
    const message = (error as Error).message;
    log(`  FAILED: ${started.target.name}: ${message}`);
    return { ok: false, error: message };
  } finally {
    forget();
    await started.stop();
  }
}
