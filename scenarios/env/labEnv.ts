// Scenarios on the real local lab (`post lab up --users N`): mail goes in over SMTP (nodemailer) and
// is read back over IMAP (imapflow), as a user's mail client would; nodes are killed with SIGKILL
// and restarted from their data folders; a NATS server of the lab is killed and restarted; a slow
// node is a process stopped and continued (SIGSTOP / SIGCONT); disk rot flips bytes in a node's
// LMDB store. A network partition cuts the lab's NATS cluster by configuration reload (NatsCluster.cut):
// each side's servers route only to each other and refuse the other side's nodes, which fail over to
// a server of their own side; heal restores the whole configurations.
import { ImapFlow } from 'imapflow';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { LabClient } from '../../lab/client';
import { type LabFile, type LabNode, type LabUser, natsOf, readLab, writeLab } from '../../lab/labFile';
import { sleep, startNodeProcess, waitReady } from '../../lab/processes';
import { isAlive } from '../../infra/nats/process';
import { clientNames } from '../../infra/nats/monitor';
import { type ClusterSide, NatsCluster } from '../../infra/nats/server';
import { natsUserOfNode } from '../../lab/nats';
import { LmdbStore } from '../../infra/store/lmdb';
import { ActorCrashRequest, AuditRequest, type CrashableActor, UsersPullRequest } from '../../protocol/control';
import { SCENARIO_CALENDAR, SCENARIO_LAB_TIMINGS as T, SUBMISSION_BURST_MESSAGES, SUBMISSION_MESSAGES_PER_MINUTE } from '../../protocol/limits';
import { subjects } from '../../protocol/subjects';
import type { InboxReads } from '../checkers';
import type { Outcome } from '../history';
import { type Audit, type Device, errorText, rawMail, type ScenarioDavRequest, type ScenarioDavResponse, type ScenarioEnv, type SmtpFailure, smtpFailureOutcome, type StandbyView, subjectOf, Unsupported } from './env';

/** An operation bounded in time: a hung server makes it `undefined`, not a hung scenario. */
async function within<T>(ms: number, p: Promise<T>): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

export class LabEnv implements ScenarioEnv {
  readonly kind = 'lab' as const;
  /** Nodes currently stopped with SIGSTOP, with the loop that keeps them slow. */
  private readonly slowed = new Map<string, { stop: boolean; done: Promise<void> }>();
  private readonly natsCluster: NatsCluster;
  private crashedNats: number | undefined;
  private partitioned = false;
  /** The scenario whose progress this lab reports (from its events). */
  private scenario: string | undefined;

  private constructor(
    private readonly path: string,
    private readonly lab: LabFile,
    private readonly client: LabClient,
    readonly k: number,
    private readonly mailUsers: readonly LabUser[],
  ) {
    this.natsCluster = NatsCluster.attach(lab.natsPidFile);
  }

  /** Attach to a running lab from its lab.json; it needs at least two mail users (`post lab up --users 2`). */
  static async open(path: string): Promise<LabEnv> {
    const lab = readLab(path);
    const users = lab.users.filter((u) => !lab.nodes.some((n) => n.gatewayUser === u.address));
    if (users.length < 2) throw new Error(`the lab in ${path} has ${users.length} mail users; scenarios need two or more (post lab up --users 2)`);
    // The default rate limit turns a steady load into 4xx answers (unknown outcomes) within minutes.
    if (lab.nodes.some((n) => !n.submissionRate))
      process.stderr.write(
        `scenario: warning: this lab's nodes let each user submit ${SUBMISSION_BURST_MESSAGES} mails at once and ${SUBMISSION_MESSAGES_PER_MINUTE} a minute after that; the scenarios' load soon gets 4xx answers. Start the lab with post lab up --submission-rate 100000/10000 for load.\n`,
      );
    const client = await LabClient.connect(lab);
    try {
      const status = await client.status(await client.anyNode());
      return new LabEnv(path, lab, client, status.replicationFactor ?? 3, users);
    } catch (e) {
      await client.close();
      throw e;
    }
  }

