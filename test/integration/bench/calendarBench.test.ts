// `post bench calendar --quick` end to end, as a user runs it: Debian's Radicale and a real POST lab on
// loopback, the same CalDAV client and workload on each; the command prints each target's figures (PUT
// serial and loaded, the big calendar's fill, calendar-query, sync) and the side-by-side rows, reports
// no problem (every acknowledged PUT read back with its content, every query and the incremental sync
// exact), and leaves no Radicale or lab process behind. Times are printed, never asserted.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ensureRadicale, referenceUnavailable } from '../../../bench/reference/packages';
import { post } from '../lab/cli';

const skipReason = await referenceUnavailable(() => ensureRadicale());
if (skipReason) console.warn(`skipping the calendar bench test: ${skipReason}`);

/** Command lines of live processes that mention `marker` (the bench's temporary folders carry one). */
function processesMentioning(marker: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (command.includes(marker)) found.push(`${pid} ${command}`);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

const figures = /[\d.]+\/s; latency p50 [\d.]+ ms, p99 [\d.]+ ms.*server CPU [\d.]+ ms per request/;

describe.skipIf(skipReason !== undefined)('post bench calendar --quick', () => {
  it('prints Radicale and POST figures side by side, reads every PUT back, and stops what it started', async () => {
    const r = await post(['bench', 'calendar', '--quick', '--json'], { timeoutMs: 300_000 });
    const lines = r.stderr.split('\n');
    const context = lines.slice(-50).join('\n');
    expect(r.code, context).toBe(0);
    for (const target of ['Radicale', 'POST (3 nodes)']) {
      for (const phase of ['serial PUT (one client)', 'loaded PUT (4 clients, one user each)', 'fill (4 sockets of one user, one calendar)', 'calendar-query (4 clients'])
        expect(lines.find((l) => l.includes(`${target}, ${phase}`)), `${target}, ${phase}\n${context}`).toMatch(figures);
      expect(lines.find((l) => l.includes(`${target}, sync of 300 events`)), context).toMatch(/initial sync-collection [\d.]+ ms \(300 hrefs\), multiget of all [\d.]+ ms \(300 events\), incremental after 10 changes [\d.]+ ms/);
    }
    for (const row of ['serial PUT p50 ms', 'loaded PUT (4 users) PUT/s', 'server CPU ms/PUT (loaded)', 'calendar-query p50 ms', 'server CPU ms/query', 'initial sync-collection ms (300 ev)', 'incremental sync ms'])
      expect(lines.find((l) => l.trim().startsWith(row)), `${row}\n${context}`).toMatch(/reference +[\d.]+ +POST +[\d.]+ +ratio [\d.]+/);
    expect(lines.filter((l) => /PROBLEM|FAILED/.test(l))).toEqual([]);
    const result = JSON.parse(r.stdout).calendar;
    expect(result.valid).toBe(true);
    for (const target of [result.reference, result.post]) {
      expect(target.ok).toBe(true);
      expect(target.result.unreadable).toBe(0);
      expect(target.result.loadedPut.ops).toBe(result.options.clients * result.options.putsPerClient);
      expect(target.result.sync.multigetEvents).toBe(result.options.bigEvents);
    }
    expect(processesMentioning('post-ref-radicale-')).toEqual([]);
    expect(processesMentioning('post-bench-calendar-')).toEqual([]);
  }, 360_000);
});
