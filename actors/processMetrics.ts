// The figures of a node's process that no actor owns: its memory, its CPU time and how busy its event
// loop is (a lab node is one process; the simulator's nodes share theirs, so there each node reports
// the same process).
//
// CPU time counts every thread of the process: the main thread's JavaScript, lmdb-js's commits on the
// libuv pool, V8's collector and compiler helpers. The event loop's active time is the main thread's
// alone. Side by side they say where a busy node spends its time: a loop near 100% active queues every
// command behind the others (issue 11: under the mixed IMAP load the hosting node's loop was 85% active,
// the other nodes' 12-36%), CPU well above the loop's active time is work off the main thread, and a
// loop more active than the process's CPU is waiting for a core.
import { performance } from 'node:perf_hooks';
import type { Metrics } from './metrics';

export function registerProcessMetrics(metrics: Metrics): void {
  metrics.gauge('post_process_resident_bytes', 'Resident memory of this process, with the pages of its stores (LMDB) it has mapped in', () => process.memoryUsage.rss());
  metrics.gauge('post_process_heap_used_bytes', 'JavaScript heap in use in this process (live objects and garbage not yet collected)', () => process.memoryUsage().heapUsed);
  metrics.gauge(
    'post_process_external_bytes',
    'Memory outside the JavaScript heap held by its objects (buffers: messages, frames, blocks) in this process',
    () => process.memoryUsage().external,
  );
  metrics.counterRead(
    'post_process_cpu_user_seconds_total',
    'CPU time this process has used in user mode, all its threads (JavaScript, LMDB commits, V8 helpers)',
    () => process.cpuUsage().user / 1e6,
  );
  metrics.counterRead('post_process_cpu_system_seconds_total', 'CPU time the kernel has spent for this process (socket writes, disk syncs), all its threads', () => process.cpuUsage().system / 1e6);
  metrics.counterRead(
    'post_event_loop_active_seconds_total',
    "Time this process's event loop spent running callbacks rather than waiting for I/O (its rate is the loop's utilisation)",
    () => performance.eventLoopUtilization().active / 1000,
  );
  metrics.counterRead('post_event_loop_idle_seconds_total', "Time this process's event loop spent waiting for I/O", () => performance.eventLoopUtilization().idle / 1000);
}
