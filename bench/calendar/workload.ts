// The workload of the calendar benchmark, the same on every target (POST, Radicale), through the same
// client (bench/calendar/davClient.ts):
//   serial PUT   one client PUTs new events one at a time into its calendar: latency
//   loaded PUT   N clients (N users, one socket each) PUT into their own calendars at once: events/s
//   fill         N sockets of one user PUT a big calendar (10,000 events in the full run): events/s
//   query        N sockets query that big calendar for random one-week windows (calendar-query, time
//                range, with data): queries/s and latency; each answer must hold exactly the events
//                that start in the window
//   sync         the big calendar's initial sync-collection (ETags), calendar-multiget of every href
//                (in batches, as clients do), a few changes (edits with If-Match, new events,
//                deletions), then the incremental sync-collection, which must name exactly those
// Every event PUT is read back (multiget) and checked; what is missing is a problem, not a figure.
import { randomBytes } from 'node:crypto';
import { seededRandom, cpuMeter, cpuPerOp, cpuText, type CpuUse, type Log } from '../mail/target';
import { round, summary } from '../stats';
import { eventIcs, icalUtc, parseMultistatus } from '../../dav/client';
import { BenchDavClient, calendarQuery, expectStatus, mkcalendar, multiget, syncCollection } from './davClient';

export interface CalendarTarget {
  name: string;
  /** Calendar home URL and credentials of each user (user i at index i). */
  homes: readonly { homeUrl: string; user: { address: string; password: string } }[];
  serverCpuMs(): number;
  /**
   * Puts events straight into a calendar of the first user, the way its operator imports (Radicale: files
   * in the collection's folder); absent, they go in by PUT (POST has no import). The big calendar's
   * events beyond the timed fill go in this way, untimed: Radicale scans the collection on each PUT, so
   * 10,000 PUTs one by one would take it hours.
   */
  importEvents?(slug: string, events: readonly { name: string; ics: string }[]): Promise<void>;
}

export interface CalendarOptions {
  clients: number;
  serialPuts: number;
  putsPerClient: number;
  bigEvents: number;
  /** The first events of the big calendar, PUT one by one and timed (the fill figure); the rest go in untimed. */
  fillTimed: number;
  queriesPerClient: number;
  /** Events edited, added and deleted between the two syncs. */
  changes: { edited: number; added: number; deleted: number };
  /** hrefs per calendar-multiget request (POST takes up to CALDAV_MULTIGET_HREFS_MAX). */
  multigetBatch: number;
  requestTimeoutMs: number;
}

export function calendarOptions(quick: boolean): CalendarOptions {
  const common = { changes: { edited: 5, added: 3, deleted: 2 }, multigetBatch: 500, requestTimeoutMs: 300_000 };
  return quick ? { clients: 4, serialPuts: 20, putsPerClient: 25, bigEvents: 300, fillTimed: 200, queriesPerClient: 10, ...common } : { clients: 8, serialPuts: 200, putsPerClient: 250, bigEvents: 10_000, fillTimed: 500, queriesPerClient: 10, ...common };
}

export interface LoadFigures {
  ops: number;
  seconds: number;
  perSecond: number;
  latencyMs: ReturnType<typeof summary>;
  cpu: CpuUse;
  serverCpuMsPerOp: number | null;
}

export interface SyncFigures {
  events: number;
  initialSyncMs: number;
  initialHrefs: number;
  multigetMs: number;
  multigetEvents: number;
  incrementalSyncMs: number;
  incrementalChanges: number;
}

export interface CalendarResult {
  serialPut: LoadFigures;
  loadedPut: LoadFigures;
  fill: LoadFigures;
  query: LoadFigures;
  sync: SyncFigures;
  /** Events acknowledged (2xx) that a multiget did not return with their content. */
  unreadable: number;
  /** Queries whose answer was not exactly the events starting in the window. */
  wrongQueries: number;
  /** The incremental sync named other hrefs than the changed ones. */
  wrongSync: number;
}

const BIG = 'big';
const BENCH = 'bench';
const HOUR_MS = 3_600_000;
const WEEK_MS = 7 * 24 * HOUR_MS;
/** Events start on the hour from here, one per hour in a calendar. */
const FIRST_START_MS = Date.UTC(2027, 0, 4);

