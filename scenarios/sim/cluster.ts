// A whole ring in one process on the simulated network, clock and random source: the composition
// root of the deterministic simulator. Node identities, the CA and every network draw come from one
// seed, so a seed replays a run exactly. Used by simulation tests, benchmarks and scenarios.
import { createCertificateAuthority, type CertificateAuthority, issueNodeCertificate } from '../../crypto/certificates';
import { signingKeyPairFromSeed } from '../../crypto/sign';
import { MemoryLog } from '../../infra/log';
import { SimClock } from '../../infra/sim/clock';
import { SimNetwork, type NetworkFaults } from '../../infra/sim/network';
import { SimRandom } from '../../infra/sim/random';
import { createNode, type NodeOptions, type PostNode } from '../../actors/node';
import { closest, kClosest, type Key, type NodeId } from '../../overlay/id';
import { getVerifiedBlock, getVerifiedObject } from '../../storage/replicaStore';
import { LEAF_SET_HALF, OVERLAY_TIMINGS, type OverlayTimings, type StorageTimings } from '../../protocol/limits';
import { MemoryDisk, MemoryStore } from '../../infra/store/memory';
import { MemoryHostedUsers } from '../../infra/sim/hostedUsers';
import { createUser } from '../../storage/users/createUser';
import { localUserIssuer } from '../../storage/users/issuer';
import { openUserSecrets } from '../../storage/users/login';
import { sealStandbyGrants } from '../../storage/users/standbyGrants';
import { standbyHostsFor } from '../../overlay/standby';
import { KEYSTORE_KDF_CHEAP } from '../../crypto/keystore';
import { sealToNode } from '../../crypto/nodeSeal';
import { canonicalBytes } from '../../protocol/frame';
import { hostedUserCodec } from '../../protocol/apps';
import type { UserApp } from '../../actors/users/userHost';
import type { NodeCertificate } from '../../protocol/identity';
import { routerInvariantViolations } from '../../overlay/router/invariants';
import type { InspectionEvent, SnapshotFrom } from 'xstate';
import type { routerMachine } from '../../machines/router.machine';

export interface SimClusterOptions {
  readonly seed: number | string;
  readonly org?: string;
  /** More organisations, each with its own CA, ring and convergence secret, all federated. */
  readonly moreOrgs?: readonly string[];
  readonly timings?: OverlayTimings;
  readonly faults?: Partial<NetworkFaults>;
  readonly leafHalf?: number;
  /** Lines of log kept in memory (dumped when a check fails). */
  readonly logLines?: number;
  /** Check the router's invariants after every transition of every node (slower). */
  readonly checkInvariants?: boolean;
  readonly replicationFactor?: number;
  readonly storageTimings?: StorageTimings;
}

export interface RouteCheck {
  readonly keys: number;
  readonly wrongRoot: { key: Key; root: NodeId; expected: NodeId }[];
  readonly failed: { key: Key; error: string }[];
  readonly hops: number[];
}

export class SimCluster {
  readonly clock = new SimClock();
  readonly random: SimRandom;
  readonly network: SimNetwork;
  readonly log: MemoryLog;
  readonly nodes = new Map<NodeId, PostNode>();
  /** Each node's simulated disk, kept across kills so a restarted node finds its data. */
  readonly disks = new Map<NodeId, MemoryDisk>();
  /** Each node's hosted users (its data folder's users/), kept across kills too. */
  readonly hosted = new Map<NodeId, MemoryHostedUsers>();
  /** Each node's standby grants (its data folder's standby/), kept across kills too. */
  readonly standbyGrants = new Map<NodeId, MemoryHostedUsers>();
  /** Identities by node id, so a killed node can be restarted from its "data folder". */
  private readonly identities = new Map<NodeId, { keys: { publicKey: Uint8Array; secretKey: Uint8Array }; cert: NodeCertificate; n: number; org: string; options: Partial<NodeOptions> }>();
  readonly convergenceSecret: Uint8Array;
  /** Every organisation's CA and convergence secret, the first being `ca`'s. */
  readonly orgs = new Map<string, { ca: CertificateAuthority; convergenceSecret: Uint8Array }>();
  private readonly dead = new Set<NodeId>();
  /** Invariant violations seen so far (when checkInvariants is on). */
  readonly violations: string[] = [];
  private count = 0;

