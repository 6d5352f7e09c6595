// Replicated writes and reads as pure transition functions (DESIGN 3): state + answer -> next state +
// named effects. The storage client (actors/storage/sessions.ts) keeps one plain state per request in
// flight and performs the effects; no actor is spawned per request. The charts:
//
//   write:  writing ──a majority acked──▶ committed ──every replica answered──▶ done
//              └──a majority can no longer ack──▶ failed
//   The caller is answered (`settle`) as soon as the outcome is known; writes to the remaining replicas
//   go on in the background (committed). A request lost in transit (timeout, NATS failover) is sent
//   again up to attemptsMax: every write is idempotent.
//
//   read 'first' (immutable blocks): asking(i) ──verified copy──▶ found
//                                       └──missing / bad / lost──▶ asking(i+1) … ──▶ notFound
//   read 'all' (signed objects): every candidate at once ──all answered──▶ found (newest) | notFound
//   The caller verifies what a replica returns before reporting `got` (a bad copy is `bad`), so the
//   reducer only orders the asking and counts.
//
// Invariants (checkWrite / checkRead, run after every step in tests): a replica is counted in at most
// one of acked / refused / lost; settle is emitted exactly once; no request goes out after settling a
// read or finishing a write; attempts never exceed attemptsMax.
import type { ErrorCode } from '../protocol/errors';

// ---- writes -----------------------------------------------------------------------------------------

export interface WriteRefusal {
  readonly code: ErrorCode;
  readonly message: string;
  /** Extra data a refusal carries (e.g. the current version on CAS_MISMATCH). */
  readonly detail?: unknown;
}

export type WriteOutcome =
  | { readonly ok: true; readonly acked: readonly string[] }
  | { readonly ok: false; readonly code: ErrorCode; readonly message: string; readonly refusals: Readonly<Record<string, WriteRefusal>>; readonly acked: readonly string[] };

export interface WriteInput {
  readonly targets: readonly string[];
  readonly quorum: number;
  readonly attemptsMax: number;
}

export type WritePhase = 'writing' | 'committed' | 'done' | 'failed';

export interface WriteState extends WriteInput {
  readonly phase: WritePhase;
  readonly attempts: Readonly<Record<string, number>>;
  readonly acked: readonly string[];
  readonly refused: Readonly<Record<string, WriteRefusal>>;
  /** Replicas that never answered within their attempts. */
  readonly lost: readonly string[];
}

export type WriteAnswer = { kind: 'ack' } | { kind: 'refused'; refusal: WriteRefusal } | { kind: 'lost'; code: ErrorCode };

export type WriteEffect = { readonly type: 'send'; readonly node: string; readonly attempt: number } | { readonly type: 'settle'; readonly outcome: WriteOutcome };

export interface WriteStep {
  readonly state: WriteState;
  readonly effects: readonly WriteEffect[];
}

const answeredWrites = (s: WriteState) => s.acked.length + Object.keys(s.refused).length + s.lost.length;
const pendingWrites = (s: WriteState) => s.targets.length - answeredWrites(s);

/** The refusal most replicas gave (ties: the first seen), for the caller's error. */
export function dominantRefusal(refused: Readonly<Record<string, WriteRefusal>>): WriteRefusal | undefined {
  const counts = new Map<string, { n: number; r: WriteRefusal }>();
  for (const r of Object.values(refused)) {
    const c = counts.get(r.code);
    if (c) c.n++;
    else counts.set(r.code, { n: 1, r });
  }
  let best: { n: number; r: WriteRefusal } | undefined;
  for (const c of counts.values()) if (!best || c.n > best.n) best = c;
  return best?.r;
}

export function writeFailure(s: WriteState): WriteOutcome {
  const refusal = dominantRefusal(s.refused);
  if (refusal && Object.keys(s.refused).length >= s.lost.length)
    return { ok: false, code: refusal.code, message: refusal.message, refusals: s.refused, acked: s.acked };
  return {
    ok: false,
    code: 'UNAVAILABLE',
    message:
      s.targets.length === 0
        ? 'no replica is known for this id'
        : `only ${s.acked.length} of ${s.targets.length} replicas stored it (${s.quorum} needed); ${s.lost.length} did not answer`,
    refusals: s.refused,
    acked: s.acked,
  };
}

