// Write and read sessions: one short-lived XState actor per replicated write or read (DESIGN 7:
// "one child per insert, lookup and repair session"), bound here to the network. The machines decide
// the order and the quorum; this file performs their `send` / `ask` effects and feeds answers back.
import { createActor, type InspectionEvent } from 'xstate';
import type { Clock } from '../../infra/ports';
import { storageReadMachine, type ReadMode, type ReadOutcome } from '../../machines/storageRead.machine';
import { storageWriteMachine, type WriteOutcome, type WriteRefusal } from '../../machines/storageWrite.machine';

export interface SessionEnv {
  readonly clock: Clock;
  readonly inspect?: (e: InspectionEvent) => void;
}

/** What one request to one replica produced, for a write. */
export type WriteAnswer = { kind: 'ack' } | { kind: 'refused'; refusal: WriteRefusal } | { kind: 'lost'; code: string };

// The machines are provided once: building a machine (its state nodes) per session cost as much as
// running it. Each session's actions reach their own callbacks through the actor they run in.
interface WriteCallbacks {
  send(node: string, attempt: number): void;
  settle(outcome: WriteOutcome): void;
}
const writeCallbacks = new WeakMap<object, WriteCallbacks>();
const writeLogic = storageWriteMachine.provide({
  actions: {
    send: ({ self }, p) => writeCallbacks.get(self)?.send(p.node, p.attempt),
    settle: ({ self }, outcome) => writeCallbacks.get(self)?.settle(outcome),
  },
});

export function runWrite(
  env: SessionEnv,
  opts: { targets: readonly string[]; quorum: number; attemptsMax: number },
  send: (node: string, attempt: number) => Promise<WriteAnswer>,
): Promise<WriteOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const actor = createActor(writeLogic, { input: opts, clock: env.clock, inspect: env.inspect });
    writeCallbacks.set(actor, {
      send: (node, attempt) => {
        void send(node, attempt).then((a) => {
          if (actor.getSnapshot().status !== 'active') return;
          if (a.kind === 'ack') actor.send({ type: 'ACK', node });
          else if (a.kind === 'refused') actor.send({ type: 'REFUSED', node, refusal: a.refusal });
          else actor.send({ type: 'LOST', node, code: a.code });
        });
      },
      settle: (outcome) => {
        if (!settled) (settled = true), resolve(outcome);
      },
    });
    actor.start();
    if (opts.targets.length === 0 && !settled) resolve({ ok: false, code: 'UNAVAILABLE', message: 'no replica is known for this id', refusals: {}, acked: [] });
  });
}

/** What one request to one replica produced, for a read: a verified value with its rank, or why not. */
export type ReadAnswer<T> = { kind: 'got'; value: T; rank: number } | { kind: 'missing' } | { kind: 'bad' } | { kind: 'lost' };

interface ReadCallbacks {
  ask(node: string): void;
  settle(outcome: ReadOutcome): void;
}
const readCallbacks = new WeakMap<object, ReadCallbacks>();
const readLogic = storageReadMachine.provide({
  actions: {
    ask: ({ self }, p) => readCallbacks.get(self)?.ask(p.node),
    settle: ({ self }, outcome) => readCallbacks.get(self)?.settle(outcome),
  },
});

export function runRead<T>(
  env: SessionEnv,
  opts: { candidates: readonly string[]; mode: ReadMode; attemptsMax: number },
  ask: (node: string) => Promise<ReadAnswer<T>>,
): Promise<{ value?: T; outcome: ReadOutcome }> {
  const values = new Map<string, T>();
  return new Promise((resolve) => {
    if (opts.candidates.length === 0) return resolve({ outcome: { misses: [], bad: [], lost: [] } });
    const actor = createActor(readLogic, { input: opts, clock: env.clock, inspect: env.inspect });
    readCallbacks.set(actor, {
      ask: (node) => {
        void ask(node).then((a) => {
          if (actor.getSnapshot().status !== 'active') return;
          if (a.kind === 'got') {
            values.set(node, a.value);
            actor.send({ type: 'GOT', node, rank: a.rank });
          } else if (a.kind === 'missing') actor.send({ type: 'MISSING', node });
          else if (a.kind === 'bad') actor.send({ type: 'BAD', node });
          else actor.send({ type: 'LOST', node });
        });
      },
      settle: (outcome) => resolve({ value: outcome.from ? values.get(outcome.from) : undefined, outcome }),
    });
    actor.start();
  });
}
