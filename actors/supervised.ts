// One supervised child's service object (DESIGN 7, OTP's child spec): a fresh object for every start
// of the child, built by the child's factory with its dependencies. The first is built when the node
// is composed (other services are wired to it before the supervisor runs) and taken by the first
// start; every restart retires the running object and builds another, so nothing the old one held in
// memory (subscriptions, caches, requests in flight) outlives the crash. Only durable state (the disk,
// the ring) and the wiring other services registered through the child's handle carry over.
//
// A service's own actors (the notifier's inboxes) are root actors it starts and stops itself, never
// actors spawned under the supervised child: XState leaves a failed actor's spawned actors running
// (machines/supervisor.machine.ts), while retire() stops root actors with the public stop().
import { fromCallback } from 'xstate';

export interface ChildFactory<S> {
  build(): S;
  /** Release what the old object holds (subscriptions, timers, listeners); called before the new one is built. */
  retire?(old: S): void;
}

export class Supervised<S> {
  private service: S;
  /** fresh: built, not yet started; running: started; retired: stopped for good, the next start builds anew. */
  private phase: 'fresh' | 'running' | 'retired' = 'fresh';

  constructor(
    readonly id: string,
    private readonly factory: ChildFactory<S>,
  ) {
    this.service = factory.build();
  }

  /** The supervisor (re)starts the child: the object to run. */
  start(): S {
    if (this.phase === 'running') this.factory.retire?.(this.service);
    if (this.phase !== 'fresh') this.service = this.factory.build();
    this.phase = 'running';
    return this.service;
  }

  /** The supervisor stopped the child for good (node stop, escalation): retire the running object. */
  stop(): void {
    if (this.phase !== 'running') return;
    this.phase = 'retired';
    this.factory.retire?.(this.service);
  }

  /** The running object (the latest built). */
  get current(): S {
    return this.service;
  }
}

/**
 * The supervised actor of a service whose protocol runs in machines of its own (the notifier's inboxes,
 * each open log's append protocol, storage/log/appendProtocol.ts): not a state machine, since it has
 * no states to show, only the unit the supervisor restarts. CRASH (fault injection, or a bug the
 * service found) fails it as a bug would, so the supervisor retires the service and builds a new one.
 */
export function serviceActor() {
  return fromCallback<{ type: 'CRASH' }>(({ receive }) =>
    receive((event) => {
      if (event.type === 'CRASH') throw new Error('injected crash (fault injection)');
    }),
  );
}
