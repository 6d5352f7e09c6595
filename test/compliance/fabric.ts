// What a compliance suite needs from the world a transport lives in: a way to make transports on one
// fabric, and a way to let time pass. The simulator passes time by running its clock; real adapters
// wait in real time. Suites never assert durations: they wait (bounded) for outcomes.
import type { Clock, Transport } from '../../infra/ports';

export interface TransportFabric {
  /** A new transport on the shared fabric. */
  connect(name: string): Promise<Transport>;
  /** After subscribing: until the fabric knows every subscription (a cluster propagates them). */
  settle(transports: readonly Transport[]): Promise<void>;
  /** Lets time pass until `done()` holds or `maxMs` passed; returns whether it holds. */
  waitFor(done: () => boolean, maxMs: number): Promise<boolean>;
  /** The clock the fabric's time runs on (responders use it to answer later). */
  readonly clock: Clock;
  /** The server's (or simulator's) largest payload. */
  readonly maxPayloadBytes: number;
  /** Closes every transport it made. */
  close(): Promise<void>;
}

/** Polls `done` in real time; for real adapters. */
export async function waitInRealTime(done: () => boolean, maxMs: number): Promise<boolean> {
  const deadline = Date.now() + maxMs;
  while (!done()) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return true;
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** How `promise` settles, as a promise that never rejects (observe a rejection before it happens). */
export function outcomeOf<T>(promise: Promise<T>): Promise<Outcome<T>> {
  return promise.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  );
}

/** Lets the fabric's time run until `promise` settles (bounded), and returns how it settled. */
export async function settleWithin<T>(fabric: TransportFabric, promise: Promise<T>, maxMs: number): Promise<Outcome<T>> {
  let outcome: Outcome<T> | undefined;
  void outcomeOf(promise).then((settled) => (outcome = settled));
  await fabric.waitFor(() => outcome !== undefined, maxMs);
  if (outcome === undefined) throw new Error(`still pending after ${maxMs} ms of fabric time`);
  return outcome;
}

/** The TransportError code of a failed outcome ('ok' when it succeeded). */
export function codeOf(outcome: Outcome<unknown>): string {
  if (outcome.ok) return 'ok';
  const error = outcome.error as { code?: string; message?: string };
  return error.code ?? `uncoded: ${error.message}`;
}