  now(): number {
    return Date.now();
  }

  wait(ms: number): Promise<void> {
    return sleep(ms);
  }

  users(): string[] {
    return this.mailUsers.map((u) => u.address);
  }

  nodes(): string[] {
    return this.lab.nodes.filter((n) => isAlive(n.pid)).map((n) => n.id);
  }

  orgs(): string[] {
    const domains = new Set(this.users().map((u) => u.slice(u.lastIndexOf('@') + 1)));
    return this.lab.orgs.map((o) => o.domain).filter((d) => domains.has(d));
  }

  /** The organisation's nodes that `post lab up --orgs` made gateways (its first two), in lab.json's order. */
  gateways(org: string): string[] {
    return this.lab.nodes.filter((n) => n.org === org && n.gateway).map((n) => n.id);
  }

  userNodes(): string[] {
    return [...new Set(this.lab.users.map((u) => u.node))];
  }

  homeOf(user: string): string {
    return this.user(user).node;
  }

  async standbys(user: string): Promise<StandbyView[]> {
    const out: StandbyView[] = [];
    for (const n of this.liveNodes()) {
      const status = await this.client.status(n, T.controlMs).catch(() => undefined);
      for (const s of (status?.standby ?? []) as (StandbyView & { address: string })[]) if (s.address === user) out.push({ node: n.id, rank: s.rank, state: s.state, delivered: s.delivered });
    }
    return out;
  }

  private node(id: string): LabNode {
    const n = this.lab.nodes.find((x) => x.id === id);
    if (!n) throw new Error(`lab.json names no node ${id.slice(0, 12)}`);
    return n;
  }

  private user(address: string): LabUser {
    const u = this.mailUsers.find((x) => x.address === address);
    if (!u) throw new Error(`lab.json names no user ${address}`);
    return u;
  }

  async sendMail(from: string, to: string, subject: string): Promise<{ outcome: Outcome; error?: string }> {
    const u = this.user(from);
    const node = this.node(u.node);
    const transport = nodemailer.createTransport({
      host: node.smtp.host,
      port: node.smtp.port,
      secure: false,
      auth: { user: u.address, pass: u.password },
      tls: { rejectUnauthorized: false },
      connectionTimeout: T.connectMs,
      greetingTimeout: T.connectMs,
      socketTimeout: T.submitMs,
    });
    try {
      await transport.sendMail({ envelope: { from, to: [to] }, raw: rawMail(from, to, subject, Date.now()) });
      return { outcome: 'ok' };
    } catch (e) {
      const x = e as SmtpFailure;
      return { outcome: smtpFailureOutcome(x), error: x.message };
    } finally {
      transport.close();
    }
  }

  private async imap(address: string, nodeId?: string): Promise<ImapFlow> {
    const u = this.user(address);
    const node = this.node(nodeId ?? u.node);
    const c = new ImapFlow({ host: node.imap.host, port: node.imap.port, secure: false, auth: { user: u.address, pass: u.password }, logger: false, socketTimeout: T.submitMs });
    c.on('error', () => {}); // reported by the call that was waiting
    await c.connect();
    return c;
  }

  /** Subject -> flags of every message in a folder. */
  private async folder(c: ImapFlow, folder: string): Promise<{ subject: string; uid: number; flags: string[] }[]> {
    const lock = await c.getMailboxLock(folder);
    try {
      const mailbox = c.mailbox;
      if (!mailbox || mailbox.exists === 0) return [];
      // A flag change made elsewhere may arrive during the FETCH as an unsolicited FETCH (FLAGS) of
      // the same message, after its solicited response: merge by sequence number, latest flags win.
      const bySeq = new Map<number, { subject: string; uid: number; flags: string[] }>();
      for await (const m of c.fetch('1:*', { uid: true, flags: true, headers: ['subject'] })) {
        const seen = bySeq.get(m.seq);
        bySeq.set(m.seq, {
          subject: m.headers ? subjectOf(m.headers) : (seen?.subject ?? ''),
          uid: m.uid ?? seen?.uid,
          flags: m.flags ? [...m.flags] : (seen?.flags ?? []),
        });
      }
      return [...bySeq.values()];
    } finally {
      lock.release();
    }
  }

