// The node's `logWriter` actor (DESIGN 7) and the registry of the logs this node has open. Each open
// log runs its own append protocol (storage/log/appendProtocol.ts, a pure transition function driven
// by its LogWriter handle); the registry lists them with their phases for /state and the dashboard.
// The actor is the unit of supervision for them: when the supervisor restarts it (a bug crashed it),
// every open log throws its in-memory state away and loads it again from storage, so nothing a bug
// did to memory outlives the restart; appends queued meanwhile are written after the reload.
import type { AnyActorRef } from 'xstate';
import type { Log } from '../../infra/ports';
import type { LogRegistry, OpenLogInfo, RegisteredLog } from '../../storage/log/logWriter';
import { serviceActor } from '../supervised';

export class LogWriterHost implements LogRegistry {
  private started = false;
  private readonly open = new Set<RegisteredLog>();

  constructor(private readonly log: Log) {}

  /** The actor's logic: the unit of restart (the append protocols run in each log's LogWriter handle). */
  logic() {
    return serviceActor();
  }

  /** The supervisor started the actor: a second start is a restart, and every open log is rebuilt. */
  attach(_ref: AnyActorRef): void {
    if (this.started) this.rebuildAll();
    this.started = true;
  }

  opened(log: RegisteredLog): void {
    this.open.add(log);
  }

  closed(log: RegisteredLog): void {
    this.open.delete(log);
  }

  /** Every open log of this node and its append protocol's phase. */
  openLogs(): OpenLogInfo[] {
    return [...this.open].map((l) => l.info());
  }

  private rebuildAll(): void {
    this.log.warn('log.rebuild', { logs: this.open.size });
    for (const log of this.open)
      log.rebuild().catch((e: Error) => this.log.error('log.rebuild.failed', { log: log.info().name, error: e.message }));
  }
}
