// Ports: the only ways time, randomness, the network and logging enter protocol code.
// Real adapters (NATS, wall clock, crypto random, JSON-lines log) and simulated ones (infra/sim/)
// implement them; only the composition root (actors/node.ts, the simulator) picks which.
import type { Observable } from 'rxjs';
import type { ErrorCode } from '../protocol/errors';

// ---- Clock -------------------------------------------------------------------------------------

export type TimerHandle = unknown;

/** Time source. `setTimeout`/`clearTimeout` have XState's clock shape, so `after` delays run on it. */
export interface Clock {
  /** Milliseconds since the Unix epoch (simulated clocks start at a fixed epoch). */
  now(): number;
  setTimeout(fn: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  /**
   * Run `fn` once the current event-loop turn's I/O callbacks have run (Node's check phase, before the
   * turn's publishes are handed to the transport: infra/turnEnd.ts): what several of them start in one
   * turn can be gathered first (storage puts to one replica go as one frame).
   */
  defer(fn: () => void): void;
}

// ---- Random ------------------------------------------------------------------------------------

export interface Random {
  /** n random bytes (seeded in the simulator, from the OS otherwise). */
  bytes(n: number): Uint8Array;
  /** Uniform float in [0, 1). */
  float(): number;
  /** Uniform integer in [0, maxExclusive). */
  int(maxExclusive: number): number;
}

// ---- Transport ---------------------------------------------------------------------------------

export interface TransportMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  /** Where a reply goes, when the sender asked for one (request/reply). */
  readonly reply?: string;
}

export type MessageHandler = (msg: TransportMessage) => void;

export interface TransportSubscription {
  readonly subject: string;
  unsubscribe(): void;
}

export type TransportStatus = 'connecting' | 'connected' | 'reconnecting' | 'closed';

/** Why a request produced no reply. Stable codes; see protocol/errors.ts. */
export type TransportErrorCode = Extract<ErrorCode, 'TIMEOUT' | 'NO_RESPONDERS' | 'CLOSED' | 'PAYLOAD_TOO_LARGE'>;

export class TransportError extends Error {
  constructor(
    readonly code: TransportErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'TransportError';
  }
}

/**
 * A subject-addressed message fabric (NATS semantics).
 * - `subscribe` accepts NATS wildcards (`*` one token, `>` the rest) and optional queue groups:
 *   a message is delivered to every plain subscriber and to exactly one member of each queue group.
 * - `request` publishes with a fresh reply subject and resolves with the first reply; it rejects with
 *   TransportError: TIMEOUT at the deadline, NO_RESPONDERS at once when nobody is subscribed.
 * - Handlers never throw into the transport: an adapter catches and logs what a handler throws.
 * - Delivery is at most once; ordering holds per (publisher, subject) on NATS, not in a lossy simulation.
 */
export interface Transport {
  /**
   * The caller may change or reuse `data` as soon as publish returns: the transport sends a copy. With
   * `handOver` the caller promises never to change it (a frame encoded for this send, perhaps sent to
   * several nodes): the transport may send it as it is, without a copy (1 MiB per repair block).
   */
  publish(subject: string, data: Uint8Array, opts?: { reply?: string; handOver?: boolean }): void;
  subscribe(subject: string, handler: MessageHandler, opts?: { queue?: string }): TransportSubscription;
  /** `handOver`: as for publish. */
  request(subject: string, data: Uint8Array, opts: { timeoutMs: number; handOver?: boolean }): Promise<Uint8Array>;
  /** A fresh subject nobody else uses, for replies gathered over time. */
  newInbox(): string;
  /** Resolves when everything published so far has reached the server (simulator: at once). */
  flush(): Promise<void>;
  close(): Promise<void>;
  readonly status$: Observable<TransportStatus>;
}

// ---- Log ---------------------------------------------------------------------------------------

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

/** Structured logging: one JSON object per line, `event` names what happened. */
export interface Log {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  /** A log whose lines all carry `bindings` (e.g. { node, actor }). */
  child(bindings: LogFields): Log;
}

/**
 * Publish, ignoring a transport that has closed (the node is shutting down and the answer has nobody
 * left to reach). Other failures are logged by the caller's log if given.
 */
export function publishQuietly(transport: Transport, subject: string, data: Uint8Array, log?: Log, opts?: { handOver?: boolean }): void {
  try {
    transport.publish(subject, data, opts);
  } catch (e) {
    if (!(e instanceof TransportError && e.code === 'CLOSED')) log?.warn('transport.publish.failed', { subject, error: (e as Error).message });
  }
}
