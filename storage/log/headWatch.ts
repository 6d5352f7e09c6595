// The "a log head changed" port. A writer publishes (objectId, seq) after each head it stores; a
// node that has the log open (another device of the same user) subscribes and re-reads the head when
// told, so a change made elsewhere shows up in its IMAP change feed within one message delay.
// Notices are hints, not data: they carry no content, may be lost or repeated, and a subscriber
// always re-reads (and verifies) the head itself. The node wires this to NATS
// (actors/users/natsHeadWatch.ts); storage/memory/headWatch.ts is the tests' in-process one.
export interface HeadWatchSubscription {
  unsubscribe(): void;
}

export interface HeadWatch {
  /** Tell whoever watches `objectId` that version `seq` was stored. Best effort; never throws. */
  publish(objectId: string, seq: number): void;
  /** `onHead` runs for every notice about `objectId` (including this node's own), asynchronously. */
  subscribe(objectId: string, onHead: (seq: number) => void): HeadWatchSubscription;
}
