// The CalDAV core (RFC 4918, RFC 4791, RFC 6578 for one user's own calendars): a request in, a response
// out, storage only through the CalendarBackend port. The HTTP layer authenticates, bounds the body
// (CALDAV_RESOURCE_BYTES_MAX, CALDAV_XML_BYTES_MAX: 413) and hands over a backend for that user only.
// Scheduling (RFC 6638) goes through a second port: an organiser's or attendee's write is stored
// first, then its iTIP messages are sent; the outbox answers free-busy POSTs (dav/schedule.ts).
import { CALDAV_RESOURCE_BYTES_MAX, CALDAV_XML_BYTES_MAX } from '../protocol/limits';
import { type CalendarBackend, type DavCalendarProps, EXPECT_NONE } from './backend';
import { type CalendarResource, ICalendarError, parseCalendarResource } from './ical';
import { hrefOf, hrefs, type DavResource, isScheduleBox, resourceAt, SCHEDULE_INBOX, SCHEDULE_OUTBOX } from './paths';
import { ALL_PROPERTIES, type PropertyContext, type PropertyName } from './properties';
import { report } from './report';
import { DavFailure, type DavResponse, failureResponse, propResponse } from './response';
import { checkMessages, freeBusyReply, freeBusyRequestOf, organizerOf, type RecipientStatus, scheduleResponse, schedulingMessages, type SchedulingPort } from './schedule';
import { child, is, multistatus, NS, parseXml, XmlError, type XmlElement } from './xml';

export interface DavRequest {
  readonly method: string;
  readonly path: string;
  readonly header: (name: string) => string | undefined;
  readonly body: Uint8Array;
}

export interface DavContext {
  /** Where the DAV tree starts, with a trailing slash: /dav/ */
  readonly base: string;
  readonly backend: CalendarBackend;
  /** Implicit scheduling and free-busy; without it, writes schedule nothing and the outbox refuses POST. */
  readonly scheduling?: SchedulingPort;
}

export const DAV_METHODS = ['OPTIONS', 'GET', 'HEAD', 'PUT', 'DELETE', 'PROPFIND', 'PROPPATCH', 'MKCALENDAR', 'REPORT', 'POST'];
const DAV_HEADERS = { dav: '1, 3, calendar-access, calendar-auto-schedule', allow: DAV_METHODS.join(', ') };
const XML = { 'content-type': 'application/xml; charset=utf-8' };

export async function handleDav(req: DavRequest, ctx: DavContext): Promise<DavResponse> {
  try {
    const r = resourceAt(ctx.base, req.path);
    if (!r) throw new DavFailure(404, `nothing here: calendars live under ${hrefs.home(ctx.base, ctx.backend.owner)}`);
    if (r.kind !== 'root' && r.user !== ctx.backend.owner) throw new DavFailure(403, `these are not ${ctx.backend.owner}'s calendars`);
    const limit = req.method === 'PUT' ? CALDAV_RESOURCE_BYTES_MAX : CALDAV_XML_BYTES_MAX;
    if (req.body.length > limit) throw new DavFailure(413, `the body is over ${limit} bytes`);
    const response = await dispatch(req, r, ctx);
    return { ...response, headers: { ...DAV_HEADERS, ...response.headers } };
  } catch (e) {
    if (e instanceof DavFailure) return { ...failureResponse(e), headers: { ...DAV_HEADERS, ...failureResponse(e).headers } };
    if (e instanceof XmlError) return failureResponse(new DavFailure(400, e.message));
    if (e instanceof ICalendarError) return failureResponse(new DavFailure(400, e.message));
    throw e;
  }
}