  private constructor(
    readonly options: SimClusterOptions,
    readonly ca: CertificateAuthority,
    random: SimRandom,
    more: readonly CertificateAuthority[],
  ) {
    this.random = random;
    this.convergenceSecret = random.fork('convergence').bytes(32);
    this.orgs.set(ca.org, { ca, convergenceSecret: this.convergenceSecret });
    for (const other of more) this.orgs.set(other.org, { ca: other, convergenceSecret: random.fork(`convergence-${other.org}`).bytes(32) });
    this.log = new MemoryLog({ capacity: options.logLines ?? 20_000, level: 'info', clock: this.clock });
    this.network = new SimNetwork({
      clock: this.clock,
      random: random.fork('network'),
      delay: { minMs: 0.2, maxMs: 2 },
      ...options.faults,
    });
  }

  static async create(options: SimClusterOptions): Promise<SimCluster> {
    const random = new SimRandom(options.seed);
    const ca = await createCertificateAuthority(options.org ?? 'sim.example', random.fork('ca').bytes(32));
    const more = [];
    for (const org of options.moreOrgs ?? []) more.push(await createCertificateAuthority(org, random.fork(`ca-${org}`).bytes(32)));
    return new SimCluster(options, ca, random, more);
  }

  get seed(): string {
    return String(this.options.seed);
  }

  /** Start one more node (it joins through whichever ready member the join queue group picks). */
  async addNode(extra: Partial<NodeOptions> & { org?: string } = {}): Promise<PostNode> {
    const n = this.count++;
    const random = this.random.fork(`node-${n}`);
    const keys = await signingKeyPairFromSeed(random.bytes(32));
    const org = extra.org ?? this.ca.org;
    const ca = this.orgs.get(org)?.ca;
    if (!ca) throw new Error(`no organisation ${org} in this simulation`);
    const cert = await issueNodeCertificate(ca, keys, { nowMs: this.clock.now() });
    const { org: _org, ...options } = extra;
    // Its options (a gateway, a gateway user) are its configuration: a restart starts it with them again.
    this.identities.set(cert.nodeId, { keys, cert, n, org, options });
    return this.startNode(cert.nodeId, random, options);
  }

  /** Start a node again from its identity and disk (after `kill`), as `post lab restart` does. */
  async restart(id: NodeId, extra: Partial<NodeOptions> = {}): Promise<PostNode> {
    const identity = this.identities.get(id);
    if (!identity) throw new Error(`no node ${id} to restart`);
    this.dead.delete(id);
    return this.startNode(id, this.random.fork(`node-${identity.n}-restart-${this.clock.now()}`), { ...identity.options, ...extra });
  }

  private startNode(id: NodeId, random: SimRandom, extra: Partial<NodeOptions>): PostNode {
    const { keys, cert, org } = this.identities.get(id)!;
    const own = this.orgs.get(org)!;
    const federated = [...this.orgs.values()].filter((o) => o.ca.org !== org).map((o) => o.ca);
    const transport = this.network.connect(cert.nodeId);
    const disk = this.disks.get(id) ?? new MemoryDisk();
    this.disks.set(id, disk);
    const hostedUsers = this.hosted.get(id) ?? new MemoryHostedUsers();
    this.hosted.set(id, hostedUsers);
    const standbyGrants = this.standbyGrants.get(id) ?? new MemoryHostedUsers();
    this.standbyGrants.set(id, standbyGrants);
    const node = createNode(
      { transport, clock: this.clock, random, log: this.log, store: new MemoryStore(disk) },
      {
        cert,
        signingSecretKey: keys.secretKey,
        trust: own.ca,
        convergenceSecret: own.convergenceSecret,
        replicationFactor: this.options.replicationFactor ?? 3,
        federated: federated.map((ca) => ({ org: ca.org, ringId: ca.ringId, caPublicKey: ca.caPublicKey })),
      },
      {
        hostedUsers,
        standbyGrants,
        storageTimings: this.options.storageTimings,
        timings: this.options.timings ?? OVERLAY_TIMINGS,
        leafHalf: this.options.leafHalf ?? LEAF_SET_HALF,
        inspect: this.options.checkInvariants ? (e) => this.checkInvariants(cert.nodeId, e) : undefined,
        ...extra,
      },
    );
    this.nodes.set(node.id, node);
    node.start();
    return node;
  }

