// Issue 16 on the real lab: a real CalDAV client (Python's caldav library, Debian's python3-caldav)
// discovers its calendars from lab.json's `caldav` URL, makes a calendar, PUTs, GETs, updates and
// DELETEs events, runs time-range queries over a recurring event and syncs with sync-collection, on
// its home node and on another node of the ring. Around it, raw HTTP: the well-known redirect, HTTP
// Basic (no or wrong credentials: 401), another user's calendars (403), and bad requests (400, 413).
// vdirsyncer syncs a calendar both ways with a folder, and khal lists and creates events in that folder.
// On a second lab of two organisations: scheduling (RFC 6638) with python3-caldav between
// user1@a.example and user1@b.example: invite, accept, the organiser sees PARTSTAT=ACCEPTED, and a
// free-busy request that returns busy time without summaries.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { labTrouble, post, labDown } from './cli';
import { basicAuth, davLab } from './davLab';
import { hasVdirsyncer, vdirsyncerPair } from './vdirsyncer';

const run = promisify(execFile);
const CLIENT = fileURLToPath(new URL('../clients/caldav_client.py', import.meta.url));
const SCHEDULE_CLIENT = fileURLToPath(new URL('../clients/caldav_schedule.py', import.meta.url));
/** Debian's python3 (where python3-caldav is), not a pyenv or virtualenv python3 earlier on the PATH. */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const hasCaldav = spawnSync(PYTHON, ['-c', 'import caldav'], { stdio: 'ignore' }).status === 0;
const hasCommand = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const hasKhal = hasCommand('khal');

const dir = mkdtempSync(join(tmpdir(), 'post-lab-caldav-'));
/** The lab of the first describe block (davLab starts and stops it around that block). */
let calLab: ReturnType<typeof davLab>;
const lab = () => calLab.lab();
const userN = (n: number) => calLab.userN(n);
const homeOf = (u: { node: string }) => calLab.homeOf(u);
const basic = basicAuth;

async function runClient(url: string, u: { address: string; password: string }) {
  try {
    const r = await run(PYTHON, [CLIENT, url, u.address, u.password], { timeout: 120_000 });
    return JSON.parse(r.stdout);
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string };
    throw new Error(`caldav client failed: ${x.stdout ?? ''}\n${x.stderr ?? ''}\n${labTrouble(lab())}`);
  }
}

