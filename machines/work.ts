// Work a machine starts as an effect and hears back about as events, instead of invoking a child
// actor for it: `<name>.done` with the output, or `<name>.error` with the error. Issue 11: an invoked
// promise actor per IMAP or SMTP command cost 0.2-0.5 ms of CPU, more than most commands.
//
//   actions: { authenticate: workEffect('authenticate', (input) => login(input.username)) }
//   ...  checking: { entry: { type: 'authenticate', params: ... }, on: { 'authenticate.done': ..., 'authenticate.error': ... } }
//
// The machine must be in a state that expects the answer when it arrives; a state left meanwhile
// (the connection closed) simply ignores it.
import type { AnyActorRef } from 'xstate';

export function workEffect<I, O>(name: string, run: (input: I, self: AnyActorRef) => Promise<O>) {
  return ({ self }: { self: AnyActorRef }, input: I): void => {
    const answer = (event: { type: string; output?: O; error?: unknown }) => {
      if (self.getSnapshot().status === 'active') self.send(event);
    };
    let started: Promise<O>;
    try {
      started = run(input, self);
    } catch (error) {
      started = Promise.reject(error);
    }
    started.then(
      (output) => answer({ type: `${name}.done`, output }),
      (error: unknown) => answer({ type: `${name}.error`, error }),
    );
  };
}
