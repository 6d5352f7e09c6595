// The CalDAV core (RFC 4918, RFC 4791, RFC 6578 for one user's own calendars): a request in, a response
// out, storage only through the CalendarBackend port. The HTTP layer authenticates, bounds the body
// (CALDAV_RESOURCE_BYTES_MAX, CALDAV_XML_BYTES_MAX: 413) and hands over a backend for that user only.
// Scheduling (RFC 6638) goes through a second port: an organiser's or attendee's write is stored
// first, then its iTIP messages are sent; the outbox answers free-busy POSTs (dav/schedule.ts).
// Address books (RFC 6352) are the same collections in a second tree (addressbooks/, dav/paths.ts) over
// a second backend: made with extended MKCOL (RFC 5689), holding vCards (dav/vcard.ts), never scheduled.
import { CALDAV_RESOURCE_BYTES_MAX, CALDAV_XML_BYTES_MAX, CARDDAV_VCARD_BYTES_MAX } from '../protocol/limits';
import { type CalendarBackend, type DavCalendarProps, type DavPutOutcome, EXPECT_NONE } from './backend';
import { type CalendarResource, ICalendarError, parseCalendarResource } from './ical';
import { areaField, hrefOf, hrefs, type DavResource, isCardResource, isScheduleBox, isScheduleBoxOf, resourceAt, SCHEDULE_INBOX, SCHEDULE_OUTBOX } from './paths';
import { ALL_PROPERTIES, type PropertyContext, type PropertyName } from './properties';
import { report } from './report';
import { DavFailure, type DavResponse, failureResponse, propResponse } from './response';
import { checkMessages, freeBusyReply, freeBusyRequestOf, organizerOf, type RecipientStatus, scheduleResponse, schedulingMessages, type SchedulingPort } from './schedule';
import { parseVCard, VCardError } from './vcard';
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
  /** The same user's address books (the addressbooks/ tree); without it that tree is not served. */
  readonly addressBooks?: CalendarBackend;
  /** Implicit scheduling and free-busy; without it, writes schedule nothing and the outbox refuses POST. */
  readonly scheduling?: SchedulingPort;
}

export const DAV_METHODS = ['OPTIONS', 'GET', 'HEAD', 'PUT', 'DELETE', 'PROPFIND', 'PROPPATCH', 'MKCALENDAR', 'MKCOL', 'REPORT', 'POST'];
const DAV_HEADERS = { dav: '1, 3, extended-mkcol, calendar-access, calendar-auto-schedule, addressbook', allow: DAV_METHODS.join(', ') };
const XML = { 'content-type': 'application/xml; charset=utf-8' };

