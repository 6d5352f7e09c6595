// Where things are under the DAV base (e.g. /dav/): one principal and one calendar home per user.
//   principals/<address>/              the user (current-user-principal, calendar-home-set)
//   calendars/<address>/               the calendar home (the user's calendars)
//   calendars/<address>/<calendar>/    a calendar collection
//   calendars/<address>/<calendar>/<name>.ics   an iCalendar resource
//   calendars/<address>/inbox/, outbox/  the schedule inbox and outbox (RFC 6638): names no calendar may take
//   addressbooks/<address>/...      the address book home (RFC 6352), the same shapes: a 'home', its
//                                   collections ('calendar' kind, area 'addressbooks') and their vCards
// The area tells the two trees apart; a resource without one is in the calendar tree.
export type DavArea = 'calendars' | 'addressbooks';
export type DavResource =
  | { readonly kind: 'root' }
  | { readonly kind: 'principal'; readonly user: string }
  | { readonly kind: 'home'; readonly user: string; readonly area?: 'addressbooks' }
  | { readonly kind: 'calendar'; readonly user: string; readonly slug: string; readonly area?: 'addressbooks' }
  | { readonly kind: 'object'; readonly user: string; readonly slug: string; readonly name: string; readonly area?: 'addressbooks' };

/** Whether `r` is in the address book tree. */
export const isCardResource = (r: DavResource): boolean => 'area' in r && r.area === 'addressbooks';
/** The address book every user has (made on first use): clients that do not create collections sync this one. */
export const DEFAULT_ADDRESS_BOOK = 'default';

/** The schedule inbox (invitations and replies received) and outbox (free-busy requests are POSTed there), in the calendar home. */
export const SCHEDULE_INBOX = 'inbox';
export const SCHEDULE_OUTBOX = 'outbox';
export const isScheduleBox = (slug: string): boolean => slug === SCHEDULE_INBOX || slug === SCHEDULE_OUTBOX;
/** Whether `r` is the schedule inbox or outbox itself (only the calendar tree has them). */
export const isScheduleBoxOf = (r: DavResource): boolean => r.kind === 'calendar' && !isCardResource(r) && isScheduleBox(r.slug);

const seg = (s: string) => encodeURIComponent(s).replace(/%40/g, '@');

export const hrefs = {
  root: (base: string) => base,
  principal: (base: string, user: string) => `${base}principals/${seg(user)}/`,
  home: (base: string, user: string, area: DavArea = 'calendars') => `${base}${area}/${seg(user)}/`,
  calendar: (base: string, user: string, slug: string, area: DavArea = 'calendars') => `${base}${area}/${seg(user)}/${seg(slug)}/`,
  object: (base: string, user: string, slug: string, name: string, area: DavArea = 'calendars') => `${base}${area}/${seg(user)}/${seg(slug)}/${seg(name)}`,
};

const areaOf = (r: DavResource): DavArea => (isCardResource(r) ? 'addressbooks' : 'calendars');
/** `area` as the optional field of a resource: absent in the calendar tree. */
export const areaField = (area: DavArea): { area?: 'addressbooks' } => (area === 'addressbooks' ? { area } : {});

export function hrefOf(base: string, r: DavResource): string {
  switch (r.kind) {
    case 'root':
      return hrefs.root(base);
    case 'principal':
      return hrefs.principal(base, r.user);
    case 'home':
      return hrefs.home(base, r.user, areaOf(r));
    case 'calendar':
      return hrefs.calendar(base, r.user, r.slug, areaOf(r));
    case 'object':
      return hrefs.object(base, r.user, r.slug, r.name, areaOf(r));
  }
}

/** The resource a path (or an absolute URL's path) names under `base`; undefined: not ours, or not decodable. */
export function resourceAt(base: string, pathOrUrl: string): DavResource | undefined {
  let path = pathOrUrl;
  if (/^https?:\/\//i.test(path)) path = new URL(path).pathname;
  path = path.split('?')[0]!;
  if (`${path}/` === base) path = base;
  if (!path.startsWith(base)) return undefined;
  let parts: string[];
  try {
    parts = path.slice(base.length).split('/').filter((p) => p !== '').map((p) => decodeURIComponent(p));
  } catch {
    return undefined;
  }
  if (parts.some((p) => p === '.' || p === '..')) return undefined;
  const [area, user, slug, name, ...rest] = parts;
  if (rest.length > 0) return undefined;
  if (area === undefined) return { kind: 'root' };
  if (user === undefined) return undefined;
  const owner = user.toLowerCase();
  if (area === 'principals') return slug === undefined ? { kind: 'principal', user: owner } : undefined;
  if (area !== 'calendars' && area !== 'addressbooks') return undefined;
  const where = areaField(area);
  if (slug === undefined) return { kind: 'home', user: owner, ...where };
  return name === undefined ? { kind: 'calendar', user: owner, slug, ...where } : { kind: 'object', user: owner, slug, name, ...where };
}
