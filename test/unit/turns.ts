// Waiting in a unit test without the wall clock. Node runs every queued promise continuation before the
// next immediate, and I/O callbacks between two turns; so these wait for work that is already under way,
// never for time to pass, and their bound counts event-loop turns, not milliseconds. A test that needs
// time to pass moves a simulated clock (infra/sim/clock.ts, imap/manualClock.ts) instead.

/** One event-loop turn: every promise continuation queued before it has run. */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Turns until `check` holds; throws naming `what` if it still does not after `turnsMax` turns. */
export async function untilTrue(check: () => boolean | Promise<boolean>, what: string, turnsMax = 20_000): Promise<void> {
  for (let turn = 0; turn < turnsMax; turn++) {
    if (await check()) return;
    await nextTurn();
  }
  if (!(await check())) throw new Error(`still waiting for ${what} after ${turnsMax} event-loop turns`);
}
