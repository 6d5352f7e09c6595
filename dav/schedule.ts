// Scheduling (RFC 6638 implicit scheduling, iTIP RFC 5546), pure: which messages an organiser's or an
// attendee's write sends, what an incoming message may do, how a reply changes the organiser's copy,
// and free-busy answers that carry busy periods only, never an event's details. Sending and storing
// are the SchedulingPort's (actors/calendar/scheduling.ts); iCalendar is ical.js's.
import ICAL from 'ical.js';
import { CALDAV_FREEBUSY_PERIODS_MAX, CALDAV_FREEBUSY_SPAN_MS_MAX, CALDAV_ITIP_BYTES_MAX, CALDAV_SCHEDULE_RECIPIENTS_MAX } from '../protocol/limits';
import { type CalendarResource, ICalendarError, instancesIn, parseCalendarResource } from './ical';
import { DavFailure } from './response';
import { escapeXml, NS } from './xml';

export type ItipMethod = 'REQUEST' | 'REPLY' | 'CANCEL';

/** One iTIP message to send: its method, its recipients' addresses, its text. */
export interface ItipMessage {
  readonly method: ItipMethod;
  readonly recipients: readonly string[];
  readonly text: string;
}

export interface BusyPeriod {
  readonly startMs: number;
  readonly endMs: number;
  readonly tentative?: number;
}

export interface FreeBusyRequest {
  readonly uid: string;
  readonly organizer: string;
  readonly recipients: readonly string[];
  readonly startMs: number;
  readonly endMs: number;
}

/** What the server tells the client about one recipient (RFC 6638 schedule-response). */
export interface RecipientStatus {
  readonly recipient: string;
  /** iTIP REQUEST-STATUS: 2.0 delivered, 3.7 not a calendar user, 5.1 could not be reached. */
  readonly status: string;
  readonly calendarData?: string;
}

/** How the server reached each recipient; the core turns it into statuses. */
export interface SchedulingPort {
  /** Send each message to its recipients (durable in their inbox drops); a recipient missing from the answer was not reached. */
  deliver(messages: readonly ItipMessage[]): Promise<{ readonly reached: readonly string[]; readonly failed: readonly { readonly recipient: string; readonly error: string }[] }>;
  /** Busy periods of each recipient who answered in time (a missing one did not); unknown recipients under `unknown`. */
  freeBusy(request: FreeBusyRequest): Promise<{ readonly busy: ReadonlyMap<string, readonly BusyPeriod[]>; readonly unknown: readonly string[] }>;
  nowMs(): number;
}

/** `mailto:Alice@X` (any case, spaces trimmed) to `alice@x`; undefined for any other kind of address. */
export function addressOf(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const m = /^\s*mailto:(.+?)\s*$/i.exec(value);
  const address = m?.[1]?.toLowerCase();
  return address && /^[^@\s]+@[^@\s]+$/.test(address) ? address : undefined;
}

const SCHEDULED = ['vevent', 'vtodo'];
const itemsOf = (root: ICAL.Component): ICAL.Component[] => root.getAllSubcomponents().filter((c) => SCHEDULED.includes(c.name));

/** The resource's organiser (every scheduled component names the same one, or it is not a scheduling object). */
export function organizerOf(resource: CalendarResource): string | undefined {
  const found = new Set(itemsOf(resource.root).map((c) => addressOf(c.getFirstPropertyValue('organizer'))));
  const [only] = found;
  return found.size === 1 ? only : undefined;
}

const agentIsServer = (p: ICAL.Property): boolean => String(p.getParameter('schedule-agent') ?? 'SERVER').toUpperCase() === 'SERVER';

/** Attendees the server schedules (SCHEDULE-AGENT=SERVER, the default), over every component, with their participation status. */
function attendeesOf(resource: CalendarResource): Map<string, string> {
  const out = new Map<string, string>();
  for (const c of itemsOf(resource.root))
    for (const p of c.getAllProperties('attendee')) {
      const address = addressOf(p.getFirstValue());
      if (address && agentIsServer(p) && !out.has(address)) out.set(address, String(p.getParameter('partstat') ?? 'NEEDS-ACTION').toUpperCase());
    }
  return out;
}

