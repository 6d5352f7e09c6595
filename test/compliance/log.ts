// The Log port's contract, for the JSON-lines log and the in-memory log alike: every entry carries
// time, level and event, then the bindings and fields; levels below the threshold are dropped.
import { describe, expect, it } from 'vitest';
import type { Log, LogLevel } from '../../infra/ports';

export interface LogHarness {
  log: Log;
  /** What the log recorded, as parsed JSON objects. */
  entries(): Record<string, unknown>[];
}

export function logCompliance(label: string, make: (level: LogLevel) => LogHarness): void {
  describe(`Log compliance: ${label}`, () => {
    it('records time, level, event and fields', () => {
      const { log, entries } = make('debug');
      log.info('node.started', { node: 'abc', port: 4222 });
      const [entry] = entries();
      expect(entry).toMatchObject({ level: 'info', event: 'node.started', node: 'abc', port: 4222 });
      expect(typeof entry!.time).toBe('string');
      expect(Number.isNaN(Date.parse(entry!.time as string))).toBe(false);
    });

    it('drops entries below its level', () => {
      const { log, entries } = make('warn');
      log.debug('a');
      log.info('b');
      log.warn('c');
      log.error('d');
      expect(entries().map((e) => e.event)).toEqual(['c', 'd']);
    });

    it('child() adds bindings to every entry, nested children accumulate them', () => {
      const { log, entries } = make('debug');
      const child = log.child({ node: 'n1' }).child({ actor: 'router' });
      child.warn('route.failed', { key: 'k' });
      expect(entries()[0]).toMatchObject({ node: 'n1', actor: 'router', key: 'k', event: 'route.failed', level: 'warn' });
    });

    it('fields cannot overwrite time, level or event', () => {
      const { log, entries } = make('debug');
      log.child({ event: 'bound' }).error('real.event', { level: 'debug', time: 'never' });
      const [entry] = entries();
      expect(entry).toMatchObject({ event: 'real.event', level: 'error' });
      expect(entry!.time).not.toBe('never');
    });

    it('errors and bytes in fields stay readable', () => {
      const { log, entries } = make('debug');
      log.error('request.failed', { error: new Error('boom'), id: new Uint8Array([0xab, 0xcd]) });
      const [entry] = entries();
      expect(entry!.error).toMatchObject({ name: 'Error', message: 'boom' });
      expect(entry!.id).toBe('abcd');
    });
  });
}
