// The dashboard's state keeping, without a browser or a network: a node that stops publishing is
// shown silent, then down; its last word ("stopping") shows it stopped; lab nodes never heard go down
// once expected; scenario events are kept (bounded) and summarised per run.
import { describe, expect, test } from 'vitest';
import { DashboardState } from '../../../cli/dashboard/state';
import type { InspectView } from '../../../protocol/inspect';
import { DASHBOARD_DOWN_AFTER_INTERVALS, DASHBOARD_SCENARIO_EVENT_BYTES_MAX, DASHBOARD_SCENARIO_EVENTS_MAX, DASHBOARD_SILENT_AFTER_INTERVALS } from '../../../protocol/limits';

const RING = 'ab'.repeat(32);
const A = '11'.repeat(32);
const B = '22'.repeat(32);
const INTERVAL = 1000;

function view(nodeId: string, over: Partial<InspectView> = {}): InspectView {
  return {
    nodeId,
    org: 'lab.example',
    ringId: RING,
    seq: 0,
    sentAtMs: 0,
    intervalMs: INTERVAL,
    reason: 'interval',
    router: { state: 'ready', leafSet: [B], routingTableEntries: 1 },
    actorsJson: JSON.stringify({ id: 'node', status: 'active', value: 'running', children: [{ id: 'router', status: 'active', value: { ready: { heartbeat: 'waiting' } } }] }),
    restarts: {},
    recentRestarts: [],
    passes: { repair: 1 },
    passFailures: {},
    storage: { objects: 3, bytes: 300, dropEntries: 2, dropBytes: 200 },
    replicationFactor: 3,
    users: { hosted: 0, unlocking: 0, listed: [] },
    mail: {},
    ...over,
  };
}

const lab = { orgs: [{ domain: 'lab.example', ringId: RING }], nodes: [{ id: A, org: 'lab.example', pid: 100 }, { id: B, org: 'lab.example', pid: 0 }] };

