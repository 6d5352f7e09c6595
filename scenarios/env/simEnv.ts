// Scenarios on the deterministic simulator: a SimCluster of nodes hosting mail users, faults injected
// through the simulated network, clock and disks. The same seed replays a run exactly.
import type { PostNode } from '../../actors/node';
import { MemoryStore } from '../../infra/store/memory';
import type { MailUserSession } from '../../mail/backend';
import { SimCluster } from '../sim/cluster';
import type { InboxReads } from '../checkers';
import type { Outcome } from '../history';
import { type Audit, type Device, errorText, rawMail, type ScenarioDavRequest, type ScenarioDavResponse, type ScenarioEnv, type StandbyView, subjectOf } from './env';
import { PostCalendars } from '../../actors/calendar/postCalendars';
import { handleDav } from '../../dav/handler';
import type { CrashableActor } from '../../protocol/control';
import type { SubmissionReceipt } from '../../mail/submission';
import { SCENARIO_CALENDAR, SCENARIO_CHAT, STANDBY_HOSTS_DEFAULT } from '../../protocol/limits';

export interface SimEnvOptions {
  readonly seed: number | string;
  readonly nodes?: number;
  readonly users?: number;
  /** A deliberately broken build: one copy of everything, no repair (the checkers must catch it). */
  readonly broken?: 'replication';
  /**
   * Organisations, each its own ring with two gateways and its share of the nodes and users (spread
   * over its nodes as `post lab up --orgs` spreads them: user1 on its first gateway, user2 on its
   * second, ...). Default 1: sim.example, no gateways.
   */
  readonly organisations?: number;
}

/** The domains of a simulation with several organisations (a.example, b.example, ...), as the two-organisation lab's. */
export const simOrgDomains = (count: number): string[] => Array.from({ length: count }, (_, i) => `${String.fromCharCode(97 + i)}.example`);
/** Gateways per organisation when there are several (the lab's too: one may die). */
const GATEWAYS_PER_ORG = 2;

/** Mail submissions slower than this count as unknown (a client would have timed out). */
const SUBMIT_TIMEOUT_MS = 30_000;
/** Simulated time one driven call may take before it counts as hung. */
const DRIVE_MAX_MS = 600_000;
/** A restarted node ready within this much simulated time (polled every READY_POLL_MS), or the scenario goes on without it. */
const READY_WAIT_MS = 60_000;
const READY_POLL_MS = 100;

export class SimEnv implements ScenarioEnv {
  readonly kind = 'sim' as const;
  readonly k = 3;
  private readonly passwords = new Map<string, string>();
  private readonly hosts = new Map<string, string>();
  /** Each organisation's gateways, up or down, in the order they were added. */
  private readonly gatewayIds = new Map<string, string[]>();
  /** Nodes killed and not restarted. */
  private readonly killed = new Set<string>();

  /** True while a drive() runs the clock: calls made inside it must not run it again. */
  private driving = false;

  private constructor(readonly cluster: SimCluster) {}

  /** Run the simulated clock until `p` settles (unless already doing so for an enclosing call). */
  private async drive<T>(p: Promise<T>, maxMs = DRIVE_MAX_MS): Promise<T> {
    if (this.driving) return p;
    this.driving = true;
    try {
      return await this.cluster.settle(p, maxMs);
    } finally {
      this.driving = false;
    }
  }

  /** Start several operations at once and run them to completion together. */
  together<T>(fs: (() => Promise<T>)[]): Promise<T[]> {
    return this.run(() => Promise.all(fs.map((f) => f())), DRIVE_MAX_MS);
  }

  /** `f` starts with the clock already counted as driven: what it calls waits on timers, never runs the clock. */
  run<T>(f: () => Promise<T>, maxMs: number): Promise<T> {
    if (this.driving) return f();
    this.driving = true;
    let started: Promise<T>;
    try {
      started = f();
    } finally {
      this.driving = false;
    }
    return this.drive(started, maxMs);
  }

