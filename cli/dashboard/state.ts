// What the dashboard knows: the latest view of every node (from its inspect frames), whether each is
// still speaking, and the scenario events seen. Pure: time comes in as `nowMs` arguments, so silence →
// down is tested without a clock or a network. Every change returns the events to push to browsers.
import { type ActorNode, type InspectView, parseActors } from '../../protocol/inspect';
import {
  DASHBOARD_DOWN_AFTER_INTERVALS,
  DASHBOARD_NODES_MAX,
  DASHBOARD_SCENARIO_EVENT_BYTES_MAX,
  DASHBOARD_SCENARIO_EVENTS_MAX,
  DASHBOARD_SILENT_AFTER_INTERVALS,
  INSPECT_INTERVAL_MS,
} from '../../protocol/limits';

/**
 * waiting: named by lab.json, not started or not heard yet; live: frames arriving; silent: a few
 * intervals without one; down: many intervals without one; stopped: its last frame said it was stopping.
 */
export type NodeHealth = 'waiting' | 'live' | 'silent' | 'down' | 'stopped';

/** A node's view as the browser gets it: the frame, with the actor tree decoded. */
export type NodeView = Omit<InspectView, 'actorsJson'> & { actors?: ActorNode };

export interface NodeEntry {
  readonly id: string;
  org: string;
  ringId?: string;
  health: NodeHealth;
  /** The dashboard's clock when the latest frame arrived. */
  lastSeenMs?: number;
  /** Since when the dashboard has expected to hear from this node (lab.json named it with a pid). */
  expectedSinceMs?: number;
  /** Process id from lab.json (0: not started yet, or not a process of this machine: a container). */
  pid?: number;
  /** What lab.json calls it (the compose lab's service name, `node-a1`). */
  name?: string;
  /** Where a person connects, from lab.json: the host's published ports when it names them ("127.0.0.1:11143"). */
  endpoints?: NodeEndpoints;
  /** Times the node's frame sequence went back to 0 after the first frame: process restarts seen. */
  processRestarts: number;
  view?: NodeView;
}

export interface ScenarioEntry {
  /** Order of arrival, from 1. */
  readonly n: number;
  readonly atMs: number;
  /** The event as published: a JSON object ({scenario, phase, op?, verdict?, ...}), or { raw } for anything else. */
  readonly event: Record<string, unknown>;
}

/** The latest phase and verdict of each scenario run, from its events. */
export interface ScenarioRun {
  readonly key: string;
  readonly scenario: string;
  phase?: string;
  verdict?: string;
  events: number;
  firstMs: number;
  lastMs: number;
}

export interface NodeEndpoints {
  readonly imap?: string;
  readonly smtp?: string;
  readonly http?: string;
  readonly mx?: string;
}

interface Endpoint {
  readonly host: string;
  readonly port: number;
}
type LabEndpoints = { readonly imap?: Endpoint; readonly smtp?: Endpoint; readonly http?: Endpoint; readonly mx?: Endpoint };

export interface LabShape {
  readonly orgs: readonly { domain: string; ringId: string }[];
  readonly nodes: readonly ({ id: string; org: string; pid: number; name?: string; published?: LabEndpoints } & LabEndpoints)[];
}

/** A node's addresses as a person on this machine reaches them: published on the host when lab.json says so. */
function endpointsOf(n: LabShape['nodes'][number]): NodeEndpoints {
  const at = n.published ?? n;
  const out: Record<string, string> = {};
  for (const k of ['imap', 'smtp', 'http', 'mx'] as const) {
    const e = at[k];
    if (e) out[k] = `${e.host}:${e.port}`;
  }
  return out;
}

export type DashboardEvent =
  | { type: 'node'; node: NodeEntry }
  | { type: 'health'; id: string; health: NodeHealth; lastSeenMs?: number }
  | { type: 'scenario'; entry: ScenarioEntry; run: ScenarioRun }
  | { type: 'lab'; orgs: LabShape['orgs'] };

export interface DashboardSnapshot {
  readonly nowMs: number;
  readonly orgs: LabShape['orgs'];
  readonly nodes: NodeEntry[];
  readonly scenario: { events: ScenarioEntry[]; runs: ScenarioRun[]; dropped: number };
  readonly dropped: { frames: number };
}

export class DashboardState {
  private orgs: LabShape['orgs'] = [];
  private readonly nodes = new Map<string, NodeEntry>();
  private readonly events: ScenarioEntry[] = [];
  private readonly runs = new Map<string, ScenarioRun>();
  private scenarioCount = 0;
  private scenarioDropped = 0;
  private framesDropped = 0;

  /** What lab.json says: the rings and the nodes to expect (re-applied when the file changes). */
  setLab(lab: LabShape, nowMs: number): DashboardEvent[] {
    const out: DashboardEvent[] = [];
    const orgs = lab.orgs.map((o) => ({ domain: o.domain, ringId: o.ringId }));
    if (JSON.stringify(orgs) !== JSON.stringify(this.orgs)) {
      this.orgs = orgs;
      out.push({ type: 'lab', orgs });
    }
    for (const n of lab.nodes) {
      let e = this.nodes.get(n.id);
      if (!e) {
        if (this.nodes.size >= DASHBOARD_NODES_MAX) break;
        e = { id: n.id, org: n.org, ringId: this.ringOf(n.org), health: 'waiting', processRestarts: 0 };
        this.nodes.set(n.id, e);
      }
      const endpoints = endpointsOf(n);
      const named = e.name !== n.name || JSON.stringify(e.endpoints) !== JSON.stringify(endpoints);
      e.name = n.name;
      e.endpoints = endpoints;
      const changed = e.pid !== n.pid;
      e.pid = n.pid;
      // A node (re)started by the lab: expect to hear from it from now on.
      if (changed && n.pid > 0) e.expectedSinceMs = nowMs;
      if (changed) this.judge(e, nowMs);
      if (changed || named) out.push({ type: 'node', node: e });
    }
    return out;
  }

