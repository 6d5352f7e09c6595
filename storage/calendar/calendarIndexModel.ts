// Which calendars a user has (the `calendars` log): a collection's path segment -> its log's id. A
// calendar recreated under the same name gets a new id, hence a new log and fresh sync tokens.
//   state   [1, [[slug, calendarId], ...] by slug]      summary [calendars]
import { CALENDAR_NAME_CHARS_MAX, CALENDARS_PER_USER_MAX } from '../../protocol/limits';
import type { Applied, LogModel } from '../log/logModel';

export const CALENDAR_INDEX_LOG_NAME = 'calendars';
export const calendarLogName = (calendarId: string): string => `calendar:${calendarId}`;

/**
 * A family of collections a user keeps with these two models: calendars, or address books (RFC 6352:
 * the same collections of resources with ETags and sync tokens, vCards instead of iCalendar). Each
 * family has its own index log and its own log names, so a calendar and an address book may share a name.
 */
export interface CollectionFamily {
  readonly indexLogName: string;
  readonly logName: (collectionId: string) => string;
}
export const CALENDAR_FAMILY: CollectionFamily = { indexLogName: CALENDAR_INDEX_LOG_NAME, logName: calendarLogName };
export const ADDRESS_BOOK_FAMILY: CollectionFamily = { indexLogName: 'addressbooks', logName: (id) => `addressbook:${id}` };

export type CalendarIndexState = Map<string, string>;
export type CalendarIndexOp = { readonly type: 'create' | 'delete'; readonly slug: string; readonly calendarId: string };
export interface CalendarIndexChange {
  readonly op: CalendarIndexOp;
  readonly outcome: 'created' | 'deleted' | 'exists' | 'missing' | 'full';
}

const bad = (what: string): never => {
  throw new Error(`calendar index: ${what}`);
};
const slugAt = (x: unknown): string => (typeof x === 'string' && x.length > 0 && x.length <= CALENDAR_NAME_CHARS_MAX && !x.includes('/') ? x : bad('a name is not a path segment'));
const idAt = (x: unknown): string => (typeof x === 'string' && /^[0-9a-f]{32}$/.test(x) ? x : bad('a calendar id is not 16 bytes of hex'));

function apply(state: CalendarIndexState, op: CalendarIndexOp): Applied<CalendarIndexChange> {
  const current = state.get(op.slug);
  if (op.type === 'create') {
    if (current !== undefined) return { effective: false, change: { op, outcome: 'exists' } };
    if (state.size >= CALENDARS_PER_USER_MAX) return { effective: false, change: { op, outcome: 'full' } };
    state.set(op.slug, op.calendarId);
    return { effective: true, change: { op, outcome: 'created' } };
  }
  if (current !== op.calendarId) return { effective: false, change: { op, outcome: 'missing' } };
  state.delete(op.slug);
  return { effective: true, change: { op, outcome: 'deleted' } };
}

function revert(state: CalendarIndexState, change: CalendarIndexChange): void {
  if (change.op.type === 'create') state.delete(change.op.slug);
  else state.set(change.op.slug, change.op.calendarId);
}

export const calendarIndexModel: LogModel<CalendarIndexState, CalendarIndexOp, CalendarIndexChange, { calendars: number }> = {
  kind: 'calendar-index',
  initial: () => new Map(),
  apply,
  revert,
  /** Calendars the lost branch created under a free name come back; a deletion on one side only does not stick (nothing is lost). */
  recover: (lost, winner) => [...lost].filter(([slug]) => !winner.has(slug)).map(([slug, calendarId]) => ({ type: 'create' as const, slug, calendarId })),
  summarize: (s) => ({ calendars: s.size }),
  encodeOp: (op) => [op.type, op.slug, op.calendarId],
  decodeOp(wire) {
    if (!Array.isArray(wire) || wire.length !== 3 || (wire[0] !== 'create' && wire[0] !== 'delete')) return bad('an operation is not [create|delete, slug, id]');
    return { type: wire[0], slug: slugAt(wire[1]), calendarId: idAt(wire[2]) };
  },
  encodeState: (s) => [1, [...s].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))],
  decodeState(wire) {
    if (!Array.isArray(wire) || wire.length !== 2 || wire[0] !== 1 || !Array.isArray(wire[1]) || wire[1].length > CALENDARS_PER_USER_MAX) return bad('unknown state format');
    const state: CalendarIndexState = new Map();
    for (const e of wire[1] as unknown[]) {
      if (!Array.isArray(e) || e.length !== 2) bad('an entry is not [slug, id]');
      state.set(slugAt((e as unknown[])[0]), idAt((e as unknown[])[1]));
    }
    return state;
  },
  encodeSummary: (s) => [s.calendars],
  decodeSummary(wire) {
    if (!Array.isArray(wire) || wire.length !== 1 || !Number.isSafeInteger(wire[0])) return bad('summary is not one counter');
    return { calendars: wire[0] as number };
  },
};