  private checkInvariants(node: NodeId, e: InspectionEvent): void {
    if (e.type !== '@xstate.snapshot' || (e.actorRef as { id?: string }).id !== 'router') return;
    // The router's own snapshot (the id says whose): its machine's type.
    const snap = e.snapshot as SnapshotFrom<typeof routerMachine>;
    if (snap.status !== 'active' && snap.status !== 'done') return;
    const state = snap.matches('ready') ? 'ready' : snap.matches('failed') ? 'failed' : 'joining';
    for (const v of routerInvariantViolations(snap.context, state))
      if (this.violations.length < 100) this.violations.push(`${node.slice(0, 8)} after ${e.event.type}: ${v}`);
  }

  /** Add nodes one after another, `spacingMs` of simulated time apart. */
  async addNodes(count: number, spacingMs: number): Promise<PostNode[]> {
    const added: PostNode[] = [];
    for (let i = 0; i < count; i++) {
      added.push(await this.addNode());
      await this.clock.runFor(spacingMs);
    }
    return added;
  }

  /** The process dies: no goodbye, its endpoint vanishes, its actors stop. */
  async kill(id: NodeId): Promise<void> {
    const node = this.nodes.get(id);
    if (!node) return;
    this.network.kill(id);
    this.nodes.delete(id);
    this.dead.add(id);
    await node.stop().catch(() => {});
  }

  live(): PostNode[] {
    return [...this.nodes.values()];
  }

  /** Live nodes' ids, of one organisation when given. */
  liveIds(org?: string): NodeId[] {
    return [...this.nodes.keys()].filter((id) => org === undefined || this.identities.get(id)!.org === org);
  }

  orgOf(id: NodeId): string {
    return this.identities.get(id)!.org;
  }

  allReady(): boolean {
    return this.live().every((n) => n.router.state === 'ready');
  }

  async runFor(ms: number): Promise<void> {
    await this.clock.runFor(ms);
  }

  async runUntil(predicate: () => boolean, maxMs: number): Promise<boolean> {
    return this.clock.runUntil(predicate, { maxMs });
  }

  /** Like runUntil, for costly predicates: checked every `everyMs` of simulated time. Returns the time taken, or undefined. */
  async runUntilChecked(predicate: () => boolean, opts: { everyMs: number; maxMs: number }): Promise<number | undefined> {
    const start = this.clock.now();
    while (this.clock.now() - start <= opts.maxMs) {
      if (predicate()) return this.clock.now() - start;
      await this.clock.runFor(opts.everyMs);
    }
    return undefined;
  }

  // ---- the global oracle ------------------------------------------------------------------------

  rootOf(key: Key): NodeId {
    return closest(this.liveIds(), key)!;
  }

  /** Nodes whose leaf set differs from the L/2 nearest live nodes on each side. */
  wrongLeafSets(): { node: NodeId; missing: NodeId[]; extra: NodeId[] }[] {
    // Hex ids of equal length sort like the numbers they are: neighbours on the circle are neighbours
    // in the sorted list, wrapping around. Each organisation is its own ring.
    const out: { node: NodeId; missing: NodeId[]; extra: NodeId[] }[] = [];
    for (const org of this.orgs.keys()) {
      const sorted = this.liveIds(org).sort();
      const n = sorted.length;
      const half = Math.min(this.options.leafHalf ?? LEAF_SET_HALF, n - 1);
      for (let i = 0; i < n; i++) {
        const node = this.nodes.get(sorted[i]!)!;
        const expected = new Set<NodeId>();
        for (let d = 1; d <= half; d++) expected.add(sorted[(i + d) % n]!).add(sorted[(i - d + n * d) % n]!);
        const actual = new Set(node.router.leafSet());
        const missing = [...expected].filter((x) => !actual.has(x));
        const extra = [...actual].filter((x) => !expected.has(x));
        if (missing.length || extra.length) out.push({ node: node.id, missing, extra });
      }
    }
    return out;
  }