describe.skipIf(!hasCaldav)('lab: CalDAV with real clients (python3-caldav; vdirsyncer when installed)', () => {
  calLab = davLab(dir, { nodes: 3, users: 2 });

  test('lab.json gives every node its CalDAV base URL, and /.well-known/caldav leads there', async () => {
    for (const node of lab().nodes) expect(node.caldav).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/dav\/$/);
    const origin = new URL(lab().nodes[0]!.caldav).origin;
    const res = await fetch(`${origin}/.well-known/caldav`, { redirect: 'manual' });
    expect([res.status, res.headers.get('location')]).toEqual([301, '/dav/']);
  });

  test('the client discovers, makes a calendar, writes, queries a recurring event and syncs, on its home node', async () => {
    const u = userN(1);
    const result = await runClient(homeOf(u).caldav, u);
    expect(result.ok).toBe(true);
    expect(result.seen).toMatchObject({ week3: ['weekly'], after_last: [], march1: ['once'], sync_initial: 2, sync_changes: ['third.ics', 'weekly.ics'] });
  }, 150_000);

  test('the same user on another node of the ring sees the same calendars and works there too', async () => {
    const u = userN(1);
    const other = lab().nodes.find((n) => n.id !== u.node)!;
    const made = await fetch(`${homeOf(u).caldav}calendars/${u.address}/made-at-home/`, { method: 'MKCALENDAR', headers: { authorization: basic(u) } });
    expect(made.status).toBe(201);
    const listed = await fetch(`${other.caldav}calendars/${u.address}/`, { method: 'PROPFIND', headers: { depth: '1', authorization: basic(u) } });
    expect(await listed.text()).toContain(`/made-at-home/</d:href>`);
    const result = await runClient(other.caldav, u);
    expect(result.ok).toBe(true);
  }, 150_000);

  test('no credentials or a wrong password: 401 with a Basic challenge; another user\'s calendars: 403', async () => {
    const [alice, bob] = [userN(1), userN(2)];
    const url = homeOf(alice).caldav;
    const anonymous = await fetch(url, { method: 'PROPFIND', headers: { depth: '0' } });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic /);
    expect((await fetch(url, { method: 'PROPFIND', headers: { depth: '0', authorization: basic({ ...alice, password: 'wrong' }) } })).status).toBe(401);
    const aliceHome = `${url}calendars/${alice.address}/`;
    expect((await fetch(aliceHome, { method: 'PROPFIND', headers: { depth: '1', authorization: basic(alice) } })).status).toBe(207);
    const asBob = await fetch(aliceHome, { method: 'PROPFIND', headers: { depth: '1', authorization: basic(bob) } });
    expect(asBob.status).toBe(403);
    expect(await asBob.text()).not.toContain(alice.address.split('@')[0] + '@lab.example/work');
  });

  test('malformed XML is a 400, a body over the bound a 413, and the calendar is untouched', async () => {
    const u = userN(2);
    const home = `${homeOf(u).caldav}calendars/${u.address}/`;
    const auth = { authorization: basic(u) };
    expect((await fetch(`${home}cal/`, { method: 'MKCALENDAR', headers: auth })).status).toBe(201);
    const event = 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:k\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260101T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n';
    expect((await fetch(`${home}cal/k.ics`, { method: 'PUT', headers: auth, body: event })).status).toBe(201);
    expect((await fetch(`${home}cal/`, { method: 'PROPFIND', headers: { ...auth, depth: '1' }, body: '<d:propfind xmlns:d="DAV:"><d:prop>' })).status).toBe(400);
    expect((await fetch(`${home}cal/x.ics`, { method: 'PUT', headers: auth, body: 'not a calendar' })).status).toBe(400);
    expect((await fetch(`${home}cal/big.ics`, { method: 'PUT', headers: auth, body: Buffer.alloc(10 * 1024 * 1024 + 1, 0x41) })).status).toBe(413);
    const got = await fetch(`${home}cal/k.ics`, { headers: auth });
    expect([got.status, await got.text()]).toEqual([200, event]);
  });

  test.skipIf(!hasVdirsyncer)('vdirsyncer syncs a calendar both ways with a local folder: uploads, downloads, an edit and a deletion', async () => {
    const u = userN(1);
    const { calendarUrl, folder, vdirsyncer, auth } = await syncedCalendar(u, 'personal');
    writeFileSync(join(folder, 'local-1.ics'), ics('local-1', 'from the folder'));
    expect((await fetch(`${calendarUrl}remote-1.ics`, { method: 'PUT', headers: auth, body: ics('remote-1', 'from the server') })).status).toBe(201);
    vdirsyncer('sync');
    expect((await fetch(`${calendarUrl}local-1.ics`, { headers: auth })).status).toBe(200);
    const downloaded = readdirSync(folder).find((f) => readFileSync(join(folder, f), 'utf8').includes('UID:remote-1'));
    expect(downloaded).toBeDefined();
    writeFileSync(join(folder, 'local-1.ics'), ics('local-1', 'edited in the folder'));
    rmSync(join(folder, downloaded!));
    vdirsyncer('sync');
    expect(await (await fetch(`${calendarUrl}local-1.ics`, { headers: auth })).text()).toContain('SUMMARY:edited in the folder');
    expect((await fetch(`${calendarUrl}remote-1.ics`, { headers: auth })).status).toBe(404);
  }, 120_000);

  test.skipIf(!hasVdirsyncer || !hasKhal)('khal lists an event made on the server and creates one that vdirsyncer uploads', async () => {
    const u = userN(2);
    const { calendarUrl, folder, vdirsyncer, auth } = await syncedCalendar(u, 'khal');
    expect((await fetch(`${calendarUrl}remote-2.ics`, { method: 'PUT', headers: auth, body: ics('remote-2', 'from the server') })).status).toBe(201);
    vdirsyncer('sync');
    const khalConfig = join(dir, 'khal.conf');
    writeFileSync(
      khalConfig,
      [`[calendars]`, `[[khal]]`, `path = ${folder}`, `type = calendar`, `[sqlite]`, `path = ${join(dir, 'khal.db')}`,
        `[locale]`, `timeformat = %H:%M`, `dateformat = %Y-%m-%d`, `longdateformat = %Y-%m-%d`, `datetimeformat = %Y-%m-%d %H:%M`, `longdatetimeformat = %Y-%m-%d %H:%M`,
        `default_timezone = UTC`, `local_timezone = UTC`, `[default]`, `default_calendar = khal`, ''].join('\n'),
    );
    const khal = (...args: string[]) => {
      const r = spawnSync('khal', ['-c', khalConfig, ...args], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, TZ: 'UTC' } });
      expect(r.status, `khal ${args.join(' ')}: ${r.stdout}\n${r.stderr}`).toBe(0);
      return r.stdout;
    };
    expect(khal('list', '2026-02-01', '2d')).toContain('from the server');
    khal('new', '-a', 'khal', '2026-02-02', '14:00', '15:00', 'made in khal');
    expect(khal('list', '2026-02-02', '1d')).toContain('made in khal');
    vdirsyncer('sync');
    const query =
      `<?xml version="1.0"?><c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><c:calendar-data/></d:prop>` +
      `<c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"><c:time-range start="20260202T000000Z" end="20260203T000000Z"/></c:comp-filter></c:comp-filter></c:filter></c:calendar-query>`;
    const found = await fetchSafe(calendarUrl, { method: 'REPORT', headers: { ...auth, depth: '1', 'content-type': 'application/xml' }, body: query });
    expect(found.status).toBe(207);
    const text = await found.text();
    expect(text).toContain('SUMMARY:made in khal');
    expect(text).toMatch(/DTSTART[^:\r\n]*:20260202T140000Z/);
  }, 120_000);
});

