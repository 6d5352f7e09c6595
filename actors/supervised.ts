// One supervised child's service object (DESIGN 7, OTP's child spec): a fresh object for every start
// of the child, built by the child's factory with its dependencies. The first is built when the node
// is composed (other services are wired to it before the supervisor runs) and taken by the first
// start; every restart retires the running object and builds another, so nothing the old one held in
// memory (subscriptions, caches, requests in flight) outlives the crash. Only durable state (the disk,
// the ring) and the wiring other services registered through the child's handle carry over.
export interface ChildFactory<S> {
  build(): S;
  /** Release what the old object holds (subscriptions, timers, listeners); called before the new one is built. */
  retire?(old: S): void;
}

export class Supervised<S> {
  private service: S;
  private taken = false;

  constructor(
    readonly id: string,
    private readonly factory: ChildFactory<S>,
  ) {
    this.service = factory.build();
  }

  /** The supervisor (re)starts the child: the object to run. */
  start(): S {
    if (this.taken) {
      this.factory.retire?.(this.service);
      this.service = this.factory.build();
    }
    this.taken = true;
    return this.service;
  }

  /** The running object (the latest built). */
  get current(): S {
    return this.service;
  }
}