  /** Over HTTP to the node's CalDAV URL from lab.json, HTTP Basic with the user's password, as a calendar app. */
  async dav(user: string, node: string, request: ScenarioDavRequest): Promise<ScenarioDavResponse> {
    const u = this.user(user);
    const base = this.node(node).caldav;
    if (!base) throw new Error(`lab.json gives node ${node.slice(0, 12)} no CalDAV URL`);
    const res = await fetch(new URL(request.path, base), {
      method: request.method,
      headers: { authorization: `Basic ${Buffer.from(`${u.address}:${u.password}`).toString('base64')}`, ...request.headers },
      ...(request.body === undefined ? {} : { body: request.body }),
      signal: AbortSignal.timeout(SCENARIO_CALENDAR.requestMs),
    });
    return { status: res.status, etag: res.headers.get('etag') ?? undefined, body: await res.text() };
  }

  async inboxes(): Promise<InboxReads> {
    const inboxes = new Map<string, Map<string, number>>();
    const unreadable = new Map<string, string>();
    for (const user of this.users()) {
      const read = await this.inboxOf(user);
      inboxes.set(user, read.counts);
      if (read.failures.length) unreadable.set(user, read.failures.join('; '));
    }
    return { inboxes, unreadable };
  }

  /**
   * Subject -> how many times, in a user's INBOX. A read that fails (no connection, an error, or the
   * server closing the session before the FETCH was whole, as it does with BYE [UNAVAILABLE] when a
   * fork's merge renumbered the folder) is tried again after a pause, as a mail client reconnects.
   * A user whose INBOX still cannot be read holds nothing, as far as the checkers are concerned; each
   * failed attempt says why (when it was read in the end, the failures before are not reported).
   */
  private async inboxOf(user: string): Promise<{ counts: Map<string, number>; failures: string[] }> {
    const failures: string[] = [];
    const why = (attempt: number, started: number, e: unknown) => `attempt ${attempt} after ${this.now() - started} ms: ${errorText(e)}`;
    for (let attempt = 1; attempt <= T.finalReadAttempts; attempt++) {
      if (attempt > 1) await sleep(T.finalReadRetryMs);
      const started = this.now();
      let c: ImapFlow;
      try {
        c = await this.imap(user);
      } catch (e) {
        failures.push(why(attempt, started, e));
        continue;
      }
      try {
        const messages = await this.folder(c, 'INBOX');
        if (!c.usable) {
          failures.push(why(attempt, started, 'the server closed the session'));
          continue;
        }
        const counts = new Map<string, number>();
        for (const m of messages) counts.set(m.subject, (counts.get(m.subject) ?? 0) + 1);
        return { counts, failures: [] };
      } catch (e) {
        failures.push(why(attempt, started, e));
      } finally {
        await c.logout().catch(() => c.close());
      }
    }
    return { counts: new Map(), failures };
  }

  async kill(id: string): Promise<void> {
    const node = this.node(id);
    if (!isAlive(node.pid)) return;
    process.kill(node.pid, 'SIGKILL');
    for (let i = 0; i < 100 && isAlive(node.pid); i++) await sleep(50);
  }

  async restart(id: string): Promise<void> {
    const node = this.node(id);
    if (isAlive(node.pid)) await this.kill(id);
    node.pid = startNodeProcess(node, natsOf(this.lab, node));
    writeLab(this.path, this.lab);
    await waitReady(this.client, [node]);
  }

