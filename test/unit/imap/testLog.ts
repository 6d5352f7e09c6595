// A Log that keeps lines in memory (and prints errors), for asserting what the server logged.
import type { Log, LogFields, LogLevel } from '../../../infra/ports';

export interface LogLine {
  readonly level: LogLevel;
  readonly event: string;
  readonly fields: LogFields;
}

export function memoryLog(lines: LogLine[] = [], bindings: LogFields = {}): Log & { lines: LogLine[] } {
  const record = (level: LogLevel) => (event: string, fields: LogFields = {}) => {
    lines.push({ level, event, fields: { ...bindings, ...fields } });
    if (level === 'error') console.error(`[${level}] ${event}`, fields);
  };
  return {
    lines,
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
    child: (more) => memoryLog(lines, { ...bindings, ...more }),
  };
}