export async function handleDav(req: DavRequest, ctx: DavContext): Promise<DavResponse> {
  try {
    const r = resourceAt(ctx.base, req.path);
    if (!r) throw new DavFailure(404, `nothing here: calendars live under ${hrefs.home(ctx.base, ctx.backend.owner)}`);
    const cards = isCardResource(r);
    if (r.kind !== 'root' && r.user !== ctx.backend.owner) throw new DavFailure(403, `these are not ${ctx.backend.owner}'s ${cards ? 'address books' : 'calendars'}`);
    const limit = req.method !== 'PUT' ? CALDAV_XML_BYTES_MAX : cards ? CARDDAV_VCARD_BYTES_MAX : CALDAV_RESOURCE_BYTES_MAX;
    if (req.body.length > limit) throw new DavFailure(413, `the body is over ${limit} bytes`);
    if (cards && !ctx.addressBooks) throw new DavFailure(404, 'address books are not served here');
    // The address book tree: the same core over the address book backend, with nothing to schedule.
    const treeCtx: DavContext = cards ? { base: ctx.base, backend: ctx.addressBooks!, addressBooks: ctx.addressBooks! } : ctx;
    const response = await dispatch(req, r, treeCtx);
    return { ...response, headers: { ...DAV_HEADERS, ...response.headers } };
  } catch (e) {
    if (e instanceof DavFailure) return { ...failureResponse(e), headers: { ...DAV_HEADERS, ...failureResponse(e).headers } };
    if (e instanceof XmlError) return failureResponse(new DavFailure(400, e.message));
    if (e instanceof ICalendarError || e instanceof VCardError) return failureResponse(new DavFailure(400, e.message));
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
    case 'MKCOL':
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
      if (r.kind !== 'calendar' || (isScheduleBoxOf(r) && r.slug === SCHEDULE_OUTBOX)) throw new DavFailure(403, 'REPORT is answered on a calendar or address book collection', [NS.dav, 'supported-report']);
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
  if (r.slug === SCHEDULE_OUTBOX && !isCardResource(r)) {
    if (r.kind === 'object') throw new DavFailure(404, 'the outbox holds nothing: POST free-busy requests to it');
    return { ...base, calendar: OUTBOX };
  }
  const calendar = await ctx.backend.calendar(r.slug);
  if (!calendar) throw new DavFailure(404, `there is no ${collectionWord(r)} ${r.slug}`);
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
    if (ctx.addressBooks) out.push([{ kind: 'home', user: owner, area: 'addressbooks' }, self]);
  } else if (r.kind === 'home') {
    const where = areaField(isCardResource(r) ? 'addressbooks' : 'calendars');
    for (const calendar of await ctx.backend.listCalendars()) out.push([{ kind: 'calendar', user: owner, slug: calendar.slug, ...where }, { ...self, calendar }]);
    if (!isCardResource(r)) for (const slug of [SCHEDULE_INBOX, SCHEDULE_OUTBOX]) out.push([{ kind: 'calendar', user: owner, slug }, await contextOf({ kind: 'calendar', user: owner, slug }, ctx)]);
  } else if (r.kind === 'calendar' && !(isScheduleBoxOf(r) && r.slug === SCHEDULE_OUTBOX)) {
    for (const object of await ctx.backend.listObjects(r.slug)) out.push([{ ...r, kind: 'object', name: object.name }, { ...self, object }]);
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

const collectionWord = (r: DavResource): string => (isCardResource(r) ? 'address book' : 'calendar');
/** What an address book holds, in the collection properties the two trees share. */
const ADDRESS_BOOK_COMPONENTS = ['VCARD'];

/** Collection properties a client may set (MKCALENDAR, MKCOL, PROPPATCH), from a DAV:prop element; `cards`: on an address book. */
function settableProps(prop: XmlElement | undefined, cards: boolean): { props: Partial<{ -readonly [K in keyof DavCalendarProps]: DavCalendarProps[K] }>; refused: PropertyName[] } {
  const props: Partial<{ -readonly [K in keyof DavCalendarProps]: DavCalendarProps[K] }> = {};
  const refused: PropertyName[] = [];
  for (const p of prop?.children ?? []) {
    if (is(p, NS.dav, 'displayname')) props.displayName = p.text;
    else if (cards && is(p, NS.carddav, 'addressbook-description')) props.description = p.text;
    else if (cards) refused.push([p.ns, p.name]);
    else if (is(p, NS.caldav, 'calendar-description')) props.description = p.text;
    else if (is(p, NS.ical, 'calendar-color')) props.color = p.text;
    else if (is(p, NS.caldav, 'supported-calendar-component-set')) props.components = p.children.filter((c) => is(c, NS.caldav, 'comp')).map((c) => (c.attrs.name ?? '').toUpperCase());
    else refused.push([p.ns, p.name]);
  }
  if (props.components && !props.components.every((c) => /^V[A-Z]{1,30}$/.test(c))) throw new DavFailure(400, 'a supported component is not an iCalendar component name');
  return { props, refused };
}

/**
 * MKCALENDAR (a calendar), or extended MKCOL (RFC 5689) whose resourcetype names what to make: an
 * address book in the address book home, a calendar in the calendar home. Plain collections are not
 * served, so a MKCOL that says something else is refused (403 valid-resourcetype).
 */
async function mkcalendar(req: DavRequest, r: DavResource, ctx: DavContext): Promise<DavResponse> {
  const cards = isCardResource(r);
  const mkcol = req.method.toUpperCase() === 'MKCOL';
  if (r.kind !== 'calendar') throw new DavFailure(403, `${collectionWord(r)}s are made directly in the ${collectionWord(r)} home`, cards ? [NS.carddav, 'addressbook-collection-location-ok'] : [NS.caldav, 'calendar-collection-location-ok']);
  if (cards && !mkcol) throw new DavFailure(403, 'address books are made with MKCOL (resourcetype addressbook), not MKCALENDAR');
  if (isScheduleBox(r.slug)) throw new DavFailure(405, `${r.slug} is ${cards ? 'a name kept for the calendar home\'s schedule boxes' : `the schedule ${r.slug}`}: choose another name`, [NS.dav, 'resource-must-be-null']);
  const body = xmlBody(req, false);
  const root = mkcol ? [NS.dav, 'mkcol'] : [NS.caldav, 'mkcalendar'];
  if (body && !is(body, root[0]!, root[1]!)) throw new DavFailure(400, `a ${req.method.toUpperCase()} body is a ${mkcol ? 'DAV:mkcol' : 'CALDAV:mkcalendar'}`);
  const prop = child(child(body, NS.dav, 'set'), NS.dav, 'prop');
  // A body-less MKCOL in the address book home can only mean an address book: older clients send that.
  if (mkcol && (body || !cards)) {
    const types = child(prop, NS.dav, 'resourcetype')?.children ?? [];
    const wanted = cards ? [NS.carddav, 'addressbook'] : [NS.caldav, 'calendar'];
    if (!types.some((t) => is(t, wanted[0]!, wanted[1]!)) || types.some((t) => !is(t, NS.dav, 'collection') && !is(t, wanted[0]!, wanted[1]!))) {
      throw new DavFailure(403, `MKCOL here makes ${cards ? 'an address book: resourcetype collection and CARDDAV:addressbook' : 'a calendar: resourcetype collection and CALDAV:calendar'}`, [NS.dav, 'valid-resourcetype']);
    }
  }
  const others = { ...(prop ?? { ns: NS.dav, name: 'prop', attrs: {}, text: '' }), children: (prop?.children ?? []).filter((p) => !is(p, NS.dav, 'resourcetype')) };
  const { props, refused } = settableProps(others, cards);
  if (mkcol && refused.length) throw new DavFailure(403, `these properties cannot be set: ${refused.map(([, n]) => n).join(', ')}`);
  const outcome = await ctx.backend.createCalendar(r.slug, cards ? { ...props, components: ADDRESS_BOOK_COMPONENTS } : props);
  if (outcome === 'exists') throw new DavFailure(405, `${r.slug} exists already`, [NS.dav, 'resource-must-be-null']);
  if (outcome === 'full') throw new DavFailure(507, `this user has as many ${collectionWord(r)}s as a user may have`);
  return { status: 201, headers: { 'content-length': '0' } };
}

async function proppatch(req: DavRequest, r: DavResource, ctx: DavContext): Promise<DavResponse> {
  if (r.kind !== 'calendar' || isScheduleBoxOf(r)) throw new DavFailure(403, 'only a calendar\'s or an address book\'s properties can be changed');
  const body = xmlBody(req, true)!;
  if (!is(body, NS.dav, 'propertyupdate')) throw new DavFailure(400, 'a PROPPATCH body is a DAV:propertyupdate');
  const sets = body.children.filter((c) => is(c, NS.dav, 'set') || is(c, NS.dav, 'remove'));
  const asked = sets.flatMap((s) => child(s, NS.dav, 'prop')?.children ?? []);
  const { props, refused } = settableProps({ ns: NS.dav, name: 'prop', attrs: {}, text: '', children: asked }, isCardResource(r));
  const all = asked.map((p) => [p.ns, p.name] as const);
  const ok = refused.length === 0;
  if (ok && !(await ctx.backend.updateCalendar(r.slug, props))) throw new DavFailure(404, `there is no ${collectionWord(r)} ${r.slug}`);
  const stat = (names: readonly PropertyName[], status: string) =>
    names.length ? `<d:propstat><d:prop>${names.map(([ns, n]) => `<x:${n} xmlns:x="${ns}"/>`).join('')}</d:prop><d:status>HTTP/1.1 ${status}</d:status></d:propstat>` : '';
  const isRefused = (n: PropertyName) => refused.some(([ns, name]) => ns === n[0] && name === n[1]);
  const stats = ok ? stat(all, '200 OK') : stat(refused, '403 Forbidden') + stat(all.filter((n) => !isRefused(n)), '424 Failed Dependency');
  return { status: 207, headers: XML, body: multistatus(`<d:response><d:href>${hrefOf(ctx.base, r)}</d:href>${stats}</d:response>`) };
}

async function get(req: DavRequest, r: DavResource, ctx: DavContext): Promise<DavResponse> {
  if (r.kind !== 'object') throw new DavFailure(405, 'only calendar resources and vCards can be fetched with GET');
  const found = await ctx.backend.readObject(r.slug, r.name);
  if (!found) throw new DavFailure(404, `there is no ${r.name} in ${r.slug}`);
  const headers = { 'content-type': isCardResource(r) ? 'text/vcard; charset=utf-8' : 'text/calendar; charset=utf-8', etag: `"${found.object.etag}"`, 'content-length': String(found.data.length) };
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
  if (r.kind === 'object' && isCardResource(r)) return putCard(req, r, ctx);
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
  return putResponse(r, outcome, etag);
}

/** A vCard into an address book (RFC 6352 5.1): one valid card with a UID, no scheduling. */
async function putCard(req: DavRequest, r: Extract<DavResource, { kind: 'object' }>, ctx: DavContext): Promise<DavResponse> {
  if (!(await ctx.backend.calendar(r.slug))) throw new DavFailure(409, `there is no address book ${r.slug}: make it first (MKCOL)`);
  const type = (req.header('content-type') ?? 'text/vcard').split(';')[0]!.trim().toLowerCase();
  if (type !== 'text/vcard' && type !== 'text/x-vcard' && type !== 'text/directory') throw new DavFailure(415, 'an address book takes text/vcard', [NS.carddav, 'supported-address-data']);
  parseVCard(Buffer.from(req.body).toString('utf8'));
  const expect = await expectationOf(req, r, ctx);
  const { outcome, etag } = await ctx.backend.putObject(r.slug, r.name, req.body, expect);
  return putResponse(r, outcome, etag);
}

function putResponse(r: Extract<DavResource, { kind: 'object' }>, outcome: DavPutOutcome, etag: string | undefined): DavResponse {
  switch (outcome) {
    case 'created':
      return { status: 201, headers: { etag: `"${etag}"`, 'content-length': '0' } };
    case 'updated':
    case 'unchanged':
      return { status: 204, headers: { etag: `"${etag}"` } };
    case 'precondition-failed':
      throw new DavFailure(412, `${r.name} is not in the state the request expected (If-Match / If-None-Match)`);
    case 'full':
      throw new DavFailure(507, `${r.slug} holds as many resources as a ${collectionWord(r)} may`);
    case 'no-calendar':
      throw new DavFailure(409, `there is no ${collectionWord(r)} ${r.slug}`);
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
  if (isScheduleBoxOf(r) && r.kind === 'calendar') throw new DavFailure(403, `the schedule ${r.slug} cannot be deleted`);
  if (r.kind === 'calendar') {
    if (!(await ctx.backend.deleteCalendar(r.slug))) throw new DavFailure(404, `there is no ${collectionWord(r)} ${r.slug}`);
    return { status: 204, headers: {} };
  }
  if (r.kind !== 'object') throw new DavFailure(405, 'only calendars, address books and their resources can be deleted');
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
