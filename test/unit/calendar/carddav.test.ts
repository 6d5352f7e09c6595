// CardDAV (RFC 6352) on the CalDAV core's machinery: address books are the same collection logs in
// their own family (addressbooks/ tree), holding vCards that ical.js parses. Every request as a client
// sends it, every failure with its status, and nothing lost by a refused request.
import { describe, expect, test } from 'vitest';
import { CARDDAV_VCARD_BYTES_MAX } from '../../../protocol/limits';
import { contentBlockIds } from '../../../storage/leases';
import { parseBlockRef } from '../../../storage/blocks';
import { MemoryStorage } from '../../../storage/memory/storage';
import { ALICE, Device, event, hrefsIn, propfindBody, syncBody } from './davFixtures';

const HOME = `/dav/addressbooks/${ALICE}/`;
const BOOK = `${HOME}friends/`;
const DEFAULT = `${HOME}default/`;
const CARD_NS = 'urn:ietf:params:xml:ns:carddav';
const MKCOL = (type = '<card:addressbook/>') =>
  `<?xml version="1.0"?><d:mkcol xmlns:d="DAV:" xmlns:card="${CARD_NS}"><d:set><d:prop><d:resourcetype><d:collection/>${type}</d:resourcetype>` +
  `<d:displayname>Friends</d:displayname><card:addressbook-description>people I know</card:addressbook-description></d:prop></d:set></d:mkcol>`;

export const vcard = (uid: string, fn: string, extra: string[] = []) => ['BEGIN:VCARD', 'VERSION:3.0', `UID:${uid}`, `FN:${fn}`, `N:${fn.split(' ').reverse().join(';')};;;`, ...extra, 'END:VCARD', ''].join('\r\n');
const query = (filter: string, limit = '') =>
  `<?xml version="1.0"?><card:addressbook-query xmlns:d="DAV:" xmlns:card="${CARD_NS}"><d:prop><d:getetag/><card:address-data/></d:prop>${filter}${limit}</card:addressbook-query>`;

async function withBook() {
  const storage = new MemoryStorage();
  const alice = await Device.of(storage);
  expect((await alice.send('MKCOL', BOOK, MKCOL())).status).toBe(201);
  return { storage, alice };
}

async function withContacts() {
  const { storage, alice } = await withBook();
  const cards = {
    'ada.vcf': vcard('ada', 'Ada Lovelace', ['EMAIL;TYPE=work:ada@engine.example', 'TEL;TYPE=cell:+44 1']),
    'alan.vcf': vcard('alan', 'Alan Turing', ['EMAIL;TYPE=home:alan@bletchley.example']),
    'grace.vcf': vcard('grace', 'Grace Hopper', ['EMAIL;TYPE=work:grace@navy.example', 'EMAIL;TYPE=home:amazing@grace.example']),
    'noemail.vcf': vcard('noemail', 'Nobody Without Mail'),
  };
  for (const [name, card] of Object.entries(cards)) expect((await alice.send('PUT', `${BOOK}${name}`, card, { 'content-type': 'text/vcard' })).status).toBe(201);
  return { storage, alice, cards };
}

const found = (xml: string) => hrefsIn(xml).map((h) => h.slice(BOOK.length)).sort();