  /**
   * Group i's nodes keep only the NATS servers of side i (the running servers dealt round-robin to
   * the groups); resolves once every live node is connected to a server of its own side.
   */
  async partition(groups: string[][]): Promise<void> {
    if (this.lab.orgs.some((o) => o.nats)) throw new Unsupported('a network partition of a lab whose organisations have NATS clusters of their own (--nats-topology per-org)', 'local lab');
    const running = this.natsCluster.members.map((_, i) => i).filter((i) => this.natsCluster.running(i));
    if (running.length < groups.length) throw new Error(`a cut into ${groups.length} sides needs as many running NATS servers; ${running.length} run`);
    const nkeysOf = (ids: readonly string[]) => ids.flatMap((id) => {
      const n = this.node(id);
      const u = natsUserOfNode(n.data, n.gateway === true);
      return u.globalNkey ? [u.nkey, u.globalNkey] : [u.nkey];
    });
    const sides: ClusterSide[] = groups.map((_, s) => ({ members: running.filter((_, j) => j % groups.length === s), refusedNkeys: nkeysOf(groups.filter((_, o) => o !== s).flat()) }));
    this.partitioned = true;
    await this.natsCluster.cut(sides);
    const placed = await this.awaitSides(groups, sides);
    this.progress({ phase: 'partition', sides: placed });
  }

  /** Polls the servers' connections until each live node of a group is on its side's servers only. */
  private async awaitSides(groups: readonly string[][], sides: readonly ClusterSide[]): Promise<{ servers: string[]; nodes: string[] }[]> {
    const deadline = Date.now() + T.partitionMs;
    for (;;) {
      const placed = await Promise.all(
        sides.map(async (side) => ({
          servers: side.members.map((i) => this.natsCluster.members[i]!.name),
          nodes: (await Promise.all(side.members.map((i) => clientNames(this.natsCluster.members[i]!.httpUrl, this.lab.nodes.length * 4).catch(() => [])))).flat().filter((name) => this.lab.nodes.some((n) => n.id === name)),
        })),
      );
      const live = new Set(this.nodes());
      const astray = groups.flatMap((g, s) => g.filter((id) => live.has(id) && (!placed[s]!.nodes.includes(id) || placed.some((p, o) => o !== s && p.nodes.includes(id)))));
      if (astray.length === 0) return placed.map((p) => ({ ...p, nodes: [...new Set(p.nodes)].sort() }));
      if (Date.now() > deadline) throw new Error(`nodes not on their side's NATS servers ${T.partitionMs} ms after the cut: ${astray.map((id) => id.slice(0, 12)).join(', ')}`);
      await sleep(T.pollMs);
    }
  }

  async heal(): Promise<void> {
    if (!this.partitioned) return;
    await this.natsCluster.heal();
    this.partitioned = false;
    await this.awaitAnswering();
  }

  /**
   * Resolves once every live node answers a status request. The heal restarts each NATS server in
   * turn, and every node (and this client) reconnects with it: a request sent meanwhile can be lost,
   * and an audit lost so cost its whole timeout (T.controlMs, two minutes) before the run went on.
   */
  private async awaitAnswering(): Promise<void> {
    const deadline = this.now() + T.partitionMs;
    for (;;) {
      const silent = (await Promise.all(this.liveNodes().map(async (n) => ((await this.client.status(n, T.answerMs).catch(() => undefined)) ? [] : [n.id])))).flat();
      if (silent.length === 0) return;
      if (this.now() > deadline) throw new Error(`nodes not answering ${T.partitionMs} ms after the NATS cluster healed: ${silent.map((id) => id.slice(0, 12)).join(', ')}`);
      await sleep(T.pollMs);
    }
  }

  async crashNats(): Promise<void> {
    this.crashedNats = 0;
    await this.natsCluster.kill(0, 'SIGKILL');
  }

