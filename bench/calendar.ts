// Calendar benchmark (issue 16): CalDAV on Debian's Radicale (the reference, started here on loopback)
// and on POST (a real local lab, each client's user on its home node), one after the other in the same
// run, with the same client (bench/calendar/davClient.ts) and workload (bench/calendar/workload.ts):
// PUT latency and throughput, calendar-query (time range) latency and throughput, and a big calendar's
// initial and incremental sync. Each POST figure is printed next to Radicale's with the ratio. Times are
// printed, never asserted: this machine is shared, and a figure is only worth its neighbour in the
// same run.
import { randomBytes } from 'node:crypto';
import { startPostCalendar } from './calendarPost';
import { calendarOptions, runCalendarWorkload, type CalendarResult, type CalendarTarget } from './calendar/workload';
import { onStartedTarget } from './interrupt';
import { printRows, rate, type PhaseOutcome, type RatedComparison } from './mail';
import type { Comparison } from './mail/phase';
import type { Log } from './mail/target';
import { startReferenceRadicale } from './reference/radicale';
import type { Bench } from './stats';

const CALENDAR_DOMAIN = 'cal.example';
/** Nodes of the POST lab: quick keeps the lab's start short; full has k = 3 replicas among five. */
const CALENDAR_LAB_NODES = { quick: 3, full: 5 };

export function compareCalendar(post: CalendarResult, reference: CalendarResult, clients: number): Comparison[] {
  const row = (figure: string, of: (r: CalendarResult) => number | null, better: 'higher' | 'lower'): Comparison => ({ figure, reference: of(reference), post: of(post), better });
  return [
    row('serial PUT p50 ms', (r) => r.serialPut.latencyMs.p50, 'lower'),
    row('serial PUT p99 ms', (r) => r.serialPut.latencyMs.p99, 'lower'),
    row(`loaded PUT (${clients} users) PUT/s`, (r) => r.loadedPut.perSecond, 'higher'),
    row('loaded PUT p50 ms', (r) => r.loadedPut.latencyMs.p50, 'lower'),
    row('loaded PUT p99 ms', (r) => r.loadedPut.latencyMs.p99, 'lower'),
    row('server CPU ms/PUT (loaded)', (r) => r.loadedPut.serverCpuMsPerOp, 'lower'),
    row(`fill one calendar (${clients} sockets) PUT/s`, (r) => r.fill.perSecond, 'higher'),
    row('calendar-query query/s', (r) => r.query.perSecond, 'higher'),
    row('calendar-query p50 ms', (r) => r.query.latencyMs.p50, 'lower'),
    row('calendar-query p99 ms', (r) => r.query.latencyMs.p99, 'lower'),
    row('server CPU ms/query', (r) => r.query.serverCpuMsPerOp, 'lower'),
    row(`initial sync-collection ms (${post.sync.events} ev)`, (r) => r.sync.initialSyncMs, 'lower'),
    row('multiget of all ms', (r) => r.sync.multigetMs, 'lower'),
    row('incremental sync ms', (r) => r.sync.incrementalSyncMs, 'lower'),
  ];
}

function problemsOf(target: string, outcome: PhaseOutcome, expectedEvents: number): string[] {
  if (!outcome.ok) return [`${target}: failed: ${outcome.error}`];
  const r = outcome.result as CalendarResult;
  return [
    r.unreadable > 0 && `${target}: ${r.unreadable} acknowledged PUTs not read back with their content`,
    r.wrongQueries > 0 && `${target}: ${r.wrongQueries} calendar-queries did not return exactly the events in their window`,
    r.wrongSync > 0 && `${target}: the incremental sync differed from the changes made by ${r.wrongSync} hrefs`,
    r.sync.initialHrefs !== expectedEvents && `${target}: the initial sync named ${r.sync.initialHrefs} events, not ${expectedEvents}`,
    r.sync.multigetEvents !== expectedEvents && `${target}: the multiget returned ${r.sync.multigetEvents} events, not ${expectedEvents}`,
  ].filter((p): p is string => typeof p === 'string');
}

export async function runCalendarBench(opts: { quick: boolean; log?: Log }) {
  const log = opts.log ?? (() => {});
  const options = calendarOptions(opts.quick);
  const nodes = opts.quick ? CALENDAR_LAB_NODES.quick : CALENDAR_LAB_NODES.full;
  log(
    `  ${options.clients} clients; ${options.serialPuts} serial PUTs, ${options.putsPerClient} PUTs per client loaded, a ${options.bigEvents}-event calendar (the first ${Math.min(options.fillTimed, options.bigEvents)} PUTs timed), ${options.queriesPerClient} calendar-queries per client, then its initial and incremental sync`,
  );
  const users = Array.from({ length: options.clients }, (_, i) => ({ address: `user${i + 1}@${CALENDAR_DOMAIN}`, password: `bench-${randomBytes(9).toString('base64url')}` }));
  const work = (target: CalendarTarget) => runCalendarWorkload(target, options, log);
  const reference = await onStartedTarget(
    'Radicale',
    async () => {
      const radicale = await startReferenceRadicale({ users, log });
      const homes = users.map((user) => ({ homeUrl: `${radicale.origin}${user.address}/`, user }));
      return { target: { name: 'Radicale', homes, serverCpuMs: radicale.cpuMs, importEvents: radicale.importEvents }, stop: radicale.stop };
    },
    work,
    log,
  );
  const post = await onStartedTarget('POST', () => startPostCalendar({ domain: CALENDAR_DOMAIN, nodes, users: options.clients }), work, log);
  let comparison: RatedComparison[] = [];
  if (post.ok && reference.ok) {
    comparison = compareCalendar(post.result, reference.result, options.clients).map(rate);
    log('  POST / Radicale, same workload, same client, same machine, one after the other:');
    printRows(comparison, log);
  } else log(`  no comparison: ${[!reference.ok && 'Radicale', !post.ok && 'POST'].filter(Boolean).join(' and ')} failed`);
  const problems = [...problemsOf('Radicale', reference, options.bigEvents), ...problemsOf('POST', post, options.bigEvents)];
  for (const problem of problems) log(`  PROBLEM: ${problem}`);
  return { options, nodes, reference, post, comparison, valid: problems.length === 0, problems };
}

export const calendarBench: Bench = {
  name: 'calendar',
  summary: 'POST vs Radicale over CalDAV, same client: PUT latency and PUT/s, calendar-query latency and query/s, a big calendar\'s initial and incremental sync',
  run: ({ quick, log }) => runCalendarBench({ quick, log }),
};
