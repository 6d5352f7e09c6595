// REPORTs on a calendar: calendar-multiget and calendar-query (RFC 4791 7.8, 7.9; comp-filter with
// time-range, the filters clients send; other filters are refused with supported-filter rather than
// answered wrongly) and sync-collection (RFC 6578, sync-level 1). On an address book: addressbook-multiget
// and addressbook-query (RFC 6352 8.7, 8.6; its filter in dav/cardQuery.ts) and the same sync-collection.
import { CALDAV_MULTIGET_HREFS_MAX, CARDDAV_MULTIGET_HREFS_MAX } from '../protocol/limits';
import { cardFilterOf, cardMatches, limitOf } from './cardQuery';
import type { DavObject } from './backend';
import type { DavContext } from './handler';
import { hasInstanceIn, parseCalendarResource, parseUtcDateTime, type TimeRange } from './ical';
import { hrefOf, hrefs, type DavResource, isCardResource, resourceAt } from './paths';
import { modseqOfToken, type PropertyContext, type PropertyName, syncTokenOf } from './properties';
import { DavFailure, type DavResponse, propResponse, statusResponse } from './response';
import { child, escapeXml, is, multistatus, NS, type XmlElement } from './xml';

type CalendarResourceRef = Extract<DavResource, { kind: 'calendar' }>;
const XML = { 'content-type': 'application/xml; charset=utf-8' };
const READ_BATCH = 16;

export function report(body: XmlElement, r: CalendarResourceRef, ctx: DavContext, _depth: string | undefined): Promise<DavResponse> {
  if (isCardResource(r)) {
    if (is(body, NS.carddav, 'addressbook-multiget')) return multiget(body, r, ctx);
    if (is(body, NS.carddav, 'addressbook-query')) return cardQuery(body, r, ctx);
    if (is(body, NS.dav, 'sync-collection')) return syncCollection(body, r, ctx);
    throw new DavFailure(403, `the ${body.name} report is not supported on an address book`, [NS.dav, 'supported-report']);
  }
  if (is(body, NS.caldav, 'calendar-multiget')) return multiget(body, r, ctx);
  if (is(body, NS.caldav, 'calendar-query')) return query(body, r, ctx);
  if (is(body, NS.dav, 'sync-collection')) return syncCollection(body, r, ctx);
  throw new DavFailure(403, `the ${body.name} report is not supported`, [NS.dav, 'supported-report']);
}

const namesIn = (body: XmlElement): PropertyName[] => (child(body, NS.dav, 'prop')?.children ?? []).map((c) => [c.ns, c.name] as const);
const wantsData = (names: readonly PropertyName[]) => names.some(([ns, n]) => (ns === NS.caldav && n === 'calendar-data') || (ns === NS.carddav && n === 'address-data'));
const objectHref = (ctx: DavContext, r: CalendarResourceRef, name: string) => hrefs.object(ctx.base, ctx.backend.owner, r.slug, name, isCardResource(r) ? 'addressbooks' : 'calendars');

async function calendarOf(r: CalendarResourceRef, ctx: DavContext) {
  const calendar = await ctx.backend.calendar(r.slug);
  if (!calendar) throw new DavFailure(404, `there is no ${isCardResource(r) ? 'address book' : 'calendar'} ${r.slug}`);
  return calendar;
}

/** Each object's response, its content read (in bounded batches) when calendar-data is asked for or a filter needs it. */
async function responses(objects: readonly DavObject[], r: CalendarResourceRef, base: PropertyContext, ctx: DavContext, names: readonly PropertyName[], keep?: (text: string) => boolean): Promise<string[]> {
  const needData = wantsData(names) || keep !== undefined;
  const out: string[] = [];
  for (let i = 0; i < objects.length; i += READ_BATCH) {
    const batch = await Promise.all(
      objects.slice(i, i + READ_BATCH).map(async (object) => {
        const href = objectHref(ctx, r, object.name);
        if (!needData) return propResponse(href, { ...r, kind: 'object', name: object.name }, { ...base, object }, names);
        const found = await ctx.backend.readObject(r.slug, object.name);
        if (!found) return keep ? '' : statusResponse(href, 404);
        const text = Buffer.from(found.data).toString('utf8');
        if (keep && !keep(text)) return '';
        return propResponse(href, { ...r, kind: 'object', name: object.name }, { ...base, object: found.object, resourceData: text }, names);
      }),
    );
    out.push(...batch.filter((x) => x !== ''));
  }
  return out;
}

