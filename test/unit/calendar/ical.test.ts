import { describe, expect, test } from 'vitest';
import { hasInstanceIn, parseCalendarResource, parseUtcDateTime } from '../../../dav/ical';

const NEW_YORK = [
  'BEGIN:VTIMEZONE', 'TZID:America/New_York',
  'BEGIN:DAYLIGHT', 'TZOFFSETFROM:-0500', 'TZOFFSETTO:-0400', 'TZNAME:EDT', 'DTSTART:19700308T020000', 'RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU', 'END:DAYLIGHT',
  'BEGIN:STANDARD', 'TZOFFSETFROM:-0400', 'TZOFFSETTO:-0500', 'TZNAME:EST', 'DTSTART:19701101T020000', 'RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU', 'END:STANDARD',
  'END:VTIMEZONE',
];
const calendar = (...lines: string[]) => ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:x', ...lines, 'END:VCALENDAR', ''].join('\r\n');
const range = (start: string, end: string) => ({ startMs: parseUtcDateTime(start)!, endMs: parseUtcDateTime(end)! });

describe('iCalendar through ical.js', () => {
  test('a daily 09:00 New York event is at 14:00 UTC in winter and 13:00 UTC in summer (its zone from the resource)', () => {
    const r = parseCalendarResource(calendar(...NEW_YORK, 'BEGIN:VEVENT', 'UID:d', 'DTSTAMP:20260101T000000Z', 'DTSTART;TZID=America/New_York:20260101T090000', 'DURATION:PT30M', 'RRULE:FREQ=DAILY', 'EXDATE;TZID=America/New_York:20260102T090000', 'END:VEVENT'));
    expect(hasInstanceIn(r, 'VEVENT', range('20260115T140000Z', '20260115T141000Z'))).toBe(true);
    expect(hasInstanceIn(r, 'VEVENT', range('20260115T130000Z', '20260115T135900Z'))).toBe(false);
    expect(hasInstanceIn(r, 'VEVENT', range('20260715T130000Z', '20260715T131000Z'))).toBe(true);
    expect(hasInstanceIn(r, 'VEVENT', range('20260102T000000Z', '20260103T000000Z'))).toBe(false);
  });

  test('an all-day event covers its whole day; an endless rule is bounded and still answers far ranges it reaches', () => {
    const day = parseCalendarResource(calendar('BEGIN:VEVENT', 'UID:a', 'DTSTAMP:20260101T000000Z', 'DTSTART;VALUE=DATE:20260210', 'END:VEVENT'));
    expect(hasInstanceIn(day, 'VEVENT', range('20260210T230000Z', '20260211T000000Z'))).toBe(true);
    expect(hasInstanceIn(day, 'VEVENT', range('20260211T000000Z', '20260212T000000Z'))).toBe(false);
    const endless = parseCalendarResource(calendar('BEGIN:VEVENT', 'UID:e', 'DTSTAMP:20260101T000000Z', 'DTSTART:20260101T120000Z', 'DTEND:20260101T130000Z', 'RRULE:FREQ=MONTHLY', 'END:VEVENT'));
    expect(hasInstanceIn(endless, 'VEVENT', range('20300101T000000Z', '20300102T000000Z'))).toBe(true);
    expect(hasInstanceIn(endless, 'VEVENT', range('20300102T000000Z', '20300131T000000Z'))).toBe(false);
  });

  test('what is not one calendar resource is refused with a reason', () => {
    expect(() => parseCalendarResource('hello')).toThrow(/not iCalendar/);
    expect(() => parseCalendarResource(calendar())).toThrow(/no component/);
    expect(() => parseCalendarResource(calendar('BEGIN:VEVENT', 'UID:a', 'END:VEVENT', 'BEGIN:VEVENT', 'UID:b', 'END:VEVENT'))).toThrow(/same UID/);
    expect(() => parseCalendarResource(calendar('BEGIN:VEVENT', 'UID:a', 'END:VEVENT', 'BEGIN:VTODO', 'UID:a', 'END:VTODO'))).toThrow(/one component type/);
  });
});
