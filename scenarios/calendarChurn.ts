// calendar-churn (issue 16): two devices of one user write one calendar through two different nodes
// (the user's home and another), as two calendar apps do over CalDAV: new events (PUT If-None-Match *),
// edits of events either device made (PUT If-Match the ETag it last saw), deletions (DELETE If-Match),
// while nodes die and restart, the devices' own nodes among them. A device whose node is down waits for
// it, as an app pointed at one server retries later. Every write is recorded (2xx ok, 4xx failed, no
// answer unknown); after the churn both devices read the whole calendar (sync-collection, then
// calendar-multiget) and the checker (checkers.ts calendarWrites) judges: every event as its last
// acknowledged write left it, nothing refused showing, both devices the same. The scenario's final
// checks add that no log fork survives.
import { eventIcs, multigetBody, parseMultistatus, syncCollectionBody } from '../dav/client';
import { SCENARIO_CALENDAR } from '../protocol/limits';
import type { ScenarioPlan } from './catalog';
import { calendarWrites, type CalendarView, type CheckResult } from './checkers';
import type { ScenarioDavRequest, ScenarioEnv } from './env/env';
import type { History, Outcome } from './history';
import { pick } from './workload';

const XML = { 'content-type': 'application/xml; charset=utf-8' };
const ICS = { 'content-type': 'text/calendar; charset=utf-8' };

interface CalendarDevice {
  readonly name: string;
  readonly node: string;
  /** Events this device knows, with the ETag it last saw (from its own writes and its syncs). */
  readonly known: Map<string, string>;
}

interface Run {
  readonly user: string;
  readonly slug: string;
  readonly tag: string;
  readonly devices: readonly CalendarDevice[];
}

const runs = new WeakMap<History, Run>();

const collection = (run: Run) => `calendars/${run.user}/${run.slug}/`;

const churnEventIcs = (uid: string, summary: string, startMs: number) => eventIcs({ uid, summary, startMs, endMs: startMs + 3_600_000, stampMs: startMs, prodId: '-//POST//calendar-churn//EN' });

/** Sends `request` through the device's node: 2xx ok, 4xx failed (refused: nothing happened), anything else or no answer unknown. */
async function send(env: ScenarioEnv, run: Run, device: CalendarDevice, request: ScenarioDavRequest): Promise<{ outcome: Outcome; etag?: string; body?: string; error?: string }> {
  try {
    const r = await env.dav!(run.user, device.node, request);
    const outcome: Outcome = r.status >= 200 && r.status < 300 ? 'ok' : r.status >= 400 && r.status < 500 ? 'failed' : 'unknown';
    return { outcome, ...(r.etag ? { etag: r.etag } : {}), body: r.body, ...(outcome === 'ok' ? {} : { error: `HTTP ${r.status}: ${r.body.slice(0, 120).trim()}` }) };
  } catch (e) {
    return { outcome: 'unknown', error: (e as Error).message };
  }
}

/** The calendar as `device` reads it now: event name -> ETag (sync-collection), or undefined when it cannot read. */
async function syncEtags(env: ScenarioEnv, run: Run, device: CalendarDevice): Promise<Map<string, string> | undefined> {
  const r = await send(env, run, device, { method: 'REPORT', path: collection(run), headers: XML, body: syncCollectionBody('') });
  if (r.outcome !== 'ok') return undefined;
  const entries = parseMultistatus(r.body!).entries.filter((e) => e.status === 200);
  return new Map(entries.map((e) => [e.href.slice(e.href.lastIndexOf('/') + 1), e.etag ?? '']));
}

/** The whole calendar as `device` reads it: event name -> SUMMARY (sync-collection, then multiget of every href). */
async function readView(env: ScenarioEnv, run: Run, device: CalendarDevice): Promise<CalendarView | undefined> {
  const names = await syncEtags(env, run, device);
  if (!names) return undefined;
  if (names.size === 0) return new Map();
  const hrefs = [...names.keys()].map((n) => `/dav/${collection(run)}${n}`);
  const r = await send(env, run, device, { method: 'REPORT', path: collection(run), headers: { ...XML, depth: '1' }, body: multigetBody(hrefs) });
  if (r.outcome !== 'ok') return undefined;
  const view = new Map<string, string>();
  for (const e of parseMultistatus(r.body!).entries) {
    const summary = /^SUMMARY:(.*)$/m.exec((e.data ?? '').replace(/\r?\n[ \t]/g, ''))?.[1]?.trim();
    if (e.status === 200 && summary !== undefined) view.set(e.href.slice(e.href.lastIndexOf('/') + 1), summary);
  }
  return view;
}

/**
 * One write of the device's step `i`: two new events, then an edit (of any event it knows), then a
 * deletion (of one of its own). Returns whether what the device knows is now stale (a sync is due).
 */
