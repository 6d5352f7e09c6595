// The dashboard's subscriptions, on simulated NATS clusters: each organisation's nodes are heard on
// its own cluster when it has one (the shared cluster otherwise), scenario events on any cluster,
// undecodable frames are counted, and following an updated lab.json adds only what is new.
import { describe, expect, test } from 'vitest';
import { DashboardFeed } from '../../../cli/dashboard/feed';
import { type DashboardEvent, DashboardState } from '../../../cli/dashboard/state';
import { SimClock } from '../../../infra/sim/clock';
import { SimNetwork } from '../../../infra/sim/network';
import { SimRandom } from '../../../infra/sim/random';
import { InspectFrame, type InspectView } from '../../../protocol/inspect';
import { subjects } from '../../../protocol/subjects';

const RING_A = 'aa'.repeat(32);
const RING_B = 'bb'.repeat(32);

function frame(nodeId: string, org: string, ringId: string): Uint8Array {
  const view: InspectView = {
    nodeId,
    org,
    ringId,
    seq: 0,
    sentAtMs: 0,
    intervalMs: 1000,
    reason: 'start',
    router: { state: 'joining', leafSet: [], routingTableEntries: 0 },
    actorsJson: '{"id":"node","status":"active","value":"running"}',
    restarts: {},
    recentRestarts: [],
    passes: {},
    passFailures: {},
    storage: { objects: 0, bytes: 0, dropEntries: 0, dropBytes: 0 },
    replicationFactor: 3,
    users: { hosted: 0, unlocking: 0, listed: [] },
    mail: {},
  };
  return InspectFrame.encode(view);
}

describe('dashboard feed', () => {
  test('hears each organisation on its own cluster and scenario events on any; later orgs are added once', async () => {
    const clock = new SimClock();
    const shared = new SimNetwork({ clock, random: new SimRandom('shared') });
    const own = new SimNetwork({ clock, random: new SimRandom('own') });
    const byUrl: Record<string, SimNetwork> = { 'nats://shared': shared, 'nats://own': own };
    let connections = 0;
    const state = new DashboardState();
    const emitted: DashboardEvent[] = [];
    const feed = new DashboardFeed({
      connect: async (servers) => byUrl[servers[0]!]!.connect(`dashboard-${connections++}`),
      state,
      emit: (e) => emitted.push(...e),
      now: () => clock.now(),
    });
    await feed.follow({ nats: ['nats://shared'], orgs: [{ ringId: RING_A }] });
    await feed.follow({ nats: ['nats://shared'], orgs: [{ ringId: RING_A }, { ringId: RING_B, nats: ['nats://own'] }] });
    await feed.follow({ nats: ['nats://shared'], orgs: [{ ringId: RING_A }, { ringId: RING_B, nats: ['nats://own'] }] });
    expect(connections).toBe(2);

    const a = shared.connect('node-a');
    const b = own.connect('node-b');
    a.publish(subjects.inspect(RING_A, '01'.repeat(32)), frame('01'.repeat(32), 'a.example', RING_A));
    b.publish(subjects.inspect(RING_B, '02'.repeat(32)), frame('02'.repeat(32), 'b.example', RING_B));
    b.publish(subjects.inspect(RING_B, '03'.repeat(32)), new Uint8Array([1, 2, 3]));
    a.publish(subjects.scenario(), Buffer.from('{"scenario":"s","phase":"start"}'));
    b.publish(subjects.scenario(), Buffer.from('{"scenario":"t","phase":"start"}'));
    await clock.runFor(100);

    const snap = state.snapshot(clock.now());
    expect(snap.nodes.map((n) => [n.org, n.health])).toEqual([['a.example', 'live'], ['b.example', 'live']]);
    expect(snap.scenario.events.map((e) => e.event.scenario).sort()).toEqual(['s', 't']);
    expect(snap.dropped.frames).toBe(1);
    expect(emitted.filter((e) => e.type === 'node')).toHaveLength(2); // each frame once: no duplicate subscriptions
    await feed.close();
  });

  test('a cluster that cannot be reached fails follow(), and is tried again on the next one', async () => {
    const clock = new SimClock();
    const net = new SimNetwork({ clock, random: new SimRandom('n') });
    let up = false;
    const feed = new DashboardFeed({
      connect: async () => {
        if (!up) throw new Error('connection refused');
        return net.connect('dashboard');
      },
      state: new DashboardState(),
      emit: () => {},
      now: () => clock.now(),
    });
    await expect(feed.follow({ nats: ['nats://x'], orgs: [{ ringId: RING_A }] })).rejects.toThrow(/refused/);
    up = true;
    await feed.follow({ nats: ['nats://x'], orgs: [{ ringId: RING_A }] });
    await feed.close();
  });
});
