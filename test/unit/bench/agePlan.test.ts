// `post bench mail --age SECONDS`: which phases age first, and that a phase's own override still wins.
import { describe, expect, it } from 'vitest';
import { planMailBench } from '../../../bench/mail';

const optionsOf = (plan: ReturnType<typeof planMailBench>) => Object.fromEntries(plan.map(({ phase, options }) => [phase.name, options]));

describe('mail bench --age', () => {
  it('gives the load phases (mixed, store, smtp) the ageing time and no other phase', () => {
    const options = optionsOf(planMailBench({ size: 'quick', ageMs: 60_000 }));
    expect(Object.keys(options).filter((name) => options[name].ageMs === 60_000)).toEqual(['mixed', 'store', 'smtp']);
    for (const name of ['e2e', 'imap', 'latency', 'growth', 'away']) expect(options[name].ageMs, name).toBeUndefined();
  });

  it('ages nothing without it, and a phase override of ageMs wins', () => {
    const fresh = optionsOf(planMailBench({ size: 'quick' }));
    for (const name of ['mixed', 'store', 'smtp']) expect(fresh[name].ageMs, name).toBe(0);
    const overridden = optionsOf(planMailBench({ size: 'tiny', ageMs: 60_000, overrides: { smtp: { ageMs: 500 } } }));
    expect([overridden.mixed.ageMs, overridden.smtp.ageMs]).toEqual([60_000, 500]);
  });
});
