// Issue 16's scenario on the simulator: two devices of one user write one calendar (new events, edits
// with If-Match, deletions) through CalDAV on two nodes, the user's home and another, while nodes die
// and restart, the devices' own among them, under the scenarios' mail load. Every acknowledged write
// ends as it left the event, nothing refused shows, both devices read the same calendar, no log fork
// survives. The checker itself is tested in test/unit/scenarios/calendarChecker.test.ts.
import { describe, expect, test } from 'vitest';
import { findScenario, runScenario } from '../../scenarios/catalog';
import { SimEnv } from '../../scenarios/env/simEnv';
import type { CalendarOp } from '../../scenarios/history';
import { SCENARIO_CALENDAR } from '../../protocol/limits';
import { simSeed } from './seed';

describe('calendar-churn on the simulator', () => {
  test('two devices write a calendar through two nodes while nodes die: nothing acknowledged lost, one calendar, no fork', async () => {
    const seed = simSeed(5);
    const env = await SimEnv.create({ seed });
    try {
      const v = await runScenario(findScenario('calendar-churn')!, env, { seed: String(seed) });
      const failed = v.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
      expect(failed, `reproduce: post scenario run calendar-churn --sim --seed ${seed}`).toEqual([]);
      expect(v.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['no acknowledged calendar write lost or undone', 'the devices converge on one calendar', 'no log fork survives']));
      const writes = v.history.filter((o): o is CalendarOp => o.kind === 'calendar');
      expect(writes).toHaveLength(2 * SCENARIO_CALENDAR.writesPerDevice);
      const acked = writes.filter((w) => w.outcome === 'ok');
      expect(acked.length).toBeGreaterThan(writes.length / 2);
      // Both devices got writes through, edits and deletions among them.
      for (const device of ['A', 'B']) expect(acked.filter((w) => w.device === device).length).toBeGreaterThan(0);
      expect(acked.some((w) => w.action === 'delete')).toBe(true);
      expect(acked.some((w) => w.action === 'put' && w.summary?.endsWith('e'))).toBe(true);
      // The churn took the devices' nodes down while they wrote.
      const kills = v.history.filter((o) => o.kind === 'fault' && o.what.startsWith('kill'));
      expect(kills).toHaveLength(SCENARIO_CALENDAR.churnRounds);
      expect(kills.filter((k) => k.kind === 'fault' && k.what.includes("device")).length).toBeGreaterThan(0);
      const lastKillAtMs = Math.max(...kills.map((k) => k.invokedAtMs));
      expect(writes.some((w) => w.outcome === 'ok' && w.invokedAtMs > lastKillAtMs)).toBe(true);
    } finally {
      await env.close();
    }
  }, 400_000);
});