  /** A node's frame arrived. */
  onView(view: InspectView, nowMs: number): DashboardEvent[] {
    let e = this.nodes.get(view.nodeId);
    if (!e) {
      if (this.nodes.size >= DASHBOARD_NODES_MAX) {
        this.framesDropped++;
        return [];
      }
      e = { id: view.nodeId, org: view.org, health: 'waiting', processRestarts: 0 };
      this.nodes.set(view.nodeId, e);
    }
    if (e.view && view.seq < e.view.seq) {
      if (view.seq > 1) {
        // Built before the frame already shown (frames are built concurrently): it proves life, nothing more.
        e.lastSeenMs = nowMs;
        return [];
      }
      e.processRestarts++;
    }
    const { actorsJson: _, ...rest } = view;
    e.view = { ...rest, actors: parseActors(view) };
    e.org = view.org;
    e.ringId = view.ringId;
    e.lastSeenMs = nowMs;
    e.health = view.reason === 'stopping' ? 'stopped' : 'live';
    return [{ type: 'node', node: e }];
  }

  /** A message on the scenario subject: JSON progress events, shown as they arrive. */
  onScenario(data: Uint8Array | string, nowMs: number): DashboardEvent[] {
    const text = typeof data === 'string' ? data : Buffer.from(data).toString('utf8');
    if (Buffer.byteLength(text) > DASHBOARD_SCENARIO_EVENT_BYTES_MAX) {
      this.scenarioDropped++;
      return [];
    }
    let event: Record<string, unknown>;
    try {
      const v = JSON.parse(text) as unknown;
      event = v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : { raw: v };
    } catch {
      event = { raw: text };
    }
    const entry: ScenarioEntry = { n: ++this.scenarioCount, atMs: nowMs, event };
    this.events.push(entry);
    if (this.events.length > DASHBOARD_SCENARIO_EVENTS_MAX) this.events.shift();
    return [{ type: 'scenario', entry, run: this.noteRun(entry) }];
  }

  /** Re-judge liveness; returns the nodes whose health changed. */
  tick(nowMs: number): DashboardEvent[] {
    const out: DashboardEvent[] = [];
    for (const e of this.nodes.values()) {
      const before = e.health;
      this.judge(e, nowMs);
      if (e.health !== before) out.push({ type: 'health', id: e.id, health: e.health, lastSeenMs: e.lastSeenMs });
    }
    return out;
  }

  snapshot(nowMs: number): DashboardSnapshot {
    return {
      nowMs,
      orgs: this.orgs,
      nodes: [...this.nodes.values()].sort((a, b) => (a.org === b.org ? (a.id < b.id ? -1 : 1) : a.org < b.org ? -1 : 1)),
      scenario: { events: [...this.events], runs: [...this.runs.values()], dropped: this.scenarioDropped },
      dropped: { frames: this.framesDropped },
    };
  }

  node(id: string): NodeEntry | undefined {
    return this.nodes.get(id);
  }

  /** Count a frame that could not be decoded. */
  dropFrame(): void {
    this.framesDropped++;
  }

  private judge(e: NodeEntry, nowMs: number): void {
    const intervalMs = e.view?.intervalMs || INSPECT_INTERVAL_MS;
    const downMs = DASHBOARD_DOWN_AFTER_INTERVALS * intervalMs;
    if (e.lastSeenMs === undefined) {
      // Never heard: down once the lab has expected it for as long as a live node would take to go down.
      e.health = e.expectedSinceMs !== undefined && nowMs - e.expectedSinceMs > downMs ? 'down' : 'waiting';
      return;
    }
    if (e.health === 'stopped' && e.view?.reason === 'stopping') return;
    const silentMs = nowMs - e.lastSeenMs;
    e.health = silentMs > downMs ? 'down' : silentMs > DASHBOARD_SILENT_AFTER_INTERVALS * intervalMs ? 'silent' : 'live';
  }

  private noteRun(entry: ScenarioEntry): ScenarioRun {
    const ev = entry.event;
    const scenario = typeof ev.scenario === 'string' ? ev.scenario : '(unnamed)';
    const runId = typeof ev.run === 'string' || typeof ev.run === 'number' ? String(ev.run) : typeof ev.seed === 'string' || typeof ev.seed === 'number' ? String(ev.seed) : '';
    const key = runId ? `${scenario}#${runId}` : scenario;
    let run = this.runs.get(key);
    if (!run) {
      run = { key, scenario, events: 0, firstMs: entry.atMs, lastMs: entry.atMs };
      this.runs.set(key, run);
      // Runs are few; keep the newest when a long session starts many.
      if (this.runs.size > DASHBOARD_SCENARIO_EVENTS_MAX) this.runs.delete(this.runs.keys().next().value!);
    }
    run.events++;
    run.lastMs = entry.atMs;
    if (typeof ev.phase === 'string') run.phase = ev.phase;
    if (typeof ev.verdict === 'string') run.verdict = ev.verdict;
    else if (typeof ev.verdict === 'boolean') run.verdict = ev.verdict ? 'pass' : 'fail';
    return run;
  }

  private ringOf(org: string): string | undefined {
    return this.orgs.find((o) => o.domain === org)?.ringId;
  }
}