async function multiget(body: XmlElement, r: CalendarResourceRef, ctx: DavContext): Promise<DavResponse> {
  const calendar = await calendarOf(r, ctx);
  const wanted = body.children.filter((c) => is(c, NS.dav, 'href')).map((c) => c.text);
  const max = isCardResource(r) ? CARDDAV_MULTIGET_HREFS_MAX : CALDAV_MULTIGET_HREFS_MAX;
  if (wanted.length > max) throw new DavFailure(413, `a multiget asks for at most ${max} resources`);
  const base: PropertyContext = { base: ctx.base, owner: ctx.backend.owner, calendar };
  const names = namesIn(body);
  const out: string[] = [];
  for (const href of wanted) {
    const target = resourceAt(ctx.base, href);
    const inThis = target?.kind === 'object' && target.user === ctx.backend.owner && target.slug === r.slug && isCardResource(target) === isCardResource(r);
    const object = inThis ? await ctx.backend.object(r.slug, target.name) : undefined;
    if (!object) out.push(statusResponse(href, 404));
    else out.push(...(await responses([object], r, base, ctx, names)));
  }
  return { status: 207, headers: XML, body: multistatus(out.join('')) };
}

/** A prop-filter (RFC 4791 9.7.2) on the queried component: absent, or containing a text (case-insensitive). */
export interface PropFilter {
  readonly name: string;
  readonly isNotDefined: boolean;
  readonly text?: string;
  readonly negate: boolean;
}

export interface QueryFilter {
  readonly type?: string;
  readonly range?: TimeRange;
  readonly props: readonly PropFilter[];
}

const unsupported = () => new DavFailure(403, 'calendar-query supports comp-filter with time-range and prop-filter with text-match or is-not-defined', [NS.caldav, 'supported-filter']);

function propFilterOf(el: XmlElement): PropFilter {
  const name = (el.attrs.name ?? '').toUpperCase();
  if (!name || el.children.some((c) => !is(c, NS.caldav, 'text-match') && !is(c, NS.caldav, 'is-not-defined'))) throw unsupported();
  const match = child(el, NS.caldav, 'text-match');
  const negate = (match?.attrs['negate-condition'] ?? 'no').toLowerCase() === 'yes';
  return { name, isNotDefined: child(el, NS.caldav, 'is-not-defined') !== undefined, ...(match ? { text: match.text } : {}), negate };
}

function timeRangeOf(tr: XmlElement): TimeRange {
  const startMs = tr.attrs.start === undefined ? undefined : parseUtcDateTime(tr.attrs.start);
  const endMs = tr.attrs.end === undefined ? undefined : parseUtcDateTime(tr.attrs.end);
  if ((tr.attrs.start !== undefined && startMs === undefined) || (tr.attrs.end !== undefined && endMs === undefined) || (startMs === undefined && endMs === undefined)) {
    throw new DavFailure(400, 'a time-range has start and/or end as UTC date-times (20260101T000000Z)', [NS.caldav, 'valid-filter']);
  }
  return { ...(startMs !== undefined ? { startMs } : {}), ...(endMs !== undefined ? { endMs } : {}) };
}

/** The query's filter: VCALENDAR > one component type, with an optional time range and property filters. */
export function filterOf(body: XmlElement): QueryFilter {
  const top = child(child(body, NS.caldav, 'filter'), NS.caldav, 'comp-filter');
  if (!top) throw new DavFailure(400, 'a calendar-query needs a filter with a VCALENDAR comp-filter', [NS.caldav, 'valid-filter']);
  if ((top.attrs.name ?? '').toUpperCase() !== 'VCALENDAR' || top.children.some((c) => !is(c, NS.caldav, 'comp-filter'))) throw unsupported();
  const inner = top.children[0];
  if (!inner) return { props: [] };
  if (top.children.length > 1 || inner.children.some((c) => !is(c, NS.caldav, 'time-range') && !is(c, NS.caldav, 'prop-filter'))) throw unsupported();
  const tr = child(inner, NS.caldav, 'time-range');
  const props = inner.children.filter((c) => is(c, NS.caldav, 'prop-filter')).map(propFilterOf);
  return { type: (inner.attrs.name ?? '').toUpperCase(), ...(tr ? { range: timeRangeOf(tr) } : {}), props };
}

