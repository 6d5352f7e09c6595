// Phase growth: memory, and command latency as things grow.
//   folder   one folder grows 100 -> 1,000 -> 10,000 -> 100,000 messages (full mode), filled with
//            APPENDs pipelined over several connections, or MULTIAPPEND where the server offers it
//            (bench/mail/fill.ts; fill rate printed); at each size: SELECT,
//            FETCH 1:* (FLAGS), STORE +FLAGS of one message, UID SEARCH SUBJECT, APPEND 4 KiB, then
//            what a client sorting or threading a big folder asks (issue 14): UID SORT (SUBJECT),
//            UID THREAD REFERENCES, UID SEARCH BODY (p50/p99, every answer checked), the server's
//            memory, and the memory one more session with the folder open costs.
//   users    a host with no users yet hosts 1 -> 10 -> 100 -> 1,000 (full mode): at each count its
//            memory (per hosted user) and the same commands for one of them. Only where the target
//            has such a host (POST: another node of the lab); the reference keeps nothing per user
//            until the user logs in, so this part is POST's alone.
// A level whose fill would not end within the fill budget (at the rate measured so far) is skipped, and
// a fill that runs out of budget stops where it is; the levels measured before are kept.
import { randomBytes } from 'node:crypto';
import { round } from '../stats';
import { appendCommand, fillFolder, loggedIn, type FillResult } from './fill';
import { measureRuns, type CommandFigures } from './measure';
import { bodyMatches, mailboxBodyMarker, mailboxFlags, mailboxMessage, MAIL_DOMAIN, SUBJECT_TOPICS, subjectMatches } from './messages';
import { definePhase, type BenchSize, type Comparison } from './phase';
import { checkFetchAll, expectOk, fetchResponses, flagsOf, ImapProtocolError, numberedResponses, quote, RawImapClient, searchResults, unitLine, untaggedNamed } from './rawImap';
import { cpuMeter, cpuText, mib, sleep, userNamed, warnIfClientBound, type Endpoint, type Log, type MailTarget, type MailUser, type MemorySample, type SpareHost } from './target';

export interface GrowthOptions {
  folderLevels: number[];
  userLevels: number[];
  /** Timed runs of each command per level (a quarter, at least 3, from 100,000 messages). */
  runs: number;
  /** Sessions opened on the grown folder to see what one more open folder costs in memory. */
  openFolderSessions: number;
  /** Messages in the INBOX of the user whose commands are timed in the user-count growth. */
  probeMessages: number;
  /** Total time the folder fills may take; a level that would not fit is skipped. */
  fillBudgetMs: number;
  messageBytes: number;
}

export function growthOptions(size: BenchSize): GrowthOptions {
  return {
    folderLevels: { tiny: [20, 60], quick: [100, 1000], full: [100, 1000, 10_000, 100_000] }[size],
    userLevels: { tiny: [1, 2], quick: [1, 10], full: [1, 10, 100, 1000] }[size],
    runs: { tiny: 2, quick: 6, full: 20 }[size],
    openFolderSessions: size === 'tiny' ? 2 : 5,
    probeMessages: size === 'tiny' ? 10 : 100,
    fillBudgetMs: { tiny: 60_000, quick: 5 * 60_000, full: 90 * 60_000 }[size],
    messageBytes: 4096,
  };
}

const FOLDER = 'Growth';
/** A command on a large folder still has an end: a mail client gives up after about this long (Thunderbird: 100 s). */
const COMMAND_TIMEOUT_MS = 120_000;
const TOPIC = 3;

const MEMORY_SAMPLES = 3;
const MEMORY_SAMPLE_GAP_MS = 150;

/**
 * The median (by PSS) of a few samples a moment apart: a garbage-collected heap moves by megabytes.
 * PSS is the figure compared: over Dovecot's many processes it does not count shared pages once per
 * process; for one node process its differences are those of RSS, which is recorded as well.
 */
