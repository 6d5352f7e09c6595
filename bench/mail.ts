// Mail benchmark (issue 5): one workload, run in the same process against two mail systems one after
// the other, the reference (Debian's Postfix delivering over LMTP to Debian's Dovecot, started here
// on loopback ports) and POST (a target the lead registers with registerMailTarget), and each POST
// figure divided by the reference's.
//
// What the workload measures, with real clients (nodemailer over SMTP AUTH PLAIN, imapflow over IMAP):
//   e2e          from the start of an SMTP submission to the moment a session of the recipient on
//                INBOX receives the EXISTS that includes the message (identified afterwards by its
//                Message-ID with FETCH ENVELOPE, not counted). Two sessions watch: one in IDLE (what
//                a mail client does; the headline figure) and one sending NOOP every 5 ms (when the
//                message is visible at all: Dovecot, for one, holds IDLE notifications ~0.5 s).
//     serial     one message in flight: latency p50/p99.
//     loaded     `submitters` SMTP connections submitting back to back; throughput = messages / time
//                from the first submission's start to the last message seen; latency under that load.
//   append       the IMAP clients fill their own INBOX with IMAP APPEND, all at once: messages/s.
//   fetch        `imapClients` clients, each its own user and INBOX, for a fixed time: in turn FETCH 1:*
//                (UID FLAGS ENVELOPE BODYSTRUCTURE) and FETCH BODY.PEEK[] of a 5-message sample:
//                FETCH commands/s over all clients, messages/s, latency per kind.
//   search       same clients, for a fixed time: SEARCH SUBJECT / FROM / BODY in turn, each answer
//                checked against what was appended: SEARCH commands/s and latency.
// Every phase also reports the CPU used by the clients and, when the target can tell, by its server
// (server CPU per command is the steadiest figure on a shared machine).
import { randomBytes } from 'node:crypto';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { startReferenceMail, type Endpoint, type MailUser } from './reference/mailServer';
import { type Bench, round, summary } from './stats';

export type { Endpoint, MailUser };

export interface MailTarget {
  name: string;
  smtp: Endpoint;
  imap: Endpoint;
  /** users[0] submits, users[1] receives, users[2 .. 2 + imapClients] are the IMAP clients. */
  users: readonly MailUser[];
  /** CPU time used so far by the target's server processes, when it can tell: shows who was busy. */
  serverCpuMs?: () => number;
}

export type MailTargetProvider = (users: readonly MailUser[]) => Promise<{ target: MailTarget; stop: () => Promise<void> }>;

export interface MailWorkloadOptions {
  /** Messages of the serial (one in flight) end-to-end phase. */
  serialMessages: number;
  /** Messages of the loaded end-to-end phase. */
  loadedMessages: number;
  /** SMTP connections submitting in parallel in the loaded phase. */
  submitters: number;
  /** Size of each message, headers included. */
  messageBytes: number;
  /** Concurrent IMAP clients, each with its own user. */
  imapClients: number;
  /** Messages appended to each IMAP client's INBOX before the FETCH and SEARCH phases. */
  mailboxMessages: number;
  /** Duration of each of the FETCH and SEARCH phases. */
  phaseMs: number;
  /** Bound on waiting for submitted messages to be seen over IMAP, per phase. */
  deliveryTimeoutMs: number;
}

export function mailWorkloadOptions(quick: boolean): MailWorkloadOptions {
  return {
    serialMessages: quick ? 50 : 200,
    loadedMessages: quick ? 200 : 1000,
    submitters: 8,
    messageBytes: 4096,
    imapClients: 10,
    mailboxMessages: 200,
    phaseMs: quick ? 5000 : 20_000,
    deliveryTimeoutMs: quick ? 120_000 : 300_000,
  };
}

export const MAIL_DOMAIN = 'bench.example';

/** The workload's users: a sender, a recipient and one per IMAP client, with fresh passwords. */
export function mailWorkloadUsers(imapClients = 10, domain = MAIL_DOMAIN): MailUser[] {
  const names = ['sender', 'recipient', ...Array.from({ length: imapClients }, (_, i) => `reader${String(i + 1).padStart(2, '0')}`)];
  return names.map((name) => ({ address: `${name}@${domain}`, password: `bench-${randomBytes(9).toString('base64url')}` }));
}

// ---------------------------------------------------------------------------------------------
// Messages: deterministic text, exact size, searchable markers that appear nowhere else.