describe('dashboard state', () => {
  test('a node that stops publishing is shown silent after a few intervals, then down; a new frame brings it back', () => {
    const s = new DashboardState();
    s.setLab(lab, 0);
    expect(s.onView(view(A), 1000)).toMatchObject([{ type: 'node', node: { id: A, health: 'live' } }]);
    expect(s.node(A)!.view!.actors!.children![0]!.id).toBe('router');
    expect(s.tick(1000 + DASHBOARD_SILENT_AFTER_INTERVALS * INTERVAL)).toEqual([]);
    expect(s.tick(1000 + DASHBOARD_SILENT_AFTER_INTERVALS * INTERVAL + 1)).toEqual([{ type: 'health', id: A, health: 'silent', lastSeenMs: 1000 }]);
    expect(s.tick(1000 + DASHBOARD_DOWN_AFTER_INTERVALS * INTERVAL + 1)).toEqual([{ type: 'health', id: A, health: 'down', lastSeenMs: 1000 }]);
    expect(s.tick(60_000)).toEqual([]); // reported once
    expect(s.snapshot(60_000).nodes.find((n) => n.id === A)!.health).toBe('down');
    s.onView(view(A, { seq: 70 }), 61_000);
    expect(s.node(A)!.health).toBe('live');
  });

  test('silence is measured in the node\'s own interval', () => {
    const s = new DashboardState();
    s.onView(view(A, { intervalMs: 5000 }), 0);
    expect(s.tick(DASHBOARD_SILENT_AFTER_INTERVALS * 1000 + 1)).toEqual([]);
    expect(s.tick(DASHBOARD_SILENT_AFTER_INTERVALS * 5000 + 1)[0]).toMatchObject({ health: 'silent' });
  });

  test('a node whose last frame said it was stopping is shown stopped, not down', () => {
    const s = new DashboardState();
    s.onView(view(A), 0);
    s.onView(view(A, { seq: 1, reason: 'stopping' }), 500);
    expect(s.node(A)!.health).toBe('stopped');
    expect(s.tick(600_000)).toEqual([]);
    expect(s.node(A)!.health).toBe('stopped');
  });

  test('lab nodes never heard from wait while not started, and are down once expected for as long as a live node would take', () => {
    const s = new DashboardState();
    const events = s.setLab(lab, 0);
    expect(events[0]).toEqual({ type: 'lab', orgs: lab.orgs });
    expect(s.snapshot(0).nodes.map((n) => [n.id, n.health])).toEqual([[A, 'waiting'], [B, 'waiting']]);
    expect(s.tick(DASHBOARD_DOWN_AFTER_INTERVALS * INTERVAL + 1)).toEqual([{ type: 'health', id: A, health: 'down', lastSeenMs: undefined }]);
    expect(s.node(B)!.health).toBe('waiting'); // pid 0: not started yet
    // The lab starts B: it is expected from now on.
    s.setLab({ ...lab, nodes: [lab.nodes[0]!, { ...lab.nodes[1]!, pid: 200 }] }, 10_000);
    expect(s.tick(10_000 + DASHBOARD_DOWN_AFTER_INTERVALS * INTERVAL)).toEqual([]);
    expect(s.tick(10_000 + DASHBOARD_DOWN_AFTER_INTERVALS * INTERVAL + 1)).toEqual([{ type: 'health', id: B, health: 'down', lastSeenMs: undefined }]);
  });

  test('nodes not in lab.json are tracked from their frames; a sequence back at 0 counts a process restart', () => {
    const s = new DashboardState();
    s.onView(view(B, { seq: 0, reason: 'start' }), 0);
    s.onView(view(B, { seq: 40 }), 40_000);
    s.onView(view(B, { seq: 0, reason: 'start' }), 45_000);
    expect(s.node(B)).toMatchObject({ org: 'lab.example', ringId: RING, health: 'live', processRestarts: 1 });
    // A frame overtaken by a newer one is not shown over it.
    s.onView(view(B, { seq: 9, reason: 'router' }), 46_000);
    expect(s.onView(view(B, { seq: 8 }), 46_001)).toEqual([]);
    expect(s.node(B)).toMatchObject({ lastSeenMs: 46_001, view: { seq: 9, reason: 'router' } });
  });

  test('scenario events are kept as they arrive (bounded), anything that is not a JSON object is kept raw, and runs are summarised', () => {
    const s = new DashboardState();
    const send = (e: unknown, t: number) => s.onScenario(Buffer.from(typeof e === 'string' ? e : JSON.stringify(e)), t);
    expect(send({ scenario: 'kill-replicas', phase: 'start' }, 1)[0]).toMatchObject({ type: 'scenario', entry: { n: 1, atMs: 1 }, run: { key: 'kill-replicas', phase: 'start', events: 1 } });
    send({ scenario: 'kill-replicas', phase: 'workload', op: 'send', result: 'ok' }, 2);
    const last = send({ scenario: 'kill-replicas', phase: 'done', verdict: 'pass' }, 3);
    expect(last[0]).toMatchObject({ run: { phase: 'done', verdict: 'pass', events: 3, firstMs: 1, lastMs: 3 } });
    expect(send('not json', 4)[0]).toMatchObject({ entry: { event: { raw: 'not json' } } });
    expect(send('x'.repeat(DASHBOARD_SCENARIO_EVENT_BYTES_MAX + 1), 5)).toEqual([]);
    for (let i = 0; i < DASHBOARD_SCENARIO_EVENTS_MAX + 10; i++) send({ scenario: 'flood', phase: 'op', i }, 10 + i);
    const snap = s.snapshot(100_000);
    expect(snap.scenario.events).toHaveLength(DASHBOARD_SCENARIO_EVENTS_MAX);
    expect(snap.scenario.events.at(-1)!.event).toMatchObject({ scenario: 'flood', i: DASHBOARD_SCENARIO_EVENTS_MAX + 9 });
    expect(snap.scenario.dropped).toBe(1);
    expect(snap.scenario.runs.map((r) => r.key)).toEqual(['kill-replicas', '(unnamed)', 'flood']);
  });
});