const clone = (root: ICAL.Component): ICAL.Component => new ICAL.Component(JSON.parse(JSON.stringify(root.toJSON())) as unknown[]);

function withMethod(root: ICAL.Component, method: ItipMethod): string {
  const copy = clone(root);
  copy.updatePropertyWithValue('method', method);
  for (const c of itemsOf(copy)) for (const p of [...c.getAllProperties('attendee'), ...c.getAllProperties('organizer')]) p.removeParameter('schedule-status');
  if (method === 'CANCEL') for (const c of itemsOf(copy)) c.updatePropertyWithValue('status', 'CANCELLED');
  return copy.toString();
}

/** The attendee's answer: each component with its identity and the attendee's own line only. */
function replyOf(resource: CalendarResource, attendee: string, partstat: string | undefined, nowMs: number): string {
  const root = new ICAL.Component(['vcalendar', [], []]);
  root.updatePropertyWithValue('prodid', '-//POST//calendar//EN');
  root.updatePropertyWithValue('version', '2.0');
  root.updatePropertyWithValue('method', 'REPLY');
  for (const c of itemsOf(resource.root)) {
    const mine = c.getAllProperties('attendee').find((p) => addressOf(p.getFirstValue()) === attendee);
    if (!mine) continue;
    const out = new ICAL.Component(c.name);
    for (const name of ['uid', 'recurrence-id', 'sequence', 'dtstart', 'organizer']) for (const p of c.getAllProperties(name)) out.addProperty(ICAL.Property.fromString(p.toICALString()));
    out.updatePropertyWithValue('dtstamp', ICAL.Time.fromJSDate(new Date(nowMs), true));
    const line = ICAL.Property.fromString(mine.toICALString());
    line.removeParameter('schedule-status');
    if (partstat) line.setParameter('partstat', partstat);
    out.addProperty(line);
    root.addSubcomponent(out);
  }
  return root.toString();
}

/**
 * What a write by `owner` sends (RFC 6638 3.2): the organiser's new or changed event invites its
 * attendees (REQUEST) and cancels for those removed (CANCEL); deleting it cancels for everyone. An
 * attendee whose participation status changed answers the organiser (REPLY); deleting an accepted
 * invitation declines it (unless `replyOnDelete` is false: Schedule-Reply: F).
 */
export function schedulingMessages(owner: string, before: CalendarResource | undefined, after: CalendarResource | undefined, nowMs: number, replyOnDelete = true): ItipMessage[] {
  const resource = after ?? before;
  if (!resource) return [];
  const organizer = organizerOf(resource);
  if (!organizer) return [];
  const out: ItipMessage[] = [];
  if (organizer === owner) {
    const invited = after ? [...attendeesOf(after).keys()].filter((a) => a !== owner) : [];
    const removed = before ? [...attendeesOf(before).keys()].filter((a) => a !== owner && !invited.includes(a)) : [];
    if (invited.length) out.push({ method: 'REQUEST', recipients: invited, text: withMethod(after!.root, 'REQUEST') });
    if (removed.length) out.push({ method: 'CANCEL', recipients: removed, text: withMethod((before ?? after)!.root, 'CANCEL') });
  } else {
    const was = before ? attendeesOf(before).get(owner) : undefined;
    const now = after ? attendeesOf(after).get(owner) : was !== undefined && replyOnDelete ? 'DECLINED' : undefined;
    if (now !== undefined && now !== 'NEEDS-ACTION' && now !== (was ?? 'NEEDS-ACTION')) {
      out.push({ method: 'REPLY', recipients: [organizer], text: replyOf(resource, owner, after ? undefined : now, nowMs) });
    }
  }
  return out;
}

