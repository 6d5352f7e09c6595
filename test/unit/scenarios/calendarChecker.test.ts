// calendar-churn's checker: every event ends as its last acknowledged write left it, on every device;
// an unknown write may or may not have landed, a refused one never; and the devices hold one calendar.
// A lost event, an edit undone, a deleted event back, or two devices on two forks of the log fail it.
import { describe, expect, test } from 'vitest';
import { calendarWrites, type CalendarView } from '../../../scenarios/checkers';
import { History, type Outcome } from '../../../scenarios/history';

/** A history whose clock is set by each step: writes never overlap unless `at` says so. */
function writes(steps: { device: string; action: 'put' | 'delete'; name: string; summary?: string; outcome: Outcome; at: number; took?: number }[]): History {
  let now = 0;
  const history = new History(() => now, 'run1');
  for (const s of steps) {
    now = s.at;
    const op = history.calendar(s.device, s.action, s.name, s.summary);
    now = s.at + (s.took ?? 1);
    history.complete(op, s.outcome);
  }
  return history;
}

const view = (entries: [string, string][]): CalendarView => new Map(entries);
const both = (v: CalendarView) => new Map([['A', v], ['B', v]]);
const failing = (history: History, views: Map<string, CalendarView>) => calendarWrites(history, views).filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);

const base = [
  { device: 'A', action: 'put' as const, name: 'a1.ics', summary: 'a1 v1', outcome: 'ok' as Outcome, at: 10 },
  { device: 'B', action: 'put' as const, name: 'b1.ics', summary: 'b1 v1', outcome: 'ok' as Outcome, at: 20 },
  { device: 'B', action: 'put' as const, name: 'a1.ics', summary: 'a1 v2 by B', outcome: 'ok' as Outcome, at: 30 },
  { device: 'A', action: 'put' as const, name: 'a2.ics', summary: 'a2 v1', outcome: 'ok' as Outcome, at: 40 },
  { device: 'A', action: 'delete' as const, name: 'a2.ics', outcome: 'ok' as Outcome, at: 50 },
];
const good = view([
  ['a1.ics', 'a1 v2 by B'],
  ['b1.ics', 'b1 v1'],
]);

describe('calendar-churn checker', () => {
  test('every event as last acknowledged, deleted ones absent, on both devices: passes', () => {
    expect(failing(writes(base), both(good))).toEqual([]);
  });

  test('a lost event fails, on the device that lacks it', () => {
    const lost = view([['a1.ics', 'a1 v2 by B']]);
    expect(failing(writes(base), both(lost))).toEqual([expect.stringMatching(/^no acknowledged calendar write lost or undone: .*b1\.ics is missing/)]);
  });

  test('an acknowledged edit undone (the older content back) or a deleted event back fails', () => {
    const stale = view([
      ['a1.ics', 'a1 v1'],
      ['b1.ics', 'b1 v1'],
    ]);
    expect(failing(writes(base), both(stale))).toEqual([expect.stringMatching(/a1\.ics is "a1 v1", last acknowledged: a1 v2 by B/)]);
    const back = view([...good, ['a2.ics', 'a2 v1']]);
    expect(failing(writes(base), both(back))).toEqual([expect.stringMatching(/a2\.ics is "a2 v1", last acknowledged: \(absent\)/)]);
  });

  test('an unknown write may have landed or not; a refused one must not show', () => {
    const withUnknown = writes([...base, { device: 'A', action: 'put', name: 'b1.ics', summary: 'b1 v2 unknown', outcome: 'unknown', at: 60 }, { device: 'B', action: 'put', name: 'x.ics', summary: 'x refused', outcome: 'failed', at: 70 }]);
    expect(failing(withUnknown, both(good))).toEqual([]);
    expect(failing(withUnknown, both(view([...good, ['b1.ics', 'b1 v2 unknown']])))).toEqual([]);
    expect(failing(withUnknown, both(view([...good, ['x.ics', 'x refused']])))).toEqual([expect.stringMatching(/x\.ics is "x refused"/)]);
  });

  test('two devices on two forks of the log (each sees its own last write) fail convergence, and the lost write', () => {
    const forkA = view([
      ['a1.ics', 'a1 v2 by B'],
      ['b1.ics', 'b1 v1'],
    ]);
    const forkB = view([
      ['a1.ics', 'a1 v2 by B'],
      ['b1.ics', 'b1 v1'],
      ['a2.ics', 'a2 v1'],
    ]);
    const problems = failing(writes(base), new Map([['A', forkA], ['B', forkB]]));
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/B: a2\.ics is "a2 v1"/);
    expect(problems[1]).toMatch(/^the devices converge on one calendar: B differs from A/);
  });

  test('an event nobody wrote, or no writes at all, fails', () => {
    expect(failing(writes(base), both(view([...good, ['ghost.ics', 'ghost']])))).toEqual([expect.stringMatching(/ghost\.ics was never written/)]);
    expect(failing(writes([]), both(view([])))).toEqual([expect.stringMatching(/no calendar write was made/)]);
  });
  test('a soak round is judged on its own events: an earlier round, in a calendar of its own, is not missing from this one', () => {
    const rounds = writes([
      { device: 'A', action: 'put', name: 'r1-A-1.ics', summary: 'round 1', outcome: 'ok', at: 10 },
      { device: 'A', action: 'put', name: 'r2-A-1.ics', summary: 'round 2', outcome: 'ok', at: 20 },
    ]);
    const second = both(view([['r2-A-1.ics', 'round 2']]));
    expect(calendarWrites(rounds, second, 'r2').filter((c) => !c.ok)).toEqual([]);
    // Without the round, the first round's event reads as lost: what a 30-minute soak reported 18, 38 and 58 times.
    expect(failing(rounds, second)).toEqual([expect.stringMatching(/r1-A-1\.ics is missing/)]);
    expect(calendarWrites(rounds, both(view([])), 'r2').filter((c) => !c.ok).map((c) => c.detail)).toEqual([expect.stringMatching(/r2-A-1\.ics is missing/)]);
  });
});
