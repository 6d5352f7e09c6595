import { describe, expect, test } from 'vitest';
import { calendarModel, changesSince, NONE_MATCH, type CalendarOp, type CalendarState } from '../../../storage/calendar/calendarModel';
import { calendarIndexModel } from '../../../storage/calendar/calendarIndexModel';

const put = (name: string, etag: string, expect?: string): CalendarOp => ({ type: 'put', name, ref: `ref-${etag}`, etag, sizeOctets: 10, ...(expect ? { expect } : {}) });
const del = (name: string, expect?: string): CalendarOp => ({ type: 'delete', name, ...(expect ? { expect } : {}) });
const roundTrip = (s: CalendarState) => calendarModel.decodeState(calendarModel.encodeState(s));

describe('calendar log model', () => {
  test('a put creates, a second put updates, and each write advances the sync token', () => {
    const s = calendarModel.initial();
    expect(calendarModel.apply(s, put('a.ics', 'e1')).change).toMatchObject({ outcome: 'created' });
    expect(calendarModel.apply(s, put('a.ics', 'e2')).change).toMatchObject({ outcome: 'updated' });
    expect(s.highestModseq).toBe(2);
    expect(s.objects.get('a.ics')).toMatchObject({ etag: 'e2', modseq: 2 });
  });

  test('If-None-Match: * refuses an existing resource; If-Match refuses a stale ETag; neither changes anything', () => {
    const s = calendarModel.initial();
    calendarModel.apply(s, put('a.ics', 'e1'));
    expect(calendarModel.apply(s, put('a.ics', 'e2', NONE_MATCH))).toMatchObject({ effective: false, change: { outcome: 'precondition-failed' } });
    expect(calendarModel.apply(s, put('a.ics', 'e2', 'old'))).toMatchObject({ effective: false, change: { outcome: 'precondition-failed' } });
    expect(calendarModel.apply(s, del('a.ics', 'old'))).toMatchObject({ effective: false, change: { outcome: 'precondition-failed' } });
    expect(calendarModel.apply(s, put('a.ics', 'e2', 'e1')).change).toMatchObject({ outcome: 'updated' });
    expect(s.highestModseq).toBe(2);
  });

  test('a retried PUT of the same content succeeds without a change, whatever its precondition', () => {
    const s = calendarModel.initial();
    calendarModel.apply(s, put('a.ics', 'e1', NONE_MATCH));
    expect(calendarModel.apply(s, put('a.ics', 'e1', NONE_MATCH))).toMatchObject({ effective: false, change: { outcome: 'unchanged' } });
  });

  test('sync-collection: changes and deletions since a token; a recreated name is a change, not a deletion', () => {
    const s = calendarModel.initial();
    calendarModel.apply(s, put('a.ics', 'e1'));
    calendarModel.apply(s, put('b.ics', 'e1'));
    const token = s.highestModseq;
    calendarModel.apply(s, del('a.ics'));
    calendarModel.apply(s, put('c.ics', 'e3'));
    expect(changesSince(s, token)).toEqual({ changed: [expect.objectContaining({ name: 'c.ics' })], deleted: ['a.ics'] });
    calendarModel.apply(s, put('a.ics', 'e4'));
    expect(changesSince(s, token)!.deleted).toEqual([]);
    expect(changesSince(s, 0)!.changed.map((o) => o.name)).toEqual(['a.ics', 'b.ics', 'c.ics']);
    expect(changesSince(s, s.highestModseq + 1)).toBeUndefined();
  });

  test('revert undoes each effective change exactly (the writer lost its compare-and-swap)', () => {
    const s = calendarModel.initial();
    calendarModel.apply(s, put('a.ics', 'e1'));
    calendarModel.apply(s, del('b.ics'));
    const before = JSON.stringify(calendarModel.encodeState(s));
    const ops: CalendarOp[] = [put('a.ics', 'e2'), put('b.ics', 'e3'), del('a.ics'), put('a.ics', 'e5'), { type: 'props', props: { displayName: 'Work' } }];
    const changes = ops.map((op) => calendarModel.apply(s, op)).filter((a) => a.effective);
    for (const a of changes.reverse()) calendarModel.revert(s, a.change);
    expect(JSON.stringify(calendarModel.encodeState(s))).toBe(before);
  });

  test('state, operations and summary survive encoding; malformed input is refused', () => {
    const s = calendarModel.initial();
    calendarModel.apply(s, put('a.ics', 'e1'));
    calendarModel.apply(s, put('b.ics', 'e2'));
    calendarModel.apply(s, del('a.ics'));
    calendarModel.apply(s, { type: 'props', props: { displayName: 'Home', components: ['VEVENT'] } });
    expect(calendarModel.encodeState(roundTrip(s))).toEqual(calendarModel.encodeState(s));
    for (const op of [put('x', 'e', NONE_MATCH), del('x'), { type: 'props', props: { color: '#ff0000' } } as CalendarOp]) expect(calendarModel.decodeOp(calendarModel.encodeOp(op))).toEqual(op);
    expect(() => calendarModel.decodeOp(['put', 'a/b', 'r', 'e', 1, null])).toThrow(/path segment/);
    expect(() => calendarModel.decodeState([2])).toThrow();
    expect(calendarModel.decodeSummary(calendarModel.encodeSummary(calendarModel.summarize(s)))).toEqual({ highestModseq: 4, objects: 1 });
  });

  test('a fork\'s lost branch: resources only it wrote are carried into the winner', () => {
    const base = calendarModel.initial();
    calendarModel.apply(base, put('a.ics', 'e1'));
    const lost = roundTrip(base);
    const winner = roundTrip(base);
    calendarModel.apply(lost, put('b.ics', 'lost'));
    calendarModel.apply(winner, put('c.ics', 'won'));
    const ops = calendarModel.recover!(lost, winner);
    expect(ops).toEqual([expect.objectContaining({ name: 'b.ics', etag: 'lost' })]);
    for (const op of ops) calendarModel.apply(winner, op);
    expect([...winner.objects.keys()].sort()).toEqual(['a.ics', 'b.ics', 'c.ics']);
  });
});

describe('calendar index model', () => {
  test('create is keyed by name; delete needs the id it was created with', () => {
    const s = calendarIndexModel.initial();
    const id = 'ab'.repeat(16);
    expect(calendarIndexModel.apply(s, { type: 'create', slug: 'work', calendarId: id }).change.outcome).toBe('created');
    expect(calendarIndexModel.apply(s, { type: 'create', slug: 'work', calendarId: 'cd'.repeat(16) }).change.outcome).toBe('exists');
    expect(calendarIndexModel.apply(s, { type: 'delete', slug: 'work', calendarId: 'cd'.repeat(16) }).change.outcome).toBe('missing');
    expect(calendarIndexModel.decodeState(calendarIndexModel.encodeState(s))).toEqual(s);
    expect(calendarIndexModel.apply(s, { type: 'delete', slug: 'work', calendarId: id }).change.outcome).toBe('deleted');
  });
});