/** The bounds a write's messages must keep before anything is stored: a 403 or 413 rather than a silent half-sent invitation. */
export function checkMessages(messages: readonly ItipMessage[]): void {
  const recipients = new Set(messages.flatMap((m) => m.recipients));
  if (recipients.size > CALDAV_SCHEDULE_RECIPIENTS_MAX) throw new DavFailure(403, `an event schedules at most ${CALDAV_SCHEDULE_RECIPIENTS_MAX} attendees`);
  if (messages.some((m) => Buffer.byteLength(m.text) > CALDAV_ITIP_BYTES_MAX)) throw new DavFailure(413, `an event with attendees is at most ${CALDAV_ITIP_BYTES_MAX} bytes as an invitation: attach large content by URL`);
}

export interface IncomingItip {
  readonly method: ItipMethod;
  readonly uid: string;
  readonly resource: CalendarResource;
}

/**
 * An iTIP message from `from` to `me`, if it may be accepted: a REQUEST or CANCEL comes from the
 * event's organiser and names `me` as an attendee; a REPLY speaks for its sender only and goes to the
 * organiser. Anything else is undefined (a forged or misdirected message changes nothing).
 */
export function incomingItip(text: string, from: string, me: string): IncomingItip | undefined {
  let resource: CalendarResource;
  try {
    resource = parseCalendarResource(text);
  } catch (e) {
    if (e instanceof ICalendarError) return undefined;
    throw e;
  }
  const method = String(resource.root.getFirstPropertyValue('method') ?? '').toUpperCase();
  const organizer = organizerOf(resource);
  const attendees = new Set(itemsOf(resource.root).flatMap((c) => c.getAllProperties('attendee').map((p) => addressOf(p.getFirstValue()))));
  if (method === 'REQUEST' || method === 'CANCEL') {
    if (organizer !== from || !attendees.has(me)) return undefined;
  } else if (method === 'REPLY') {
    if (organizer !== me || attendees.size !== 1 || !attendees.has(from)) return undefined;
  } else return undefined;
  return { method, uid: resource.uid, resource };
}

const ridOf = (c: ICAL.Component): string => String(c.getFirstPropertyValue('recurrence-id') ?? '');

/**
 * The organiser's copy with `from`'s participation status as their reply says, per instance answered
 * (an instance the copy has no override for takes it on the master only when the reply is for the
 * master); undefined when nothing changes or `from` is not invited.
 */
export function applyReply(copyText: string, reply: IncomingItip, from: string): string | undefined {
  const copy = parseCalendarResource(copyText);
  // The reply's organiser is the recipient (incomingItip): only an event the recipient organises takes it.
  if (copy.uid !== reply.uid || organizerOf(copy) !== organizerOf(reply.resource)) return undefined;
  let changed = false;
  for (const answer of itemsOf(reply.resource.root)) {
    const partstat = answer.getAllProperties('attendee').find((p) => addressOf(p.getFirstValue()) === from)?.getParameter('partstat');
    if (typeof partstat !== 'string') continue;
    const target = itemsOf(copy.root).find((c) => ridOf(c) === ridOf(answer));
    const line = target?.getAllProperties('attendee').find((p) => addressOf(p.getFirstValue()) === from);
    if (!line || String(line.getParameter('partstat') ?? '').toUpperCase() === partstat.toUpperCase()) continue;
    line.setParameter('partstat', partstat.toUpperCase());
    line.removeParameter('schedule-status');
    changed = true;
  }
  return changed ? copy.root.toString() : undefined;
}

/**
 * The attendee's copy of an event after its organiser's new REQUEST or CANCEL: the organiser's version
 * (without METHOD) keeping `me`'s own participation status as the copy had it (the attendee's answer
 * stands until the attendee changes it), or the copy marked CANCELLED. Undefined when the copy is not
 * that organiser's event (a REQUEST never overwrites someone else's event by reusing its UID) or when
 * nothing changes.
 */
