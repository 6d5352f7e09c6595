import { describe, expect, test } from 'vitest';
import { contentBlockIds } from '../../../storage/leases';
import { parseBlockRef } from '../../../storage/blocks';
import { MemoryStorage } from '../../../storage/memory/storage';
import { ALICE, Device, event, hrefsIn, propfindBody, queryBody, syncBody } from './davFixtures';

const CAL = `/dav/calendars/${ALICE}/work/`;
const MKCAL = `<?xml version="1.0"?><c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop><d:displayname>Work</d:displayname>
<c:supported-calendar-component-set><c:comp name="VEVENT"/></c:supported-calendar-component-set></d:prop></d:set></c:mkcalendar>`;

async function withCalendar() {
  const storage = new MemoryStorage();
  const alice = await Device.of(storage);
  expect((await alice.send('MKCALENDAR', CAL, MKCAL)).status).toBe(201);
  return { storage, alice };
}

describe('CalDAV core over a user\'s calendar logs', () => {
  test('OPTIONS announces calendar-access; discovery: principal, home set, then the calendars with their properties', async () => {
    const { alice } = await withCalendar();
    expect((await alice.send('OPTIONS', '/dav/')).headers.dav).toBe('1, 3, extended-mkcol, calendar-access, calendar-auto-schedule, addressbook');
    const root = await alice.send('PROPFIND', '/dav/', propfindBody('<d:current-user-principal/>'), { depth: '0' });
    expect(root.status).toBe(207);
    expect(root.text).toContain(`<d:current-user-principal><d:href>/dav/principals/${ALICE}/</d:href>`);
    const principal = await alice.send('PROPFIND', `/dav/principals/${ALICE}/`, propfindBody('<c:calendar-home-set/>'), { depth: '0' });
    expect(principal.text).toContain(`<c:calendar-home-set><d:href>/dav/calendars/${ALICE}/</d:href>`);
    const home = await alice.send('PROPFIND', `/dav/calendars/${ALICE}/`, propfindBody('<d:resourcetype/>', '<d:displayname/>', '<c:supported-calendar-component-set/>', '<d:sync-token/>', '<x:unknown xmlns:x="urn:x"/>'), { depth: '1' });
    expect(hrefsIn(home.text)).toEqual([`/dav/calendars/${ALICE}/`, CAL, `/dav/calendars/${ALICE}/inbox/`, `/dav/calendars/${ALICE}/outbox/`]);
    expect(home.text).toContain('<d:resourcetype><d:collection/><c:calendar/></d:resourcetype>');
    expect(home.text).toContain('<d:displayname>Work</d:displayname>');
    expect(home.text).toContain('<c:supported-calendar-component-set><c:comp name="VEVENT"/></c:supported-calendar-component-set>');
    expect(home.text).toMatch(/<d:sync-token>urn:post:sync:[0-9a-f]{32}:\d+<\/d:sync-token>/);
    expect(home.text).toContain('<x:unknown xmlns:x="urn:x"/></d:prop><d:status>HTTP/1.1 404 Not Found');
    expect((await alice.send('PROPFIND', CAL, '', { depth: 'infinity' })).status).toBe(403);
  });

  test('PUT, GET, DELETE with ETags; If-None-Match: * and a stale If-Match get 412 and change nothing', async () => {
    const { alice } = await withCalendar();
    const created = await alice.send('PUT', `${CAL}e1.ics`, event('e1'), { 'if-none-match': '*' });
    expect(created.status).toBe(201);
    const etag = created.headers.etag!;
    expect((await alice.send('PUT', `${CAL}e1.ics`, event('e1', 'LOCATION:x'), { 'if-none-match': '*' })).status).toBe(412);
    expect((await alice.send('PUT', `${CAL}e1.ics`, event('e1', 'LOCATION:x'), { 'if-match': '"stale"' })).status).toBe(412);
    const got = await alice.send('GET', `${CAL}e1.ics`);
    expect([got.status, got.headers.etag, got.text]).toEqual([200, etag, event('e1')]);
    const updated = await alice.send('PUT', `${CAL}e1.ics`, event('e1', 'LOCATION:y'), { 'if-match': etag });
    expect(updated.status).toBe(204);
    expect(updated.headers.etag).not.toBe(etag);
    expect((await alice.send('DELETE', `${CAL}e1.ics`, '', { 'if-match': etag })).status).toBe(412);
    expect((await alice.send('DELETE', `${CAL}e1.ics`, '', { 'if-match': updated.headers.etag! })).status).toBe(204);
    expect((await alice.send('GET', `${CAL}e1.ics`)).status).toBe(404);
    expect((await alice.send('DELETE', `${CAL}e1.ics`)).status).toBe(404);
  });

  test('bad requests get their status and lose nothing: malformed XML and iCalendar 400, too big 413, wrong component 403, no calendar 409, another user 403', async () => {
    const { alice } = await withCalendar();
    expect((await alice.send('PUT', `${CAL}keep.ics`, event('keep'))).status).toBe(201);
    expect((await alice.send('PROPFIND', CAL, '<d:propfind xmlns:d="DAV:"><d:prop>', { depth: '0' })).status).toBe(400);
    expect((await alice.send('REPORT', CAL, '<!DOCTYPE x [<!ENTITY a "b">]><x/>')).status).toBe(400);
    expect((await alice.send('PUT', `${CAL}bad.ics`, 'BEGIN:VCALENDAR\r\nthis is not\r\n')).status).toBe(400);
    expect((await alice.send('PUT', `${CAL}bad.ics`, event('a').replace('UID:a\r\n', ''))).status).toBe(400);
    expect((await alice.send('PUT', `${CAL}big.ics`, 'x'.repeat(10 * 1024 * 1024 + 1))).status).toBe(413);
    const todo = 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VTODO\r\nUID:t\r\nDTSTAMP:20260101T000000Z\r\nEND:VTODO\r\nEND:VCALENDAR\r\n';
    expect((await alice.send('PUT', `${CAL}t.ics`, todo)).text).toContain('supported-calendar-component');
    expect((await alice.send('PUT', `/dav/calendars/${ALICE}/nope/x.ics`, event('x'))).status).toBe(409);
    expect((await alice.send('GET', `/dav/calendars/bob@lab.example/work/keep.ics`)).status).toBe(403);
    expect((await alice.send('MKCALENDAR', CAL)).status).toBe(405);
    expect((await alice.send('GET', `${CAL}keep.ics`)).text).toBe(event('keep'));
  });

  test('calendar-query: a weekly event matches the weeks it recurs in, an exception moves one instance, a one-off matches its day only', async () => {
    const { alice } = await withCalendar();
    const weekly = event('weekly', 'RRULE:FREQ=WEEKLY;COUNT=10', '20260105T090000Z', '20260105T100000Z');
    // The third instance (19 January) moves to 21 January.
    const moved = ['BEGIN:VEVENT', 'UID:weekly', 'DTSTAMP:20260101T000000Z', 'RECURRENCE-ID:20260119T090000Z', 'DTSTART:20260121T150000Z', 'DTEND:20260121T160000Z', 'END:VEVENT'].join('\r\n');
    await alice.send('PUT', `${CAL}weekly.ics`, weekly.replace('END:VCALENDAR', `${moved}\r\nEND:VCALENDAR`));
    await alice.send('PUT', `${CAL}once.ics`, event('once', '', '20260301T120000Z', '20260301T130000Z'));
    const hits = async (start: string, end: string) => hrefsIn((await alice.send('REPORT', CAL, queryBody(start, end), { depth: '1' })).text).map((h) => h.slice(CAL.length)).sort();
    expect(await hits('20260112T000000Z', '20260113T000000Z')).toEqual(['weekly.ics']);
    expect(await hits('20260119T000000Z', '20260120T000000Z')).toEqual([]);
    expect(await hits('20260121T000000Z', '20260122T000000Z')).toEqual(['weekly.ics']);
    expect(await hits('20260309T000000Z', '20260310T000000Z')).toEqual(['weekly.ics']);
    expect(await hits('20260316T000000Z', '20260317T000000Z')).toEqual([]);
    expect(await hits('20260301T000000Z', '20260302T000000Z')).toEqual(['once.ics']);
    expect(await hits('20260101T000000Z', '20260401T000000Z')).toEqual(['once.ics', 'weekly.ics']);
  });

  test('calendar-query by UID (a prop-filter with text-match, as clients look an event up) and by a missing property', async () => {
    const { alice } = await withCalendar();
    await alice.send('PUT', `${CAL}a.ics`, event('first-uid', 'LOCATION:Room 1'));
    await alice.send('PUT', `${CAL}b.ics`, event('second-uid'));
    const byProp = (inner: string) =>
      `<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/></d:prop><c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT">${inner}</c:comp-filter></c:comp-filter></c:filter></c:calendar-query>`;
    const hits = async (inner: string) => hrefsIn((await alice.send('REPORT', CAL, byProp(inner), { depth: '1' })).text).map((h) => h.slice(CAL.length)).sort();
    expect(await hits('<c:prop-filter name="UID"><c:text-match collation="i;octet">second-uid</c:text-match></c:prop-filter>')).toEqual(['b.ics']);
    expect(await hits('<c:prop-filter name="LOCATION"><c:is-not-defined/></c:prop-filter>')).toEqual(['b.ics']);
    expect(await hits('<c:prop-filter name="UID"><c:text-match negate-condition="yes">first</c:text-match></c:prop-filter>')).toEqual(['b.ics']);
    const refused = await alice.send('REPORT', CAL, byProp('<c:prop-filter name="X"><c:param-filter name="Y"/></c:prop-filter>'));
    expect([refused.status, refused.text.includes('supported-filter')]).toEqual([403, true]);
  });

  test('calendar-multiget returns the asked resources with their data, and 404 for the rest', async () => {
    const { alice } = await withCalendar();
    await alice.send('PUT', `${CAL}a.ics`, event('a'));
    const body = `<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/><c:calendar-data/></d:prop><d:href>${CAL}a.ics</d:href><d:href>${CAL}gone.ics</d:href></c:calendar-multiget>`;
    const res = await alice.send('REPORT', CAL, body, { depth: '1' });
    expect(res.status).toBe(207);
    expect(res.text).toContain('UID:a');
    expect(res.text).toContain(`<d:href>${CAL}gone.ics</d:href><d:status>HTTP/1.1 404 Not Found</d:status>`);
  });

  test('sync-collection: initial listing, then only what changed and what was deleted; a foreign token is 403 valid-sync-token', async () => {
    const { alice } = await withCalendar();
    await alice.send('PUT', `${CAL}a.ics`, event('a'));
    await alice.send('PUT', `${CAL}b.ics`, event('b'));
    const first = await alice.send('REPORT', CAL, syncBody(''));
    expect(hrefsIn(first.text)).toEqual([`${CAL}a.ics`, `${CAL}b.ics`]);
    const token = /<d:sync-token>([^<]+)</.exec(first.text)![1]!;
    await alice.send('DELETE', `${CAL}a.ics`);
    await alice.send('PUT', `${CAL}c.ics`, event('c'));
    const next = await alice.send('REPORT', CAL, syncBody(token));
    expect(hrefsIn(next.text)).toEqual([`${CAL}c.ics`, `${CAL}a.ics`]);
    expect(next.text).toContain(`<d:href>${CAL}a.ics</d:href><d:status>HTTP/1.1 404 Not Found</d:status>`);
    const bad = await alice.send('REPORT', CAL, syncBody('urn:post:sync:00:1'));
    expect([bad.status, bad.text.includes('valid-sync-token')]).toEqual([403, true]);
  });

  test('two devices of one user: each sees the other\'s writes, and a write from a stale ETag is refused', async () => {
    const { storage, alice } = await withCalendar();
    const phone = await Device.of(storage, ALICE, 1, 'phone');
    const put = await alice.send('PUT', `${CAL}a.ics`, event('a'));
    expect((await phone.send('GET', `${CAL}a.ics`)).text).toBe(event('a'));
    expect((await phone.send('PUT', `${CAL}a.ics`, event('a', 'LOCATION:phone'), { 'if-match': put.headers.etag! })).status).toBe(204);
    expect((await alice.send('PUT', `${CAL}a.ics`, event('a', 'LOCATION:laptop'), { 'if-match': put.headers.etag! })).status).toBe(412);
    expect((await alice.send('GET', `${CAL}a.ics`)).text).toContain('LOCATION:phone');
  });
});

describe('calendar leases', () => {
  test('the owner\'s lease refresh covers every calendar log block and every resource\'s content', async () => {
    const { storage, alice } = await withCalendar();
    await alice.send('PUT', `${CAL}a.ics`, event('a'));
    await alice.send('PUT', `${CAL}b.ics`, event('b'));
    const refs = await (await alice.calendars.calendarLog((await (await alice.calendars.indexLog()).read((s) => s.get('work')))!)).read((s) => [...s.objects.values()].map((o) => o.ref));
    const contentIds = async (ref: string) => {
      const parsed = parseBlockRef(ref);
      return parsed.ok ? contentBlockIds(storage, parsed.value) : [];
    };
    const live = new Set(await alice.calendars.liveBlockIds(contentIds));
    for (const ref of refs) for (const id of await contentIds(ref)) expect(live.has(id)).toBe(true);
    expect(refs).toHaveLength(2);
  });
});
