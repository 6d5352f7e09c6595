// The shape shared by actors that only parent others by id (the notifier's inboxes, the log writer's
// users and each user's logs): `serving`, where RECEIVE spawns a child (replacing one of the same id),
// RELEASE stops it, and a child that fails is removed and reported through the named effect
// `childFailed` (the service decides whether to spawn it again). CRASH is fault injection: the actor
// fails as a bug would, so its supervisor restarts it (and its children with it). Each parent is its own registered
// machine (machines/<name>.machine.ts) so it shows under its own name in the visualizer.
import { type AnyActorLogic, type AnyActorRef, assign, setup, stopChild } from 'xstate';

export type HostEvent =
  | { type: 'RECEIVE'; id: string; logic: AnyActorLogic }
  | { type: 'RELEASE'; id: string }
  | { type: 'CRASH' }
  | { type: `xstate.error.actor.${string}`; error: unknown };

const ERROR_PREFIX = 'xstate.error.actor.';

export function hostMachine(id: string) {
  return setup({
    types: { context: {} as { children: Readonly<Record<string, AnyActorRef>> }, events: {} as HostEvent },
    actions: {
      /** Effect: a child actor failed (a bug); it has been removed. */
      childFailed: (_, _params: { id: string; error: unknown }) => {},
      crash: () => {
        throw new Error('injected crash (fault injection)');
      },
    },
  }).createMachine({
    id,
    context: { children: {} },
    initial: 'serving',
    states: {
      serving: {
        on: {
          RECEIVE: {
            actions: [
              stopChild(({ event }) => event.id),
              assign({ children: ({ context, event, spawn }) => ({ ...context.children, [event.id]: (spawn as any)(event.logic, { id: event.id }) }) }),
            ],
          },
          RELEASE: {
            actions: [stopChild(({ event }) => event.id), assign({ children: ({ context, event }) => without(context.children, event.id) })],
          },
          CRASH: { actions: 'crash' },
          '*': {
            guard: ({ event }) => event.type.startsWith(ERROR_PREFIX),
            actions: [
              assign({ children: ({ context, event }) => without(context.children, event.type.slice(ERROR_PREFIX.length)) }),
              { type: 'childFailed', params: ({ event }) => ({ id: event.type.slice(ERROR_PREFIX.length), error: (event as { error?: unknown }).error }) },
            ],
          },
        },
      },
    },
  });
}

const without = (children: Readonly<Record<string, AnyActorRef>>, id: string) => Object.fromEntries(Object.entries(children).filter(([k]) => k !== id));

/** A running actor's child `id`, if it has one. */
export function childOf(parent: AnyActorRef | undefined, id: string): AnyActorRef | undefined {
  if (!parent || parent.getSnapshot().status !== 'active') return undefined;
  return (parent.getSnapshot().children as Record<string, AnyActorRef | undefined>)[id];
}

/** Spawn `logic` as child `id` of a host actor; its ref, or undefined when the host is not running. */
export function spawnIn(host: AnyActorRef | undefined, id: string, logic: AnyActorLogic): AnyActorRef | undefined {
  if (!host || host.getSnapshot().status !== 'active') return undefined;
  host.send({ type: 'RECEIVE', id, logic });
  return childOf(host, id);
}
