// `post bench im --quick` end to end, as a user runs it: Debian's Prosody and a real POST lab on
// loopback, the same XMPP client and workload on each; the command prints each target's figures (the
// serial and loaded lines) and the side-by-side rows, reports no problem (no message lost, doubled
// or refused), and leaves no Prosody or lab process behind. Times are printed, never asserted.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ensureProsody, referenceUnavailable } from '../../../bench/reference/packages';
import { post } from '../lab/cli';

const skipReason = await referenceUnavailable(() => ensureProsody());
if (skipReason) console.warn(`skipping the IM bench test: ${skipReason}`);

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

const figures = /latency p50 [\d.]+ ms, p99 [\d.]+ ms/;

describe.skipIf(skipReason !== undefined)('post bench im --quick', () => {
  it('prints Prosody and POST figures, serial and loaded, side by side, with no problem, and stops what it started', async () => {
    const r = await post(['bench', 'im', '--quick', '--json'], { timeoutMs: 240_000 });
    const lines = r.stderr.split('\n');
    const context = r.stderr.split('\n').slice(-40).join('\n');
    expect(r.code, context).toBe(0);
    for (const target of ['Prosody', 'POST (3 nodes)'])
      for (const phase of ['serial (one message in flight)', 'loaded (2 pairs, one message in flight each)']) {
        const line = lines.find((l) => l.includes(`${target}, ${phase}:`));
        expect(line, `${target}, ${phase}\n${context}`).toMatch(figures);
        expect(line).toMatch(/[\d.]+ msg\/s/);
      }
    for (const row of ['serial latency p50 ms', 'serial latency p99 ms', 'loaded (2 pairs) msg/s', 'loaded latency p99 ms'])
      expect(lines.find((l) => l.trim().startsWith(row)), `${row}\n${context}`).toMatch(/reference +[\d.]+ +POST +[\d.]+ +ratio [\d.]+/);
    expect(lines.filter((l) => /PROBLEM|FAILED/.test(l))).toEqual([]);
    const result = JSON.parse(r.stdout).im;
    expect(result.valid).toBe(true);
    for (const target of [result.reference, result.post]) {
      expect(target.ok).toBe(true);
      expect(target.result.serial.messages).toBe(result.options.serialMessages);
      expect(target.result.loaded.messages).toBe(result.options.pairs * result.options.messagesPerPair);
    }
    expect(processesMentioning('post-ref-prosody-')).toEqual([]);
    expect(processesMentioning('post-bench-im-')).toEqual([]);
  }, 300_000);
});