function dispatch(req: DavRequest, r: DavResource, ctx: DavContext): Promise<DavResponse> {
  switch (req.method.toUpperCase()) {
    case 'OPTIONS':
      return Promise.resolve({ status: 200, headers: {} });
    case 'PROPFIND':
      return propfind(req, r, ctx);
    case 'PROPPATCH':
      return proppatch(req, r, ctx);
    case 'MKCALENDAR':
      return mkcalendar(req, r, ctx);
    case 'GET':
    case 'HEAD':
      return get(req, r, ctx);
    case 'PUT':
      return put(req, r, ctx);
    case 'DELETE':
      return remove(req, r, ctx);
    case 'POST':
      return outboxPost(req, r, ctx);
    case 'REPORT':
      if (r.kind !== 'calendar' || r.slug === SCHEDULE_OUTBOX) throw new DavFailure(403, 'REPORT is answered on a calendar collection', [NS.dav, 'supported-report']);
      return report(xmlBody(req, true)!, r, ctx, req.header('depth'));
    default:
      throw new DavFailure(405, `${req.method} is not supported here`);
  }
}

export function xmlBody(req: DavRequest, required: boolean): XmlElement | undefined {
  const text = Buffer.from(req.body).toString('utf8').trim();
  if (text === '') {
    if (required) throw new DavFailure(400, 'this request needs an XML body');
    return undefined;
  }
  return parseXml(text);
}

/** The properties a prop element names. */
export const propNames = (prop: XmlElement | undefined): PropertyName[] => (prop?.children ?? []).map((c) => [c.ns, c.name] as const);

async function contextOf(r: DavResource, ctx: DavContext): Promise<PropertyContext> {
  const base = { base: ctx.base, owner: ctx.backend.owner };
  if (r.kind !== 'calendar' && r.kind !== 'object') return base;
  if (r.slug === SCHEDULE_OUTBOX) {
    if (r.kind === 'object') throw new DavFailure(404, 'the outbox holds nothing: POST free-busy requests to it');
    return { ...base, calendar: OUTBOX };
  }
  const calendar = await ctx.backend.calendar(r.slug);
  if (!calendar) throw new DavFailure(404, `there is no calendar ${r.slug}`);
  if (r.kind === 'calendar') return { ...base, calendar };
  const object = await ctx.backend.object(r.slug, r.name);
  if (!object) throw new DavFailure(404, `there is no ${r.name} in ${r.slug}`);
  return { ...base, calendar, object };
}

/** The resource and, at depth 1, its members, each with what its properties need. */
async function withMembers(r: DavResource, ctx: DavContext, depth: 0 | 1): Promise<[DavResource, PropertyContext][]> {
  const self = await contextOf(r, ctx);
  const out: [DavResource, PropertyContext][] = [[r, self]];
  if (depth === 0) return out;
  const owner = ctx.backend.owner;
  if (r.kind === 'root') {
    out.push([{ kind: 'principal', user: owner }, self], [{ kind: 'home', user: owner }, self]);
  } else if (r.kind === 'home') {
    for (const calendar of await ctx.backend.listCalendars()) out.push([{ kind: 'calendar', user: owner, slug: calendar.slug }, { ...self, calendar }]);
    for (const slug of [SCHEDULE_INBOX, SCHEDULE_OUTBOX]) out.push([{ kind: 'calendar', user: owner, slug }, await contextOf({ kind: 'calendar', user: owner, slug }, ctx)]);
  } else if (r.kind === 'calendar' && r.slug !== SCHEDULE_OUTBOX) {
    for (const object of await ctx.backend.listObjects(r.slug)) out.push([{ kind: 'object', user: owner, slug: r.slug, name: object.name }, { ...self, object }]);
  }
  return out;
}

function depthOf(req: DavRequest): 0 | 1 {
  const depth = (req.header('depth') ?? 'infinity').trim().toLowerCase();
  if (depth === '0') return 0;
  if (depth === '1') return 1;
  throw new DavFailure(403, 'PROPFIND with Depth: infinity is not served; ask with Depth: 0 or 1', [NS.dav, 'propfind-finite-depth']);
}

