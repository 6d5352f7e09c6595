// The node's `logWriter` actor (DESIGN 7): one `user:<address>` child per user whose logs this node
// writes, each the parent of that user's `log:<name>` actors (the append queue and compare-and-swap
// retries of one open log; storage/log/logWriter.ts). The log handles spawn their actors lazily, so
// after the supervisor restarts the logWriter each log's next append starts a new actor, and a batch
// that was being written when its actor stopped is carried over to the new one.
import type { AnyActorRef } from 'xstate';
import type { Log } from '../../infra/ports';
import { childOf, spawnIn } from '../../machines/host';
import { logAppendLogic, standaloneLogActors } from '../../machines/logAppend.machine';
import { logWriterMachine } from '../../machines/logWriter.machine';
import { userLogsMachine } from '../../machines/userLogs.machine';
import type { AppendEffects, LogActors } from '../../storage/log/logWriter';

export class LogWriterHost {
  private ref: AnyActorRef | undefined;
  /** Log actors started on their own (no logWriter to live under): this host stops them itself. */
  private readonly roots = new WeakSet<AnyActorRef>();

  constructor(private readonly log: Log) {}

  logic() {
    return logWriterMachine.provide({ actions: { childFailed: (_, p) => this.failed(p.id, p.error) } });
  }

  attach(ref: AnyActorRef): void {
    this.ref = ref;
  }

  /** Where the actors of `address`'s logs live. */
  actorsFor(address: string): LogActors {
    return {
      start: (base, effects) => {
        const user = this.userActor(address);
        // The node is stopping (no logWriter to live under): the log still works, on an actor of its own.
        if (!user) return this.root(base, effects);
        // Two handles on one log (rare: a mailbox and an application) get distinct actors.
        let id = base;
        for (let n = 2; childOf(user, id)?.getSnapshot().status === 'active'; n++) id = `${base}#${n}`;
        return spawnIn(user, id, logAppendLogic(effects)) ?? this.root(base, effects);
      },
      release: (ref) => {
        const user = this.existingUserActor(address);
        if (user && childOf(user, ref.id) === ref) user.send({ type: 'RELEASE', id: ref.id });
        else if (this.roots.has(ref)) standaloneLogActors.release(ref);
        // Otherwise it stopped with its parent already.
      },
    };
  }

  private root(id: string, effects: AppendEffects): AnyActorRef {
    const ref = standaloneLogActors.start(id, effects);
    this.roots.add(ref);
    return ref;
  }

  private existingUserActor(address: string): AnyActorRef | undefined {
    const existing = childOf(this.ref, userChildId(address));
    return existing?.getSnapshot().status === 'active' ? existing : undefined;
  }

  private userActor(address: string): AnyActorRef | undefined {
    const id = userChildId(address);
    return this.existingUserActor(address) ?? spawnIn(this.ref, id, userLogsMachine.provide({ actions: { childFailed: (_, p) => this.failed(`${id}/${p.id}`, p.error) } }));
  }

  private failed(id: string, error: unknown): void {
    this.log.error('log.actor.failed', { actor: id, error: String((error as Error)?.message ?? error) });
  }
}

const userChildId = (address: string) => `user:${address.toLowerCase()}`;