/**
 * A safe (idempotent) request, tried again once when the connection it was sent on turned out closed:
 * after the seconds khal and vdirsyncer take, fetch may reuse a kept-alive socket the node has just
 * closed (its keep-alive timeout), which shows as "other side closed", not as an answer.
 */
async function fetchSafe(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (e) {
    if ((e as { cause?: { code?: string } }).cause?.code !== 'UND_ERR_SOCKET') throw e;
    return fetch(url, init);
  }
}

const ics = (uid: string, summary: string) =>
  `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:${uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260201T100000Z\r\nDTEND:20260201T110000Z\r\nSUMMARY:${summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n`;

/** A calendar made on the user's home node and paired by vdirsyncer with a local folder (discovered, not synced yet). */
async function syncedCalendar(u: { address: string; password: string; node: string }, name: string) {
  const url = homeOf(u).caldav;
  const calendarUrl = `${url}calendars/${u.address}/${name}/`;
  const auth = { authorization: basic(u) };
  expect((await fetch(calendarUrl, { method: 'MKCALENDAR', headers: auth })).status).toBe(201);
  const { local, vdirsyncer } = vdirsyncerPair(join(dir, `vdirsyncer-${name}`), { storage: 'caldav', url, user: u, collections: [name], fileext: '.ics' });
  vdirsyncer('discover');
  return { calendarUrl, folder: join(local, name), vdirsyncer, auth };
}

describe.skipIf(!hasCaldav)('lab: CalDAV scheduling between two organisations (python3-caldav)', () => {
  const orgsDir = join(dir, 'orgs');
  let orgsLab = '';
  interface OrgsLab {
    nodes: { id: string; caldav: string }[];
    users: { address: string; password: string; node: string }[];
  }
  const account = (address: string) => {
    const l = JSON.parse(readFileSync(orgsLab, 'utf8')) as OrgsLab;
    const u = l.users.find((x) => x.address === address)!;
    return { url: l.nodes.find((n) => n.id === u.node)!.caldav, user: u.address, password: u.password };
  };

  beforeAll(async () => {
    mkdirSync(orgsDir, { recursive: true });
    const r = await post(['lab', 'up', '--nodes', '6', '--orgs', 'a.example,b.example', '--users', '1', '--dir', orgsDir], { timeoutMs: 200_000 });
    expect(r.code, r.stderr).toBe(0);
    orgsLab = r.stdout.trim();
  }, 240_000);

  afterAll(async () => {
    await labDown(orgsDir);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  test('user1@a.example invites user1@b.example, who accepts; the organiser sees PARTSTAT=ACCEPTED; free-busy shows busy time, no summaries', async () => {
    let r;
    try {
      r = await run(PYTHON, [SCHEDULE_CLIENT, JSON.stringify({ a: account('user1@a.example'), b: account('user1@b.example') })], { timeout: 120_000 });
    } catch (e) {
      const x = e as { stdout?: string; stderr?: string };
      throw new Error(`caldav scheduling client failed: ${x.stdout ?? ''}\n${x.stderr ?? ''}\n${labTrouble(JSON.parse(readFileSync(orgsLab, 'utf8')))}`);
    }
    const result = JSON.parse(r.stdout);
    expect(result.ok).toBe(true);
    expect(result.seen.organiser_sees).toBe('ACCEPTED');
    expect(result.seen.busy).toEqual(expect.arrayContaining([['0800', '0900'], ['1000', '1100']]));
  }, 150_000);
});