async function step(env: ScenarioEnv, history: History, run: Run, device: CalendarDevice, i: number): Promise<boolean> {
  const own = [...device.known.keys()].filter((n) => n.startsWith(`${run.tag}-${device.name}-`)).sort();
  const all = [...device.known.keys()].sort();
  const kind = i % 4 === 3 && all.length > 0 ? 'edit' : i % 4 === 0 && own.length > 0 ? 'delete' : 'new';
  const name = kind === 'new' ? `${run.tag}-${device.name}-${i}.ics` : kind === 'edit' ? pick(all, i) : pick(own, i);
  const summary = `${run.tag} ${device.name}${i}${kind === 'edit' ? 'e' : ''}`;
  const op = history.calendar(device.name, kind === 'delete' ? 'delete' : 'put', name, kind === 'delete' ? undefined : summary);
  const precondition: Record<string, string> = kind === 'new' ? { 'if-none-match': '*' } : { 'if-match': device.known.get(name)! };
  const request: ScenarioDavRequest =
    kind === 'delete'
      ? { method: 'DELETE', path: `${collection(run)}${name}`, headers: precondition }
      : { method: 'PUT', path: `${collection(run)}${name}`, headers: { ...ICS, ...precondition }, body: churnEventIcs(name.replace(/\.ics$/, ''), summary, Date.UTC(2027, 0, 1) + i * 3_600_000) };
  const r = await send(env, run, device, request);
  history.complete(op, r.outcome, r.error);
  if (r.outcome === 'ok' && kind === 'delete') device.known.delete(name);
  else if (r.outcome === 'ok' && r.etag) device.known.set(name, r.etag);
  return r.outcome !== 'ok' || (kind !== 'delete' && !r.etag);
}

/** A device writing one step after another; it refreshes what it knows (a sync) every few steps and after a write that did not go through. */
async function deviceWrites(env: ScenarioEnv, history: History, run: Run, device: CalendarDevice): Promise<void> {
  for (let i = 1; i <= SCENARIO_CALENDAR.writesPerDevice; i++) {
    for (let waitedMs = 0; !env.nodes().includes(device.node) && waitedMs < SCENARIO_CALENDAR.nodeDownWaitMs; waitedMs += SCENARIO_CALENDAR.pauseMs) await env.wait(SCENARIO_CALENDAR.pauseMs);
    const stale = await step(env, history, run, device, i);
    if (stale || i % 4 === 2) {
      const synced = await syncEtags(env, run, device);
      if (synced) {
        device.known.clear();
        for (const [n, etag] of synced) device.known.set(n, etag);
      }
    }
    await env.wait(SCENARIO_CALENDAR.pauseMs);
  }
}

/** Makes the run's calendar through the first device, retrying while the ring settles (bounded). */
async function makeCalendar(env: ScenarioEnv, run: Run): Promise<void> {
  for (let tries = 0; ; tries++) {
    const r = await send(env, run, run.devices[0]!, { method: 'MKCALENDAR', path: collection(run) });
    if (r.outcome === 'ok') return;
    if (tries >= 5) throw new Error(`calendar-churn: MKCALENDAR ${collection(run)} failed: ${r.error}`);
    await env.wait(SCENARIO_CALENDAR.pauseMs);
  }
}

async function faults(env: ScenarioEnv, history: History): Promise<void> {
  const user = [...env.users()].sort()[0];
  if (!user) throw new Error('calendar-churn needs a user');
  const home = env.homeOf(user);
  const away = env.userNodes().sort().find((n) => n !== home) ?? env.nodes().sort().find((n) => n !== home);
  if (!away) throw new Error('calendar-churn needs two nodes');
  const id = history.fault(`calendar: ${user}'s devices A on ${home.slice(0, 12)} (home) and B on ${away.slice(0, 12)}`).id;
  const run: Run = { user, slug: `churn-${history.run}-${id}`, tag: `${history.run}.${id}`, devices: [{ name: 'A', node: home, known: new Map() }, { name: 'B', node: away, known: new Map() }] };
  runs.set(history, run);
  await makeCalendar(env, run);
  const writing = Promise.all(run.devices.map((d) => deviceWrites(env, history, run, d)));
  // The victims alternate between the devices' nodes (their requests and the calendar's writers go) and other nodes (replicas of the log go).
  const deviceNodes = run.devices.map((d) => d.node);
  const others = env.nodes().filter((n) => !deviceNodes.includes(n)).sort();
  for (let i = 0; i < SCENARIO_CALENDAR.churnRounds; i++) {
    const v = i % 2 === 0 || others.length === 0 ? pick(deviceNodes, i >> 1) : pick(others, i);
    history.fault(`kill ${v.slice(0, 12)}${deviceNodes.includes(v) ? ` (device ${run.devices.find((d) => d.node === v)!.name}'s node)` : ''}`);
    await env.kill(v);
    await env.wait(SCENARIO_CALENDAR.downMs);
    history.fault(`restart ${v.slice(0, 12)}`, 'heal');
    await env.restart(v);
    await env.wait(SCENARIO_CALENDAR.upMs);
  }
  await writing;
}

/** Both devices read the calendar until they agree and the checker passes, bounded; then the checker's verdict. */
async function extraChecks(env: ScenarioEnv, history: History): Promise<CheckResult[]> {
  const run = runs.get(history);
  if (!run) return [{ name: 'calendar-churn ran its writes', ok: false, detail: 'no record of the run' }];
  let checks: CheckResult[] = [];
  for (const started = env.now(); ; await env.wait(SCENARIO_CALENDAR.pauseMs)) {
    const views = new Map<string, CalendarView>();
    for (const d of run.devices) {
      const view = await readView(env, run, d);
      if (view) views.set(d.name, view);
    }
    checks = calendarWrites(history, views, run.tag);
    if (checks.every((c) => c.ok) || env.now() - started > SCENARIO_CALENDAR.settleMs) return checks;
  }
}

export const calendarChurn: ScenarioPlan = {
  name: 'calendar-churn',
  description: 'two devices of one user write one calendar (new events, edits with If-Match, deletions) through two nodes while nodes die and restart, theirs among them; no acknowledged write lost or undone, both devices converge, no fork',
  envs: ['sim', 'lab'],
  missing: (env) => (env.dav ? undefined : `calendar-churn needs CalDAV requests through a node, which the ${env.kind} does not give; run it with --sim`),
  faults,
  extraChecks,
};
