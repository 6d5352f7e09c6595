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

export function runWrite(
  env: SessionEnv,
  opts: { targets: readonly string[]; quorum: number; attemptsMax: number },
  send: (node: string, attempt: number) => Promise<WriteAnswer>,
): Promise<WriteOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const machine = storageWriteMachine.provide({
      actions: {
        send: (_, p) => {
          void send(p.node, p.attempt).then((a) => {
            if (actor.getSnapshot().status !== 'active') return;
            if (a.kind === 'ack') actor.send({ type: 'ACK', node: p.node });
            else if (a.kind === 'refused') actor.send({ type: 'REFUSED', node: p.node, refusal: a.refusal });
            else actor.send({ type: 'LOST', node: p.node, code: a.code });
          });
        },
        settle: (_, outcome) => {
          if (!settled) (settled = true), resolve(outcome);
        },
      },
    });
    const actor = createActor(machine, { input: opts, clock: env.clock, inspect: env.inspect });
    actor.start();
    if (opts.targets.length === 0 && !settled) resolve({ ok: false, code: 'UNAVAILABLE', message: 'no replica is known for this id', refusals: {}, acked: [] });
  });
}

/** What one request to one replica produced, for a read: a verified value with its rank, or why not. */
export type ReadAnswer<T> = { kind: 'got'; value: T; rank: number } | { kind: 'missing' } | { kind: 'bad' } | { kind: 'lost' };

export function runRead<T>(
  env: SessionEnv,
  opts: { candidates: readonly string[]; mode: ReadMode; attemptsMax: number },
  ask: (node: string) => Promise<ReadAnswer<T>>,
): Promise<{ value?: T; outcome: ReadOutcome }> {
  const values = new Map<string, T>();
  return new Promise((resolve) => {
    const machine = storageReadMachine.provide({
      actions: {
        ask: (_, p) => {
          void ask(p.node).then((a) => {
            if (actor.getSnapshot().status !== 'active') return;
            if (a.kind === 'got') {
              values.set(p.node, a.value);
              actor.send({ type: 'GOT', node: p.node, rank: a.rank });
            } else if (a.kind === 'missing') actor.send({ type: 'MISSING', node: p.node });
            else if (a.kind === 'bad') actor.send({ type: 'BAD', node: p.node });
            else actor.send({ type: 'LOST', node: p.node });
          });
        },
        settle: (_, outcome) => resolve({ value: outcome.from ? values.get(outcome.from) : undefined, outcome }),
      },
    });
    const actor = createActor(machine, { input: opts, clock: env.clock, inspect: env.inspect });
    if (opts.candidates.length === 0) return resolve({ outcome: { misses: [], bad: [], lost: [] } });
    actor.start();
  });
}