  /** Simulated time passing, on the clock's timers: inside a driven call, running the clock again would nest. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.cluster.clock.setTimeout(resolve, ms));
  }

  static async create(opts: SimEnvOptions): Promise<SimEnv> {
    const broken = opts.broken === 'replication';
    const orgs = (opts.organisations ?? 1) > 1 ? simOrgDomains(opts.organisations!) : undefined;
    const cluster = await SimCluster.create({
      seed: opts.seed,
      ...(orgs ? { org: orgs[0], moreOrgs: orgs.slice(1) } : {}),
      ...(broken ? { replicationFactor: 1, storageTimings: { ...(await import('../../protocol/limits')).STORAGE_TIMINGS, repairDebounceMs: 1e12, antiEntropyIntervalMs: 1e12 } } : {}),
    });
    if (orgs) return SimEnv.createOrgs(cluster, orgs, opts);
    await cluster.addNodes(opts.nodes ?? 12, 50);
    await cluster.runUntil(() => cluster.allReady(), 60_000);
    await cluster.runFor(3_000);
    const env = new SimEnv(cluster);
    const nodes = cluster.live();
    for (let i = 1; i <= (opts.users ?? 6); i++) {
      const address = `user${i}@sim.example`;
      const node = nodes[(i * 5) % nodes.length]!;
      // The organisation's default: the next nodes after the home stand in for it (issue 13).
      await cluster.addUser(address, `pw${i}`, node, { standbys: STANDBY_HOSTS_DEFAULT });
      env.passwords.set(address, `pw${i}`);
      env.hosts.set(address, node.id);
    }
    return env;
  }

  /** Several organisations: each its share of the nodes (its first two gateways) and of the users. */
  private static async createOrgs(cluster: SimCluster, orgs: readonly string[], opts: SimEnvOptions): Promise<SimEnv> {
    const env = new SimEnv(cluster);
    const nodesPerOrg = Math.ceil((opts.nodes ?? 12) / orgs.length);
    const members = new Map<string, PostNode[]>(orgs.map((o) => [o, []]));
    // Interleaved, as `post lab up --orgs` starts them.
    for (let i = 0; i < nodesPerOrg; i++)
      for (const org of orgs) {
        members.get(org)!.push(await cluster.addNode({ org, gateway: i < GATEWAYS_PER_ORG }));
        await cluster.runFor(50);
      }
    for (const org of orgs) env.gatewayIds.set(org, members.get(org)!.slice(0, GATEWAYS_PER_ORG).map((n) => n.id));
    const gateways = cluster.live().filter((n) => n.gateway);
    await cluster.runUntil(() => cluster.allReady() && gateways.every((g) => g.gateway!.globalRouter.state === 'ready'), 60_000);
    await cluster.runFor(3_000);
    const usersPerOrg = Math.ceil((opts.users ?? 6) / orgs.length);
    for (const org of orgs) {
      const nodes = members.get(org)!;
      for (let i = 1; i <= usersPerOrg; i++) {
        const address = `user${i}@${org}`;
        const node = nodes[(i - 1) % nodes.length]!;
        await cluster.addUser(address, `pw${i}`, node, { standbys: STANDBY_HOSTS_DEFAULT });
        env.passwords.set(address, `pw${i}`);
        env.hosts.set(address, node.id);
      }
    }
    return env;
  }

  now(): number {
    return this.cluster.clock.now();
  }

  wait(ms: number): Promise<void> {
    return this.driving ? this.sleep(ms) : this.cluster.runFor(ms);
  }

  users(): string[] {
    return [...this.passwords.keys()];
  }

  nodes(): string[] {
    return this.cluster.liveIds();
  }

  orgs(): string[] {
    return [...new Set(this.users().map(orgOfAddress))];
  }

  gateways(org: string): string[] {
    return [...(this.gatewayIds.get(org) ?? [])];
  }

  userNodes(): string[] {
    return [...new Set(this.hosts.values())];
  }

  homeOf(user: string): string {
    return this.hosts.get(user)!;
  }

  async standbys(user: string): Promise<StandbyView[]> {
    return this.cluster.live().flatMap((n) => n.standby.status().filter((s) => s.address === user).map((s) => ({ node: n.id, rank: s.rank, state: s.state, delivered: s.delivered })));
  }

  private node(id: string): PostNode {
    const n = this.cluster.nodes.get(id);
    if (!n) throw new Error(`node ${id.slice(0, 12)} is not running`);
    return n;
  }