const FILLER_WORDS = ['ledger', 'harbour', 'quarterly', 'meeting', 'notes', 'budget', 'review', 'draft', 'plan', 'team', 'update', 'follow', 'agenda', 'minutes', 'schedule', 'supply'];
const SUBJECT_TOPICS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet'];
const FROM_NAMES = ['carol', 'dave', 'erin', 'frank', 'grace'];
const BODY_MARKERS = 8;
const bodyMarker = (k: number) => `tok-${k}-zq`;
const DATE = 'Mon, 01 Jan 2024 10:00:00 +0000';

/** Text lines of at most 72 characters, exactly `bytes` long with CRLFs (approximately for tiny sizes). */
function fillerText(bytes: number, seed: number): string {
  let state = seed >>> 0 || 1;
  const next = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0), state);
  const lines: string[] = [];
  let size = 0;
  while (size < bytes) {
    let line = '';
    while (line.length < 60) line += `${line ? ' ' : ''}${FILLER_WORDS[(next() >>> 16) % FILLER_WORDS.length]}`;
    line = line.slice(0, Math.max(1, Math.min(line.length, bytes - size - 2)));
    lines.push(line);
    size += line.length + 2;
  }
  return lines.join('\r\n');
}

function withBody(headers: string[], body: (bytesLeft: number) => string, totalBytes: number): Buffer {
  const head = `${headers.join('\r\n')}\r\n\r\n`;
  return Buffer.from(`${head}${body(Math.max(64, totalBytes - head.length - 2))}\r\n`);
}

