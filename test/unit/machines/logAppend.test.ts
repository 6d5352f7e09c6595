// The logAppend machine with scripted effects: a batch per KICK, retries after a lost compare-and-swap
// (catch up, back off, write again) up to LOG_CAS_ATTEMPTS_MAX, then LOG_CONTENTION; errors fail the
// batch; the next batch starts when the last one ended. And the log writer under a node-like parent:
// its actor is a child there, a batch survives the parent's restart, close() releases the actor.
import { describe, expect, test } from 'vitest';
import { type AnyActorRef, createActor } from 'xstate';
import { spawnIn } from '../../../machines/host';
import { logAppendLogic } from '../../../machines/logAppend.machine';
import { userLogsMachine } from '../../../machines/userLogs.machine';
import { LOG_CAS_ATTEMPTS_MAX } from '../../../protocol/limits';
import type { AppendEffects, LogActors, RoundOutcome } from '../../../storage/log/logWriter';
import { MemoryStorage } from '../../../storage/memoryStorage';
import { openFolderLog } from '../../../storage/folders/folderLogs';
import { depsFor, insertFor, testOwner } from '../log/logFixtures';

const settle = () => new Promise((r) => setTimeout(r, 5));

function scripted(rounds: (RoundOutcome | Error)[]) {
  const calls: string[] = [];
  const effects: AppendEffects = {
    writeRound: async () => {
      const next = rounds.shift() ?? 'stored';
      calls.push(`write:${next instanceof Error ? 'error' : next}`);
      if (next instanceof Error) throw next;
      return next;
    },
    catchUp: async () => void calls.push('catchUp'),
    backoff: async (attempt) => void calls.push(`backoff:${attempt}`),
    takeBatch: () => void calls.push('take'),
    batchEnded: () => void calls.push('ended'),
    failBatch: (error, attempts) => void calls.push(`fail:${attempts ?? (error as Error).message}`),
  };
  const actor = createActor(logAppendLogic(effects)).start();
  return { actor, calls };
}

describe('logAppend machine', () => {
  test('a stored round ends the batch', async () => {
    const { actor, calls } = scripted(['stored']);
    actor.send({ type: 'KICK' });
    await settle();
    expect(calls).toEqual(['ended', 'take', 'write:stored', 'ended']);
    expect(actor.getSnapshot().value).toBe('idle');
    expect(actor.getSnapshot().context.counts).toEqual({ batches: 1, headsWritten: 1, casLost: 0, failed: 0 });
  });

  test('a lost round catches up, backs off and writes the same batch again', async () => {
    const { actor, calls } = scripted(['lost', 'lost', 'stored']);
    actor.send({ type: 'KICK' });
    actor.send({ type: 'KICK' }); // ignored while writing
    await settle();
    expect(calls).toEqual(['ended', 'take', 'write:lost', 'catchUp', 'backoff:1', 'write:lost', 'catchUp', 'backoff:2', 'write:stored', 'ended']);
    expect(actor.getSnapshot().context.counts).toMatchObject({ batches: 1, headsWritten: 1, casLost: 2 });
  });

  test(`after ${LOG_CAS_ATTEMPTS_MAX} lost rounds the batch fails with the count`, async () => {
    const { actor, calls } = scripted(Array.from({ length: LOG_CAS_ATTEMPTS_MAX }, () => 'lost' as const));
    actor.send({ type: 'KICK' });
    await settle();
    expect(calls.filter((c) => c.startsWith('write')).length).toBe(LOG_CAS_ATTEMPTS_MAX);
    expect(calls.at(-2)).toBe(`fail:${LOG_CAS_ATTEMPTS_MAX}`);
    expect(actor.getSnapshot().value).toBe('idle');
    expect(actor.getSnapshot().context.counts.failed).toBe(1);
  });

  test('an error fails the batch and the next KICK starts a fresh one', async () => {
    const { actor, calls } = scripted([new Error('disk on fire'), 'stored']);
    actor.send({ type: 'KICK' });
    await settle();
    actor.send({ type: 'KICK' });
    await settle();
    expect(calls).toEqual(['ended', 'take', 'write:error', 'fail:disk on fire', 'ended', 'take', 'write:stored', 'ended']);
    expect(actor.getSnapshot().context).toMatchObject({ attempt: 1, counts: { batches: 2, headsWritten: 1, failed: 1 } });
  });
});

describe('log writer actors under a parent', () => {
  function parent() {
    let user = createActor(userLogsMachine).start();
    const actors: LogActors = {
      start: (id, effects) => spawnIn(user, id, logAppendLogic(effects))!,
      release: (ref) => user.send({ type: 'RELEASE', id: ref.id }),
    };
    const restart = () => {
      user.stop();
      user = createActor(userLogsMachine).start();
    };
    return { actors, restart, children: () => Object.keys(user.getSnapshot().children), child: (id: string) => (user.getSnapshot().children as Record<string, AnyActorRef>)[id] };
  }

  test('the log actor is a child of its parent; a batch in flight when the parent restarts is still written', async () => {
    const p = parent();
    const owner = await testOwner(1);
    const storage = new MemoryStorage();
    const log = await openFolderLog(depsFor(storage, owner, 'x', { actors: p.actors }), owner, 'f1');
    await log.append([insertFor(1)]);
    await settle(); // callers are answered inside the round, just before the actor hears it ended
    const id = `log:${log.address.name}`;
    expect(p.children()).toEqual([id]);
    expect(p.child(id)!.getSnapshot().value).toBe('idle');

    // Another device moves the head on, so our next round loses the compare-and-swap; the parent
    // restarts while that round runs: the batch is carried over to a new actor and written.
    const other = await openFolderLog(depsFor(storage, owner, 'other'), owner, 'f1');
    await other.append([insertFor(2)]);
    const pending = log.append([insertFor(3)]);
    p.restart();
    await pending;
    expect(log.seq).toBe(3);
    expect(log.stats.casLost).toBeGreaterThan(0);
    await settle();
    expect(p.children()).toEqual([id]); // the new actor, under the new parent

    const reader = await openFolderLog(depsFor(storage, owner, 'y'), owner, 'f1');
    expect(await reader.read((s) => s.messages.size)).toBe(3);

    await settle();
    log.close();
    expect(p.children()).toEqual([]);
    await log.append([insertFor(4)]); // a closed handle still works, on a new actor
    expect(log.seq).toBe(4);
  });
});