const icalTime = icalUtc;

/** One bench event: half an hour from `startMs`. */
export const benchEventIcs = (uid: string, startMs: number, summary: string): string =>
  eventIcs({ uid, summary, startMs, endMs: startMs + HOUR_MS / 2, stampMs: FIRST_START_MS, prodId: '-//POST//calendar bench//EN' });

/** What a calendar should hold: file name -> the summary last acknowledged. */
type Expected = Map<string, string>;

const ICS = { 'content-type': 'text/calendar; charset=utf-8' };

async function putNew(c: BenchDavClient, slug: string, uid: string, startMs: number, expected: Expected): Promise<void> {
  const text = `bench ${uid}`;
  expectStatus(await c.send('PUT', `${slug}/${uid}.ics`, { ...ICS, 'if-none-match': '*' }, benchEventIcs(uid, startMs, text)), `PUT ${slug}/${uid}.ics`, 201, 204);
  expected.set(`${uid}.ics`, text);
}

/** Runs `count` operations over `clients` (one operation in flight each), timing each; CPU of both sides over the whole run. */
async function timed(target: CalendarTarget, clients: readonly BenchDavClient[], count: number, op: (client: BenchDavClient, i: number) => Promise<void>): Promise<LoadFigures> {
  const latencies: number[] = [];
  const meter = cpuMeter(target);
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    clients.map(async (client) => {
      while (next < count) {
        const i = next++;
        const s = performance.now();
        await op(client, i);
        latencies.push(performance.now() - s);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = meter();
  return { ops: latencies.length, seconds: round(seconds, 2), perSecond: round(latencies.length / seconds, 1), latencyMs: summary(latencies), cpu, serverCpuMsPerOp: cpuPerOp(cpu, latencies.length).serverCpuMsPerOp };
}

export const loadText = (f: LoadFigures, unit: string) =>
  `${f.ops} ${unit} in ${f.seconds} s: ${f.perSecond}/s; latency p50 ${f.latencyMs.p50} ms, p99 ${f.latencyMs.p99} ms, max ${f.latencyMs.max} ms; server CPU ${f.serverCpuMsPerOp ?? '?'} ms per request; ${cpuText(f.cpu)}`;

const basename = (href: string) => href.slice(href.replace(/\/$/, '').lastIndexOf('/') + 1);

/** Multigets every expected event (in batches) and counts those missing or not with their last summary. */
async function unreadableOf(c: BenchDavClient, slug: string, expected: Expected, batch: number): Promise<number> {
  const names = [...expected.keys()];
  let missing = 0;
  for (let i = 0; i < names.length; i += batch) {
    const r = expectStatus(await multiget(c, slug, names.slice(i, i + batch).map((n) => new URL(`${slug}/${n}`, c.homeUrl).pathname)), `multiget ${slug}`, 207);
    const got = new Map(parseMultistatus(r.body).entries.map((e) => [basename(e.href), e.data ?? '']));
    for (const name of names.slice(i, i + batch)) if (!got.get(name)?.includes(`SUMMARY:${expected.get(name)}`)) missing++;
  }
  return missing;
}

async function putPhases(target: CalendarTarget, clients: BenchDavClient[], o: CalendarOptions, runId: string, log: Log) {
  const expected = clients.map((): Expected => new Map());
  await Promise.all(clients.map((c) => mkcalendar(c, BENCH)));
  const serialPut = await timed(target, clients.slice(0, 1), o.serialPuts, (c, i) => putNew(c, BENCH, `${runId}-s${i}`, FIRST_START_MS + i * HOUR_MS, expected[0]!));
  log(`  ${target.name}, serial PUT (one client): ${loadText(serialPut, 'PUTs')}`);
  const perClient = clients.map(() => 0);
  const loadedPut = await timed(target, clients, o.clients * o.putsPerClient, (c) => {
    const n = clients.indexOf(c);
    const i = perClient[n]!++;
    return putNew(c, BENCH, `${runId}-c${n}-${i}`, FIRST_START_MS + (o.serialPuts + i) * HOUR_MS, expected[n]!);
  });
  log(`  ${target.name}, loaded PUT (${o.clients} clients, one user each): ${loadText(loadedPut, 'PUTs')}`);
  let unreadable = 0;
  for (const [n, c] of clients.entries()) unreadable += await unreadableOf(c, BENCH, expected[n]!, o.multigetBatch);
  return { serialPut, loadedPut, unreadable };
}

const startOf = (i: number) => FIRST_START_MS + i * HOUR_MS;

const bigUid = (runId: string, i: number) => `${runId}-b${i}`;

/** The big calendar: `fillTimed` events PUT one by one and timed, then the rest (imported where the target can, else PUT), and one untimed first sync. */
async function fillBig(target: CalendarTarget, sockets: BenchDavClient[], o: CalendarOptions, runId: string, big: Expected, log: Log): Promise<LoadFigures> {
  const fill = await timed(target, sockets, Math.min(o.fillTimed, o.bigEvents), (c, i) => putNew(c, BIG, bigUid(runId, i), startOf(i), big));
  log(`  ${target.name}, fill (${o.clients} sockets of one user, one calendar): ${loadText(fill, 'PUTs')}`);
  if (o.bigEvents <= o.fillTimed) return fill;
  const t0 = performance.now();
  const rest = Array.from({ length: o.bigEvents - o.fillTimed }, (_, k) => o.fillTimed + k);
  if (target.importEvents) {
    await target.importEvents(BIG, rest.map((i) => ({ name: `${bigUid(runId, i)}.ics`, ics: benchEventIcs(bigUid(runId, i), startOf(i), `bench ${bigUid(runId, i)}`) })));
    for (const i of rest) big.set(`${bigUid(runId, i)}.ics`, `bench ${bigUid(runId, i)}`);
  } else await timed(target, sockets, rest.length, (c, k) => putNew(c, BIG, bigUid(runId, rest[k]!), startOf(rest[k]!), big));
  // The first read after an import builds Radicale's caches: one untimed sync on each target, as a client's first look.
  expectStatus(await syncCollection(sockets[0]!, BIG, ''), 'first sync-collection', 207);
  log(`  ${target.name}: the other ${rest.length} events put in (${target.importEvents ? 'imported as files' : 'PUTs, as above'}) and a first sync in ${round((performance.now() - t0) / 1000, 1)} s, untimed`);
  return fill;
}

async function queryPhase(target: CalendarTarget, sockets: BenchDavClient[], o: CalendarOptions, log: Log) {
  const random = seededRandom(16);
  const spanMs = o.bigEvents * HOUR_MS;
  let wrongQueries = 0;
  const query = await timed(target, sockets, o.clients * o.queriesPerClient, async (c) => {
    const from = FIRST_START_MS + Math.floor(random() * Math.max(1, spanMs / HOUR_MS - 24)) * HOUR_MS;
    const r = expectStatus(await calendarQuery(c, BIG, icalTime(from), icalTime(from + WEEK_MS)), 'calendar-query', 207);
    const inWindow = Math.min(o.bigEvents, (from - FIRST_START_MS) / HOUR_MS + WEEK_MS / HOUR_MS) - (from - FIRST_START_MS) / HOUR_MS;
    if (parseMultistatus(r.body).entries.filter((e) => e.data?.includes('BEGIN:VEVENT')).length !== inWindow) wrongQueries++;
  });
  log(`  ${target.name}, calendar-query (${o.clients} clients, one-week windows of a ${o.bigEvents}-event calendar): ${loadText(query, 'queries')}`);
  return { query, wrongQueries };
}

async function syncPhase(c: BenchDavClient, o: CalendarOptions, big: Expected, runId: string) {
  let t = performance.now();
  const initial = parseMultistatus(expectStatus(await syncCollection(c, BIG, ''), 'initial sync-collection', 207).body);
  const initialSyncMs = performance.now() - t;
  const hrefs = initial.entries.filter((e) => e.status === 200).map((e) => e.href);
  t = performance.now();
  let multigetEvents = 0;
  for (let i = 0; i < hrefs.length; i += o.multigetBatch) {
    const r = expectStatus(await multiget(c, BIG, hrefs.slice(i, i + o.multigetBatch)), 'multiget', 207);
    multigetEvents += parseMultistatus(r.body).entries.filter((e) => e.data?.includes('BEGIN:VEVENT')).length;
  }
  const multigetMs = performance.now() - t;
  const changed = await changeSome(c, o, big, initial.entries, runId);
  t = performance.now();
  const incremental = parseMultistatus(expectStatus(await syncCollection(c, BIG, initial.syncToken ?? ''), 'incremental sync-collection', 207).body);
  const incrementalSyncMs = performance.now() - t;
  const named = new Set(incremental.entries.map((e) => basename(e.href)));
  const wrongSync = [...changed].filter((n) => !named.has(n)).length + [...named].filter((n) => !changed.has(n)).length;
  const sync: SyncFigures = { events: o.bigEvents, initialSyncMs: round(initialSyncMs, 1), initialHrefs: hrefs.length, multigetMs: round(multigetMs, 1), multigetEvents, incrementalSyncMs: round(incrementalSyncMs, 1), incrementalChanges: incremental.entries.length };
  return { sync, wrongSync };
}

/** Edits (If-Match the ETag the sync gave), adds and deletes a few events of the big calendar; returns the file names touched. */
async function changeSome(c: BenchDavClient, o: CalendarOptions, big: Expected, entries: readonly { href: string; etag: string | undefined }[], runId: string): Promise<Set<string>> {
  const touched = new Set<string>();
  const etagOf = new Map(entries.map((e) => [basename(e.href), e.etag ?? '']));
  const names = [...big.keys()];
  for (let i = 0; i < o.changes.edited; i++) {
    const name = names[i]!;
    const text = `edited ${name}`;
    expectStatus(await c.send('PUT', `${BIG}/${name}`, { ...ICS, 'if-match': etagOf.get(name)! }, benchEventIcs(name.replace(/\.ics$/, ''), startOf(i), text)), `edit ${name}`, 200, 201, 204);
    big.set(name, text);
    touched.add(name);
  }
  for (let i = 0; i < o.changes.deleted; i++) {
    const name = names[names.length - 1 - i]!;
    expectStatus(await c.send('DELETE', `${BIG}/${name}`, { 'if-match': etagOf.get(name)! }), `delete ${name}`, 200, 204);
    big.delete(name);
    touched.add(name);
  }
  for (let i = 0; i < o.changes.added; i++) {
    const uid = `${runId}-new${i}`;
    await putNew(c, BIG, uid, startOf(i) + HOUR_MS / 4, big);
    touched.add(`${uid}.ics`);
  }
  return touched;
}

export async function runCalendarWorkload(target: CalendarTarget, o: CalendarOptions, log: Log): Promise<CalendarResult> {
  const runId = randomBytes(4).toString('hex');
  const clients = target.homes.slice(0, o.clients).map((h) => new BenchDavClient(h.homeUrl, h.user, o.requestTimeoutMs));
  const owner = target.homes[0]!;
  const sockets = Array.from({ length: o.clients }, () => new BenchDavClient(owner.homeUrl, owner.user, o.requestTimeoutMs));
  try {
    // Each client connects (logs in) first, one after another, as an app does its discovery.
    for (const c of [...clients, ...sockets]) expectStatus(await c.send('PROPFIND', '', { depth: '0' }), 'PROPFIND of the calendar home', 207);
    const puts = await putPhases(target, clients, o, runId, log);
    await mkcalendar(sockets[0]!, BIG);
    const big: Expected = new Map();
    const fill = await fillBig(target, sockets, o, runId, big, log);
    const { query, wrongQueries } = await queryPhase(target, sockets, o, log);
    const { sync, wrongSync } = await syncPhase(sockets[0]!, o, big, runId);
    log(`  ${target.name}, sync of ${sync.events} events: initial sync-collection ${sync.initialSyncMs} ms (${sync.initialHrefs} hrefs), multiget of all ${sync.multigetMs} ms (${sync.multigetEvents} events), incremental after ${sync.incrementalChanges} changes ${sync.incrementalSyncMs} ms`);
    const unreadable = puts.unreadable + (await unreadableOf(sockets[0]!, BIG, big, o.multigetBatch));
    return { serialPut: puts.serialPut, loadedPut: puts.loadedPut, fill, query, sync, unreadable, wrongQueries, wrongSync };
  } finally {
    for (const c of [...clients, ...sockets]) c.close();
  }
}
