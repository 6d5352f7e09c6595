// `post bench mail --phase smtp`: each accepted and visible cell carries its reach (the bare write
// published once, over the reference's rate), and a '>= 1.0x' goal above it says it is out of reach.
import { describe, expect, it } from 'vitest';
import { goalText, rate } from '../../../bench/mail';
import { smtpMatrixPhase, type SmtpMatrixResult } from '../../../bench/mail/smtpMatrix';

type Cell = SmtpMatrixResult['cells'][string];
const cell = (acceptedPerSecond: number, visiblePerSecond: number) => ({ acceptedPerSecond, visiblePerSecond, serverCpuMsPerOp: 1 }) as unknown as Cell;
const floorRun = (writesPerSecond: number) => ({ clients: 10, fanOut: true, valueBytes: 1, writes: 1, writesPerSecond, serverCpuMsPerWrite: 1, partsMsPerWrite: {} });

const post: SmtpMatrixResult = {
  sessions: 10,
  cells: { 'persistent 100 KiB': cell(193.5, 193.4), 'persistent 4 KiB': cell(443.1, 442.9) },
  floor: { '100 KiB': floorRun(558.1), '4 KiB': floorRun(2579.7) },
  fanOutFloor: { '100 KiB': floorRun(649.7), '4 KiB': floorRun(2593) },
};
const reference: SmtpMatrixResult = { sessions: 10, cells: { 'persistent 100 KiB': cell(696.5, 375.6), 'persistent 4 KiB': cell(1062.4, 410.6) } };

const row = (figure: string) => rate(smtpMatrixPhase.compare(post, reference).find((r) => r.figure === figure)!);

describe('mail bench, SMTP cells against the bare write', () => {
  it('says a goal is out of reach when the bare write alone is below the reference', () => {
    const accepted = row('SMTP persistent 100 KiB accepted msg/s');
    expect(accepted.reach).toBe(0.933);
    expect(goalText(accepted)).toBe('   goal >= 1.0x: not met (out of reach in this run: a bare write durable at k = 3 alone reaches 0.933x)');
  });

  it('says only "not met" when the bare write leaves room, and "met" when met', () => {
    const accepted = row('SMTP persistent 4 KiB accepted msg/s');
    expect(accepted.reach).toBe(2.441);
    expect(goalText(accepted)).toBe('   goal >= 1.0x: not met');
    expect(goalText(row('SMTP persistent 4 KiB visible msg/s'))).toBe('   goal >= 1.0x: met');
  });

  it('gives no reach without a floor (the reference has none)', () => {
    const rows = smtpMatrixPhase.compare({ ...post, fanOutFloor: undefined }, reference);
    expect(rows.filter((r) => r.reach !== undefined)).toEqual([]);
  });
});
