// The session machines' tests run each machine two ways (issue 11): its XState definition as an actor,
// and its step function on the runner connections use (actors/stepRunner.ts). A test sees both alike.
import { type AnyActorRef, type AnyStateMachine, createActor } from 'xstate';
import type { Clock } from '../../infra/ports';
import type { SessionRunnerOptions } from '../../actors/stepRunner';

export type Implementation = 'machine' | 'step';

export interface SessionUnderTest<E, C> {
  send(event: E): void;
  status(): string;
  /** The state value, in XState's shape. */
  value(): unknown;
  context(): C;
}

export interface SessionSpec<Fx, In, S extends { readonly context: C }, E, C> {
  /** The machine with these effects provided (imapSessionMachineWith, smtpSessionMachineWith). */
  readonly machineWith: (effects: Fx) => AnyStateMachine;
  /** The step function's runner (imapSessionRunner, smtpSessionRunner). */
  readonly runner: (options: SessionRunnerOptions<Fx, In, S>) => { start(): void; send(event: E): void; readonly status: string; readonly state: S | undefined };
  /** A step function's state as the machine's state value. */
  readonly valueOf: (state: S) => unknown;
  readonly effects: Fx;
  readonly clock: Clock;
  readonly input: In;
  /** Checked after every transition (the machine's snapshots, the runner's steps). */
  readonly check?: (value: unknown, context: C) => void;
}

/** The session, started, as `implementation` runs it; a crash of the step function fails the test. */
export function sessionUnderTest<Fx, In, S extends { readonly context: C }, E, C>(implementation: Implementation, spec: SessionSpec<Fx, In, S, E, C>): SessionUnderTest<E, C> {
  const { check } = spec;
  if (implementation === 'machine') {
    const actor: AnyActorRef = createActor(spec.machineWith(spec.effects), {
      clock: spec.clock,
      input: spec.input,
      ...(check
        ? {
            inspect: (event) => {
              if (event.type !== '@xstate.snapshot' || (event.actorRef as AnyActorRef) !== actor) return;
              const snapshot = event.snapshot as unknown as { value: unknown; context: C };
              check(snapshot.value, snapshot.context);
            },
          }
        : {}),
    });
    actor.start();
    return {
      send: (event) => actor.send(event as { type: string }),
      status: () => actor.getSnapshot().status,
      value: () => actor.getSnapshot().value,
      context: () => actor.getSnapshot().context as C,
    };
  }
  const runner = spec.runner({
    effects: spec.effects,
    clock: spec.clock,
    input: spec.input,
    onStep: check ? (state) => check(spec.valueOf(state), state.context) : undefined,
    onCrash: (error) => {
      throw error;
    },
  });
  runner.start();
  return {
    send: (event) => runner.send(event),
    status: () => runner.status,
    value: () => spec.valueOf(runner.state!),
    context: () => runner.state!.context,
  };
}