async function propfind(req: DavRequest, r: DavResource, ctx: DavContext): Promise<DavResponse> {
  const body = xmlBody(req, false);
  if (body && !is(body, NS.dav, 'propfind')) throw new DavFailure(400, 'a PROPFIND body is a DAV:propfind');
  const prop = child(body, NS.dav, 'prop');
  const names = prop ? propNames(prop) : ALL_PROPERTIES;
  const onlyFound = !prop;
  const members = await withMembers(r, ctx, depthOf(req));
  const responses = members.map(([m, mctx]) => propResponse(hrefOf(ctx.base, m), m, mctx, names, onlyFound));
  return { status: 207, headers: XML, body: multistatus(responses.join('')) };
}

/** Collection properties a client may set (MKCALENDAR, PROPPATCH), from a DAV:prop element. */
function settableProps(prop: XmlElement | undefined): { props: Partial<{ -readonly [K in keyof DavCalendarProps]: DavCalendarProps[K] }>; refused: PropertyName[] } {
  const props: Partial<{ -readonly [K in keyof DavCalendarProps]: DavCalendarProps[K] }> = {};
  const refused: PropertyName[] = [];
  for (const p of prop?.children ?? []) {
    if (is(p, NS.dav, 'displayname')) props.displayName = p.text;
    else if (is(p, NS.caldav, 'calendar-description')) props.description = p.text;
    else if (is(p, NS.ical, 'calendar-color')) props.color = p.text;
    else if (is(p, NS.caldav, 'supported-calendar-component-set')) props.components = p.children.filter((c) => is(c, NS.caldav, 'comp')).map((c) => (c.attrs.name ?? '').toUpperCase());
    else refused.push([p.ns, p.name]);
  }
  if (props.components && !props.components.every((c) => /^V[A-Z]{1,30}$/.test(c))) throw new DavFailure(400, 'a supported component is not an iCalendar component name');
  return { props, refused };
}

async function mkcalendar(req: DavRequest, r: DavResource, ctx: DavContext): Promise<DavResponse> {
  if (r.kind !== 'calendar') throw new DavFailure(403, 'calendars are made directly in the calendar home', [NS.caldav, 'calendar-collection-location-ok']);
  if (isScheduleBox(r.slug)) throw new DavFailure(405, `${r.slug} is the schedule ${r.slug}: choose another name`, [NS.dav, 'resource-must-be-null']);
  const body = xmlBody(req, false);
  if (body && !is(body, NS.caldav, 'mkcalendar')) throw new DavFailure(400, 'a MKCALENDAR body is a CALDAV:mkcalendar');
  const { props } = settableProps(child(child(body, NS.dav, 'set'), NS.dav, 'prop'));
  const outcome = await ctx.backend.createCalendar(r.slug, props);
  if (outcome === 'exists') throw new DavFailure(405, `${r.slug} exists already`, [NS.dav, 'resource-must-be-null']);
  if (outcome === 'full') throw new DavFailure(507, 'this user has as many calendars as a user may have');
  return { status: 201, headers: { 'content-length': '0' } };
}

async function proppatch(req: DavRequest, r: DavResource, ctx: DavContext): Promise<DavResponse> {
  if (r.kind !== 'calendar' || isScheduleBox(r.slug)) throw new DavFailure(403, 'only a calendar\'s properties can be changed');
  const body = xmlBody(req, true)!;
  if (!is(body, NS.dav, 'propertyupdate')) throw new DavFailure(400, 'a PROPPATCH body is a DAV:propertyupdate');
  const sets = body.children.filter((c) => is(c, NS.dav, 'set') || is(c, NS.dav, 'remove'));
  const asked = sets.flatMap((s) => child(s, NS.dav, 'prop')?.children ?? []);
  const { props, refused } = settableProps({ ns: NS.dav, name: 'prop', attrs: {}, text: '', children: asked });
  const all = asked.map((p) => [p.ns, p.name] as const);
  const ok = refused.length === 0;
  if (ok && !(await ctx.backend.updateCalendar(r.slug, props))) throw new DavFailure(404, `there is no calendar ${r.slug}`);
  const stat = (names: readonly PropertyName[], status: string) =>
    names.length ? `<d:propstat><d:prop>${names.map(([ns, n]) => `<x:${n} xmlns:x="${ns}"/>`).join('')}</d:prop><d:status>HTTP/1.1 ${status}</d:status></d:propstat>` : '';
  const isRefused = (n: PropertyName) => refused.some(([ns, name]) => ns === n[0] && name === n[1]);
  const stats = ok ? stat(all, '200 OK') : stat(refused, '403 Forbidden') + stat(all.filter((n) => !isRefused(n)), '424 Failed Dependency');
  return { status: 207, headers: XML, body: multistatus(`<d:response><d:href>${hrefOf(ctx.base, r)}</d:href>${stats}</d:response>`) };
}

