// A short run of the fuzz bench (`post bench fuzz` runs 10^6 inputs per target): 10^4 generated
// inputs each into the IMAP command reader, the SMTP session machine and the wire frame decoder,
// with a fixed seed. No crash, no broken invariant, no slow input, no memory growth; a finding
// names the seed and the input that reproduce it.
import { describe, expect, it } from 'vitest';
import { fuzzTargets } from '../../../bench/fuzz';
import { runFuzz } from '../../../bench/fuzz/harness';

const INPUTS = 10_000;
const SEED = 'ci-1';

describe('fuzzing, short run', () => {
  for (const target of fuzzTargets) {
    it(`${target.name}: ${INPUTS} generated inputs end only in documented results (${target.summary})`, async () => {
      const report = await runFuzz(target, { inputs: INPUTS, seed: SEED });
      expect(report.findings).toEqual([]);
      expect(report.inputs).toBe(INPUTS);
      // The inputs reach past the first checks: something is accepted as valid, something refused.
      expect(Object.keys(report.outcomes).length).toBeGreaterThan(3);
    }, 120_000);
  }
});