  /** Route `count` random keys from random live nodes; compare each root with the oracle. */
  async checkRoutes(count: number, label = 'keys'): Promise<RouteCheck> {
    const r = this.random.fork(`${label}-${this.clock.now()}`);
    const live = this.live();
    const result: RouteCheck = { keys: count, wrongRoot: [], failed: [], hops: [] };
    let settled = 0;
    for (let i = 0; i < count; i++) {
      const key = Buffer.from(r.bytes(32)).toString('hex');
      const from = live[r.int(live.length)]!;
      const expected = this.rootOf(key);
      from.router.route(key).then(
        (o) => {
          result.hops.push(o.hops);
          if (o.root !== expected) result.wrongRoot.push({ key, root: o.root, expected });
        },
        (e: Error) => result.failed.push({ key, error: e.message }),
      ).finally(() => settled++);
    }
    await this.runUntil(() => settled === count, 60_000);
    return result;
  }

  /** Create a user of the ring (cheap Argon2id limits) and host it on `node`; resolves with its app. */
  /** A user hosted on `node`; with `standbys`, that many of the next nodes in the ring are its standby hosts. */
  async addUser(address: string, password: string, node: PostNode, opts: { standbys?: number } = {}): Promise<UserApp> {
    const ca = this.orgs.get(address.split('@')[1]!)?.ca ?? this.ca;
    const created = createUser({
      storage: node.replicas.storage,
      issuer: localUserIssuer(ca),
      address,
      password,
      clock: this.clock,
      random: this.random.fork(`user-${address}`),
      kdf: KEYSTORE_KDF_CHEAP,
      home: node.id,
    });
    await this.settle(created);
    const app = await this.hostUser(node, address, password);
    if (opts.standbys) await this.addStandbys(address, password, node, opts.standbys);
    return app;
  }

  /**
   * Make the `count` live nodes after `home` in the ring (of the user's organisation) standby hosts of
   * the user, as `post user add` does: its keys, opened here with the password, sealed to each of them.
   */
  async addStandbys(address: string, password: string, home: PostNode, count: number): Promise<PostNode[]> {
    const org = address.split('@')[1]!;
    const ca = this.orgs.get(org)!.ca;
    const members = this.live().filter((n) => this.identities.get(n.id)?.org === org);
    const standbys = standbyHostsFor(home.id, members.map((n) => n.id), count).map((id) => this.nodes.get(id)!);
    const { secrets } = await this.settle(openUserSecrets({ storage: home.replicas.storage, trust: ca, address, password, clock: this.clock }));
    const grants = sealStandbyGrants(secrets, home.id, standbys.map((n) => ({ id: n.id, signingKey: n.router.cert.signingKey })));
    for (const g of grants) await this.settle(this.nodes.get(g.node)!.standby.grant(g.sealed));
    return standbys;
  }

  /** Host an existing user on another node too (another device of the same user). */
  hostUser(node: PostNode, address: string, password: string): Promise<UserApp> {
    const sealed = sealToNode(node.router.cert.signingKey, canonicalBytes(hostedUserCodec.encode({ address, password })));
    return this.settle(node.users.host(sealed));
  }

  /** Run the simulation until `p` settles (bounded); return its value or throw its error. */
  async settle<T>(p: Promise<T>, maxMs = 120_000): Promise<T> {
    let done = false;
    let value: T | undefined;
    let error: unknown;
    p.then(
      (v) => ((value = v), (done = true)),
      (e) => ((error = e), (done = true)),
    );
    await this.runUntil(() => done, maxMs);
    if (!done) throw new Error(`still pending after ${maxMs} ms of simulated time`);
    if (error) throw error;
    return value as T;
  }

  /**
   * Ids that do not have a verified copy on every one of the k live nodes closest to them: in `org`'s
   * ring when given (each organisation keeps its data on its own nodes), else among all live nodes.
   */
  async underReplicated(ids: readonly string[], kind: 'block' | 'object' = 'block', org?: string): Promise<{ id: string; holders: number }[]> {
    const k = this.options.replicationFactor ?? 3;
    const live = this.liveIds(org);
    const out: { id: string; holders: number }[] = [];
    for (const id of ids) {
      let holders = 0;
      for (const node of kClosest(live, id, k)) {
        const store = new MemoryStore(this.disks.get(node)!);
        const ok = kind === 'block' ? (await getVerifiedBlock(store, id)).status === 'ok' : (await getVerifiedObject(store, id)) !== undefined;
        if (ok) holders++;
      }
      if (holders < k) out.push({ id, holders });
    }
    return out;
  }

  async stop(): Promise<void> {
    for (const node of this.live()) await node.stop().catch(() => {});
    this.nodes.clear();
  }
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