/** Decide what an answer changes: settle at a quorum or when it became impossible; finish when all answered. */
function advanceWrite(s: WriteState, effects: WriteEffect[]): WriteStep {
  let state = s;
  if (state.phase === 'writing') {
    if (state.acked.length >= state.quorum) {
      state = { ...state, phase: 'committed' };
      effects.push({ type: 'settle', outcome: { ok: true, acked: state.acked } });
    } else if (state.acked.length + pendingWrites(state) < state.quorum) {
      effects.push({ type: 'settle', outcome: writeFailure(state) });
      return { state: { ...state, phase: 'failed' }, effects };
    }
  }
  if (state.phase === 'committed' && pendingWrites(state) === 0) state = { ...state, phase: 'done' };
  return { state, effects };
}

export function startWrite(input: WriteInput): WriteStep {
  const state: WriteState = { ...input, phase: 'writing', attempts: {}, acked: [], refused: {}, lost: [] };
  const effects: WriteEffect[] = input.targets.map((node) => ({ type: 'send', node, attempt: 1 }));
  return advanceWrite(state, effects);
}

/** One replica answered (or its request was lost). Answers after the write finished change nothing. */
export function onWriteAnswer(s: WriteState, node: string, answer: WriteAnswer): WriteStep {
  if (s.phase === 'done' || s.phase === 'failed' || !s.targets.includes(node)) return { state: s, effects: [] };
  if (s.acked.includes(node) || node in s.refused || s.lost.includes(node)) return { state: s, effects: [] };
  const effects: WriteEffect[] = [];
  let state: WriteState;
  if (answer.kind === 'ack') state = { ...s, acked: [...s.acked, node] };
  else if (answer.kind === 'refused') state = { ...s, refused: { ...s.refused, [node]: answer.refusal } };
  else {
    const attempt = (s.attempts[node] ?? 1) + 1;
    if (attempt <= s.attemptsMax) {
      effects.push({ type: 'send', node, attempt });
      return { state: { ...s, attempts: { ...s.attempts, [node]: attempt } }, effects };
    }
    state = { ...s, lost: [...s.lost, node] };
  }
  return advanceWrite(state, effects);
}

/** The outcome as it stands (for a caller that looks after the write finished). */
export const writeOutcome = (s: WriteState): WriteOutcome => (s.acked.length >= s.quorum ? { ok: true, acked: s.acked } : writeFailure(s));

// ---- reads ------------------------------------------------------------------------------------------

export type ReadMode = 'first' | 'all';

export interface ReadInput {
  readonly candidates: readonly string[];
  readonly mode: ReadMode;
  readonly attemptsMax: number;
}

export type ReadPhase = 'asking' | 'gathering' | 'found' | 'notFound';

export interface ReadState extends ReadInput {
  readonly phase: ReadPhase;
  /** Next candidate to ask ('first' mode). */
  readonly next: number;
  readonly attempts: Readonly<Record<string, number>>;
  /** Nodes that returned a verified value, in answer order, with a rank (higher is newer). */
  readonly got: readonly { readonly node: string; readonly rank: number }[];
  readonly misses: readonly string[];
  readonly bad: readonly string[];
  readonly lost: readonly string[];
}

export interface ReadOutcome {
  /** The node whose value to use (the first verified, or the newest), if any. */
  readonly from?: string;
  readonly misses: readonly string[];
  readonly bad: readonly string[];
  readonly lost: readonly string[];
}

export type ReadAnswer = { kind: 'got'; rank: number } | { kind: 'missing' } | { kind: 'bad' } | { kind: 'lost' };

export type ReadEffect = { readonly type: 'ask'; readonly node: string; readonly attempt: number } | { readonly type: 'settle'; readonly outcome: ReadOutcome };

export interface ReadStep {
  readonly state: ReadState;
  readonly effects: readonly ReadEffect[];
}

const answeredReads = (s: ReadState) => s.got.length + s.misses.length + s.bad.length + s.lost.length;

function bestOf(s: ReadState): string | undefined {
  let b: { node: string; rank: number } | undefined;
  for (const g of s.got) if (!b || g.rank > b.rank) b = g;
  return b?.node;
}

