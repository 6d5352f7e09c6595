// Structured logs: one JSON object per line, {time, level, event, ...bindings, ...fields}.
// JsonLog writes lines to a stream (stderr for a node process); MemoryLog keeps the last lines of a
// simulation in memory, to print only when a run fails; silentLog drops everything.
import { wallClock } from './clock';
import type { Clock, Log, LogFields, LogLevel } from './ports';

export interface LogEntry {
  time: string;
  level: LogLevel;
  event: string;
  [field: string]: unknown;
}

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Bytes of a binary field shown in a log line; ids are 32 bytes, payloads are not worth more. */
const LOGGED_BYTES_MAX = 64;

/** JSON.stringify replacer: errors, binary and bigints become readable values instead of {}. */
function readable(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const { name, message, stack } = value;
    const code = (value as { code?: unknown }).code;
    const cause = (value as { cause?: unknown }).cause;
    return { name, message, ...(code !== undefined && { code }), ...(cause !== undefined && { cause }), stack };
  }
  if (value instanceof Uint8Array) {
    const hex = Buffer.from(value.subarray(0, LOGGED_BYTES_MAX)).toString('hex');
    return value.length > LOGGED_BYTES_MAX ? `${hex}...(${value.length} bytes)` : hex;
  }
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/** Serialises one entry; never throws (a log call must not break the caller). */
export function formatEntry(entry: LogEntry): string {
  try {
    return JSON.stringify(entry, readable);
  } catch (error) {
    return JSON.stringify({ time: entry.time, level: entry.level, event: entry.event, logError: String(error) });
  }
}

/** The shared shape of the leveled loggers: level filter, bindings, child(). */
abstract class LeveledLog implements Log {
  private readonly minRank: number;

  constructor(
    protected readonly level: LogLevel,
    protected readonly clock: Clock,
    protected readonly bindings: LogFields,
  ) {
    this.minRank = LEVEL_RANK[level];
  }

  protected abstract write(entry: LogEntry): void;
  protected abstract withBindings(bindings: LogFields): Log;

  debug(event: string, fields?: LogFields): void {
    this.emit('debug', event, fields);
  }
  info(event: string, fields?: LogFields): void {
    this.emit('info', event, fields);
  }
  warn(event: string, fields?: LogFields): void {
    this.emit('warn', event, fields);
  }
  error(event: string, fields?: LogFields): void {
    this.emit('error', event, fields);
  }

  child(bindings: LogFields): Log {
    return this.withBindings({ ...this.bindings, ...bindings });
  }

  private emit(level: LogLevel, event: string, fields: LogFields | undefined): void {
    if (LEVEL_RANK[level] < this.minRank) return;
    const time = new Date(this.clock.now()).toISOString();
    const entry: LogEntry = { time, level, event };
    Object.assign(entry, this.bindings, fields);
    // Bindings and fields may not overwrite the three keys every reader relies on.
    entry.time = time;
    entry.level = level;
    entry.event = event;
    this.write(entry);
  }
}

export interface LogOptions {
  /** Lines below this level are dropped (default info). */
  level?: LogLevel;
  /** Time source for `time` (default the wall clock; the simulator passes its SimClock). */
  clock?: Clock;
  bindings?: LogFields;
}

export interface LineSink {
  write(line: string): unknown;
}

export class JsonLog extends LeveledLog {
  constructor(
    private readonly out: LineSink,
    opts: LogOptions = {},
  ) {
    super(opts.level ?? 'info', opts.clock ?? wallClock, opts.bindings ?? {});
  }

  protected write(entry: LogEntry): void {
    this.out.write(formatEntry(entry) + '\n');
  }

  protected withBindings(bindings: LogFields): Log {
    return new JsonLog(this.out, { level: this.level, clock: this.clock, bindings });
  }
}

/** Fixed-capacity ring of entries shared by a MemoryLog and its children. */
class EntryRing {
  private readonly entries: LogEntry[] = [];
  private next = 0;
  /** Entries dropped because the ring was full. */
  overwritten = 0;

  constructor(readonly capacity: number) {}

  push(entry: LogEntry): void {
    if (this.entries.length < this.capacity) {
      this.entries.push(entry);
      return;
    }
    this.entries[this.next] = entry;
    this.next = (this.next + 1) % this.capacity;
    this.overwritten++;
  }

  list(): LogEntry[] {
    return [...this.entries.slice(this.next), ...this.entries.slice(0, this.next)];
  }

  clear(): void {
    this.entries.length = 0;
    this.next = 0;
    this.overwritten = 0;
  }
}

export interface MemoryLogOptions extends LogOptions {
  /** Entries kept; older ones are overwritten (default 10,000). */
  capacity?: number;
}

export class MemoryLog extends LeveledLog {
  private readonly ring: EntryRing;

  /** `shared` is internal: a child writes into its parent's ring. */
  constructor(opts: MemoryLogOptions = {}, shared?: EntryRing) {
    super(opts.level ?? 'info', opts.clock ?? wallClock, opts.bindings ?? {});
    this.ring = shared ?? new EntryRing(opts.capacity ?? 10_000);
  }

  /** The kept entries, oldest first. */
  entries(): LogEntry[] {
    return this.ring.list();
  }

  /** The kept entries as JSON lines, oldest first (print this when a simulated run fails). */
  dump(): string {
    const lines = this.ring.list().map(formatEntry);
    if (this.ring.overwritten > 0) lines.unshift(`(${this.ring.overwritten} earlier entries overwritten)`);
    return lines.join('\n');
  }

  clear(): void {
    this.ring.clear();
  }

  protected write(entry: LogEntry): void {
    // Kept as objects and serialised only by dump(): a simulation logs far more than it ever prints.
    this.ring.push(entry);
  }

  protected withBindings(bindings: LogFields): Log {
    return new MemoryLog({ level: this.level, clock: this.clock, bindings }, this.ring);
  }
}

const silent: Log = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silent,
};

/** A log that drops everything (tests, benchmarks). */
export const silentLog: Log = silent;
