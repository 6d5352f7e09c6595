// `post bench ring-cpu` (issue 11): it runs at a tiny size, every command gets a figure, the baseline's
// signatures verify, and the bench checks its own work (every submitted mail delivered, or it throws).
// No time or CPU figure is asserted beyond being measured at all.
import { describe, expect, it } from 'vitest';
import { runRingCpu } from '../../../bench/ringCpu';

describe('ring-cpu bench, tiny', () => {
  it('measures STORE, APPEND and SUBMIT on the simulated ring, and the signature baseline', async () => {
    const lines: string[] = [];
    const r = await runRingCpu({ quick: true, log: (line) => lines.push(line), seed: '3', size: { rounds: 2, perRound: 4 } });
    expect(Object.keys(r.commandUs).sort()).toEqual(['APPEND', 'STORE', 'SUBMIT']);
    for (const us of [...Object.values(r.commandUs), r.baselineUs]) expect(us).toBeGreaterThan(0);
    expect(lines.filter((l) => /us of CPU per command/.test(l))).toHaveLength(3);
  }, 120_000);
});