async function get(req: DavRequest, r: DavResource, ctx: DavContext): Promise<DavResponse> {
  if (r.kind !== 'object') throw new DavFailure(405, 'only calendar resources can be fetched with GET');
  const found = await ctx.backend.readObject(r.slug, r.name);
  if (!found) throw new DavFailure(404, `there is no ${r.name} in ${r.slug}`);
  const headers = { 'content-type': 'text/calendar; charset=utf-8', etag: `"${found.object.etag}"`, 'content-length': String(found.data.length) };
  return { status: 200, headers, ...(req.method.toUpperCase() === 'GET' ? { body: found.data } : {}) };
}

/** If-Match / If-None-Match as the backend's `expect`: an ETag, EXPECT_NONE, or nothing. */
async function expectationOf(req: DavRequest, r: Extract<DavResource, { kind: 'object' }>, ctx: DavContext): Promise<string | undefined> {
  const ifNoneMatch = req.header('if-none-match')?.trim();
  const ifMatch = req.header('if-match')?.trim();
  if (ifNoneMatch === '*') return EXPECT_NONE;
  if (ifNoneMatch) throw new DavFailure(400, 'If-None-Match is understood only as "*" on writes');
  if (!ifMatch) return undefined;
  if (ifMatch === '*') {
    const current = await ctx.backend.object(r.slug, r.name);
    if (!current) throw new DavFailure(412, `${r.name} does not exist (If-Match: *)`);
    return current.etag;
  }
  const m = /^(?:W\/)?"([^"]*)"$/.exec(ifMatch.split(',')[0]!.trim());
  if (!m) throw new DavFailure(400, 'If-Match is not an entity tag');
  return m[1]!;
}

async function put(req: DavRequest, r: DavResource, ctx: DavContext): Promise<DavResponse> {
  if (r.kind !== 'object') throw new DavFailure(405, 'PUT stores a resource inside a calendar');
  if (isScheduleBox(r.slug)) throw new DavFailure(403, `the schedule ${r.slug} is filled by the server: put events in a calendar`);
  const calendar = await ctx.backend.calendar(r.slug);
  if (!calendar) throw new DavFailure(409, `there is no calendar ${r.slug}: make it first (MKCALENDAR)`);
  const resource = parseCalendarResource(Buffer.from(req.body).toString('utf8'));
  if (!resource.components.every((c) => calendar.props.components.includes(c))) {
    throw new DavFailure(403, `${r.slug} does not hold ${resource.components.join(', ')}`, [NS.caldav, 'supported-calendar-component']);
  }
  const expect = await expectationOf(req, r, ctx);
  const messages = ctx.scheduling && organizerOf(resource) ? schedulingMessages(ctx.backend.owner, await storedResource(r, ctx), resource, ctx.scheduling.nowMs()) : [];
  checkMessages(messages);
  const { outcome, etag } = await ctx.backend.putObject(r.slug, r.name, req.body, expect);
  // Stored first: the invitation or reply names what is durable. A PUT of the same content again sends nothing.
  if ((outcome === 'created' || outcome === 'updated') && messages.length) await ctx.scheduling!.deliver(messages);
  switch (outcome) {
    case 'created':
      return { status: 201, headers: { etag: `"${etag}"`, 'content-length': '0' } };
    case 'updated':
    case 'unchanged':
      return { status: 204, headers: { etag: `"${etag}"` } };
    case 'precondition-failed':
      throw new DavFailure(412, `${r.name} is not in the state the request expected (If-Match / If-None-Match)`);
    case 'full':
      throw new DavFailure(507, `${r.slug} holds as many resources as a calendar may`);
    case 'no-calendar':
      throw new DavFailure(409, `there is no calendar ${r.slug}`);
  }
}