function propMatches(values: readonly string[], f: PropFilter): boolean {
  if (f.isNotDefined) return values.length === 0;
  if (values.length === 0) return false;
  if (f.text === undefined) return true;
  const found = values.some((v) => v.toLowerCase().includes(f.text!.toLowerCase()));
  return f.negate ? !found : found;
}

export function matches(text: string, filter: QueryFilter): boolean {
  let resource;
  try {
    resource = parseCalendarResource(text);
  } catch {
    return false;
  }
  if (filter.type === undefined) return true;
  if (!resource.components.includes(filter.type)) return false;
  const items = resource.root.getAllSubcomponents(filter.type.toLowerCase());
  const valuesOf = (name: string) => items.flatMap((c) => c.getAllProperties(name.toLowerCase()).map((p) => String(p.getFirstValue() ?? '')));
  if (!filter.props.every((f) => propMatches(valuesOf(f.name), f))) return false;
  return filter.range === undefined || hasInstanceIn(resource, filter.type, filter.range);
}

async function query(body: XmlElement, r: CalendarResourceRef, ctx: DavContext): Promise<DavResponse> {
  const calendar = await calendarOf(r, ctx);
  const filter = filterOf(body);
  const objects = await ctx.backend.listObjects(r.slug);
  const base: PropertyContext = { base: ctx.base, owner: ctx.backend.owner, calendar };
  const out = await responses(objects, r, base, ctx, namesIn(body), (text) => matches(text, filter));
  return { status: 207, headers: XML, body: multistatus(out.join('')) };
}

/** addressbook-query (RFC 6352 8.6): the cards the filter keeps, at most the client's nresults (507 beyond, 8.6.1). */
async function cardQuery(body: XmlElement, r: CalendarResourceRef, ctx: DavContext): Promise<DavResponse> {
  const book = await calendarOf(r, ctx);
  const filter = cardFilterOf(body);
  const limit = limitOf(body);
  const objects = await ctx.backend.listObjects(r.slug);
  const base: PropertyContext = { base: ctx.base, owner: ctx.backend.owner, calendar: book };
  const out = await responses(objects, r, base, ctx, namesIn(body), (text) => cardMatches(text, filter));
  if (limit === undefined || out.length <= limit) return { status: 207, headers: XML, body: multistatus(out.join('')) };
  const truncated = `<d:response><d:href>${escapeXml(hrefOf(ctx.base, r))}</d:href><d:status>HTTP/1.1 507 Insufficient Storage</d:status><d:error><d:number-of-matches-within-limits/></d:error></d:response>`;
  return { status: 207, headers: XML, body: multistatus(out.slice(0, limit).join('') + truncated) };
}

async function syncCollection(body: XmlElement, r: CalendarResourceRef, ctx: DavContext): Promise<DavResponse> {
  const calendar = await calendarOf(r, ctx);
  const level = child(body, NS.dav, 'sync-level')?.text ?? '1';
  if (level !== '1') throw new DavFailure(403, 'calendars hold no sub-collections: sync-level is 1', [NS.dav, 'supported-report']);
  const token = child(body, NS.dav, 'sync-token')?.text ?? '';
  const since = token === '' ? 0 : modseqOfToken(calendar, token);
  const invalid = () => new DavFailure(403, 'the sync token is not valid any more: sync again from scratch', [NS.dav, 'valid-sync-token']);
  if (since === undefined) throw invalid();
  const changes = await ctx.backend.changesSince(r.slug, since);
  if (!changes) throw invalid();
  const now = { ...calendar, modseq: changes.modseq };
  const base: PropertyContext = { base: ctx.base, owner: ctx.backend.owner, calendar: now };
  const out = await responses(changes.changed, r, base, ctx, namesIn(body));
  // An initial sync lists what exists; deletions matter only to a client that had a token.
  if (token !== '') for (const name of changes.deleted) out.push(statusResponse(objectHref(ctx, r, name), 404));
  return { status: 207, headers: XML, body: multistatus(`${out.join('')}<d:sync-token>${escapeXml(syncTokenOf(now))}</d:sync-token>`) };
}