export function e2eMessage(runId: string, i: number, from: string, to: string, bytes: number): { messageId: string; raw: Buffer } {
  const messageId = `<${runId}.${i}@${MAIL_DOMAIN}>`;
  const headers = [`From: <${from}>`, `To: <${to}>`, `Subject: e2e ${runId} #${i}`, `Message-ID: ${messageId}`, `Date: ${DATE}`, 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=us-ascii', 'Content-Transfer-Encoding: 7bit'];
  return { messageId, raw: withBody(headers, (left) => fillerText(left, i + 1), bytes) };
}

/** Message i of an IMAP client's mailbox; every fourth is multipart with an attachment. */
export function mailboxMessage(i: number, to: string, bytes: number): Buffer {
  const from = `${FROM_NAMES[i % FROM_NAMES.length]}@partners.example`;
  const headers = [`From: <${from}>`, `To: <${to}>`, `Subject: Status report ${SUBJECT_TOPICS[i % SUBJECT_TOPICS.length]} #${i}`, `Message-ID: <mbox.${i}.${to}>`, `Date: ${DATE}`, 'MIME-Version: 1.0'];
  const marker = bodyMarker(i % BODY_MARKERS);
  if (i % 4 !== 3) {
    headers.push('Content-Type: text/plain; charset=us-ascii', 'Content-Transfer-Encoding: 7bit');
    return withBody(headers, (left) => `${marker}\r\n${fillerText(left - marker.length - 2, i + 7)}`, bytes);
  }
  const boundary = `=_bench_${i}`;
  headers.push(`Content-Type: multipart/mixed; boundary="${boundary}"`);
  const attachment = Buffer.alloc(768, i).toString('base64').replace(/.{76}/g, '$&\r\n');
  return withBody(
    headers,
    (left) => {
      const textBytes = Math.max(64, left - attachment.length - 400);
      return [
        `--${boundary}`,
        'Content-Type: text/plain; charset=us-ascii',
        '',
        `${marker}\r\n${fillerText(textBytes, i + 7)}`,
        `--${boundary}`,
        `Content-Type: application/octet-stream; name="data-${i}.bin"`,
        'Content-Transfer-Encoding: base64',
        `Content-Disposition: attachment; filename="data-${i}.bin"`,
        '',
        attachment,
        `--${boundary}--`,
      ].join('\r\n');
    },
    bytes,
  );
}

function mailboxFlags(i: number): string[] {
  return [...(i % 3 === 0 ? ['\\Seen'] : []), ...(i % 7 === 0 ? ['\\Flagged'] : [])];
}

/** The SEARCH queries of the search phase with how many of `count` appended messages each matches. */
function searchQueries(count: number): { query: { subject?: string; from?: string; body?: string }; expected: number }[] {
  const matching = (period: number, k: number) => Array.from({ length: count }, (_, i) => i).filter((i) => i % period === k).length;
  return [
    ...SUBJECT_TOPICS.map((topic, k) => ({ query: { subject: topic }, expected: matching(SUBJECT_TOPICS.length, k) })),
    ...FROM_NAMES.map((name, k) => ({ query: { from: `${name}@partners.example` }, expected: matching(FROM_NAMES.length, k) })),
    ...Array.from({ length: BODY_MARKERS }, (_, k) => ({ query: { body: bodyMarker(k) }, expected: matching(BODY_MARKERS, k) })),
  ];
}

// ---------------------------------------------------------------------------------------------
// Clients.

const IMAP_TIMEOUTS = { connectionTimeout: 30_000, greetingTimeout: 30_000, socketTimeout: 120_000 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function imapClient(target: { name: string; imap: Endpoint }, user: MailUser, extra: { disableAutoIdle?: boolean } = {}): Promise<ImapFlow> {
  const client = new ImapFlow({ host: target.imap.host, port: target.imap.port, secure: false, auth: { user: user.address, pass: user.password }, logger: false, ...IMAP_TIMEOUTS, ...extra });
  client.on('error', () => {}); // a broken connection fails the command in flight, which is reported
  try {
    await client.connect();
  } catch (error) {
    throw new Error(`${target.name}: IMAP login of ${user.address} at ${target.imap.host}:${target.imap.port} failed: ${(error as Error).message}`);
  }
  return client;
}

async function closeClient(client: ImapFlow): Promise<void> {
  await client.logout().catch(() => client.close());
}

function smtpSubmitter(target: MailTarget, user: MailUser) {
  return nodemailer.createTransport({
    host: target.smtp.host,
    port: target.smtp.port,
    secure: false,
    ignoreTLS: true,
    authMethod: 'PLAIN',
    auth: { user: user.address, pass: user.password },
    pool: true,
    maxConnections: 1,
    maxMessages: Infinity,
    connectionTimeout: 30_000,
    greetingTimeout: 30_000,
    socketTimeout: 120_000,
  });
}

const NOOP_POLL_MS = 5;

/**
 * A session of the recipient on INBOX, either idling (IDLE, what a mail client does) or polling
 * (NOOP every NOOP_POLL_MS: when the message is visible at all, whatever the server's IDLE does).
 * Each EXISTS is timestamped on arrival; the new messages are then identified by Message-ID
 * (FETCH ENVELOPE) and given that timestamp.
 */
class InboxWatcher {
  readonly seenAtMs = new Map<string, number>();
  private knownCount = 0;
  private readonly arrivals: { from: number; to: number; atMs: number }[] = [];
  private fetching = false;
  private failure: Error | undefined;
  private wakeups: (() => void)[] = [];

  private constructor(
    private readonly client: ImapFlow,
    private readonly mode: 'idle' | 'poll',
  ) {}

  static async open(target: MailTarget, recipient: MailUser, mode: 'idle' | 'poll'): Promise<InboxWatcher> {
    const client = await imapClient(target, recipient, { disableAutoIdle: true });
    const watcher = new InboxWatcher(client, mode);
    const mailbox = await client.mailboxOpen('INBOX');
    watcher.knownCount = mailbox.exists;
    client.on('exists', ({ count }: { count: number }) => watcher.onExists(count, performance.now()));
    client.on('close', () => watcher.fail(new Error('the IMAP connection of the recipient closed')));
    if (mode === 'idle') watcher.idle();
    else void watcher.poll();
    return watcher;
  }

  private async poll(): Promise<void> {
    while (!this.failure) {
      try {
        await this.client.noop();
      } catch (error) {
        this.fail(error as Error);
      }
      await sleep(NOOP_POLL_MS);
    }
  }

  private onExists(count: number, atMs: number): void {
    if (count <= this.knownCount) return;
    this.arrivals.push({ from: this.knownCount + 1, to: count, atMs });
    this.knownCount = count;
    void this.identify();
  }

  private idle(): void {
    this.client.idle().catch((error: Error) => this.fail(error));
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.wake();
  }

  private wake(): void {
    for (const wakeup of this.wakeups.splice(0)) wakeup();
  }

  private async identify(): Promise<void> {
    if (this.fetching) return;
    this.fetching = true;
    try {
      while (this.arrivals.length > 0) {
        const batch = this.arrivals.splice(0);
        const messages = await this.client.fetchAll(`${batch[0]!.from}:${batch.at(-1)!.to}`, { envelope: true });
        for (const message of messages) {
          const arrival = batch.find((a) => message.seq >= a.from && message.seq <= a.to);
          const id = message.envelope?.messageId;
          if (arrival && id && !this.seenAtMs.has(id)) this.seenAtMs.set(id, arrival.atMs);
        }
        this.wake();
      }
    } catch (error) {
      this.fail(error as Error);
    } finally {
      this.fetching = false;
    }
    if (!this.failure && this.mode === 'idle') this.idle();
  }

  /** Resolves when every id has been seen; throws at the deadline saying how many were. */
  async waitAll(ids: readonly string[], timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (this.failure) throw this.failure;
      const missing = ids.filter((id) => !this.seenAtMs.has(id)).length;
      if (missing === 0) return;
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`${ids.length - missing} of ${ids.length} messages were seen over IMAP within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 1000));
        this.wakeups.push(() => (clearTimeout(timer), resolve()));
      });
    }
  }

  close(): Promise<void> {
    this.failure ??= new Error('closed');
    return closeClient(this.client);
  }
}

// ---------------------------------------------------------------------------------------------
// Phases.

type Log = (line: string) => void;

/** CPU used by this process (the clients) and by the target's server over a phase, in % of one core. */
function cpuMeter(target: MailTarget) {
  const [wall0, client0, server0] = [performance.now(), process.cpuUsage(), target.serverCpuMs?.()];
  return () => {
    const wallMs = performance.now() - wall0;
    const client = process.cpuUsage(client0);
    const clientMs = (client.user + client.system) / 1000;
    const server = target.serverCpuMs?.();
    const serverMs = server === undefined || server0 === undefined ? null : server - server0;
    return {
      clientMs: round(clientMs, 0),
      serverMs: serverMs === null ? null : round(serverMs, 0),
      clientPercent: round((clientMs / wallMs) * 100, 0),
      serverPercent: serverMs === null ? null : round((serverMs / wallMs) * 100, 0),
    };
  };
}

const perOpText = (phase: { serverCpuMsPerOp: number | null; clientCpuMsPerOp: number }) =>
  `; CPU per command: server ${phase.serverCpuMsPerOp ?? 'unknown'} ms, clients ${phase.clientCpuMsPerOp} ms`;
const cpuText = (cpu: ReturnType<ReturnType<typeof cpuMeter>>) =>
  `CPU: clients ${cpu.clientPercent}%, server ${cpu.serverPercent === null ? 'unknown' : `${cpu.serverPercent}%`} of one core`;

async function submit(transport: ReturnType<typeof smtpSubmitter>, target: MailTarget, from: string, to: string, raw: Buffer): Promise<void> {
  try {
    await transport.sendMail({ envelope: { from, to: [to] }, raw });
  } catch (error) {
    throw new Error(`${target.name}: SMTP submission at ${target.smtp.host}:${target.smtp.port} failed: ${(error as Error).message}`);
  }
}

async function endToEnd(target: MailTarget, opts: MailWorkloadOptions, log: Log) {
  const [sender, recipient] = [target.users[0]!, target.users[1]!];
  const runId = `r${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const message = (phase: string, i: number) => e2eMessage(`${runId}${phase}`, i, sender.address, recipient.address, opts.messageBytes);
  // Two sessions of the recipient see every message: one idling (the figure), one polling.
  const watchers: InboxWatcher[] = [];
  const submitters = Array.from({ length: opts.submitters }, () => smtpSubmitter(target, sender));
  const seenByAll = (ids: readonly string[]) => Promise.all(watchers.map((w) => w.waitAll(ids, opts.deliveryTimeoutMs)));
  try {
    watchers.push(await InboxWatcher.open(target, recipient, 'idle'), await InboxWatcher.open(target, recipient, 'poll'));
    const [idle, poll] = watchers as [InboxWatcher, InboxWatcher];
    // Warm-up: one message per SMTP connection, so connecting and AUTH are outside every figure.
    await seenByAll(
      await Promise.all(
        submitters.map(async (transport, i) => {
          const { messageId, raw } = message('w', i);
          await submit(transport, target, sender.address, recipient.address, raw);
          return messageId;
        }),
      ),
    );

    const [idleSerial, pollSerial]: number[][] = [[], []];
    for (let i = 0; i < opts.serialMessages; i++) {
      const { messageId, raw } = message('s', i);
      const startMs = performance.now();
      await submit(submitters[0]!, target, sender.address, recipient.address, raw);
      await seenByAll([messageId]);
      idleSerial.push(idle.seenAtMs.get(messageId)! - startMs);
      pollSerial.push(poll.seenAtMs.get(messageId)! - startMs);
    }
    const serial = { messages: opts.serialMessages, latencyMs: summary(idleSerial), pollLatencyMs: summary(pollSerial) };
    log(
      `    e2e, 1 in flight: IDLE sees it after p50 ${serial.latencyMs.p50} ms, p99 ${serial.latencyMs.p99} ms; ` +
        `NOOP every ${NOOP_POLL_MS} ms after p50 ${serial.pollLatencyMs.p50} ms, p99 ${serial.pollLatencyMs.p99} ms (${opts.serialMessages} messages)`,
    );

    const ids: string[] = [];
    const startedAtMs: number[] = [];
    const smtpAcceptMs: number[] = [];
    let next = 0;
    const meter = cpuMeter(target);
    const t0 = performance.now();
    await Promise.all(
      submitters.map(async (transport) => {
        while (next < opts.loadedMessages) {
          const i = next++;
          const { messageId, raw } = message('l', i);
          ids[i] = messageId;
          startedAtMs[i] = performance.now();
          await submit(transport, target, sender.address, recipient.address, raw);
          smtpAcceptMs.push(performance.now() - startedAtMs[i]!);
        }
      }),
    );
    const submittedSeconds = (performance.now() - t0) / 1000;
    await seenByAll(ids);
    const cpu = meter();
    const seenBy = (watcher: InboxWatcher) => {
      const seenAt = ids.map((id) => watcher.seenAtMs.get(id)!);
      return { perSecond: round(ids.length / ((Math.max(...seenAt) - t0) / 1000), 1), latencyMs: summary(seenAt.map((at, i) => at - startedAtMs[i]!)) };
    };
    const [byIdle, byPoll] = [seenBy(idle), seenBy(poll)];
    const loaded = {
      messages: opts.loadedMessages,
      submitters: opts.submitters,
      messagesPerSecond: byIdle.perSecond,
      latencyMs: byIdle.latencyMs,
      pollMessagesPerSecond: byPoll.perSecond,
      pollLatencyMs: byPoll.latencyMs,
      submittedPerSecond: round(opts.loadedMessages / submittedSeconds, 1),
      smtpAcceptMs: summary(smtpAcceptMs),
      cpu,
    };
    log(
      `    e2e, ${opts.submitters} submitters, ${opts.loadedMessages} messages: ${loaded.submittedPerSecond} msg/s accepted by SMTP (p50 ${loaded.smtpAcceptMs.p50} ms); ` +
        `seen by IDLE: ${loaded.messagesPerSecond} msg/s, p50 ${loaded.latencyMs.p50} ms, p99 ${loaded.latencyMs.p99} ms; ` +
        `by NOOP: ${loaded.pollMessagesPerSecond} msg/s, p50 ${loaded.pollLatencyMs.p50} ms, p99 ${loaded.pollLatencyMs.p99} ms; ${cpuText(loaded.cpu)}`,
    );
    return { serial, loaded };
  } finally {
    for (const transport of submitters) transport.close();
    await Promise.all(watchers.map((w) => w.close()));
  }
}

// IMAP phases. All clients run in this thread. Parsing a FETCH answer costs imapflow several times
// the CPU Dovecot spends producing it (about 6.5 against 1 ms per command here), so on a small
// machine the commands/s figures are bounded by the client; the server CPU per command is not.
// (Spreading the clients over worker threads was tried: it cost more CPU per command and gained
// nothing on two cores.)

const SAMPLE_SIZE = 5;

interface ClientGroupPlan {
  server: { name: string; imap: Endpoint };
  /** The readers, each with its index (which varies the operations between clients). */
  readers: { user: MailUser; index: number }[];
  mailboxMessages: number;
  messageBytes: number;
}

interface PhaseResult {
  latencyMs: Record<string, number[]>;
  wrongAnswers: number;
  firstWrongAnswer: string;
  endedAtMs: number;
}

type PhaseKind = 'fetch' | 'search';

/** The IMAP clients of the FETCH and SEARCH phases, each logged in as its own user. */
class ImapClientGroup {
  private clients: { client: ImapFlow; index: number; address: string }[] = [];
  private readonly queries: ReturnType<typeof searchQueries>;

  constructor(private readonly plan: ClientGroupPlan) {
    this.queries = searchQueries(plan.mailboxMessages);
  }

  /** Logs every reader in; their INBOXes must be empty. */
  async connect(): Promise<void> {
    for (const { user, index } of this.plan.readers) this.clients.push({ client: await imapClient(this.plan.server, user), index, address: user.address });
    for (const { client, address } of this.clients) {
      const exists = (await client.mailboxOpen('INBOX')).exists;
      if (exists !== 0) throw new Error(`${this.plan.server.name}: the INBOX of ${address} must start empty (it has ${exists} messages)`);
    }
  }

  async append(): Promise<void> {
    const { mailboxMessages, messageBytes, server } = this.plan;
    await Promise.all(
      this.clients.map(async ({ client, address }) => {
        for (let i = 0; i < mailboxMessages; i++) {
          if (!(await client.append('INBOX', mailboxMessage(i, address, messageBytes), mailboxFlags(i)))) throw new Error(`${server.name}: APPEND refused for ${address}`);
        }
      }),
    );
    for (const { client } of this.clients) await client.mailboxOpen('INBOX', { readOnly: true });
  }

  /** One operation of a phase; returns its kind and whether the answer was wrong (with why). */
  private async op(phase: PhaseKind, client: ImapFlow, c: number, n: number): Promise<{ kind: string; wrong?: string }> {
    const { mailboxMessages, messageBytes, server } = this.plan;
    if (phase === 'search') {
      const { query, expected } = this.queries[(n + c * 3) % this.queries.length]!;
      const found = await client.search(query);
      const count = Array.isArray(found) ? found.length : -1;
      return { kind: 'search', ...(count !== expected && { wrong: `SEARCH ${JSON.stringify(query)} found ${count}, expected ${expected}` }) };
    }
    if (n % 2 === 0) {
      const messages = await client.fetchAll('1:*', { uid: true, flags: true, envelope: true, bodyStructure: true });
      if (messages.length !== mailboxMessages || messages.some((m) => !m.envelope || !m.bodyStructure || !m.flags)) {
        throw new Error(`${server.name}: FETCH 1:* returned ${messages.length} messages of ${mailboxMessages}, or some without FLAGS/ENVELOPE/BODYSTRUCTURE`);
      }
      return { kind: 'all' };
    }
    const seqs = new Set(Array.from({ length: SAMPLE_SIZE }, (_, j) => ((n * SAMPLE_SIZE + j * 37 + c) % mailboxMessages) + 1));
    const messages = await client.fetchAll([...seqs].join(','), { uid: true, source: true });
    if (messages.length !== seqs.size || messages.some((m) => !m.source || m.source.length < messageBytes / 2)) throw new Error(`${server.name}: FETCH BODY.PEEK[] returned missing or short bodies`);
    return { kind: 'sample' };
  }

  /** A few untimed operations per client: caches, indexes and processes warm before the clock runs. */
  async warmUp(phase: PhaseKind): Promise<void> {
    await Promise.all(
      this.clients.map(async ({ client, index }) => {
        for (let n = 0; n < 2; n++) await this.op(phase, client, index, n);
      }),
    );
  }

  /** Every client runs operations back to back until `endAtMs` (performance.now() time). */
  async run(phase: PhaseKind, endAtMs: number): Promise<PhaseResult> {
    const result: PhaseResult = { latencyMs: {}, wrongAnswers: 0, firstWrongAnswer: '', endedAtMs: 0 };
    await Promise.all(
      this.clients.map(async ({ client, index }) => {
        for (let n = 0; performance.now() < endAtMs; n++) {
          const start = performance.now();
          const { kind, wrong } = await this.op(phase, client, index, n);
          (result.latencyMs[kind] ??= []).push(performance.now() - start);
          if (wrong) {
            result.wrongAnswers++;
            result.firstWrongAnswer ||= wrong;
          }
        }
      }),
    );
    result.endedAtMs = performance.now();
    return result;
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map(({ client }) => closeClient(client)));
    this.clients = [];
  }
}

async function imapPhases(target: MailTarget, opts: MailWorkloadOptions, log: Log) {
  const readers = target.users.slice(2, 2 + opts.imapClients).map((user, index) => ({ user, index }));
  const group = new ImapClientGroup({ server: { name: target.name, imap: target.imap }, readers, mailboxMessages: opts.mailboxMessages, messageBytes: opts.messageBytes });
  try {
    await group.connect();
    const appendMeter = cpuMeter(target);
    const appendT0 = performance.now();
    await group.append();
    const appended = opts.mailboxMessages * readers.length;
    const append = { messages: appended, messagesPerSecond: round(appended / ((performance.now() - appendT0) / 1000), 1), cpu: appendMeter() };
    log(`    APPEND: ${append.messagesPerSecond} msg/s (${readers.length} clients, ${opts.mailboxMessages} messages each); ${cpuText(append.cpu)}`);

    const timed = async (phase: PhaseKind) => {
      await group.warmUp(phase);
      const meter = cpuMeter(target);
      const startAtMs = performance.now();
      const result = await group.run(phase, startAtMs + opts.phaseMs);
      const seconds = (result.endedAtMs - startAtMs) / 1000;
      const latency = (kind: string) => result.latencyMs[kind] ?? [];
      const ops = Object.values(result.latencyMs).reduce((n, l) => n + l.length, 0);
      const cpu = meter();
      return {
        seconds: round(seconds, 2),
        ops,
        opsPerSecond: round(ops / seconds, 1),
        serverCpuMsPerOp: cpu.serverMs === null ? null : round(cpu.serverMs / ops, 3),
        clientCpuMsPerOp: round(cpu.clientMs / ops, 3),
        latency,
        wrongAnswers: result.wrongAnswers,
        firstWrongAnswer: result.firstWrongAnswer,
        cpu,
      };
    };

    const f = await timed('fetch');
    const [allLatency, sampleLatency] = [f.latency('all'), f.latency('sample')];
    const fetch = {
      clients: readers.length,
      seconds: f.seconds,
      opsPerSecond: f.opsPerSecond,
      messagesPerSecond: round((allLatency.length * opts.mailboxMessages + sampleLatency.length * SAMPLE_SIZE) / f.seconds, 0),
      fetchAll: { ops: allLatency.length, latencyMs: summary(allLatency) },
      fetchSample: { ops: sampleLatency.length, latencyMs: summary(sampleLatency) },
      serverCpuMsPerOp: f.serverCpuMsPerOp,
      clientCpuMsPerOp: f.clientCpuMsPerOp,
      cpu: f.cpu,
    };
    log(
      `    FETCH: ${fetch.opsPerSecond} commands/s, ${fetch.messagesPerSecond} messages/s; FETCH 1:* (flags, envelope, bodystructure of ${opts.mailboxMessages}) ` +
        `p50 ${fetch.fetchAll.latencyMs.p50} ms; FETCH ${SAMPLE_SIZE} full bodies p50 ${fetch.fetchSample.latencyMs.p50} ms; ${cpuText(fetch.cpu)}${perOpText(fetch)}`,
    );

    const s = await timed('search');
    const searchLatency = s.latency('search');
    const search = {
      clients: readers.length,
      seconds: s.seconds,
      opsPerSecond: s.opsPerSecond,
      latencyMs: summary(searchLatency),
      wrongAnswers: s.wrongAnswers,
      serverCpuMsPerOp: s.serverCpuMsPerOp,
      clientCpuMsPerOp: s.clientCpuMsPerOp,
      cpu: s.cpu,
    };
    log(`    SEARCH: ${search.opsPerSecond} commands/s; p50 ${search.latencyMs.p50} ms, p99 ${search.latencyMs.p99} ms; ${cpuText(search.cpu)}${perOpText(search)}`);
    if (s.wrongAnswers > 0) log(`    WARNING: ${target.name} answered ${s.wrongAnswers} SEARCH commands wrongly, e.g. ${s.firstWrongAnswer}`);
    return { append, fetch, search };
  } finally {
    await group.close();
  }
}

export type MailWorkloadResult = Awaited<ReturnType<typeof runMailWorkload>>;

/**
 * Runs the whole workload against one target, which must be fresh (the IMAP clients' INBOXes empty).
 * Options default to mailWorkloadOptions(quick); give the same ones to every target compared.
 */
export async function runMailWorkload(target: MailTarget, opts: Partial<MailWorkloadOptions> & { quick?: boolean; log?: Log } = {}) {
  const { quick, log = () => {}, ...overrides } = opts;
  const workload: MailWorkloadOptions = { ...mailWorkloadOptions(quick ?? true), ...overrides };
  if (target.users.length < 2 + workload.imapClients) {
    throw new Error(`${target.name}: the workload needs ${2 + workload.imapClients} users (sender, recipient, ${workload.imapClients} IMAP clients), got ${target.users.length}`);
  }
  log(`  ${target.name}: SMTP ${target.smtp.host}:${target.smtp.port}, IMAP ${target.imap.host}:${target.imap.port}`);
  const e2e = await endToEnd(target, workload, log);
  await sleep(200); // let the last deliveries' background work settle before the IMAP phases
  const imap = await imapPhases(target, workload, log);
  return { target: target.name, workload, e2e, ...imap };
}

// ---------------------------------------------------------------------------------------------
// The benchmark.

let postProvider: MailTargetProvider | undefined;

/** Supplies the POST target (a fresh system with `users`) that the benchmark compares. */
export function registerMailTarget(provider: MailTargetProvider): void {
  postProvider = provider;
}

/** Each compared figure: where it is in a result, and which way is better. */
const FIGURES: { name: string; pick: (r: MailWorkloadResult) => number | null; higherIsBetter: boolean }[] = [
  { name: 'e2e msg/s (8, IDLE)', pick: (r) => r.e2e.loaded.messagesPerSecond, higherIsBetter: true },
  { name: 'e2e msg/s (8, NOOP poll)', pick: (r) => r.e2e.loaded.pollMessagesPerSecond, higherIsBetter: true },
  { name: 'e2e p50 ms (1, IDLE)', pick: (r) => r.e2e.serial.latencyMs.p50, higherIsBetter: false },
  { name: 'e2e p99 ms (1, IDLE)', pick: (r) => r.e2e.serial.latencyMs.p99, higherIsBetter: false },
  { name: 'e2e p50 ms (1, NOOP poll)', pick: (r) => r.e2e.serial.pollLatencyMs.p50, higherIsBetter: false },
  { name: 'e2e p99 ms (1, NOOP poll)', pick: (r) => r.e2e.serial.pollLatencyMs.p99, higherIsBetter: false },
  { name: 'e2e p50 ms (8, IDLE)', pick: (r) => r.e2e.loaded.latencyMs.p50, higherIsBetter: false },
  { name: 'e2e p99 ms (8, IDLE)', pick: (r) => r.e2e.loaded.latencyMs.p99, higherIsBetter: false },
  { name: 'e2e p50 ms (8, NOOP poll)', pick: (r) => r.e2e.loaded.pollLatencyMs.p50, higherIsBetter: false },
  { name: 'e2e p99 ms (8, NOOP poll)', pick: (r) => r.e2e.loaded.pollLatencyMs.p99, higherIsBetter: false },
  { name: 'APPEND msg/s', pick: (r) => r.append.messagesPerSecond, higherIsBetter: true },
  { name: 'FETCH commands/s', pick: (r) => r.fetch.opsPerSecond, higherIsBetter: true },
  { name: 'FETCH messages/s', pick: (r) => r.fetch.messagesPerSecond, higherIsBetter: true },
  { name: 'FETCH server CPU ms/cmd', pick: (r) => r.fetch.serverCpuMsPerOp, higherIsBetter: false },
  { name: 'SEARCH commands/s', pick: (r) => r.search.opsPerSecond, higherIsBetter: true },
  { name: 'SEARCH server CPU ms/cmd', pick: (r) => r.search.serverCpuMsPerOp, higherIsBetter: false },
];

/** POST's figure divided by the reference's, for each figure both have (null where one lacks it). */
export function mailRatios(post: MailWorkloadResult, reference: MailWorkloadResult): Record<string, number | null> {
  return Object.fromEntries(
    FIGURES.map((f) => {
      const [p, r] = [f.pick(post), f.pick(reference)];
      return [f.name, p === null || r === null || r === 0 ? null : round(p / r, 3)];
    }),
  );
}

function logComparison(log: Log, post: MailWorkloadResult, reference: MailWorkloadResult, ratios: Record<string, number | null>): void {
  log('  POST / reference, same workload, same machine, one after the other:');
  for (const f of FIGURES) {
    const ratio = ratios[f.name];
    const verdict = ratio === null ? '' : ratio === 1 ? '' : (ratio > 1) === f.higherIsBetter ? ' (POST better)' : ' (POST worse)';
    log(`    ${f.name.padEnd(26)} reference ${String(f.pick(reference) ?? '-').padStart(9)}   POST ${String(f.pick(post) ?? '-').padStart(9)}   ratio ${ratio ?? '-'}${verdict}`);
  }
}

export const mailBench: Bench = {
  name: 'mail',
  summary: 'SMTP-to-IMAP latency and throughput, IMAP APPEND/FETCH/SEARCH with 10 clients: POST vs Postfix+Dovecot on the same workload',
  async run({ quick, log }) {
    const workload = mailWorkloadOptions(quick);
    const users = mailWorkloadUsers(workload.imapClients);
    log(
      `  workload: ${workload.serialMessages} + ${workload.loadedMessages} messages of ${workload.messageBytes} B (${workload.submitters} submitters), ` +
        `${workload.imapClients} IMAP clients x ${workload.mailboxMessages} messages, ${workload.phaseMs / 1000} s per IMAP phase`,
    );
    if (!postProvider) log('  POST target: none registered (registerMailTarget); measuring the reference alone');
    const reference = await startReferenceMail({ users, log });
    let referenceResult: MailWorkloadResult;
    try {
      const target = { name: 'reference (Postfix + Dovecot)', smtp: reference.smtp, imap: reference.imap, users, serverCpuMs: reference.cpuMs };
      referenceResult = await runMailWorkload(target, { ...workload, log });
    } finally {
      await reference.stop();
    }
    if (!postProvider) {
      log('  POST target: missing (nothing registered with registerMailTarget); reference figures only, no ratios');
      return { workload, reference: referenceResult, post: null, ratios: null };
    }
    const post = await postProvider(users);
    let postResult: MailWorkloadResult;
    try {
      postResult = await runMailWorkload(post.target, { ...workload, log });
    } finally {
      await post.stop();
    }
    const ratios = mailRatios(postResult, referenceResult);
    logComparison(log, postResult, referenceResult, ratios);
    return { workload, reference: referenceResult, post: postResult, ratios };
  },
};