  async restoreNats(): Promise<void> {
    if (this.crashedNats === undefined) return;
    await this.natsCluster.restart(this.crashedNats, { detached: true });
    this.crashedNats = undefined;
  }

  /** Slow: the process is stopped for `extraMs`, continued briefly, stopped again, until unslow. */
  async slow(id: string, extraMs: number): Promise<void> {
    const pid = this.node(id).pid;
    const state = { stop: false, done: Promise.resolve() };
    state.done = (async () => {
      while (!state.stop && isAlive(pid)) {
        process.kill(pid, 'SIGSTOP');
        await sleep(extraMs);
        process.kill(pid, 'SIGCONT');
        await sleep(T.slowAwakeMs);
      }
    })().catch(() => {});
    this.slowed.set(id, state);
  }

  async unslow(id: string): Promise<void> {
    const state = this.slowed.get(id);
    if (!state) return;
    state.stop = true;
    await state.done;
    this.slowed.delete(id);
    const pid = this.node(id).pid;
    if (isAlive(pid)) process.kill(pid, 'SIGCONT');
  }

  async crashActor(id: string, actor: CrashableActor): Promise<void> {
    await this.client.ask(this.node(id), ActorCrashRequest, { actor }, T.controlMs);
  }

  async restarts(id: string): Promise<Record<string, number> | undefined> {
    const s = await this.client.status(this.node(id), T.controlMs).catch(() => undefined);
    return s?.restarts;
  }

  async corrupt(id: string, count: number): Promise<number> {
    const store = LmdbStore.open(join(this.node(id).data, 'store'));
    try {
      return (await store.corruptBlocks(count)).length;
    } finally {
      await store.close();
    }
  }

  async device(user: string, nodeId: string): Promise<Device> {
    const c = await this.imap(user, nodeId);
    const guard = async (f: () => Promise<unknown>): Promise<Outcome> => ((await within(T.submitMs, f().then(() => true, () => false))) ? 'ok' : 'unknown');
    const ensured = new Set<string>();
    const ensure = async (folder: string) => {
      if (ensured.has(folder)) return;
      if (!(await c.list()).some((f) => f.path === folder)) await c.mailboxCreate(folder).catch(() => {}); // the other device may have made it
      ensured.add(folder);
    };
    return {
      append: (folder, subject) =>
        guard(async () => {
          await ensure(folder);
          const r = await c.append(folder, rawMail(user, user, subject, Date.now()));
          if (!r) throw new Error('APPEND refused');
        }),
      flag: (folder, subject, flag) =>
        guard(async () => {
          // The other device's message shows up once this session hears of it (NOOP asks).
          let m: { uid: number } | undefined;
          for (const deadline = Date.now() + T.visibleMs; !m && Date.now() < deadline; await sleep(T.pollMs)) {
            await c.noop();
            m = (await this.folder(c, folder)).find((x) => x.subject === subject);
          }
          if (!m) throw new Error('no such message');
          const lock = await c.getMailboxLock(folder);
          try {
            if (!(await c.messageFlagsAdd(String(m.uid), [flag], { uid: true }))) throw new Error('STORE refused');
          } finally {
            lock.release();
          }
        }),
      list: async (folder) => new Map((await this.folder(c, folder)).map((m) => [m.subject, m.flags])),
      appendBody: (folder, subject, body) =>
        guard(async () => {
          await ensure(folder);
          if (!(await c.append(folder, rawMail(user, user, subject, Date.now(), body)))) throw new Error('APPEND refused');
        }),
      expunge: (folder, subjects) =>
        guard(async () => {
          const uids = (await this.folder(c, folder)).filter((m) => subjects.includes(m.subject)).map((m) => m.uid);
          if (uids.length !== subjects.length) throw new Error(`${subjects.length - uids.length} of the messages are not in ${folder}`);
          const lock = await c.getMailboxLock(folder);
          try {
            if (!(await c.messageDelete(uids.join(','), { uid: true }))) throw new Error('EXPUNGE refused');
          } finally {
            lock.release();
          }
        }),
      read: async (folder, subject) => {
        const m = (await this.folder(c, folder)).find((x) => x.subject === subject);
        if (!m) return undefined;
        const lock = await c.getMailboxLock(folder);
        try {
          const fetched = await within(T.submitMs, c.fetchOne(String(m.uid), { source: true }, { uid: true }));
          return (fetched && fetched.source) || undefined;
        } finally {
          lock.release();
        }
      },
      close: async () => void (await c.logout().catch(() => c.close())),
    };
  }

