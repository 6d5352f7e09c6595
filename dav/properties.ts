// Live properties of each kind of resource (RFC 4918 15, RFC 4791 5.2 and 6.2, RFC 5397, RFC 6578),
// as the inner XML of their element: a property a resource does not have is `undefined` (404 in its
// propstat). calendar-data (address-data in an address book, RFC 6352 10.4) is given only where a
// REPORT asked for it and the content was read. The address book tree (RFC 6352 6, 7) shares the
// DAV properties; the CalDAV ones belong to the calendar tree only, the CardDAV ones to the other.
import { CALDAV_RESOURCE_BYTES_MAX, CARDDAV_VCARD_BYTES_MAX } from '../protocol/limits';
import type { DavCalendar, DavObject } from './backend';
import { hrefs, type DavResource, isCardResource, SCHEDULE_INBOX, SCHEDULE_OUTBOX } from './paths';
import { escapeXml, NS } from './xml';

export interface PropertyContext {
  readonly base: string;
  readonly owner: string;
  readonly calendar?: DavCalendar;
  readonly object?: DavObject;
  /** The resource's content, when a REPORT asked for calendar-data or address-data. */
  readonly resourceData?: string;
}

export type PropertyName = readonly [ns: string, name: string];

export const syncTokenOf = (c: DavCalendar): string => `urn:post:sync:${c.collectionId}:${c.modseq}`;