async function settledMemory(memory: () => MemorySample): Promise<MemorySample> {
  const samples: MemorySample[] = [];
  for (let i = 0; i < MEMORY_SAMPLES; i++) {
    if (i > 0) await sleep(MEMORY_SAMPLE_GAP_MS);
    samples.push(memory());
  }
  return samples.sort((a, b) => a.pssBytes - b.pssBytes)[Math.floor(samples.length / 2)]!;
}

const runsAt = (opts: GrowthOptions, messages: number) => (messages >= 100_000 ? Math.max(3, Math.ceil(opts.runs / 4)) : opts.runs);

/**
 * The commands timed at each level, on a session with `folder` selected that holds `count()`
 * messages 0 .. count-1 (mailboxMessage); APPEND adds the next ones (and bumps the count). The
 * first command that fails (a wrong answer, or none within the timeout) ends the level: the figures
 * of the commands before it are kept, and `failure` says what happened.
 */
async function timeFolderCommands(
  target: MailTarget,
  session: RawImapClient,
  user: MailUser,
  folder: string,
  counter: { count: number },
  runs: number,
  opts: GrowthOptions,
  login?: { imap: Endpoint },
): Promise<{ figures: Record<string, CommandFigures>; failure?: string }> {
  const figures: Record<string, CommandFigures> = {};
  const fail = (what: string, why: string): never => {
    throw new ImapProtocolError(`${what} (${counter.count} messages): ${why}`);
  };
  const commands: [string, (run: number) => Promise<number>][] = [
    [
      'SELECT',
      async () => {
        const reply = expectOk(await session.command(`SELECT ${quote(folder)}`), 'SELECT');
        const exists = numberedResponses(reply.untagged, 'EXISTS').at(-1);
        if (exists !== counter.count) fail('SELECT', `${exists} EXISTS, expected ${counter.count}`);
        return reply.ms;
      },
    ],
    [
      'FETCH 1:* (FLAGS)',
      async () => {
        const reply = await session.command('FETCH 1:* (FLAGS)');
        checkFetchAll(reply, counter.count, ['FLAGS'], 'FETCH 1:* (FLAGS)');
        return reply.ms;
      },
    ],
    [
      'STORE +FLAGS',
      async (run) => {
        const seq = 1 + ((run * 7919) % counter.count);
        const reply = expectOk(await session.command(`STORE ${seq} +FLAGS (\\Answered)`), 'STORE');
        if (!fetchResponses(reply.untagged).some((f) => f.seq === seq && flagsOf(f.items.FLAGS)?.includes('\\Answered'))) fail('STORE', 'the answer did not carry the new FLAGS');
        expectOk(await session.command(`STORE ${seq} -FLAGS.SILENT (\\Answered)`), 'STORE -FLAGS');
        return reply.ms;
      },
    ],
    [
      'UID SEARCH SUBJECT',
      async () => {
        const reply = expectOk(await session.command(`UID SEARCH SUBJECT ${quote(SUBJECT_TOPICS[TOPIC]!)}`), 'UID SEARCH');
        const [found, expected] = [searchResults(reply.untagged).length, subjectMatches(counter.count, TOPIC)];
        if (found !== expected) fail('UID SEARCH SUBJECT', `${found} UIDs, expected ${expected}`);
        return reply.ms;
      },
    ],
    [
      'APPEND 4 KiB',
      async () => {
        const i = counter.count;
        const reply = expectOk(await session.command(appendCommand(folder, mailboxFlags(i)), mailboxMessage(i, user.address, opts.messageBytes)), 'APPEND');
        counter.count++;
        return reply.ms;
      },
    ],
    // Last: they read every message (SEARCH BODY) or every header, and may be what a server fails at.
    [
      'UID SORT (SUBJECT)',
      async () => {
        const reply = expectOk(await session.command('UID SORT (SUBJECT) US-ASCII ALL'), 'UID SORT');
        const uids = untaggedNamed(reply.untagged, 'SORT').flatMap((values) => values.slice(2).map(Number));
        if (uids.length !== counter.count) fail('UID SORT (SUBJECT)', `${uids.length} UIDs, expected ${counter.count}`);
        return reply.ms;
      },
    ],
    [
      'UID THREAD REFERENCES',
      async () => {
        const reply = expectOk(await session.command('UID THREAD REFERENCES US-ASCII ALL'), 'UID THREAD');
        const threaded = new Set(reply.untagged.map(unitLine).filter((line) => /^\* THREAD/i.test(line)).flatMap((line) => line.match(/\d+/g) ?? []));
        if (threaded.size !== counter.count) fail('UID THREAD REFERENCES', `${threaded.size} messages in threads, expected ${counter.count}`);
        return reply.ms;
      },
    ],
    [
      'UID SEARCH BODY',
      async (run) => {
        const reply = expectOk(await session.command(`UID SEARCH BODY ${quote(mailboxBodyMarker(run))}`), 'UID SEARCH BODY');
        const [found, expected] = [searchResults(reply.untagged).length, bodyMatches(counter.count, run)];
        if (found !== expected) fail('UID SEARCH BODY', `${found} UIDs, expected ${expected}`);
        return reply.ms;
      },
    ],
  ];
  if (login) {
    commands.unshift([
      'LOGIN',
      async () => {
        const client = await RawImapClient.connect(login.imap);
        const reply = expectOk(await client.command(`LOGIN ${quote(user.address)} ${quote(user.password)}`), 'LOGIN');
        await client.close();
        return reply.ms;
      },
    ]);
  }
  for (const [label, once] of commands) {
    try {
      Object.assign(figures, await measureRuns(target, runs, 1, async (run) => ({ [label]: await once(run) })));
    } catch (error) {
      return { figures, failure: `${label}: ${(error as Error).message}` };
    }
  }
  return { figures };
}

