// The node's `logWriter` actor (DESIGN 7) and the registry of the logs this node has open. Each open
// log runs its own append protocol (storage/log/appendProtocol.ts, a pure transition function driven
// by its LogWriter handle); the registry lists them with their phases for /state and the dashboard.
import type { AnyActorRef } from 'xstate';
import type { Log } from '../../infra/ports';
import { logWriterMachine } from '../../machines/logWriter.machine';
import type { LogRegistry, OpenLogInfo } from '../../storage/log/logWriter';

export class LogWriterHost implements LogRegistry {
  private readonly open = new Set<{ info(): OpenLogInfo }>();

  constructor(private readonly log: Log) {}

  logic() {
    return logWriterMachine.provide({ actions: { childFailed: (_, p) => this.failed(p.id, p.error) } });
  }

  attach(_ref: AnyActorRef): void {}

  opened(log: { info(): OpenLogInfo }): void {
    this.open.add(log);
  }

  closed(log: { info(): OpenLogInfo }): void {
    this.open.delete(log);
  }

  /** Every open log of this node and its append protocol's phase. */
  openLogs(): OpenLogInfo[] {
    return [...this.open].map((l) => l.info());
  }

  private failed(id: string, error: unknown): void {
    this.log.error('log.actor.failed', { actor: id, error: String((error as Error)?.message ?? error) });
  }
}
