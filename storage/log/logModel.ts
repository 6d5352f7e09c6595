// What a log materialises: a state machine over operations. The log engine (logWriter.ts) is generic;
// each kind of log (a folder, the folder index) supplies a model.
//
// Duties of a model:
// - `apply` is deterministic: the same state and operation always give the same result, so every
//   reader replaying the log computes the writer's state (UIDs, modseqs) exactly. It mutates the state
//   in place and returns the change it made; `effective: false` means the operation changed nothing
//   (a duplicate insert, flags already set): the writer does not log it, and `revert` is never called
//   for it.
// - `revert(state, change)` undoes exactly one effective change (applied last): the writer rolls a
//   batch back when its compare-and-swap loses, then catches up and re-applies on top.
// - Operations should be idempotent (keyed inserts, flag sets, expunges by UID) so that re-applying
//   them on a newer head loses nothing and duplicates nothing.
// - `recover(lost, winner)` carries what a fork's other branch holds into the winner: after a partition
//   both sides may have written the log; the branch with the newer head survives the heal (repair keeps
//   the newest), and the first writer that sees both (LogWriter.catchUp) appends these operations on
//   top of the winner. They must be what the lost branch added that the winner does not know (mail
//   delivered on the losing side above all); a branch is never merged twice, since re-applying known
//   things is no change. `fork`, when the writer could rebuild it, is the state at the fork point (the
//   last operation both branches share) and the operations the winner applied since: what the lost
//   branch changed relative to it and the winner did not touch can be carried (flags, per flag); what
//   both changed stays as the winner has it. Without it, a model carries only what it can tell from
//   the two states. The writer appends these operations ahead of whatever was queued or waiting
//   to be retried when it found the fork (those were made against the lost branch), so they apply to
//   the state they were planned against unless another writer got in between (a folder then gives up
//   the lost branch's UIDs for a new UIDVALIDITY: folderModel's recover).
// - Encoders give msgpack-ready values; decoders validate (throw on anything malformed).
export interface Applied<C> {
  readonly effective: boolean;
  readonly change: C;
}

export interface LogModel<S, Op, C, Sum> {
  /** Recorded in every head: a head of one kind of log never opens as another. */
  readonly kind: string;
  initial(): S;
  apply(state: S, op: Op): Applied<C>;
  revert(state: S, change: C): void;
  /** Small counters kept in the head, readable without loading the state (e.g. UIDNEXT, HIGHESTMODSEQ). */
  summarize(state: S): Sum;
  encodeOp(op: Op): unknown;
  decodeOp(wire: unknown): Op;
  encodeState(state: S): unknown;
  decodeState(wire: unknown): S;
  encodeSummary(summary: Sum): unknown;
  decodeSummary(wire: unknown): Sum;
  /** Operations that carry into `winner` what `lost` (the other branch of a fork) holds and `winner` does not. Without it, a lost branch's operations are dropped. */
  recover?(lost: S, winner: S, fork?: ForkBase<S, Op>): Op[];
}

/** Where a fork's branches went apart: the state after the last operation both share, and the winner's operations since (in log order). */
export interface ForkBase<S, Op> {
  readonly ancestor: S;
  readonly winnerOps: readonly Op[];
}