describe('CardDAV core over a user\'s address book logs', () => {
  test('discovery: OPTIONS says addressbook; the principal names the address book home; a new user finds a default address book there', async () => {
    const alice = await Device.of(new MemoryStorage());
    expect((await alice.send('OPTIONS', '/dav/')).headers.dav).toContain('addressbook');
    const principal = await alice.send('PROPFIND', `/dav/principals/${ALICE}/`, propfindBody('<card:addressbook-home-set xmlns:card="urn:ietf:params:xml:ns:carddav"/>'), { depth: '0' });
    expect(principal.text).toContain(`<card:addressbook-home-set><d:href>${HOME}</d:href></card:addressbook-home-set>`);
    const root = await alice.send('PROPFIND', '/dav/', propfindBody('<d:resourcetype/>'), { depth: '1' });
    expect(hrefsIn(root.text)).toContain(HOME);
    const props = ['<d:resourcetype/>', '<d:displayname/>', '<d:sync-token/>', '<d:supported-report-set/>', '<card:supported-address-data xmlns:card="urn:ietf:params:xml:ns:carddav"/>', '<c:supported-calendar-component-set/>'];
    const home = await alice.send('PROPFIND', HOME, propfindBody(...props), { depth: '1' });
    expect(hrefsIn(home.text)).toEqual([HOME, DEFAULT]);
    expect(home.text).toContain('<d:resourcetype><d:collection/><card:addressbook/></d:resourcetype>');
    expect(home.text).toContain('<d:displayname>Contacts</d:displayname>');
    expect(home.text).toContain('<card:addressbook-query/>');
    expect(home.text).toContain('content-type="text/vcard" version="4.0"');
    // A calendar property is not an address book's.
    expect(home.text).toContain('<c:supported-calendar-component-set/></d:prop><d:status>HTTP/1.1 404 Not Found');
    // The calendar tree is apart: no address book there, and no schedule boxes among the address books.
    const calendars = await alice.send('PROPFIND', `/dav/calendars/${ALICE}/`, propfindBody('<d:resourcetype/>'), { depth: '1' });
    expect(calendars.text).not.toContain('addressbook');
  });

  test('extended MKCOL makes an address book with its properties; a wrong resourcetype 403, a taken name 405, MKCALENDAR here 403', async () => {
    const { alice } = await withBook();
    const book = await alice.send('PROPFIND', BOOK, propfindBody('<d:displayname/>', '<card:addressbook-description xmlns:card="urn:ietf:params:xml:ns:carddav"/>'), { depth: '0' });
    expect(book.text).toContain('<d:displayname>Friends</d:displayname>');
    expect(book.text).toContain('<card:addressbook-description>people I know</card:addressbook-description>');
    expect((await alice.send('MKCOL', BOOK, MKCOL())).status).toBe(405);
    const wrong = await alice.send('MKCOL', `${HOME}cal/`, MKCOL('<c:calendar xmlns:c="urn:ietf:params:xml:ns:caldav"/>'));
    expect([wrong.status, wrong.text.includes('valid-resourcetype')]).toEqual([403, true]);
    expect((await alice.send('MKCALENDAR', `${HOME}cal/`)).status).toBe(403);
    expect((await alice.send('MKCOL', `${HOME}inbox/`, MKCOL())).status).toBe(405);
    const nested = await alice.send('MKCOL', `${BOOK}nested/`, MKCOL());
    expect([nested.status, nested.text.includes('addressbook-collection-location-ok')]).toEqual([403, true]);
    // A calendar may share the name; extended MKCOL makes calendars too.
    expect((await alice.send('MKCOL', `/dav/calendars/${ALICE}/friends/`, MKCOL('<c:calendar xmlns:c="urn:ietf:params:xml:ns:caldav"/>').replace(/<card:addressbook-description>.*<\/card:addressbook-description>/, ''))).status).toBe(201);
    expect((await alice.send('PUT', `/dav/calendars/${ALICE}/friends/e.ics`, event('e'))).status).toBe(201);
    expect((await alice.send('PUT', `${BOOK}e.ics`, event('e'))).status).toBe(400);
    const patched = await alice.send('PROPPATCH', BOOK, `<d:propertyupdate xmlns:d="DAV:"><d:set><d:prop><d:displayname>Pals</d:displayname></d:prop></d:set></d:propertyupdate>`);
    expect([patched.status, patched.text.includes('200 OK')]).toEqual([207, true]);
    expect((await alice.send('DELETE', BOOK)).status).toBe(204);
    expect((await alice.send('PROPFIND', BOOK, '', { depth: '0' })).status).toBe(404);
  });

  test('PUT, GET, DELETE of vCards with ETags; If-None-Match: * and a wrong If-Match get 412 and change nothing', async () => {
    const { alice } = await withBook();
    const created = await alice.send('PUT', `${BOOK}ada.vcf`, vcard('ada', 'Ada Lovelace'), { 'if-none-match': '*', 'content-type': 'text/vcard; charset=utf-8' });
    expect([created.status, created.headers.etag]).toEqual([201, expect.stringMatching(/^"[0-9a-f]{32}"$/)]);
    const etag = created.headers.etag!;
    expect((await alice.send('PUT', `${BOOK}ada.vcf`, vcard('ada', 'Ada King'), { 'if-none-match': '*' })).status).toBe(412);
    expect((await alice.send('PUT', `${BOOK}ada.vcf`, vcard('ada', 'Ada King'), { 'if-match': '"0000"' })).status).toBe(412);
    const got = await alice.send('GET', `${BOOK}ada.vcf`);
    expect([got.status, got.headers['content-type'], got.headers.etag, got.text]).toEqual([200, 'text/vcard; charset=utf-8', etag, vcard('ada', 'Ada Lovelace')]);
    const updated = await alice.send('PUT', `${BOOK}ada.vcf`, vcard('ada', 'Ada King'), { 'if-match': etag });
    expect(updated.status).toBe(204);
    expect((await alice.send('DELETE', `${BOOK}ada.vcf`, '', { 'if-match': etag })).status).toBe(412);
    expect((await alice.send('GET', `${BOOK}ada.vcf`)).text).toContain('FN:Ada King');
    expect((await alice.send('DELETE', `${BOOK}ada.vcf`, '', { 'if-match': updated.headers.etag! })).status).toBe(204);
    expect((await alice.send('GET', `${BOOK}ada.vcf`)).status).toBe(404);
    expect((await alice.send('DELETE', `${BOOK}ada.vcf`)).status).toBe(404);
  });

  test('bad requests get their status and lose nothing: malformed vCard 400, no UID or FN 400, too big 413, not a vCard type 415, no book 409, another user 403', async () => {
    const { alice } = await withBook();
    expect((await alice.send('PUT', `${BOOK}keep.vcf`, vcard('keep', 'Kept Card'))).status).toBe(201);
    const bad = (body: string, headers: Record<string, string> = {}) => alice.send('PUT', `${BOOK}keep.vcf`, body, headers);
    expect((await bad('BEGIN:VCARD\r\nthis is not\r\n')).status).toBe(400);
    expect((await bad('hello')).status).toBe(400);
    expect((await bad(vcard('x', 'No Uid').replace('UID:x\r\n', ''))).status).toBe(400);
    expect((await bad(vcard('x', 'No Fn').replace('FN:No Fn\r\n', ''))).status).toBe(400);
    expect((await bad(vcard('x', 'No Version').replace('VERSION:3.0\r\n', ''))).status).toBe(400);
    expect((await bad(vcard('a', 'Two') + vcard('b', 'Cards'))).status).toBe(400);
    expect((await bad(vcard('x', 'Huge', [`NOTE:${'x'.repeat(CARDDAV_VCARD_BYTES_MAX)}`]))).status).toBe(413);
    expect((await bad(vcard('x', 'Typed'), { 'content-type': 'text/calendar' })).status).toBe(415);
    expect((await alice.send('PROPFIND', BOOK, '<d:propfind xmlns:d="DAV:"><d:prop>', { depth: '0' })).status).toBe(400);
    expect((await alice.send('PUT', `${HOME}nope/x.vcf`, vcard('x', 'Nowhere'))).status).toBe(409);
    expect((await alice.send('GET', `${BOOK}missing.vcf`)).status).toBe(404);
    expect((await alice.send('PROPFIND', `${HOME}nope/`, '', { depth: '0' })).status).toBe(404);
    for (const [method, body] of [['GET', ''], ['PUT', vcard('m', 'Mallory')], ['DELETE', ''], ['PROPFIND', '']] as const) {
      expect((await alice.send(method, `/dav/addressbooks/bob@lab.example/default/keep.vcf`, body, { depth: '0' })).status).toBe(403);
    }
    expect((await alice.send('REPORT', `/dav/addressbooks/bob@lab.example/default/`, query('<card:filter/>'))).status).toBe(403);
    expect((await alice.send('GET', `${BOOK}keep.vcf`)).text).toBe(vcard('keep', 'Kept Card'));
  });

  test('addressbook-query: text-match on FN and EMAIL (contains, equals, starts-with, ends-with, negated), anyof/allof, is-not-defined, param-filter, nresults', async () => {
    const { alice } = await withContacts();
    const ask = async (filter: string, limit = '') => {
      const res = await alice.send('REPORT', BOOK, query(filter, limit), { depth: '1' });
      expect(res.status).toBe(207);
      return res;
    };
    const fn = (text: string, attrs = '') => `<card:prop-filter name="FN"><card:text-match${attrs}>${text}</card:text-match></card:prop-filter>`;
    const email = (text: string, attrs = '') => `<card:prop-filter name="EMAIL"><card:text-match${attrs}>${text}</card:text-match></card:prop-filter>`;
    const res = await ask(`<card:filter>${fn('lovelace')}</card:filter>`);
    expect(found(res.text)).toEqual(['ada.vcf']);
    expect(res.text).toContain('<card:address-data>BEGIN:VCARD');
    expect(found((await ask(`<card:filter>${email('grace@navy.example', ' match-type="equals"')}</card:filter>`)).text)).toEqual(['grace.vcf']);
    expect(found((await ask(`<card:filter>${email('ALAN', ' match-type="starts-with"')}</card:filter>`)).text)).toEqual(['alan.vcf']);
    expect(found((await ask(`<card:filter>${email('ALAN', ' match-type="starts-with" collation="i;octet"')}</card:filter>`)).text)).toEqual([]);
    expect(found((await ask(`<card:filter>${email('.example', ' match-type="ends-with"')}</card:filter>`)).text)).toEqual(['ada.vcf', 'alan.vcf', 'grace.vcf']);
    expect(found((await ask(`<card:filter>${fn('turing', ' negate-condition="yes"')}</card:filter>`)).text)).toEqual(['ada.vcf', 'grace.vcf', 'noemail.vcf']);
    expect(found((await ask(`<card:filter>${fn('Ada')}${fn('Alan')}</card:filter>`)).text)).toEqual(['ada.vcf', 'alan.vcf']);
    expect(found((await ask(`<card:filter test="allof">${fn('a')}${email('work')}</card:filter>`)).text)).toEqual([]);
    expect(found((await ask(`<card:filter test="allof">${fn('Grace')}${email('navy')}</card:filter>`)).text)).toEqual(['grace.vcf']);
    expect(found((await ask(`<card:filter><card:prop-filter name="EMAIL"><card:is-not-defined/></card:prop-filter></card:filter>`)).text)).toEqual(['noemail.vcf']);
    const homeMail = `<card:filter><card:prop-filter name="EMAIL"><card:param-filter name="TYPE"><card:text-match match-type="equals">home</card:text-match></card:param-filter></card:prop-filter></card:filter>`;
    expect(found((await ask(homeMail)).text)).toEqual(['alan.vcf', 'grace.vcf']);
    expect(found((await ask('<card:filter/>')).text)).toEqual(['ada.vcf', 'alan.vcf', 'grace.vcf', 'noemail.vcf']);
    const limited = await ask('<card:filter/>', '<card:limit><card:nresults>2</card:nresults></card:limit>');
    expect(hrefsIn(limited.text)).toHaveLength(3);
    expect(limited.text).toContain('507 Insufficient Storage');
    const collation = await alice.send('REPORT', BOOK, query(`<card:filter>${fn('a', ' collation="i;klingon"')}</card:filter>`));
    expect([collation.status, collation.text.includes('supported-collation')]).toEqual([412, true]);
    expect((await alice.send('REPORT', BOOK, query(''))).status).toBe(400);
    expect((await alice.send('REPORT', BOOK, query(`<card:filter>${fn('a', ' match-type="regex"')}</card:filter>`))).status).toBe(400);
    // A calendar report on an address book is not supported there.
    const calQuery = `<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><c:filter><c:comp-filter name="VCALENDAR"/></c:filter></c:calendar-query>`;
    expect((await alice.send('REPORT', BOOK, calQuery)).status).toBe(403);
  });

  test('addressbook-multiget returns the asked cards with their data, and 404 for the rest (a calendar\'s href among them too)', async () => {
    const { alice } = await withContacts();
    const hrefs = [`${BOOK}ada.vcf`, `${BOOK}gone.vcf`, `/dav/calendars/${ALICE}/friends/ada.vcf`].map((h) => `<d:href>${h}</d:href>`).join('');
    const res = await alice.send('REPORT', BOOK, `<card:addressbook-multiget xmlns:d="DAV:" xmlns:card="${CARD_NS}"><d:prop><d:getetag/><card:address-data/></d:prop>${hrefs}</card:addressbook-multiget>`, { depth: '1' });
    expect(res.status).toBe(207);
    expect(res.text).toContain('FN:Ada Lovelace');
    expect(res.text).toContain(`<d:href>${BOOK}gone.vcf</d:href><d:status>HTTP/1.1 404 Not Found</d:status>`);
    expect(res.text).toContain(`<d:href>/dav/calendars/${ALICE}/friends/ada.vcf</d:href><d:status>HTTP/1.1 404 Not Found</d:status>`);
  });

  test('sync-collection: initial listing, then only what changed and what was deleted; a foreign token is 403 valid-sync-token', async () => {
    const { alice } = await withContacts();
    const first = await alice.send('REPORT', BOOK, syncBody(''));
    expect(found(first.text)).toEqual(['ada.vcf', 'alan.vcf', 'grace.vcf', 'noemail.vcf']);
    const token = /<d:sync-token>([^<]+)</.exec(first.text)![1]!;
    await alice.send('DELETE', `${BOOK}alan.vcf`);
    await alice.send('PUT', `${BOOK}ada.vcf`, vcard('ada', 'Ada King'));
    const next = await alice.send('REPORT', BOOK, syncBody(token));
    expect(hrefsIn(next.text)).toEqual([`${BOOK}ada.vcf`, `${BOOK}alan.vcf`]);
    expect(next.text).toContain(`<d:href>${BOOK}alan.vcf</d:href><d:status>HTTP/1.1 404 Not Found</d:status>`);
    const bad = await alice.send('REPORT', BOOK, syncBody('urn:post:sync:00:1'));
    expect([bad.status, bad.text.includes('valid-sync-token')]).toEqual([403, true]);
  });

  test('two devices of one user: each sees the other\'s cards, and a write from a stale ETag is refused', async () => {
    const { storage, alice } = await withBook();
    const phone = await Device.of(storage, ALICE, 1, 'phone');
    const put = await alice.send('PUT', `${BOOK}a.vcf`, vcard('a', 'Ann Example'));
    expect((await phone.send('GET', `${BOOK}a.vcf`)).text).toBe(vcard('a', 'Ann Example'));
    expect((await phone.send('PUT', `${BOOK}a.vcf`, vcard('a', 'Ann Phone'), { 'if-match': put.headers.etag! })).status).toBe(204);
    expect((await alice.send('PUT', `${BOOK}a.vcf`, vcard('a', 'Ann Laptop'), { 'if-match': put.headers.etag! })).status).toBe(412);
    expect((await alice.send('GET', `${BOOK}a.vcf`)).text).toContain('FN:Ann Phone');
  });
});

describe('address book leases', () => {
  test('the owner\'s lease refresh covers every address book log block and every card\'s content', async () => {
    const { storage, alice } = await withContacts();
    const books = alice.addressBooks!;
    const refs = await (await books.calendarLog((await (await books.indexLog()).read((s) => s.get('friends')))!)).read((s) => [...s.objects.values()].map((o) => o.ref));
    const contentIds = async (ref: string) => {
      const parsed = parseBlockRef(ref);
      return parsed.ok ? contentBlockIds(storage, parsed.value) : [];
    };
    const live = new Set(await books.liveBlockIds(contentIds));
    for (const ref of refs) for (const id of await contentIds(ref)) expect(live.has(id)).toBe(true);
    expect(refs).toHaveLength(4);
  });
});
