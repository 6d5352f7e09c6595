// iCalendar through ical.js (issue 16: a maintained parser, never our own): checking what a client
// PUTs, and whether a resource has a component in a time range (calendar-query, RFC 4791 9.9), with
// recurrence expanded by ical.js, exceptions (RECURRENCE-ID overrides) applied, and the expansion
// bounded (CALDAV_RECURRENCE_EXPANSION_MAX). Times without a zone (floating) are taken as UTC.
import ICAL from 'ical.js';
import { CALDAV_RECURRENCE_EXPANSION_MAX } from '../protocol/limits';

export interface CalendarResource {
  /** The component types inside VCALENDAR (VEVENT, VTODO, ...), time zones aside. */
  readonly components: readonly string[];
  readonly uid: string;
  readonly root: ICAL.Component;
}

export class ICalendarError extends Error {}

/** A resource as RFC 4791 4.1 wants it: one VCALENDAR, components of one type sharing one UID. */
export function parseCalendarResource(text: string): CalendarResource {
  let root: ICAL.Component;
  try {
    root = new ICAL.Component(ICAL.parse(text) as unknown[]);
  } catch (e) {
    throw new ICalendarError(`not iCalendar: ${(e as Error).message}`);
  }
  if (root.name !== 'vcalendar') throw new ICalendarError('the resource is not one VCALENDAR');
  const items = root.getAllSubcomponents().filter((c) => c.name !== 'vtimezone');
  if (items.length === 0) throw new ICalendarError('the VCALENDAR holds no component');
  const types = [...new Set(items.map((c) => c.name.toUpperCase()))];
  if (types.length !== 1) throw new ICalendarError(`one resource holds one component type, not ${types.join(', ')}`);
  const uids = new Set(items.map((c) => c.getFirstPropertyValue('uid')));
  const uid = [...uids][0];
  if (uids.size !== 1 || typeof uid !== 'string' || uid === '') throw new ICalendarError('every component of a resource needs the same UID');
  return { components: types, uid, root };
}

export interface TimeRange {
  readonly startMs?: number;
  readonly endMs?: number;
}

/** `20060104T000000Z` (RFC 4791 9.9: UTC date-time) to milliseconds. */
export function parseUtcDateTime(s: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : undefined;
}

const ms = (t: ICAL.Time): number => t.toUnixTime() * 1000;

/** RFC 4791 9.9: an instance [start, end) overlaps the range; an instant (end = start) must lie within it. */
function overlaps(startMs: number, endMs: number, range: TimeRange): boolean {
  const from = range.startMs ?? -Infinity;
  const to = range.endMs ?? Infinity;
  if (endMs === startMs) return startMs >= from && startMs < to;
  return startMs < to && endMs > from;
}

function registerZones(root: ICAL.Component): void {
  for (const tz of root.getAllSubcomponents('vtimezone')) {
    const id = tz.getFirstPropertyValue('tzid');
    if (typeof id === 'string' && !ICAL.TimezoneService.has(id)) ICAL.TimezoneService.register(tz);
  }
}

/** Whether some instance of a `type` component (VEVENT, VTODO) of the resource overlaps `range`. */
export function hasInstanceIn(resource: CalendarResource, type: string, range: TimeRange): boolean {
  return !instancesIn(resource, type, range).next().done;
}

export interface Instance {
  readonly startMs: number;
  readonly endMs: number;
  /** The component this instance takes its properties from (the master, or the override of that instance). */
  readonly component: ICAL.Component;
}

/**
 * The instances of the resource's `type` components that overlap `range`, recurrence expanded (at
 * most CALDAV_RECURRENCE_EXPANSION_MAX occurrences per master) with overrides applied.
 */
export function* instancesIn(resource: CalendarResource, type: string, range: TimeRange): Generator<Instance> {
  registerZones(resource.root);
  const all = resource.root.getAllSubcomponents(type.toLowerCase());
  const masters = all.filter((c) => !c.hasProperty('recurrence-id'));
  const exceptions = all.filter((c) => c.hasProperty('recurrence-id'));
  // Overrides without their master (an invitation to one instance) are instances of their own.
  if (masters.length === 0) {
    for (const c of exceptions) {
      const span = componentSpan(c);
      if (!span || overlaps(span.startMs, span.endMs, range)) yield { ...(span ?? { startMs: range.startMs ?? 0, endMs: range.endMs ?? 0 }), component: c };
    }
    return;
  }
  for (const master of masters) {
    if (type.toLowerCase() !== 'vevent') {
      const span = componentSpan(master);
      if (!span || overlaps(span.startMs, span.endMs, range)) yield { ...(span ?? { startMs: range.startMs ?? 0, endMs: range.endMs ?? 0 }), component: master };
      continue;
    }
    const event = new ICAL.Event(master, { exceptions, strictExceptions: false });
    if (!event.isRecurring()) {
      if (overlaps(ms(event.startDate), ms(event.endDate), range)) yield { startMs: ms(event.startDate), endMs: ms(event.endDate), component: master };
      continue;
    }
    const it = event.iterator();
    for (let n = 0, next = it.next(); next && n < CALDAV_RECURRENCE_EXPANSION_MAX; n++, next = it.next()) {
      const o = event.getOccurrenceDetails(next);
      const startMs = ms(o.startDate);
      if (range.endMs !== undefined && startMs >= range.endMs && ms(next) >= range.endMs) break;
      if (overlaps(startMs, ms(o.endDate), range)) yield { startMs, endMs: ms(o.endDate), component: o.item.component };
    }
  }
}

/** A component's DTSTART to DTEND/DUE (or DTSTART plus DURATION, or a whole day for a date); undefined without DTSTART. */
function componentSpan(c: ICAL.Component): { startMs: number; endMs: number } | undefined {
  const start = c.getFirstPropertyValue('dtstart');
  if (!(start instanceof ICAL.Time)) return undefined;
  const end = c.getFirstPropertyValue('dtend') ?? c.getFirstPropertyValue('due');
  const duration = c.getFirstPropertyValue('duration');
  const endMs = end instanceof ICAL.Time ? ms(end) : duration instanceof ICAL.Duration ? ms(start) + duration.toSeconds() * 1000 : start.isDate ? ms(start) + 86_400_000 : ms(start);
  return { startMs: ms(start), endMs };
}