export function updateAttendeeCopy(copyText: string, itip: IncomingItip, me: string): string | undefined {
  const copy = parseCalendarResource(copyText);
  if (copy.uid !== itip.uid || organizerOf(copy) !== organizerOf(itip.resource)) return undefined;
  const next = clone(itip.method === 'CANCEL' ? copy.root : itip.resource.root);
  next.removeAllProperties('method');
  if (itip.method === 'CANCEL') for (const c of itemsOf(next)) c.updatePropertyWithValue('status', 'CANCELLED');
  else
    for (const c of itemsOf(next)) {
      const before = itemsOf(copy.root).find((old) => ridOf(old) === ridOf(c)) ?? itemsOf(copy.root).find((old) => ridOf(old) === '');
      const mine = before?.getAllProperties('attendee').find((p) => addressOf(p.getFirstValue()) === me)?.getParameter('partstat');
      const line = c.getAllProperties('attendee').find((p) => addressOf(p.getFirstValue()) === me);
      if (line && typeof mine === 'string') line.setParameter('partstat', mine);
    }
  const text = next.toString();
  return text === copy.root.toString() ? undefined : text;
}

// ---- free-busy (RFC 6638 3.2.6: a VFREEBUSY REQUEST POSTed to the outbox) -------------------------------

/** The client's free-busy question, checked: it asks as the authenticated user, for a bounded span, of a bounded number of people. */
export function freeBusyRequestOf(text: string, owner: string): FreeBusyRequest {
  let root: ICAL.Component;
  try {
    root = new ICAL.Component(ICAL.parse(text) as unknown[]);
  } catch (e) {
    throw new DavFailure(400, `not iCalendar: ${(e as Error).message}`);
  }
  const fb = root.name === 'vcalendar' ? root.getAllSubcomponents('vfreebusy') : [];
  if (String(root.getFirstPropertyValue('method') ?? '').toUpperCase() !== 'REQUEST' || fb.length !== 1) {
    throw new DavFailure(400, 'the outbox takes one VFREEBUSY with METHOD:REQUEST', [NS.caldav, 'valid-calendar-data']);
  }
  const c = fb[0]!;
  if (addressOf(c.getFirstPropertyValue('organizer')) !== owner) throw new DavFailure(403, `a free-busy request is asked as its ORGANIZER, mailto:${owner}`, [NS.caldav, 'organizer-allowed']);
  const start = c.getFirstPropertyValue('dtstart');
  const end = c.getFirstPropertyValue('dtend');
  if (!(start instanceof ICAL.Time) || !(end instanceof ICAL.Time)) throw new DavFailure(400, 'a free-busy request has DTSTART and DTEND', [NS.caldav, 'valid-calendar-data']);
  const startMs = start.toUnixTime() * 1000;
  const endMs = end.toUnixTime() * 1000;
  if (!(endMs > startMs) || endMs - startMs > CALDAV_FREEBUSY_SPAN_MS_MAX) throw new DavFailure(400, `a free-busy request spans a positive time of at most ${CALDAV_FREEBUSY_SPAN_MS_MAX / 86_400_000} days`);
  const recipients = [...new Set(c.getAllProperties('attendee').map((p) => addressOf(p.getFirstValue())))];
  if (recipients.length === 0 || recipients.some((r) => r === undefined)) throw new DavFailure(400, 'a free-busy request names its attendees as mailto: addresses', [NS.caldav, 'valid-calendar-data']);
  if (recipients.length > CALDAV_SCHEDULE_RECIPIENTS_MAX) throw new DavFailure(403, `a free-busy request asks at most ${CALDAV_SCHEDULE_RECIPIENTS_MAX} people`);
  return { uid: String(c.getFirstPropertyValue('uid') ?? ''), organizer: owner, recipients: recipients as string[], startMs, endMs };
}

/**
 * Busy time in [startMs, endMs) from the resources' events, merged, each period clipped to the range:
 * transparent and cancelled events do not count, tentative ones are BUSY-TENTATIVE. Only times leave.
 */