/** What is stored under the object's name now, parsed; undefined when nothing (or nothing readable) is there. */
async function storedResource(r: Extract<DavResource, { kind: 'object' }>, ctx: DavContext): Promise<CalendarResource | undefined> {
  const found = await ctx.backend.readObject(r.slug, r.name);
  if (!found) return undefined;
  try {
    return parseCalendarResource(Buffer.from(found.data).toString('utf8'));
  } catch (e) {
    if (e instanceof ICalendarError) return undefined;
    throw e;
  }
}

async function remove(req: DavRequest, r: DavResource, ctx: DavContext): Promise<DavResponse> {
  if (r.kind === 'calendar' && isScheduleBox(r.slug)) throw new DavFailure(403, `the schedule ${r.slug} cannot be deleted`);
  if (r.kind === 'calendar') {
    if (!(await ctx.backend.deleteCalendar(r.slug))) throw new DavFailure(404, `there is no calendar ${r.slug}`);
    return { status: 204, headers: {} };
  }
  if (r.kind !== 'object') throw new DavFailure(405, 'only calendars and their resources can be deleted');
  const expect = await expectationOf(req, r, ctx);
  const before = ctx.scheduling && r.slug !== SCHEDULE_INBOX ? await storedResource(r, ctx) : undefined;
  const replyOnDelete = (req.header('schedule-reply') ?? 'T').trim().toUpperCase() !== 'F';
  const messages = before ? schedulingMessages(ctx.backend.owner, before, undefined, ctx.scheduling!.nowMs(), replyOnDelete) : [];
  const outcome = await ctx.backend.deleteObject(r.slug, r.name, expect);
  if (outcome === 'missing') throw new DavFailure(404, `there is no ${r.name} in ${r.slug}`);
  if (outcome === 'precondition-failed') throw new DavFailure(412, `${r.name} changed since the client read it (If-Match)`);
  if (messages.length) await ctx.scheduling!.deliver(messages);
  return { status: 204, headers: {} };
}

/** The outbox never changes: it is where free-busy requests are POSTed. */
const OUTBOX = { slug: SCHEDULE_OUTBOX, collectionId: SCHEDULE_OUTBOX, props: { displayName: 'Outbox', description: '', color: '', components: ['VFREEBUSY'] }, modseq: 0 };

/** A free-busy request (RFC 6638 3.2.6): each recipient's busy periods, or why there are none. */
async function outboxPost(req: DavRequest, r: DavResource, ctx: DavContext): Promise<DavResponse> {
  if (r.kind !== 'calendar' || r.slug !== SCHEDULE_OUTBOX) throw new DavFailure(405, 'POST is answered by the schedule outbox only');
  if (!ctx.scheduling) throw new DavFailure(403, 'scheduling is not served on this node');
  const type = (req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'text/calendar') throw new DavFailure(415, 'the outbox takes text/calendar');
  const request = freeBusyRequestOf(Buffer.from(req.body).toString('utf8'), ctx.backend.owner);
  const { busy, unknown } = await ctx.scheduling.freeBusy(request);
  const now = ctx.scheduling.nowMs();
  const statuses: RecipientStatus[] = request.recipients.map((recipient) => {
    if (unknown.includes(recipient)) return { recipient, status: '3.7;Invalid calendar user' };
    const periods = busy.get(recipient);
    if (!periods) return { recipient, status: '5.1;Service unavailable: no answer in time' };
    return { recipient, status: '2.0;Success', calendarData: freeBusyReply(request, recipient, periods, now) };
  });
  return { status: 200, headers: XML, body: scheduleResponse(statuses) };
}
