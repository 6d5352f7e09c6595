// The HTTP side of CalDAV on a real socket: the well-known redirect, HTTP Basic through the node's
// login guard (the same throttle as IMAP: guesses beyond the free ones are turned away, 429), the
// body bound checked before reading, and a user reaching only their own calendars.
import { Agent, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CalDavHttp } from '../../../actors/calendar/calDavHttp';
import { LoginGuard } from '../../../actors/mail/loginGuard';
import { type HttpServer, startHttpServer } from '../../../infra/http/server';
import { silentLog } from '../../../infra/log';
import { SimRandom } from '../../../infra/sim/random';
import { LoginThrottle } from '../../../mail/loginThrottle';
import { PostError } from '../../../protocol/errors';
import { CARDDAV_VCARD_BYTES_MAX } from '../../../protocol/limits';
import { MemoryStorage } from '../../../storage/memory/storage';
import type { LoginRecord } from '../../../storage/users/login';
import { ALICE, Device, event } from './davFixtures';

const PASSWORD = 'right password';
/** Password checks made (each one a login through the guard). */
let logins = 0;
let server: HttpServer;
let origin = '';
const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

beforeAll(async () => {
  const alice = await Device.of(new MemoryStorage());
  const caldav = new CalDavHttp({
    loginGuard: () => guard,
    login: async (username, password) => {
      logins++;
      if (username !== ALICE || password !== PASSWORD) throw new PostError('WRONG_PASSWORD', 'wrong password');
      return { user: { address: ALICE }, keystoreDigest: new Uint8Array(32) } as unknown as LoginRecord;
    },
    hostedCalendars: (address) => (address === ALICE ? alice.calendars : undefined),
    hostedAddressBooks: (address) => (address === ALICE ? alice.addressBooks : undefined),
    appFor: () => {
      throw new Error('only the hosted user logs in here');
    },
    random: new SimRandom('ids'),
    log: silentLog,
  });
  // A clock that never moves: the throttle's delay after the free failures never runs out.
  const guard = new LoginGuard({ throttle: new LoginThrottle({ now: () => 1_000_000 }), log: silentLog });
  server = await startHttpServer({ state: () => ({}), metrics: () => '', applications: [caldav] }, { port: 0 });
  origin = `http://127.0.0.1:${server.port}`;
});

afterAll(() => server.close());

describe('CalDAV over HTTP', () => {
  test('/.well-known/caldav redirects to /dav/; /state and /metrics are still served', async () => {
    const res = await fetch(`${origin}/.well-known/caldav`, { redirect: 'manual' });
    expect([res.status, res.headers.get('location')]).toEqual([301, '/dav/']);
    expect((await fetch(`${origin}/state`)).status).toBe(200);
  });

  test('the user works on their calendar; a body over the bound is refused 413 from its Content-Length', async () => {
    const cal = `${origin}/dav/calendars/${ALICE}/home/`;
    expect((await fetch(cal, { method: 'MKCALENDAR', headers: basic(ALICE, PASSWORD) })).status).toBe(201);
    const put = await fetch(`${cal}a.ics`, { method: 'PUT', headers: basic(ALICE, PASSWORD), body: event('a') });
    expect([put.status, put.headers.get('etag')]).toEqual([201, expect.stringMatching(/^"[0-9a-f]{32}"$/)]);
    expect(await (await fetch(`${cal}a.ics`, { headers: basic(ALICE, PASSWORD) })).text()).toBe(event('a'));
    const big = await fetch(`${cal}big.ics`, { method: 'PUT', headers: basic(ALICE, PASSWORD), body: Buffer.alloc(10 * 1024 * 1024 + 1, 65) });
    expect(big.status).toBe(413);
  });

  test('/.well-known/carddav redirects to /dav/; a vCard goes into the default address book; one over CARDDAV_VCARD_BYTES_MAX is refused 413', async () => {
    const res = await fetch(`${origin}/.well-known/carddav`, { redirect: 'manual' });
    expect([res.status, res.headers.get('location')]).toEqual([301, '/dav/']);
    const book = `${origin}/dav/addressbooks/${ALICE}/default/`;
    const card = 'BEGIN:VCARD\r\nVERSION:4.0\r\nUID:c1\r\nFN:Carol\r\nEND:VCARD\r\n';
    const put = await fetch(`${book}c1.vcf`, { method: 'PUT', headers: { ...basic(ALICE, PASSWORD), 'content-type': 'text/vcard' }, body: card });
    expect(put.status).toBe(201);
    const got = await fetch(`${book}c1.vcf`, { headers: basic(ALICE, PASSWORD) });
    expect([got.headers.get('content-type'), await got.text()]).toEqual(['text/vcard; charset=utf-8', card]);
    const big = await fetch(`${book}big.vcf`, { method: 'PUT', headers: { ...basic(ALICE, PASSWORD), 'content-type': 'text/vcard' }, body: Buffer.alloc(CARDDAV_VCARD_BYTES_MAX + 1, 65) });
    expect(big.status).toBe(413);
  });

  test('one connection logs in once: its further requests with the same credentials are that session; another connection logs in again', async () => {
    let agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const send = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const req = request(`${origin}/dav/calendars/${ALICE}/`, { method: 'PROPFIND', agent, headers: { depth: '0', ...headers } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end();
      });
    try {
      const before = logins;
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push(await send(basic(ALICE, PASSWORD)));
      expect(statuses).toEqual(Array(6).fill(207));
      expect(logins - before).toBe(1);
      agent.destroy();
      agent = new Agent({ keepAlive: true, maxSockets: 1 });
      expect(await send(basic(ALICE, PASSWORD))).toBe(207);
      expect(logins - before).toBe(2);
    } finally {
      agent.destroy();
    }
  });

  test('no credentials: 401 with a Basic challenge; wrong passwords: 401, then the throttle answers 429 without checking', async () => {
    const url = `${origin}/dav/`;
    const none = await fetch(url, { method: 'PROPFIND', headers: { depth: '0' } });
    expect([none.status, none.headers.get('www-authenticate')]).toEqual([401, expect.stringMatching(/^Basic realm=/)]);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await fetch(url, { method: 'PROPFIND', headers: { depth: '0', ...basic('mallory@lab.example', `guess ${i}`) } })).status);
    expect(statuses.slice(0, 3)).toEqual([401, 401, 401]);
    expect(statuses.slice(3)).toEqual([429, 429]);
  });
});
