// Real nats-server processes for tests and the local lab: one server, or a full-mesh cluster of N
// on free loopback ports, with config files and logs in a given directory.
//
//   const cluster = await NatsCluster.start({ dir, size: 3 });   // every member ready, routes up
//   await cluster.kill(0);                                        // SIGKILL: a crashed server
//   await cluster.restart(0);                                     // same ports, rejoins the mesh
//   await cluster.cut([{ members: [0], refusedNkeys: [...] }, { members: [1, 2], refusedNkeys: [...] }]);
//   await cluster.heal();                                         // a partition, by config reload; healed by restarts
//   await cluster.stop();
//
// The lab starts the cluster detached (the servers outlive `post lab up`) and records it in a pid
// file that `post lab down` hands to stopByPidFile.
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { findNatsServer } from './binary';
import { cutConfig, type LeafRemote, type NatsAccount, natsServerConfig } from './config';
import { freePorts, onFreshPorts } from './free-ports';
import { routedServerIds, serverId } from './monitor';
import { isNatsServerWithConfig, NatsServerProcess, type NatsServerSpec } from './process';
import type { NatsTlsFiles } from './tls';

export interface NatsClusterOptions {
  /** Config files, logs (and the pid file when detached) go here; created if missing. */
  dir: string;
  /** Servers; 1 gives a single server without a cluster block. Default 3. */
  size?: number;
  host?: string;
  clusterName?: string;
  maxPayloadBytes?: number;
  /** Bound on waiting for every server to be ready and fully routed. */
  readyTimeoutMs?: number;
  /** Start the servers so that they outlive this process. */
  detached?: boolean;
  /** Defaults to findNatsServer(). */
  binary?: string;
  /** Accept leaf-node connections (the hub of linked organisations); their users are in `accounts`. */
  acceptLeafs?: boolean;
  /** Connect every member as a leaf node to these remotes (an organisation's cluster linked to the hub). */
  leafRemotes?: readonly LeafRemote[];
  /** TLS on every port; clients are then given `tls://` URLs. */
  tls?: NatsTlsFiles;
  /** Accounts and users: without them the servers are open (test harness only). */
  accounts?: readonly NatsAccount[];
}

export interface NatsClusterMember extends NatsServerSpec {
  port: number;
  clusterPort: number | undefined;
  httpPort: number;
  /** Where the member accepts leaf-node connections (hub clusters only). */
  leafPort?: number;
}

/** What the pid file records: enough to stop, or adopt and restart, the servers from another process. */
interface PidFile {
  kind: 'post-nats-cluster';
  binary: string;
  members: (NatsClusterMember & { pid: number | undefined })[];
}

export const DEFAULT_CLUSTER_SIZE = 3;
export const DEFAULT_READY_TIMEOUT_MS = 15_000;
export const PID_FILE_NAME = 'nats.pid.json';
/** While cutting: how often the routes are checked, and how often the reload is signalled again. */
const CUT_POLL_MS = 100;
const CUT_RESIGNAL_MS = 1000;

/** One side of a cut cluster: its members (indexes), and the users (nkeys) they refuse. */
export interface ClusterSide {
  readonly members: readonly number[];
  readonly refusedNkeys: readonly string[];
}