export const readOutcome = (s: ReadState): ReadOutcome => {
  const from = bestOf(s);
  return { ...(from !== undefined ? { from } : {}), misses: s.misses, bad: s.bad, lost: s.lost };
};

function finishRead(s: ReadState, effects: ReadEffect[]): ReadStep {
  const state: ReadState = { ...s, phase: s.got.length > 0 ? 'found' : 'notFound' };
  effects.push({ type: 'settle', outcome: readOutcome(state) });
  return { state, effects };
}

/** 'first' mode: ask the next candidate, or finish when there is none. */
function askNext(s: ReadState, effects: ReadEffect[]): ReadStep {
  if (s.next >= s.candidates.length) return finishRead(s, effects);
  effects.push({ type: 'ask', node: s.candidates[s.next]!, attempt: 1 });
  return { state: { ...s, next: s.next + 1 }, effects };
}

export function startRead(input: ReadInput): ReadStep {
  const state: ReadState = { ...input, phase: input.mode === 'first' ? 'asking' : 'gathering', next: 0, attempts: {}, got: [], misses: [], bad: [], lost: [] };
  if (input.mode === 'first') return askNext(state, []);
  if (input.candidates.length === 0) return finishRead(state, []);
  return { state, effects: input.candidates.map((node) => ({ type: 'ask', node, attempt: 1 })) };
}

export function onReadAnswer(s: ReadState, node: string, answer: ReadAnswer): ReadStep {
  if (s.phase === 'found' || s.phase === 'notFound' || !s.candidates.includes(node)) return { state: s, effects: [] };
  if (s.got.some((g) => g.node === node) || s.misses.includes(node) || s.bad.includes(node) || s.lost.includes(node)) return { state: s, effects: [] };
  const effects: ReadEffect[] = [];
  let state: ReadState;
  switch (answer.kind) {
    case 'got':
      state = { ...s, got: [...s.got, { node, rank: answer.rank }] };
      break;
    case 'missing':
      state = { ...s, misses: [...s.misses, node] };
      break;
    case 'bad':
      state = { ...s, bad: [...s.bad, node] };
      break;
    case 'lost': {
      const attempt = (s.attempts[node] ?? 1) + 1;
      if (attempt <= s.attemptsMax) {
        effects.push({ type: 'ask', node, attempt });
        return { state: { ...s, attempts: { ...s.attempts, [node]: attempt } }, effects };
      }
      state = { ...s, lost: [...s.lost, node] };
    }
  }
  if (state.mode === 'first') return state.got.length > 0 ? finishRead(state, effects) : askNext(state, effects);
  return answeredReads(state) >= state.candidates.length ? finishRead(state, effects) : { state, effects };
}

// ---- invariants (tests run them after every step) ------------------------------------------------------

export function checkWrite(s: WriteState): string | undefined {
  const seen = [...s.acked, ...Object.keys(s.refused), ...s.lost];
  if (new Set(seen).size !== seen.length) return 'a replica counted twice';
  if (seen.some((n) => !s.targets.includes(n))) return 'an answer from a node that is not a target';
  if (Object.values(s.attempts).some((a) => a > s.attemptsMax)) return 'more attempts than attemptsMax';
  if (s.phase === 'committed' && s.acked.length < s.quorum) return 'committed without a quorum';
  if (s.phase === 'done' && (s.acked.length < s.quorum || pendingWrites(s) > 0)) return 'done before every replica answered';
  if (s.phase === 'failed' && s.acked.length + pendingWrites(s) >= s.quorum) return 'failed while a quorum was still possible';
  return undefined;
}

export function checkRead(s: ReadState): string | undefined {
  const seen = [...s.got.map((g) => g.node), ...s.misses, ...s.bad, ...s.lost];
  if (new Set(seen).size !== seen.length) return 'a candidate counted twice';
  if (Object.values(s.attempts).some((a) => a > s.attemptsMax)) return 'more attempts than attemptsMax';
  if (s.phase === 'found' && s.got.length === 0) return 'found without a verified value';
  if (s.mode === 'first' && s.next > s.candidates.length) return 'asked past the last candidate';
  return undefined;
}
