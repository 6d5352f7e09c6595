// The end of an event-loop turn in a real process: work deferred until the turn's I/O callbacks have
// run (setImmediate), in two stages. `gather` callbacks collect what several callbacks of the turn
// started (storage puts to one replica become one batch frame, pushes to one inbox one push frame);
// `send` callbacks then hand the turn's publishes to the NATS client in one write.
//
// Both stages drain in the same check phase, including what a stage's callbacks add to either stage.
// Two separate setImmediates would cost a whole loop iteration whenever a gather callback publishes
// (an immediate queued from inside an immediate runs only in the next iteration): measured under the
// mixed IMAP load, 1.1 ms on every storage put between its batch and its write to the socket.
// The drain is one macrotask: promise continuations of its callbacks run after it, and what they
// defer goes at the next turn's end, as anything deferred from a continuation did before.
import { TURN_END_PASSES_MAX } from '../protocol/limits';

export type TurnEndStage = 'gather' | 'send';

const queues: Record<TurnEndStage, (() => void)[]> = { gather: [], send: [] };
/** A drain is queued or running: what is queued meanwhile is run by it (or, past its passes, by the next). */
let scheduled = false;

/** Runs `fn` at the end of this turn, in `stage` (gather callbacks before send callbacks). */
export function atTurnEnd(fn: () => void, stage: TurnEndStage = 'gather'): void {
  queues[stage].push(fn);
  if (!scheduled) {
    scheduled = true;
    setImmediate(drain);
  }
}

const pending = (): boolean => queues.gather.length > 0 || queues.send.length > 0;

function drain(): void {
  // Bounded: a callback that always defers again leaves the rest to the next turn, not a spin.
  for (let pass = 0; pass < TURN_END_PASSES_MAX && pending(); pass++) {
    runAll('gather');
    runAll('send');
  }
  scheduled = pending();
  if (scheduled) setImmediate(drain);
}

/** The stage's callbacks queued so far; what they queue in it runs in the next pass. */
function runAll(stage: TurnEndStage): void {
  const run = queues[stage];
  queues[stage] = [];
  for (const fn of run) {
    try {
      fn();
    } catch (error) {
      // An immediate that throws is an uncaught exception; so is this one, without losing the others.
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}
