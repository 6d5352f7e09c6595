// Refused frames and requests, as an operator sees them: each is counted in /metrics, and logged at
// most once per reason per gap, with how many more were refused since the last line, so that a flood
// of forgeries neither goes unnoticed nor floods the log.
import type { Clock, Log, LogFields } from '../infra/ports';
import type { Metrics } from './metrics';

export class Refusals {
  private readonly lastLine = new Map<string, { atMs: number; quiet: number }>();

  constructor(
    private readonly deps: { log: Log; clock: Clock; metrics: Metrics; gapMs: number },
    private readonly metric: { name: string; help: string; event: string },
  ) {}

  note(reason: string, fields: LogFields): void {
    this.deps.metrics.inc(this.metric.name, this.metric.help, { reason });
    const now = this.deps.clock.now();
    const last = this.lastLine.get(reason);
    if (last && now - last.atMs < this.deps.gapMs) {
      last.quiet++;
      return;
    }
    this.deps.log.warn(this.metric.event, { reason, ...fields, ...(last?.quiet ? { alsoSinceLastLine: last.quiet } : {}) });
    this.lastLine.set(reason, { atMs: now, quiet: 0 });
  }
}
