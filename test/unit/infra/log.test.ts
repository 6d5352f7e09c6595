// Both logs pass the Log contract; the memory log also keeps only its last entries.
import { describe, expect, it } from 'vitest';
import { JsonLog, MemoryLog, silentLog } from '../../../infra/log';
import { SimClock, SIM_EPOCH_MS } from '../../../infra/sim/clock';
import { logCompliance } from '../../compliance/log';

logCompliance('JSON lines', (level) => {
  const lines: string[] = [];
  const log = new JsonLog({ write: (line) => lines.push(line) }, { level });
  return {
    log,
    entries: () => lines.map((line) => {
      expect(line.endsWith('\n')).toBe(true);
      return JSON.parse(line) as Record<string, unknown>;
    }),
  };
});

logCompliance('memory', (level) => {
  const log = new MemoryLog({ level });
  return { log, entries: () => log.dump().split('\n').filter(Boolean).map((line) => JSON.parse(line)) };
});

describe('MemoryLog', () => {
  it('keeps the last `capacity` entries, shared with its children, and says how many it dropped', () => {
    const log = new MemoryLog({ capacity: 3 });
    const child = log.child({ node: 'n' });
    for (let i = 0; i < 5; i++) (i % 2 ? child : log).info(`e${i}`);
    expect(log.entries().map((e) => e.event)).toEqual(['e2', 'e3', 'e4']);
    expect(log.dump().split('\n')[0]).toBe('(2 earlier entries overwritten)');
    log.clear();
    expect(log.entries()).toEqual([]);
  });

  it('stamps entries with the time of the clock it is given', () => {
    const log = new MemoryLog({ clock: new SimClock() });
    log.info('x');
    expect(log.entries()[0]!.time).toBe(new Date(SIM_EPOCH_MS).toISOString());
  });
});

describe('silentLog', () => {
  it('accepts everything and records nothing', () => {
    expect(() => silentLog.child({ a: 1 }).error('x', { y: 2 })).not.toThrow();
  });
});