/** The modseq a client's sync token names in `c`; undefined when it is not one of this calendar's tokens. */
export function modseqOfToken(c: DavCalendar, token: string): number | undefined {
  const prefix = `urn:post:sync:${c.collectionId}:`;
  if (!token.startsWith(prefix)) return undefined;
  const n = Number(token.slice(prefix.length));
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

const href = (h: string) => `<d:href>${escapeXml(h)}</d:href>`;
const PRIVILEGES = ['read', 'write', 'write-properties', 'write-content', 'bind', 'unbind', 'read-current-user-privilege-set'];
const SCHEDULE_PRIVILEGES: Readonly<Record<string, string>> = {
  [SCHEDULE_INBOX]: '<d:privilege><c:schedule-deliver/></d:privilege>',
  [SCHEDULE_OUTBOX]: '<d:privilege><c:schedule-send/></d:privilege>',
};
const REPORTS = [`<c:calendar-multiget/>`, `<c:calendar-query/>`, `<d:sync-collection/>`];
const CARD_REPORTS = [`<card:addressbook-multiget/>`, `<card:addressbook-query/>`, `<d:sync-collection/>`];

function davProperty(name: string, r: DavResource, ctx: PropertyContext): string | undefined {
  const principal = hrefs.principal(ctx.base, ctx.owner);
  switch (name) {
    case 'resourcetype':
      if (r.kind === 'calendar' && isCardResource(r)) return '<d:collection/><card:addressbook/>';
      if (r.kind === 'calendar') return r.slug === SCHEDULE_INBOX ? '<d:collection/><c:schedule-inbox/>' : r.slug === SCHEDULE_OUTBOX ? '<d:collection/><c:schedule-outbox/>' : '<d:collection/><c:calendar/>';
      return r.kind === 'principal' ? '<d:principal/>' : r.kind === 'object' ? '' : '<d:collection/>';
    case 'current-user-principal':
      return href(principal);
    case 'principal-URL':
      return r.kind === 'principal' ? href(principal) : undefined;
    case 'owner':
      return r.kind === 'root' ? undefined : href(principal);
    case 'displayname':
      return r.kind === 'calendar' ? escapeXml(ctx.calendar?.props.displayName || ctx.calendar?.slug || '') : r.kind === 'principal' ? escapeXml(ctx.owner) : undefined;
    case 'getetag':
      return ctx.object ? escapeXml(`"${ctx.object.etag}"`) : undefined;
    case 'getcontenttype':
      if (r.kind === 'object') return isCardResource(r) ? 'text/vcard; charset=utf-8' : 'text/calendar; charset=utf-8';
      return r.kind === 'root' ? undefined : 'httpd/unix-directory';
    case 'getcontentlength':
      return ctx.object ? String(ctx.object.sizeOctets) : undefined;
    case 'sync-token':
      return r.kind === 'calendar' && ctx.calendar ? escapeXml(syncTokenOf(ctx.calendar)) : undefined;
    case 'supported-report-set':
      if (r.kind === 'calendar' && isCardResource(r)) return CARD_REPORTS.map((x) => `<d:supported-report><d:report>${x}</d:report></d:supported-report>`).join('');
      return r.kind === 'calendar' && r.slug !== SCHEDULE_OUTBOX ? REPORTS.map((x) => `<d:supported-report><d:report>${x}</d:report></d:supported-report>`).join('') : undefined;
    case 'current-user-privilege-set':
      if (r.kind === 'root') return undefined;
      // RFC 6638 6.1: clients look for schedule-send on the outbox before they offer free-busy.
      return PRIVILEGES.map((p) => `<d:privilege><d:${p}/></d:privilege>`).join('') + (r.kind === 'calendar' && !isCardResource(r) ? (SCHEDULE_PRIVILEGES[r.slug] ?? '') : '');
    default:
      return undefined;
  }
}

function caldavProperty(name: string, r: DavResource, ctx: PropertyContext): string | undefined {
  switch (name) {
    case 'calendar-home-set':
      return r.kind === 'principal' || r.kind === 'root' ? href(hrefs.home(ctx.base, ctx.owner)) : undefined;
    case 'calendar-user-address-set':
      return r.kind === 'principal' ? href(`mailto:${ctx.owner}`) : undefined;
    case 'calendar-user-type':
      return r.kind === 'principal' ? 'INDIVIDUAL' : undefined;
    case 'schedule-inbox-URL':
      return r.kind === 'principal' ? href(hrefs.calendar(ctx.base, ctx.owner, SCHEDULE_INBOX)) : undefined;
    case 'schedule-outbox-URL':
      return r.kind === 'principal' ? href(hrefs.calendar(ctx.base, ctx.owner, SCHEDULE_OUTBOX)) : undefined;
    case 'supported-calendar-component-set':
      return r.kind === 'calendar' && ctx.calendar ? ctx.calendar.props.components.map((c) => `<c:comp name="${escapeXml(c)}"/>`).join('') : undefined;
    case 'calendar-description':
      return r.kind === 'calendar' && ctx.calendar ? escapeXml(ctx.calendar.props.description) : undefined;
    case 'max-resource-size':
      return r.kind === 'calendar' ? String(CALDAV_RESOURCE_BYTES_MAX) : undefined;
    case 'supported-calendar-data':
      return r.kind === 'calendar' ? '<c:calendar-data content-type="text/calendar" version="2.0"/>' : undefined;
    case 'calendar-data':
      return ctx.resourceData !== undefined ? escapeXml(ctx.resourceData) : undefined;
    default:
      return undefined;
  }
}

function carddavProperty(name: string, r: DavResource, ctx: PropertyContext): string | undefined {
  switch (name) {
    case 'addressbook-home-set':
      return r.kind === 'principal' || r.kind === 'root' ? href(hrefs.home(ctx.base, ctx.owner, 'addressbooks')) : undefined;
    case 'addressbook-description':
      return r.kind === 'calendar' && ctx.calendar ? escapeXml(ctx.calendar.props.description) : undefined;
    case 'max-resource-size':
      return r.kind === 'calendar' ? String(CARDDAV_VCARD_BYTES_MAX) : undefined;
    case 'supported-address-data':
      return r.kind === 'calendar' ? '<card:address-data-type content-type="text/vcard" version="3.0"/><card:address-data-type content-type="text/vcard" version="4.0"/>' : undefined;
    case 'address-data':
      return ctx.resourceData !== undefined ? escapeXml(ctx.resourceData) : undefined;
    default:
      return undefined;
  }
}

/** A CalDAV property of a calendar-tree resource, a CardDAV one of an address-book-tree resource; the principal and root have both homes. */
function treeProperty(ns: string, name: string, r: DavResource, ctx: PropertyContext): string | undefined {
  const shared = r.kind === 'root' || r.kind === 'principal';
  if (ns === NS.caldav && (shared || !isCardResource(r))) return caldavProperty(name, r, ctx);
  if (ns === NS.carddav && (shared || isCardResource(r))) return carddavProperty(name, r, ctx);
  return undefined;
}

/** The property's value on `r`, or undefined when `r` has no such property. */
export function propertyValue([ns, name]: PropertyName, r: DavResource, ctx: PropertyContext): string | undefined {
  if (ns === NS.dav) return davProperty(name, r, ctx);
  if (ns === NS.caldav || ns === NS.carddav) return treeProperty(ns, name, r, ctx);
  if (ns === NS.cs && name === 'getctag') return r.kind === 'calendar' && ctx.calendar ? escapeXml(syncTokenOf(ctx.calendar)) : undefined;
  if (ns === NS.ical && name === 'calendar-color') return r.kind === 'calendar' && ctx.calendar?.props.color ? escapeXml(ctx.calendar.props.color) : undefined;
  return undefined;
}

/** What `allprop` returns (RFC 4918 9.1: the live properties defined there, and ours that are cheap). */
export const ALL_PROPERTIES: readonly PropertyName[] = [
  [NS.dav, 'resourcetype'],
  [NS.dav, 'displayname'],
  [NS.dav, 'getetag'],
  [NS.dav, 'getcontenttype'],
  [NS.dav, 'getcontentlength'],
  [NS.dav, 'current-user-principal'],
  [NS.dav, 'sync-token'],
  [NS.caldav, 'supported-calendar-component-set'],
  [NS.caldav, 'calendar-home-set'],
  [NS.carddav, 'addressbook-home-set'],
];