export function busyPeriods(texts: Iterable<string>, startMs: number, endMs: number): BusyPeriod[] {
  const raw: BusyPeriod[] = [];
  for (const text of texts) {
    let resource: CalendarResource;
    try {
      resource = parseCalendarResource(text);
    } catch {
      continue;
    }
    if (!resource.components.includes('VEVENT')) continue;
    for (const i of instancesIn(resource, 'VEVENT', { startMs, endMs })) {
      const transp = String(i.component.getFirstPropertyValue('transp') ?? 'OPAQUE').toUpperCase();
      const status = String(i.component.getFirstPropertyValue('status') ?? '').toUpperCase();
      if (transp === 'TRANSPARENT' || status === 'CANCELLED' || i.endMs <= i.startMs) continue;
      raw.push({ startMs: Math.max(i.startMs, startMs), endMs: Math.min(i.endMs, endMs), ...(status === 'TENTATIVE' ? { tentative: 1 } : {}) });
      if (raw.length >= 4 * CALDAV_FREEBUSY_PERIODS_MAX) break;
    }
  }
  return mergePeriods(raw);
}

/** Overlapping periods of one kind merged; busy wins over tentative where they overlap is not worked out (both are shown). */
function mergePeriods(periods: BusyPeriod[]): BusyPeriod[] {
  const out: BusyPeriod[] = [];
  for (const tentative of [undefined, 1]) {
    const kind = periods.filter((p) => p.tentative === tentative).sort((a, b) => a.startMs - b.startMs);
    let open: { startMs: number; endMs: number } | undefined;
    for (const p of kind) {
      if (open && p.startMs <= open.endMs) open.endMs = Math.max(open.endMs, p.endMs);
      else {
        if (open) out.push({ ...open, ...(tentative ? { tentative } : {}) });
        open = { startMs: p.startMs, endMs: p.endMs };
      }
    }
    if (open) out.push({ ...open, ...(tentative ? { tentative } : {}) });
  }
  return out.sort((a, b) => a.startMs - b.startMs).slice(0, CALDAV_FREEBUSY_PERIODS_MAX);
}

const utc = (t: number): string => new Date(t).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');

/** The VFREEBUSY reply (METHOD:REPLY) for one attendee: FREEBUSY lines, nothing else of their calendars. */
export function freeBusyReply(request: FreeBusyRequest, attendee: string, busy: readonly BusyPeriod[], nowMs: number): string {
  const line = (p: BusyPeriod) => `FREEBUSY;FBTYPE=${p.tentative ? 'BUSY-TENTATIVE' : 'BUSY'}:${utc(p.startMs)}/${utc(p.endMs)}`;
  const lines = [
    'BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//POST//calendar//EN', 'METHOD:REPLY', 'BEGIN:VFREEBUSY',
    ...(request.uid ? [`UID:${request.uid.replace(/[\r\n]/g, '')}`] : []),
    `DTSTAMP:${utc(nowMs)}`, `DTSTART:${utc(request.startMs)}`, `DTEND:${utc(request.endMs)}`,
    `ORGANIZER:mailto:${request.organizer}`, `ATTENDEE:mailto:${attendee}`,
    ...busy.map(line), 'END:VFREEBUSY', 'END:VCALENDAR', '',
  ];
  return lines.join('\r\n');
}

/** RFC 6638 schedule-response: one response per recipient with its request status and, for free-busy, the answer. */
export function scheduleResponse(statuses: readonly RecipientStatus[]): string {
  const one = (s: RecipientStatus) =>
    `<c:response><c:recipient><d:href>mailto:${escapeXml(s.recipient)}</d:href></c:recipient><c:request-status>${escapeXml(s.status)}</c:request-status>${
      s.calendarData !== undefined ? `<c:calendar-data>${escapeXml(s.calendarData)}</c:calendar-data>` : ''
    }</c:response>`;
  return `<?xml version="1.0" encoding="utf-8"?>\n<c:schedule-response xmlns:d="DAV:" xmlns:c="${NS.caldav}">${statuses.map(one).join('')}</c:schedule-response>\n`;
}