  /** A live node to submit through: the sender's own, or any other of its organisation if it is down. */
  private gatewayFor(user: string): PostNode | undefined {
    return this.cluster.nodes.get(this.hosts.get(user)!) ?? this.liveOfOrg(user);
  }

  /** The first live node of `user`'s organisation (a user logs in only in its own). */
  private liveOfOrg(user: string): PostNode | undefined {
    return this.cluster.live().find((n) => this.cluster.orgOf(n.id) === orgOfAddress(user));
  }

  sendMail(from: string, to: string, subject: string): Promise<{ outcome: Outcome; error?: string }> {
    return this.drive(this.submit(from, to, subject));
  }

  private async submit(from: string, to: string, subject: string): Promise<{ outcome: Outcome; error?: string }> {
    const node = this.gatewayFor(from);
    if (!node) return { outcome: 'failed', error: '421 no node is up' };
    const attempt = submitAs(node, { from, password: this.passwords.get(from)!, to, key: subject, helo: 'scenario' }, rawMail(from, to, subject, this.now()), () => this.now());
    const result = attempt.then(
      () => ({ outcome: 'ok' as Outcome }),
      (e: { code?: string; message?: string }) =>
        // A permanent refusal is failed; anything temporary may still have been stored somewhere.
        ({ outcome: (['UNKNOWN_USER', 'WRONG_PASSWORD', 'SENDER_BLOCKED', 'TOO_BIG'].includes(e.code ?? '') ? 'failed' : 'unknown') as Outcome, error: `${e.code}: ${e.message}` }),
    );
    return Promise.race([result, new Promise<{ outcome: Outcome; error: string }>((r) => this.cluster.clock.setTimeout(() => r({ outcome: 'unknown', error: 'timed out' }), SUBMIT_TIMEOUT_MS))]);
  }

  sendChat(from: string, to: string, text: string): Promise<{ outcome: Outcome; error?: string }> {
    return this.drive(this.chat(from, to, text));
  }

  private async chat(from: string, to: string, text: string): Promise<{ outcome: Outcome; error?: string }> {
    const app = this.cluster.nodes.get(this.hosts.get(from)!)?.users.users.get(from);
    if (!app) return { outcome: 'failed', error: `${from}'s node is down: nothing sent` };
    const sent = app.sendMessage([to], text).then(
      (r): { outcome: Outcome; error?: string } => (r.notified.includes(to) ? { outcome: 'ok' } : { outcome: 'unknown', error: r.failed[0]?.error ?? 'not notified' }),
      (e: { code?: string; message?: string }) => ({ outcome: 'unknown' as Outcome, error: `${e.code}: ${e.message}` }),
    );
    return Promise.race([sent, new Promise<{ outcome: Outcome; error: string }>((r) => this.cluster.clock.setTimeout(() => r({ outcome: 'unknown', error: 'timed out' }), SCENARIO_CHAT.sendMs))]);
  }

  received(): Promise<ReadonlyMap<string, readonly { from: string; text: string }[]>> {
    return this.drive(this.readReceived());
  }

  private async readReceived(): Promise<Map<string, { from: string; text: string }[]>> {
    const out = new Map<string, { from: string; text: string }[]>();
    for (const user of this.users()) {
      // The user's own node reads its conversation store; one that is down or cannot read it shows nothing (the checkers count gaps).
      const app = this.cluster.nodes.get(this.hosts.get(user)!)?.users.users.get(user);
      const list = await app?.listMessages().catch(() => undefined);
      out.set(user, (list ?? []).filter((m) => m.direction === 'in').map((m) => ({ from: m.from, text: m.text })));
    }
    return out;
  }

  /** Calendars of users visiting a node (logged in there, hosted elsewhere), kept per node as its CalDAV service keeps them; a restarted node is a new PostNode. */
  private readonly visitingCalendars = new WeakMap<PostNode, Map<string, PostCalendars>>();

  dav(user: string, nodeId: string, request: ScenarioDavRequest): Promise<ScenarioDavResponse> {
    const answer = this.davOn(user, nodeId, request);
    const timeout = new Promise<never>((_, reject) => this.cluster.clock.setTimeout(() => reject(new Error('timed out')), SCENARIO_CALENDAR.requestMs));
    return this.drive(Promise.race([answer, timeout]));
  }