  async flush(): Promise<void> {
    await Promise.all(this.liveNodes().map((n) => this.client.ask(n, UsersPullRequest, {}, T.controlMs).catch(() => {})));
  }

  async audit(): Promise<Audit> {
    const under = new Set<string>();
    const forks = new Set<string>();
    const pendingDrops: string[] = [];
    const unanswered: string[] = [];
    for (const n of this.liveNodes()) {
      const a = await this.client.ask(n, AuditRequest, {}, T.controlMs).catch(() => undefined);
      // A node that cannot answer its audit counts as holding under-replicated data: never a pass by silence.
      if (!a) {
        under.add(`unanswered audit of ${n.id}`);
        unanswered.push(n.id);
      }
      for (const id of a?.underReplicated ?? []) under.add(id);
      for (const f of a?.forks ?? []) forks.add(f);
      pendingDrops.push(...(a?.pendingDrops ?? []));
    }
    return { underReplicated: under.size, forks: [...forks], pendingDrops, unanswered };
  }

  gcTimings(): { leaseMs: number; gcIntervalMs: number } | undefined {
    const gc = this.lab.nodes[0]?.gc;
    return gc && this.lab.nodes.every((n) => n.gc?.leaseS === gc.leaseS && n.gc.intervalS === gc.intervalS) ? { leaseMs: gc.leaseS * 1000, gcIntervalMs: gc.intervalS * 1000 } : undefined;
  }

  async storedBytes(): Promise<number> {
    let total = 0;
    for (const n of this.liveNodes()) {
      const s = await this.client.status(n, T.controlMs);
      total += s.bytes ?? 0;
    }
    return total;
  }

  private liveNodes(): LabNode[] {
    return this.lab.nodes.filter((n) => isAlive(n.pid));
  }

  together<T>(fs: (() => Promise<T>)[]): Promise<T[]> {
    return Promise.all(fs.map((f) => f()));
  }

  run<T>(f: () => Promise<T>): Promise<T> {
    return f();
  }

  async revive(): Promise<string[]> {
    const down = this.lab.nodes.filter((n) => !isAlive(n.pid)).map((n) => n.id);
    for (const id of down) await this.restart(id);
    return down;
  }

  progress(event: Record<string, unknown>): void {
    // The lab's own events (a partition's sides) belong to the scenario running.
    if (typeof event.scenario === 'string') this.scenario = event.scenario;
    const line = JSON.stringify({ t: new Date().toISOString(), ...(this.scenario ? { scenario: this.scenario } : {}), ...event });
    process.stderr.write(`scenario: ${line}\n`);
    void this.client.broadcast(subjects.scenario(), Buffer.from(line));
  }

  async close(): Promise<void> {
    for (const id of [...this.slowed.keys()]) await this.unslow(id);
    // Whatever a scenario cut, killed and did not restore comes back, so the lab is left as it was found.
    const warn = (what: string) => (e: Error) => process.stderr.write(`scenario: could not ${what}: ${e.message}\n`);
    await this.heal().catch(warn('heal the NATS cluster (post lab down, then up, starts a whole one)'));
    await this.restoreNats().catch(() => {});
    await this.revive().catch(warn('restart every node (post lab restart --node ID restarts one)'));
    await this.client.close();
  }
}
