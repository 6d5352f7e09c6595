// Issue 16's CardDAV on the real lab: a real client from Debian, vdirsyncer, syncs address books both
// ways with a local folder through the node's DAV URL (lab.json's `caldav`): it discovers the default
// address book from /.well-known/carddav and the principal's addressbook-home-set, makes a second one
// with extended MKCOL (a folder that exists only locally), uploads, downloads, an edit and a deletion
// each way. Around it, raw HTTP: another node of the ring serves the same cards (they are logs in the
// ring, not files on the home node), another user's address book is 403, a malformed vCard 400, a
// stale ETag 412, a huge card 413, and a failed write loses nothing.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { CARDDAV_VCARD_BYTES_MAX } from '../../../protocol/limits';
import { basicAuth, davLab } from './davLab';
import { hasVdirsyncer, vdirsyncerPair } from './vdirsyncer';

const dir = mkdtempSync(join(tmpdir(), 'post-lab-carddav-'));
const basic = (u: { address: string; password: string }) => ({ authorization: basicAuth(u) });
const vcard = (uid: string, fn: string, email: string) => `BEGIN:VCARD\r\nVERSION:3.0\r\nUID:${uid}\r\nFN:${fn}\r\nN:${fn};;;;\r\nEMAIL:${email}\r\nEND:VCARD\r\n`;
const cardIn = (folder: string, uid: string) => readdirSync(folder).find((f) => readFileSync(join(folder, f), 'utf8').includes(`UID:${uid}`));

describe.skipIf(!hasVdirsyncer)('lab: CardDAV with a real client (vdirsyncer)', () => {
  const { userN, homeOf, otherNodeOf } = davLab(dir, { nodes: 2, users: 2 });

  test('vdirsyncer syncs contacts both ways: the default address book and one it makes (MKCOL), uploads, downloads, an edit and a deletion', async () => {
    const u = userN(1);
    const url = homeOf(u).caldav;
    const origin = new URL(url).origin;
    const redirect = await fetch(`${origin}/.well-known/carddav`, { redirect: 'manual' });
    expect([redirect.status, redirect.headers.get('location')]).toEqual([301, '/dav/']);
    const books = `${url}addressbooks/${u.address}/`;
    const { local, vdirsyncer } = vdirsyncerPair(join(dir, 'vdirsyncer'), { storage: 'carddav', url, user: u, collections: ['from a', 'from b'], fileext: '.vcf' });
    // A folder only the client has: discover makes it on the server (extended MKCOL), and the server's default address book locally.
    mkdirSync(join(local, 'work'), { recursive: true });
    writeFileSync(join(local, 'work', 'ada.vcf'), vcard('ada', 'Ada Lovelace', 'ada@engine.example'));
    expect((await fetch(`${books}default/alan.vcf`, { method: 'PUT', headers: { ...basic(u), 'content-type': 'text/vcard' }, body: vcard('alan', 'Alan Turing', 'alan@bletchley.example') })).status).toBe(201);
    // Two cards there: vdirsyncer refuses to sync a folder a deletion empties (it takes that for an accident).
    expect((await fetch(`${books}default/ann.vcf`, { method: 'PUT', headers: { ...basic(u), 'content-type': 'text/vcard' }, body: vcard('ann', 'Ann Example', 'ann@lab.example') })).status).toBe(201);
    vdirsyncer('discover');
    vdirsyncer('sync');
    const ada = await fetch(`${books}work/ada.vcf`, { headers: basic(u) });
    expect([ada.status, ada.headers.get('content-type')]).toEqual([200, 'text/vcard; charset=utf-8']);
    expect(await ada.text()).toContain('FN:Ada Lovelace');
    const alanFile = cardIn(join(local, 'default'), 'alan');
    expect(alanFile).toBeDefined();

    // Each side changes something: an edit and a deletion from the folder, an edit and a new card on the server.
    writeFileSync(join(local, 'work', 'ada.vcf'), vcard('ada', 'Ada King', 'ada@engine.example'));
    rmSync(join(local, 'default', alanFile!));
    const grace = vcard('grace', 'Grace Hopper', 'grace@navy.example');
    expect((await fetch(`${books}work/grace.vcf`, { method: 'PUT', headers: { ...basic(u), 'content-type': 'text/vcard' }, body: grace })).status).toBe(201);
    vdirsyncer('sync');
    expect(await (await fetch(`${books}work/ada.vcf`, { headers: basic(u) })).text()).toContain('FN:Ada King');
    expect((await fetch(`${books}default/alan.vcf`, { headers: basic(u) })).status).toBe(404);
    expect(cardIn(join(local, 'work'), 'grace')).toBeDefined();

    // The server deletes; the next sync removes the file.
    expect((await fetch(`${books}work/grace.vcf`, { method: 'DELETE', headers: basic(u) })).status).toBe(204);
    vdirsyncer('sync');
    expect(cardIn(join(local, 'work'), 'grace')).toBeUndefined();

    // Another node of the ring answers the same query: the address book is a log in the ring.
    const elsewhere = `${otherNodeOf(u).caldav}addressbooks/${u.address}/work/`;
    const query =
      `<?xml version="1.0"?><card:addressbook-query xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav"><d:prop><d:getetag/><card:address-data/></d:prop>` +
      `<card:filter><card:prop-filter name="EMAIL"><card:text-match match-type="ends-with">@engine.example</card:text-match></card:prop-filter></card:filter></card:addressbook-query>`;
    const found = await fetch(elsewhere, { method: 'REPORT', headers: { ...basic(u), depth: '1', 'content-type': 'application/xml' }, body: query });
    expect(found.status).toBe(207);
    expect(await found.text()).toContain('FN:Ada King');
  }, 180_000);

  test('bad requests on the lab: another user\'s address book 403, malformed vCard 400, stale ETag 412, huge card 413, missing card 404; the card is unchanged', async () => {
    const [u, other] = [userN(2), userN(1)];
    const book = `${homeOf(u).caldav}addressbooks/${u.address}/default/`;
    const card = vcard('keep', 'Kept Card', 'kept@lab.example');
    const put = await fetch(`${book}keep.vcf`, { method: 'PUT', headers: { ...basic(u), 'content-type': 'text/vcard' }, body: card });
    expect(put.status).toBe(201);
    const typed = { ...basic(u), 'content-type': 'text/vcard' };
    expect((await fetch(`${homeOf(u).caldav}addressbooks/${other.address}/default/`, { method: 'PROPFIND', headers: { ...basic(u), depth: '1' } })).status).toBe(403);
    expect((await fetch(`${book}keep.vcf`, { method: 'PUT', headers: typed, body: 'BEGIN:VCARD\r\nnot a card\r\n' })).status).toBe(400);
    expect((await fetch(`${book}keep.vcf`, { method: 'PUT', headers: { ...typed, 'if-match': '"0123"' }, body: vcard('keep', 'Changed', 'x@y') })).status).toBe(412);
    expect((await fetch(`${book}keep.vcf`, { method: 'PUT', headers: typed, body: Buffer.alloc(CARDDAV_VCARD_BYTES_MAX + 1, 0x41) })).status).toBe(413);
    expect((await fetch(`${book}nobody.vcf`, { headers: basic(u) })).status).toBe(404);
    expect((await fetch(book, { method: 'PROPFIND', headers: { depth: '0' } })).status).toBe(401);
    const got = await fetch(`${book}keep.vcf`, { headers: basic(u) });
    expect([got.status, got.headers.get('etag'), await got.text()]).toEqual([200, put.headers.get('etag'), card]);
  }, 60_000);
});