  /** What the node's CalDAV service does with the request: the login, then the DAV core over the user's calendars there. */
  private async davOn(user: string, nodeId: string, request: ScenarioDavRequest): Promise<ScenarioDavResponse> {
    const node = this.node(nodeId);
    const { user: unlocked } = await node.mailbox.logins.login(user, this.passwords.get(user)!);
    let calendars = node.users.users.get(user)?.calendarLogs();
    if (!calendars) {
      let visiting = this.visitingCalendars.get(node);
      if (!visiting) this.visitingCalendars.set(node, (visiting = new Map()));
      calendars = visiting.get(user) ?? new PostCalendars(node.users.appFor(unlocked), this.cluster.random.fork(`dav-${nodeId}-${user}`));
      visiting.set(user, calendars);
    }
    const headers = new Map(Object.entries(request.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    const r = await handleDav({ method: request.method, path: `/dav/${request.path}`, header: (name) => headers.get(name.toLowerCase()), body: Buffer.from(request.body ?? '') }, { base: '/dav/', backend: calendars.backend() });
    return { status: r.status, etag: r.headers.etag, body: r.body === undefined ? '' : Buffer.from(r.body).toString('utf8') };
  }

  private async session(user: string, nodeId?: string): Promise<MailUserSession> {
    const node = nodeId ? this.node(nodeId) : (this.cluster.nodes.get(this.hosts.get(user)!) ?? this.liveOfOrg(user));
    if (!node) throw new Error(`no node of ${orgOfAddress(user)} is up`);
    return node.mail.authenticator.authenticate(user, this.passwords.get(user)!);
  }

  inboxes(): Promise<InboxReads> {
    return this.drive(this.readInboxes());
  }

  private async readInboxes(): Promise<InboxReads> {
    const inboxes = new Map<string, Map<string, number>>();
    const unreadable = new Map<string, string>();
    for (const user of this.users()) {
      const counts = new Map<string, number>();
      inboxes.set(user, counts);
      // What cannot be read (a lost log head, a lost message block) is simply not there: the
      // checkers count it as lost mail rather than the run failing, and name the INBOX.
      let s: MailUserSession;
      try {
        s = await this.session(user);
      } catch (e) {
        unreadable.set(user, `no session: ${errorText(e)}`);
        continue;
      }
      try {
        const snap = await s.openFolder('INBOX');
        for (const m of snap.messages) {
          const raw = await s.readMessage(m.ref).catch(() => undefined);
          if (!raw) continue;
          const subject = subjectOf(raw);
          counts.set(subject, (counts.get(subject) ?? 0) + 1);
        }
      } catch (e) {
        unreadable.set(user, `the folder: ${errorText(e)}`);
      } finally {
        await s.close();
      }
    }
    return { inboxes, unreadable };
  }

  async kill(node: string): Promise<void> {
    this.killed.add(node);
    await this.drive(this.cluster.kill(node));
  }

  async restart(node: string): Promise<void> {
    // As on the lab: a running node is killed first.
    if (this.cluster.nodes.has(node)) await this.kill(node);
    this.killed.delete(node);
    const n = await this.cluster.restart(node);
    if (!this.driving) await this.cluster.runUntil(() => n.router.state === 'ready', READY_WAIT_MS);
    else for (let waited = 0; n.router.state !== 'ready' && waited < READY_WAIT_MS; waited += READY_POLL_MS) await this.sleep(READY_POLL_MS);
  }

  async revive(): Promise<string[]> {
    const down = [...this.killed].sort();
    for (const node of down) await this.restart(node);
    return down;
  }

  async partition(groups: string[][]): Promise<void> {
    this.cluster.network.partition(groups);
  }

  async heal(): Promise<void> {
    this.cluster.network.heal();
  }

  async crashActor(node: string, actor: CrashableActor): Promise<void> {
    this.node(node).injectCrash(actor);
  }

  async restarts(node: string): Promise<Record<string, number> | undefined> {
    const n = this.cluster.nodes.get(node);
    return n ? { ...n.status().restarts } : undefined;
  }

  async crashNats(): Promise<void> {
    this.cluster.network.dropInFlight({ reconnectMs: 500 });
  }

  async restoreNats(): Promise<void> {}

  async slow(node: string, extraMs: number): Promise<void> {
    this.cluster.network.slow(node, extraMs);
  }

  async unslow(node: string): Promise<void> {
    this.cluster.network.slow(node, 0);
  }

  async corrupt(node: string, count: number): Promise<number> {
    const disk = this.cluster.disks.get(node);
    if (!disk) return 0;
    const store = new MemoryStore(disk);
    const ids = [...disk.blocks.map.keys()].slice(0, count);
    return ids.filter((id) => store.corrupt(id)).length;
  }

  async device(user: string, node: string): Promise<Device> {
    const s = await this.drive(this.session(user, node));
    const uidOf = async (folder: string, subject: string) => {
      const snap = await s.openFolder(folder);
      for (const m of snap.messages) if (subjectOf(await s.readMessage(m.ref)) === subject) return m.uid;
      return undefined;
    };
    const guard = async (f: () => Promise<unknown>): Promise<Outcome> => {
      try {
        await f();
        return 'ok';
      } catch {
        return 'unknown';
      }
    };
    return {
      append: (folder, subject) => this.drive(guard(() => s.append(folder, rawMail(user, user, subject, this.now()), [], Math.floor(this.now())))),
      flag: (folder, subject, flag) =>
        this.drive(
          guard(async () => {
            const uid = await uidOf(folder, subject);
            if (uid === undefined) throw new Error('no such message');
            await s.storeFlags(folder, [uid], { mode: 'add', flags: [flag] });
          }),
        ),
      list: (folder) =>
        this.drive(
          (async () => {
            const snap = await s.openFolder(folder);
            const out = new Map<string, string[]>();
            for (const m of snap.messages) out.set(subjectOf(await s.readMessage(m.ref)), [...m.flags]);
            return out;
          })(),
        ),
      close: () => this.drive(s.close()),
    };
  }

  flush(): Promise<void> {
    return this.drive(Promise.all(this.cluster.live().flatMap((n) => [...n.users.users.values()].map((app) => app.pull()))).then(() => {}));
  }

  audit(): Promise<Audit> {
    return this.drive(this.runAudit());
  }

  private async runAudit(): Promise<Audit> {
    // Each organisation's data has its k replicas among its own ring's nodes.
    let under = 0;
    for (const org of this.cluster.orgs.keys()) {
      const ids = new Set<string>();
      const objects = new Set<string>();
      for (const [node, disk] of this.cluster.disks) {
        if (this.cluster.orgOf(node) !== org) continue;
        for (const id of disk.blocks.map.keys()) ids.add(id);
        for (const id of disk.objects.map.keys()) objects.add(id);
      }
      under += (await this.cluster.underReplicated([...ids], 'block', org)).length + (await this.cluster.underReplicated([...objects], 'object', org)).length;
    }
    const forks = new Set<string>();
    const pendingDrops: string[] = [];
    for (const node of this.cluster.live()) {
      const a = await node.replicas.audit();
      for (const f of a.forks) forks.add(f);
      pendingDrops.push(...a.pendingDrops);
    }
    return { underReplicated: under, forks: [...forks], pendingDrops };
  }

  progress(event: Record<string, unknown>): void {
    process.stderr.write(`scenario: ${JSON.stringify({ t: Math.round(this.now() - 1_700_000_000_000), ...event })}\n`);
  }

  async close(): Promise<void> {
    await this.cluster.stop();
  }
}

const orgOfAddress = (address: string): string => address.slice(address.lastIndexOf('@') + 1);

/**
 * An authenticated user's mail through a simulated node's submission service (the SMTP gateway's
 * storage side, without SMTP): the scenario env's sends and the simulator tests' (test/sim/submitMail.ts).
 */
export async function submitAs(node: PostNode, who: { from: string; password: string; to: string; key: string; helo: string }, raw: Buffer, now: () => number): Promise<SubmissionReceipt> {
  const submission = node.mail.submission;
  await submission.authenticate(who.from, who.password);
  return submission.submit({
    envelope: {
      authenticated: true,
      submitter: who.from,
      mailFrom: who.from,
      postRecipients: [who.to],
      externalRecipients: [],
      client: { address: '127.0.0.1', helo: who.helo, protocol: 'ESMTPA', tls: false },
      eightBitMime: false,
      smtpUtf8: false,
      receivedAtMs: now(),
      sessionId: who.key,
    },
    raw,
    idempotencyKey: who.key,
  });
}
