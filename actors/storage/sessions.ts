// Replicated write and read sessions bound to the network: the pure transition functions of
// storage/quorum.ts decide the order, retries and quorum; this file performs their `send` / `ask`
// effects and feeds the answers back. A session is a plain state value held by its closure while
// requests are in flight: nothing is spawned per request (issue 11: an actor per request cost more CPU
// than the request itself).
import {
  onReadAnswer,
  onWriteAnswer,
  type ReadAnswer as QuorumReadAnswer,
  type ReadEffect,
  type ReadMode,
  type ReadOutcome,
  type ReadState,
  startRead,
  startWrite,
  type WriteAnswer,
  type WriteEffect,
  type WriteOutcome,
  type WriteState,
} from '../../storage/quorum';

export type { WriteAnswer };

export function runWrite(
  opts: { targets: readonly string[]; quorum: number; attemptsMax: number },
  send: (node: string, attempt: number) => Promise<WriteAnswer>,
): Promise<WriteOutcome> {
  return new Promise((resolve) => {
    let state: WriteState;
    const perform = (effects: readonly WriteEffect[]): void => {
      for (const effect of effects) {
        if (effect.type === 'settle') resolve(effect.outcome);
        else
          void send(effect.node, effect.attempt).then((answer) => {
            const step = onWriteAnswer(state, effect.node, answer);
            state = step.state;
            perform(step.effects);
          });
      }
    };
    const first = startWrite(opts);
    state = first.state;
    perform(first.effects);
  });
}

/** What one request to one replica produced, for a read: a verified value with its rank, or why not. */
export type ReadAnswer<T> = { kind: 'got'; value: T; rank: number } | { kind: 'missing' } | { kind: 'bad' } | { kind: 'lost' };

export function runRead<T>(
  opts: { candidates: readonly string[]; mode: ReadMode; attemptsMax: number },
  ask: (node: string) => Promise<ReadAnswer<T>>,
): Promise<{ value?: T; outcome: ReadOutcome; all: T[] }> {
  const values = new Map<string, T>();
  return new Promise((resolve) => {
    let state: ReadState;
    const perform = (effects: readonly ReadEffect[]): void => {
      for (const effect of effects) {
        if (effect.type === 'settle') {
          const outcome = effect.outcome;
          resolve({ ...(outcome.from !== undefined ? { value: values.get(outcome.from) } : {}), outcome, all: [...values.values()] });
        } else
          void ask(effect.node).then((answer) => {
            let reported: QuorumReadAnswer;
            if (answer.kind === 'got') {
              values.set(effect.node, answer.value);
              reported = { kind: 'got', rank: answer.rank };
            } else reported = answer;
            const step = onReadAnswer(state, effect.node, reported);
            state = step.state;
            perform(step.effects);
          });
      }
    };
    const first = startRead(opts);
    state = first.state;
    perform(first.effects);
  });
}