/** Where a member's whole configuration is kept while the cluster is cut. */
const wholeConfigPath = (member: NatsClusterMember) => `${member.configPath}.whole`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class NatsCluster {
  /** Where the pids are recorded (detached clusters): kept current across restarts. */
  private pidFile: string | undefined;

  private constructor(
    readonly members: readonly NatsClusterMember[],
    private readonly processes: NatsServerProcess[],
    private readonly binary: string,
    private readonly readyTimeoutMs: number,
  ) {}

  /** Writes the configs, starts every server and waits until all are ready and routed to each other. */
  static async start(opts: NatsClusterOptions): Promise<NatsCluster> {
    // Another process may take a free port before our server binds it: then try again with new ports.
    return onFreshPorts(() => NatsCluster.startOnce(opts));
  }

  private static async startOnce(opts: NatsClusterOptions): Promise<NatsCluster> {
    const binary = opts.binary ?? findNatsServer();
    const size = opts.size ?? DEFAULT_CLUSTER_SIZE;
    if (!(size >= 1)) throw new RangeError(`cluster size must be at least 1, got ${size}`);
    const host = opts.host ?? '127.0.0.1';
    const dir = resolve(opts.dir);
    mkdirSync(dir, { recursive: true });
    const ports = await freePorts(size * 4, host);
    const members: NatsClusterMember[] = Array.from({ length: size }, (_, i) => {
      const name = `nats-${i}`;
      const [port, clusterPort, httpPort, leafPort] = [ports[4 * i]!, ports[4 * i + 1]!, ports[4 * i + 2]!, ports[4 * i + 3]!];
      return {
        name,
        port,
        clusterPort: size > 1 ? clusterPort : undefined,
        httpPort,
        ...(opts.acceptLeafs ? { leafPort } : {}),
        clientUrl: `${opts.tls ? 'tls' : 'nats'}://${host}:${port}`,
        httpUrl: `http://${host}:${httpPort}`,
        configPath: join(dir, `${name}.conf`),
        logPath: join(dir, `${name}.log`),
      };
    });
    for (const member of members) {
      const routes = members.filter((m) => m !== member).map((m) => `nats-route://${host}:${m.clusterPort}`);
      const config = natsServerConfig({
        serverName: member.name,
        host,
        port: member.port,
        http: { host, port: member.httpPort },
        maxPayloadBytes: opts.maxPayloadBytes,
        cluster:
          member.clusterPort === undefined
            ? undefined
            : { name: opts.clusterName ?? 'post', host, port: member.clusterPort, routes },
        leafnodes:
          opts.acceptLeafs || opts.leafRemotes
            ? {
                ...(opts.acceptLeafs && member.leafPort ? { accept: { host, port: member.leafPort } } : {}),
                ...(opts.leafRemotes ? { remotes: opts.leafRemotes } : {}),
              }
            : undefined,
        tls: opts.tls,
        accounts: opts.accounts,
      });
      // Leaf-link passwords may be in it.
      writeFileSync(member.configPath, config, { mode: 0o600 });
      writeFileSync(member.logPath, ''); // a fresh cluster starts a fresh log (restarts append)
    }
    const processes = members.map((member) => new NatsServerProcess(member, binary));
    const cluster = new NatsCluster(members, processes, binary, opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
    try {
      for (const server of processes) server.start({ detached: opts.detached });
      await cluster.waitReady();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** Takes control of a cluster started detached by another process, from its pid file. */
  static attach(pidFile: string): NatsCluster {
    const recorded = readPidFile(pidFile);
    const processes = recorded.members.map((member) =>
      member.pid !== undefined && isNatsServerWithConfig(member.pid, member.configPath)
        ? NatsServerProcess.adopt(member, recorded.binary, member.pid)
        : new NatsServerProcess(member, recorded.binary),
    );
    const cluster = new NatsCluster(recorded.members, processes, recorded.binary, DEFAULT_READY_TIMEOUT_MS);
    cluster.pidFile = pidFile;
    return cluster;
  }

  /** Client URLs of every member: give them all to a client so it can fail over. */
  get urls(): string[] {
    return this.members.map((member) => member.clientUrl);
  }

  pid(i: number): number | undefined {
    return this.process(i).pid;
  }

  running(i: number): boolean {
    return this.process(i).running;
  }

  /** Index of the member serving `hostPort` (as NatsTransport.server reports it), or -1. */
  indexOf(hostPort: string): number {
    return this.members.findIndex((member) => member.clientUrl.endsWith(`//${hostPort}`) || member.clientUrl === hostPort);
  }

  /** Signals one server; SIGKILL (the default) is a crash. Waits for it to exit when the signal ends it. */
  async kill(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.process(i).kill(signal);
  }

  /**
   * Starts a stopped or killed member again on its ports and waits until it is routed to the running
   * members. A cluster with a pid file gets its pid file updated.
   */
  async restart(i: number, opts: { detached?: boolean } = {}): Promise<void> {
    const server = this.process(i);
    if (server.running) await server.stop();
    // An adopted process cannot be restarted in place: replace it with one we start.
    const fresh = new NatsServerProcess(this.members[i]!, this.binary);
    this.processes[i] = fresh;
    fresh.start(opts);
    if (this.pidFile !== undefined) this.writePidFile(this.pidFile);
    await fresh.waitReady(this.runningPeers(i), this.readyTimeoutMs);
  }

  /**
   * A network partition made by configuration: every member of a side keeps routes only to its own
   * side and refuses the side's `refusedNkeys` (the other side's nodes), by a reload (SIGHUP) that
   * closes the other routes and those users' connections; a refused client fails over to a server
   * that admits it. Waits until every running member's routes are exactly its side's. The whole
   * configurations are kept beside (`<config>.whole`) until heal(). Only running members are cut.
   */
  async cut(sides: readonly ClusterSide[]): Promise<void> {
    const sideOf = new Map<number, number>();
    sides.forEach((side, s) =>
      side.members.forEach((i) => {
        if (sideOf.has(i)) throw new RangeError(`member ${i} is on two sides of the cut`);
        if (this.members[i]?.clusterPort === undefined) throw new RangeError(`no cluster member ${i} to cut (size ${this.members.length})`);
        sideOf.set(i, s);
      }),
    );
    const ids = new Map<number, string>();
    for (const i of sideOf.keys()) if (this.running(i)) ids.set(i, await serverId(this.members[i]!.httpUrl));
    for (const [i, s] of sideOf) {
      const member = this.members[i]!;
      if (!existsSync(wholeConfigPath(member))) copyFileSync(member.configPath, wholeConfigPath(member));
      const routes = sides[s]!.members.filter((j) => j !== i).map((j) => this.routeUrl(j));
      writeFileSync(member.configPath, cutConfig(readFileSync(wholeConfigPath(member), 'utf8'), { routes, refusedNkeys: sides[s]!.refusedNkeys }), { mode: 0o600 });
    }
    // A member that still solicits a route to one already reloaded may bring it back for a moment:
    // the reload is signalled again until every running member's routes are its side's alone.
    const wanted = (i: number) => [...ids.keys()].filter((j) => j !== i && sideOf.get(j) === sideOf.get(i)).map((j) => ids.get(j)!).sort().join(',');
    const deadline = Date.now() + this.readyTimeoutMs;
    let signalled = 0;
    for (;;) {
      if (Date.now() >= signalled + CUT_RESIGNAL_MS) {
        for (const i of ids.keys()) await this.kill(i, 'SIGHUP');
        signalled = Date.now();
      }
      const wrong: string[] = [];
      for (const i of ids.keys()) {
        const routed = [...(await routedServerIds(this.members[i]!.httpUrl).catch(() => new Set(['(no answer)'])))].sort().join(',');
        if (routed !== wanted(i)) wrong.push(`${this.members[i]!.name} routes to [${routed}], wanted [${wanted(i)}]`);
      }
      if (wrong.length === 0) return;
      if (Date.now() > deadline) throw new Error(`the NATS cluster is not cut after ${this.readyTimeoutMs} ms: ${wrong.join('; ')}`);
      await sleep(CUT_POLL_MS);
    }
  }

  /**
   * Undoes cut(): every member's whole configuration back, and each running member restarted with it,
   * one after another; waits until the mesh is whole. A restart, not a reload: nats-server 2.9.10
   * reloaded with its routes back keeps stale interest (duplicate routes resolved while subscriptions
   * exist), and then answers "no responders" to a share of requests to a queue group with members on
   * every server, long after the heal (test/integration/infra/nats-partition.test.ts). A restarted
   * member's clients fail over to the others and come back as they would after any server restart.
   */
  async heal(): Promise<void> {
    for (const [i, member] of this.members.entries()) {
      if (!existsSync(wholeConfigPath(member))) continue;
      renameSync(wholeConfigPath(member), member.configPath);
      if (this.running(i)) await this.restart(i, { detached: this.pidFile !== undefined });
    }
    await this.waitReady();
  }

  private routeUrl(i: number): string {
    const member = this.members[i]!;
    return `nats-route://${new URL(member.clientUrl).hostname}:${member.clusterPort}`;
  }

  /** Waits until every running member is ready and routed to every other running member. */
  async waitReady(): Promise<void> {
    await Promise.all(
      this.processes.map((server, i) =>
        server.running ? server.waitReady(this.runningPeers(i), this.readyTimeoutMs) : Promise.resolve(),
      ),
    );
  }

  /** Stops every member (SIGTERM, then SIGKILL after a grace period). */
  async stop(graceMs?: number): Promise<void> {
    await Promise.all(this.processes.map((server) => server.stop(graceMs)));
  }

  /** Records the members and their pids, for stopByPidFile or attach from another process. */
  writePidFile(path: string): void {
    this.pidFile = path;
    const recorded: PidFile = {
      kind: 'post-nats-cluster',
      binary: this.binary,
      members: this.members.map((member, i) => ({ ...member, pid: this.processes[i]!.pid })),
    };
    writeFileSync(path, JSON.stringify(recorded, null, 2) + '\n');
  }

  private runningPeers(i: number): number {
    if (this.members[i]!.clusterPort === undefined) return 0;
    return this.processes.filter((server, j) => j !== i && server.running).length;
  }

  private process(i: number): NatsServerProcess {
    const server = this.processes[i];
    if (server === undefined) throw new RangeError(`no cluster member ${i} (size ${this.processes.length})`);
    return server;
  }
}

/** One server: a cluster of one. */
export function startNatsServer(opts: Omit<NatsClusterOptions, 'size'>): Promise<NatsCluster> {
  return NatsCluster.start({ ...opts, size: 1 });
}

/**
 * Starts servers that outlive this process (the lab), writes `<dir>/nats.pid.json` and returns
 * its path and the client URLs. Stop them later, from any process, with stopByPidFile.
 */
export async function startDetached(opts: Omit<NatsClusterOptions, 'detached'>): Promise<{ pidFile: string; urls: string[]; leafUrls: string[] }> {
  const cluster = await NatsCluster.start({ ...opts, detached: true });
  const pidFile = join(resolve(opts.dir), PID_FILE_NAME);
  cluster.writePidFile(pidFile);
  const host = opts.host ?? '127.0.0.1';
  return { pidFile, urls: cluster.urls, leafUrls: cluster.members.filter((m) => m.leafPort).map((m) => `nats-leaf://${host}:${m.leafPort}`) };
}

/** Stops every server recorded in a pid file (only processes that still run that nats-server config), then removes the file. */
export async function stopByPidFile(pidFile: string, opts: { graceMs?: number } = {}): Promise<void> {
  await NatsCluster.attach(pidFile).stop(opts.graceMs);
  rmSync(pidFile, { force: true });
}

function readPidFile(path: string): PidFile {
  let parsed: PidFile;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as PidFile;
  } catch (error) {
    throw new Error(`cannot read the NATS pid file ${path}: ${(error as Error).message}`, { cause: error });
  }
  if (parsed.kind !== 'post-nats-cluster' || !Array.isArray(parsed.members)) {
    throw new Error(`${path} is not a POST NATS pid file (written by startDetached)`);
  }
  return parsed;
}
