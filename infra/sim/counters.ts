// What the simulated network did, for scenario reports and for checking that a seed replays exactly.
// `sent` counts publishes; `delivered` and `dropped` count copies (one per receiving subscription,
// plus duplicates), so with fan-out they do not add up to `sent`.

export type DropReason =
  /** The loss probability struck. */
  | 'loss'
  /** Sender and receiver were on different sides of a partition (at send or at arrival). */
  | 'partition'
  /** Nobody subscribed to the subject (NATS drops these silently). */
  | 'noInterest'
  /** The receiving subscription was unsubscribed while the message was in flight. */
  | 'unsubscribed'
  /** The receiving endpoint closed or was killed while the message was in flight. */
  | 'closed'
  /** The simulated NATS server crashed while the message was in flight. */
  | 'serverCrash';

export interface TrafficCount {
  messages: number;
  bytes: number;
}

export interface NetworkCounters {
  sent: TrafficCount;
  delivered: TrafficCount;
  duplicated: TrafficCount;
  dropped: Record<DropReason, TrafficCount>;
  /** Requests answered NO_RESPONDERS. */
  noResponders: number;
  /** Handler calls that threw (caught and logged). */
  handlerErrors: number;
}

const traffic = (): TrafficCount => ({ messages: 0, bytes: 0 });

export function emptyCounters(): NetworkCounters {
  return {
    sent: traffic(),
    delivered: traffic(),
    duplicated: traffic(),
    dropped: {
      loss: traffic(),
      partition: traffic(),
      noInterest: traffic(),
      unsubscribed: traffic(),
      closed: traffic(),
      serverCrash: traffic(),
    },
    noResponders: 0,
    handlerErrors: 0,
  };
}

export function count(into: TrafficCount, bytes: number): void {
  into.messages++;
  into.bytes += bytes;
}

/** A deep copy, so a snapshot taken mid-run does not keep changing. */
export function snapshotCounters(counters: NetworkCounters): NetworkCounters {
  return structuredClone(counters);
}
