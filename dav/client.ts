// What a CalDAV client sends and reads, pure: a one-event iCalendar object, the REPORT bodies a syncing client sends (calendar-query
// over a time range, sync-collection, calendar-multiget) and the parse of a 207 multistatus answer
// (hrefs, statuses, ETags, calendar data, the sync token). The calendar benchmark's client and the
// calendar scenario's devices use it, against POST and against Radicale alike.
import { child, escapeXml, NS, parseXml, type XmlElement } from './xml';

const PROLOGUE = '<?xml version="1.0" encoding="utf-8"?>';

/** An iCalendar UTC date-time: 20270104T000000Z. */
export const icalUtc = (ms: number): string => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');

/** A one-event calendar object, as a client PUTs it. */
export function eventIcs(e: { uid: string; summary: string; startMs: number; endMs: number; stampMs: number; prodId: string }): string {
  const lines = ['BEGIN:VCALENDAR', 'VERSION:2.0', `PRODID:${e.prodId}`, 'BEGIN:VEVENT', `UID:${e.uid}`, `DTSTAMP:${icalUtc(e.stampMs)}`];
  return [...lines, `DTSTART:${icalUtc(e.startMs)}`, `DTEND:${icalUtc(e.endMs)}`, `SUMMARY:${e.summary}`, 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
}

/** calendar-query over [start, end) (iCalendar UTC times), asking for ETags and data. */
export const calendarQueryBody = (start: string, end: string): string =>
  `${PROLOGUE}<c:calendar-query xmlns:d="DAV:" xmlns:c="${NS.caldav}"><d:prop><d:getetag/><c:calendar-data/></d:prop>` +
  `<c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"><c:time-range start="${start}" end="${end}"/></c:comp-filter></c:comp-filter></c:filter></c:calendar-query>`;

/** sync-collection from `token` ('' for the initial sync), ETags only, as a syncing client asks first. */
export const syncCollectionBody = (token: string): string =>
  `${PROLOGUE}<d:sync-collection xmlns:d="DAV:"><d:sync-token>${escapeXml(token)}</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>`;

/** calendar-multiget of `hrefs`, with data. */
export const multigetBody = (hrefs: readonly string[]): string =>
  `${PROLOGUE}<c:calendar-multiget xmlns:d="DAV:" xmlns:c="${NS.caldav}"><d:prop><d:getetag/><c:calendar-data/></d:prop>${hrefs.map((h) => `<d:href>${escapeXml(h)}</d:href>`).join('')}</c:calendar-multiget>`;

export interface MultistatusEntry {
  href: string;
  /** The response's status: 200 for a resource, 404 for one gone (in a sync-collection). */
  status: number;
  etag: string | undefined;
  data: string | undefined;
}

const statusOf = (el: XmlElement | undefined): number | undefined => {
  const m = el ? /HTTP\/1\.1 (\d{3})/.exec(el.text) : null;
  return m ? Number(m[1]) : undefined;
};

/** The entries of a 207 multistatus body (propstat 200 values), and its sync-token when there is one. */
export function parseMultistatus(body: string): { entries: MultistatusEntry[]; syncToken: string | undefined } {
  const root = parseXml(body);
  const entries: MultistatusEntry[] = [];
  for (const response of root.children.filter((c) => c.ns === NS.dav && c.name === 'response')) {
    const href = decodeURIComponent(child(response, NS.dav, 'href')?.text ?? '');
    const ok = response.children.find((c) => c.ns === NS.dav && c.name === 'propstat' && statusOf(child(c, NS.dav, 'status')) === 200);
    const prop = child(ok, NS.dav, 'prop');
    entries.push({ href, status: statusOf(child(response, NS.dav, 'status')) ?? (ok ? 200 : 404), etag: child(prop, NS.dav, 'getetag')?.text, data: child(prop, NS.caldav, 'calendar-data')?.text });
  }
  return { entries, syncToken: child(root, NS.dav, 'sync-token')?.text };
}
