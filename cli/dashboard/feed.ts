// The dashboard's ears: every organisation's inspect subjects (one frame per node per interval) and
// the scenario subject (JSON progress events from scenario runs), fed into the DashboardState. An
// organisation with a NATS cluster of its own (lab.json `orgs[].nats`) is heard on that cluster, so
// the dashboard keeps one connection per distinct cluster, and listens for scenario events on each.
import type { Transport, TransportSubscription } from '../../infra/ports';
import { InspectFrame } from '../../protocol/inspect';
import { subjects } from '../../protocol/subjects';
import type { DashboardEvent, DashboardState } from './state';

export interface FeedDeps {
  /** Connect to one NATS cluster (its servers' URLs). */
  readonly connect: (servers: readonly string[]) => Promise<Transport>;
  readonly state: DashboardState;
  /** Where the state's changes go (the browsers). */
  readonly emit: (events: readonly DashboardEvent[]) => void;
  readonly now: () => number;
}

/** What the feed needs of lab.json: the shared cluster and each organisation's ring (and own cluster, if any). */
export interface FeedLab {
  readonly nats: readonly string[];
  readonly orgs: readonly { ringId: string; nats?: readonly string[] }[];
}

export class DashboardFeed {
  private readonly clusters = new Map<string, Promise<Transport>>();
  private readonly subscriptions: TransportSubscription[] = [];
  private readonly followed = new Set<string>();

  constructor(private readonly deps: FeedDeps) {}

  /** Listen to the lab's rings (calling again after lab.json changed adds what is new). Rejects if a cluster cannot be reached. */
  async follow(lab: FeedLab): Promise<void> {
    await this.cluster(lab.nats);
    for (const org of lab.orgs) {
      const servers = org.nats && org.nats.length > 0 ? org.nats : lab.nats;
      const key = `${org.ringId}@${servers.join(',')}`;
      if (this.followed.has(key)) continue;
      const transport = await this.cluster(servers);
      this.followed.add(key);
      this.subscriptions.push(
        transport.subscribe(subjects.inspectAll(org.ringId), (m) => {
          const r = InspectFrame.decode(m.data);
          if (!r.ok) return this.deps.state.dropFrame();
          this.deps.emit(this.deps.state.onView(r.body, this.deps.now()));
        }),
      );
    }
  }

  async close(): Promise<void> {
    for (const s of this.subscriptions.splice(0)) s.unsubscribe();
    const transports = await Promise.allSettled([...this.clusters.values()]);
    this.clusters.clear();
    this.followed.clear();
    await Promise.all(transports.map((t) => (t.status === 'fulfilled' ? t.value.close() : undefined)));
  }

  /** One connection per cluster; scenario events are listened for on each. */
  private cluster(servers: readonly string[]): Promise<Transport> {
    const key = [...servers].sort().join(',');
    let t = this.clusters.get(key);
    if (!t) {
      t = this.deps.connect(servers).then((transport) => {
        const { state, emit, now } = this.deps;
        this.subscriptions.push(transport.subscribe(subjects.scenario(), (m) => emit(state.onScenario(m.data, now()))));
        return transport;
      });
      // A cluster that cannot be reached now is tried again on the next follow().
      t.catch(() => this.clusters.delete(key));
      this.clusters.set(key, t);
    }
    return t;
  }
}
