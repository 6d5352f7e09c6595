// /metrics: a counter read at render time, and the process's CPU and event-loop totals a node reports.
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../../actors/metrics';
import { registerProcessMetrics } from '../../../actors/processMetrics';

const valueOf = (text: string, name: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`${name} is not in /metrics`);
  return Number(line.slice(name.length + 1));
};

/** Keeps the main thread busy with a fixed amount of arithmetic (tens of ms here; no I/O, no timers). */
const work = (rounds: number) => {
  let x = 0;
  for (let i = 0; i < rounds; i++) x += Math.sqrt(x + i);
  return x;
};

describe('metrics', () => {
  it('a counter kept elsewhere is typed counter and read afresh at each render', () => {
    const metrics = new Metrics();
    let total = 1;
    metrics.counterRead('post_test_total', 'a total kept outside the registry', () => total);
    expect(metrics.render()).toContain('# TYPE post_test_total counter\npost_test_total 1\n');
    total = 5;
    expect(valueOf(metrics.render(), 'post_test_total')).toBe(5);
  });

  it('a node reports its process memory, CPU time and event-loop activity, and the busy ones grow with work', async () => {
    const metrics = new Metrics();
    registerProcessMetrics(metrics);
    // The loop's utilisation is measured from its first turn: let one pass before the first reading.
    await new Promise((resolve) => setImmediate(resolve));
    const before = metrics.render();
    for (const name of ['post_process_resident_bytes', 'post_process_heap_used_bytes', 'post_process_external_bytes']) expect(before).toContain(`# TYPE ${name} gauge`);
    for (const name of ['post_process_cpu_user_seconds_total', 'post_process_cpu_system_seconds_total', 'post_event_loop_active_seconds_total', 'post_event_loop_idle_seconds_total']) {
      expect(before).toContain(`# TYPE ${name} counter`);
      expect(valueOf(before, name), name).toBeGreaterThanOrEqual(0);
    }
    expect(work(50_000_000)).toBeGreaterThan(0);
    await new Promise((resolve) => setImmediate(resolve));
    const after = metrics.render();
    const grew = (name: string) => valueOf(after, name) - valueOf(before, name);
    // The work ran inside a callback of the loop: it counts as CPU time and as the loop's active time.
    expect(grew('post_process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(grew('post_event_loop_active_seconds_total')).toBeGreaterThan(0);
  });
});
