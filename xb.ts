import { createActor, fromPromise } from 'xstate';
import { imapSessionMachine } from './machines/imapSession.machine';
let actor: any;
const machine = imapSessionMachine.provide({
  actions: { sendGreeting: () => {}, sendStatus: () => {}, sendLiteralContinuation: () => {}, discardInput: () => {}, closeConnection: () => {}, endSession: () => {},
    runFrame: () => { void Promise.resolve().then(() => actor.send({ type: 'FRAME_DONE', outcome: { kind: 'reply', tag: 'A', status: 'OK', text: 'ok', next: 'authenticated' } })); } },
  actors: { flushUpdates: fromPromise(async () => true), upgradeTls: fromPromise(async () => {}) },
});
async function main() {
  actor = createActor(machine, { input: {} }).start();
  const N = 20000;
  const t = performance.now();
  for (let i = 0; i < N; i++) { actor.send({ type: 'FRAME', frame: { lines: [Buffer.from('A NOOP')], literals: [] } as any }); await new Promise((r) => setImmediate(r)); }
  const ms = performance.now() - t;
  const t2 = performance.now();
  for (let i = 0; i < N; i++) await new Promise((r) => setImmediate(r));
  console.log('per frame', (((ms - (performance.now() - t2)) * 1000) / N).toFixed(1), 'us', actor.getSnapshot().value);
}
main();