/** What `sessions` more sessions with the folder selected cost the server, per session. */
async function openFolderBytes(imap: Endpoint, user: MailUser, folder: string, sessions: number, memory: () => MemorySample): Promise<number> {
  const before = (await settledMemory(memory)).pssBytes;
  const clients: RawImapClient[] = [];
  try {
    for (let i = 0; i < sessions; i++) {
      const client = await loggedIn(imap, user);
      clients.push(client);
      expectOk(await client.command(`SELECT ${quote(folder)}`), 'SELECT');
    }
    return ((await settledMemory(memory)).pssBytes - before) / sessions;
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}

const summaryOf = (figures: Record<string, CommandFigures>) => Object.fromEntries(Object.entries(figures).map(([label, f]) => [label, f.latencyMs]));
const printLevel = (log: Log, head: string, figures: Record<string, CommandFigures>) =>
  log(`      ${head}: ${Object.entries(figures).map(([label, f]) => `${label} p50 ${f.latencyMs.p50} p99 ${f.latencyMs.p99}`).join('; ')} (ms)`);

interface FolderLevel {
  messages: number;
  fill: FillResult;
  commands: Record<string, CommandFigures>;
  serverMemoryBytes: number | null;
  openFolderBytes: number | null;
  /** The command that failed at this size (the figures of those before it are kept). */
  failure?: string;
}

async function folderGrowth(target: MailTarget, opts: GrowthOptions, log: Log) {
  const user = userNamed(target, 'growth');
  const login = () => loggedIn(target.imap, user, COMMAND_TIMEOUT_MS);
  const levels: FolderLevel[] = [];
  const skipped: string[] = [];
  let failed: string | undefined;
  const counter = { count: 0 };
  let fillMs = 0;
  const creator = await login();
  try {
    expectOk(await creator.command(`CREATE ${FOLDER}`), `CREATE ${FOLDER}`);
  } finally {
    await creator.close();
  }
  for (const messages of opts.folderLevels) {
    const rate = levels.at(-1)?.fill.perSecond;
    const projectedMs = rate ? ((messages - counter.count) / rate) * 1000 : 0;
    if (fillMs + projectedMs > opts.fillBudgetMs) {
      skipped.push(`${messages} messages: filling ${messages - counter.count} more at ${rate} msg/s would take ${Math.round(projectedMs / 1000)} s, past the fill budget of ${opts.fillBudgetMs / 1000} s`);
      log(`      folder growth stops before ${skipped.at(-1)}`);
      break;
    }
    try {
      const { fill, level } = await folderLevel(target, user, counter, messages, performance.now() + opts.fillBudgetMs - fillMs, opts, login);
      fillMs += fill.seconds * 1000;
      if (!level) {
        skipped.push(`${messages} messages: the fill budget of ${opts.fillBudgetMs / 1000} s ran out at ${counter.count} messages (${fill.perSecond} msg/s)`);
        log(`      folder growth stops before ${skipped.at(-1)}`);
        break;
      }
      levels.push(level);
      const { serverMemoryBytes, openFolderBytes } = level;
      printLevel(log, `folder of ${messages} (filled at ${fill.perSecond} msg/s by ${fill.method}; server ${serverMemoryBytes === null ? '-' : mib(serverMemoryBytes)} MiB, +${openFolderBytes === null ? '-' : round(openFolderBytes / 1024, 0)} KiB per open folder)`, level.commands);
      if (level.failure) throw new Error(level.failure);
    } catch (error) {
      // Keep the levels measured so far: a server that fails at this size is a finding, not a lost run.
      failed = `folder of ${messages} messages: ${(error as Error).message}`;
      log(`      FAILED: ${failed}`);
      break;
    }
  }
  const serverCpuMsPerOp = (l: FolderLevel) => Object.fromEntries(Object.entries(l.commands).map(([k, f]) => [k, f.serverCpuMsPerOp]));
  return { levels: levels.map((l) => ({ ...l, commands: summaryOf(l.commands), serverCpuMsPerOp: serverCpuMsPerOp(l) })), skipped, failed };
}

/**
 * Fills the folder up to `messages` (stopping at `deadlineMs`: then there is no level, the folder
 * holds what the counter says), times the commands on it, and takes the server's memory.
 */
async function folderLevel(
  target: MailTarget,
  user: MailUser,
  counter: { count: number },
  messages: number,
  deadlineMs: number,
  opts: GrowthOptions,
  login: () => Promise<RawImapClient>,
): Promise<{ fill: FillResult; level?: FolderLevel }> {
  const fill = await fillFolder({
    imap: target.imap,
    user,
    folder: FOLDER,
    from: counter.count,
    to: messages,
    message: (i) => ({ raw: mailboxMessage(i, user.address, opts.messageBytes), flags: mailboxFlags(i) }),
    deadlineMs,
  });
  counter.count += fill.messages;
  if (!fill.complete) return { fill };
  // Logged in after the fill, with no session watching it: a fill can outlast an idle session's
  // autologout (RFC 3501: at least 30 minutes; 90,000 APPENDs at 40 a second take longer).
  const session = await login();
  let timed: Awaited<ReturnType<typeof timeFolderCommands>>;
  try {
    timed = await timeFolderCommands(target, session, user, FOLDER, counter, runsAt(opts, messages), opts);
  } finally {
    await session.close();
  }
  const { figures: commands, failure } = timed;
  if (failure) return { fill, level: { messages, fill, commands, serverMemoryBytes: null, openFolderBytes: null, failure } };
  const memory = target.serverMemory;
  const serverMemoryBytes = memory ? (await settledMemory(memory)).pssBytes : null;
  const perOpen = memory ? await openFolderBytes(target.imap, user, FOLDER, opts.openFolderSessions, memory) : null;
  return { fill, level: { messages, fill, commands, serverMemoryBytes, openFolderBytes: perOpen === null ? null : Math.round(perOpen) } };
}

const REPLACEMENT_ROUNDS_MAX = 3;

/**
 * Hosts the users; one whose creation fails is replaced by a user of another address (a few rounds),
 * so the host reaches its count. Returns the users hosted and the failures (each a finding about the target).
 */
async function addWithReplacements(host: SpareHost, users: readonly MailUser[], log: Log): Promise<{ hosted: MailUser[]; failures: string[] }> {
  const failures: string[] = [];
  const hosted: MailUser[] = [];
  let batch = users;
  for (let round = 1; batch.length > 0; round++) {
    const { failed } = await host.addUsers(batch, log);
    hosted.push(...batch.filter((u) => !failed.some((f) => f.user === u)));
    for (const { user, error } of failed) {
      failures.push(`${user.address}: ${error}`);
      log(`      could not create ${user.address}${round <= REPLACEMENT_ROUNDS_MAX ? ', creating another user instead' : ''}: ${error}`);
    }
    if (failed.length > 0 && round > REPLACEMENT_ROUNDS_MAX) throw new Error(`${failed.length} users could not be created after ${REPLACEMENT_ROUNDS_MAX} rounds of replacements, e.g. ${failures.at(-1)}`);
    batch = failed.map(({ user }) => ({ address: user.address.replace('@', `r${round}@`), password: user.password }));
  }
  return { hosted, failures };
}

interface UserLevel {
  users: number;
  addSeconds: number;
  usersPerSecond: number;
  memory: MemorySample;
  /** (PSS now - PSS of the empty host) / users; perUserRssBytes the same with RSS. */
  perUserBytes: number;
  perUserRssBytes: number;
  commands: Record<string, CommandFigures>;
}

async function userGrowth(target: MailTarget, opts: GrowthOptions, log: Log) {
  const host = target.spareHost;
  if (!host) {
    log('      user-count growth: not measured on this target (it keeps nothing per user until the user logs in)');
    return null;
  }
  const users: MailUser[] = Array.from({ length: Math.max(...opts.userLevels) }, (_, i) => ({
    address: `host${String(i + 1).padStart(4, '0')}@${MAIL_DOMAIN}`,
    password: `bench-${randomBytes(9).toString('base64url')}`,
  }));
  const empty = await settledMemory(() => host.memory());
  const levels: UserLevel[] = [];
  let failed: string | undefined;
  const creationFailures: string[] = [];
  const hostedUsers: MailUser[] = [];
  const counter = { count: opts.probeMessages };
  for (const level of opts.userLevels) {
    try {
      const hosted = levels.at(-1)?.users ?? 0;
      const t0 = performance.now();
      const added = await addWithReplacements(host, users.slice(hosted, level), log);
      hostedUsers.push(...added.hosted);
      creationFailures.push(...added.failures);
      const addSeconds = (performance.now() - t0) / 1000;
      const probe = hostedUsers[0]!; // its commands are timed at every level
      if (hosted === 0) {
        const message = (i: number) => ({ raw: mailboxMessage(i, probe.address, opts.messageBytes), flags: mailboxFlags(i) });
        await fillFolder({ imap: host.imap, user: probe, folder: 'INBOX', from: 0, to: opts.probeMessages, message });
      }
      const memory = await settledMemory(() => host.memory());
      const session = await loggedIn(host.imap, probe, COMMAND_TIMEOUT_MS);
      let timed: Awaited<ReturnType<typeof timeFolderCommands>>;
      try {
        timed = await timeFolderCommands(target, session, probe, 'INBOX', counter, opts.runs, opts, { imap: host.imap });
      } finally {
        await session.close();
      }
      const commands = timed.figures;
      const perUserBytes = Math.round((memory.pssBytes - empty.pssBytes) / level);
      const perUserRssBytes = Math.round((memory.rssBytes - empty.rssBytes) / level);
      const usersPerSecond = round((level - hosted) / addSeconds, 2);
      levels.push({ users: level, addSeconds: round(addSeconds, 1), usersPerSecond, memory, perUserBytes, perUserRssBytes, commands });
      const noisy = level < 100 ? ', noisy below 100 users' : '';
      printLevel(log, `${level} users hosted (added at ${usersPerSecond}/s; host ${mib(memory.pssBytes)} MiB, ${round(perUserBytes / 1024, 0)} KiB per user over the empty host's ${mib(empty.pssBytes)} MiB${noisy})`, commands);
      if (timed.failure) throw new Error(timed.failure); // the levels measured so far are kept
    } catch (error) {
      failed = `${level} users: ${(error as Error).message}`;
      log(`      FAILED: ${failed}`);
      break;
    }
  }
  return { emptyHost: empty, levels: levels.map((l) => ({ ...l, commands: summaryOf(l.commands) })), failed, creationFailures };
}

async function growth(target: MailTarget, opts: GrowthOptions, log: Log) {
  const meter = cpuMeter(target);
  log(`    growth: one folder ${opts.folderLevels.join(' -> ')} messages; a host with ${opts.userLevels.join(' -> ')} users`);
  const folder = await folderGrowth(target, opts, log);
  const users = await userGrowth(target, opts, log);
  const cpu = meter();
  log(`    growth: ${cpuText(cpu)}`);
  warnIfClientBound(cpu, 'growth', log);
  return { folder, users, cpu };
}

export type GrowthResult = Awaited<ReturnType<typeof growth>>;

export const growthPhase = definePhase<GrowthOptions, GrowthResult>({
  name: 'growth',
  summary: 'memory per hosted user and per open folder; latency as a folder grows to 100,000 messages and a host to 1,000 users',
  options: growthOptions,
  users: () => ['growth'],
  run: growth,
  problems: (r) => [
    ...[r.folder.failed, r.users?.failed].filter((f) => f !== undefined).map((f) => `growth stopped: ${f}`),
    ...(r.users?.creationFailures.length ? [`${r.users.creationFailures.length} users could not be created (others were hosted instead), e.g. ${r.users.creationFailures[0]}`] : []),
  ],
  compare(post, reference) {
    const rows: Comparison[] = [];
    for (const p of post.folder.levels) {
      const r = reference.folder.levels.find((l) => l.messages === p.messages);
      // Fill rates compare only when both filled the same way (the reference may take MULTIAPPEND).
      const sameFill = r && r.fill.method === p.fill.method;
      rows.push({ figure: `folder ${p.messages}: fill msg/s (${p.fill.method})`, reference: sameFill ? r.fill.perSecond : null, post: p.fill.perSecond, better: 'higher' });
      for (const [label, latency] of Object.entries(p.commands)) {
        rows.push({ figure: `folder ${p.messages}: ${label} p50 ms`, reference: r?.commands[label]?.p50 ?? null, post: latency.p50, better: 'lower' });
      }
      const kib = (bytes: number | null | undefined) => (bytes == null ? null : round(bytes / 1024, 0));
      rows.push({ figure: `folder ${p.messages}: KiB per open folder`, reference: kib(r?.openFolderBytes), post: kib(p.openFolderBytes), better: 'lower' });
    }
    for (const p of post.users?.levels ?? []) {
      rows.push({ figure: `${p.users} users: KiB per hosted user (POST only)`, reference: null, post: round(p.perUserBytes / 1024, 0), better: 'lower' });
      rows.push({ figure: `${p.users} users: LOGIN p50 ms (POST only)`, reference: null, post: p.commands.LOGIN?.p50 ?? null, better: 'lower' });
      rows.push({ figure: `${p.users} users: SELECT p50 ms (POST only)`, reference: null, post: p.commands.SELECT?.p50 ?? null, better: 'lower' });
    }
    return rows;
  },
});
