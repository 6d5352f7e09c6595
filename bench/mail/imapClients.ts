// Phase imap (issue 5), with imapflow as the client library: `clients` clients, each its own user and
// INBOX, fill their INBOX with APPEND all at once (messages/s); then for a fixed time, in turn FETCH
// 1:* (UID FLAGS ENVELOPE BODYSTRUCTURE) and FETCH BODY.PEEK[] of a 5-message sample (FETCH
// commands/s, messages/s, latency per kind); then SEARCH SUBJECT / FROM / BODY in turn, each answer
// checked against what was appended.
//
// All clients run in this thread. Parsing a FETCH answer costs imapflow several times the CPU
// Dovecot spends producing it (about 6.5 against 1 ms per command here), so on a small machine the
// commands/s figures are bounded by the client; the server CPU per command is not. (Spreading the
// clients over worker threads was tried: it cost more CPU per command and gained nothing on two
// cores.) The per-command latency phase (`latency`) uses a raw client for that reason.
import type { ImapFlow } from 'imapflow';
import { round, summary } from '../stats';
import { closeClient, imapClient } from './imapflowClient';
import { mailboxFlags, mailboxMessage, searchQueries } from './messages';
import { definePhase, type BenchSize } from './phase';
import { cpuMeter, cpuPerOp, cpuText, perOpText, userNamed, warnIfClientBound, type Endpoint, type Log, type MailTarget, type MailUser } from './target';

export interface ImapClientsOptions {
  /** Concurrent IMAP clients, each with its own user. */
  clients: number;
  /** Messages appended to each client's INBOX before the FETCH and SEARCH phases. */
  mailboxMessages: number;
  messageBytes: number;
  /** Duration of each of the FETCH and SEARCH phases. */
  phaseMs: number;
}

export function imapClientsOptions(size: BenchSize): ImapClientsOptions {
  return {
    clients: size === 'tiny' ? 2 : 10,
    mailboxMessages: size === 'tiny' ? 20 : 200,
    messageBytes: 4096,
    phaseMs: { tiny: 1000, quick: 5000, full: 20_000 }[size],
  };
}

const readerName = (i: number) => `reader${String(i + 1).padStart(2, '0')}`;

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

async function imapPhases(target: MailTarget, opts: ImapClientsOptions, log: Log) {
  const readers = Array.from({ length: opts.clients }, (_, index) => ({ user: userNamed(target, readerName(index)), index }));
  const group = new ImapClientGroup({ server: { name: target.name, imap: target.imap }, readers, mailboxMessages: opts.mailboxMessages, messageBytes: opts.messageBytes });
  try {
    await group.connect();
    const appendMeter = cpuMeter(target);
    const appendT0 = performance.now();
    await group.append();
    const appended = opts.mailboxMessages * readers.length;
    const append = { messages: appended, messagesPerSecond: round(appended / ((performance.now() - appendT0) / 1000), 1), cpu: appendMeter() };
    log(`    APPEND: ${append.messagesPerSecond} msg/s (${readers.length} clients, ${opts.mailboxMessages} messages each); ${cpuText(append.cpu)}`);
    warnIfClientBound(append.cpu, 'APPEND', log);

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
        ...cpuPerOp(cpu, ops),
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
    warnIfClientBound(fetch.cpu, 'FETCH', log);

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
    warnIfClientBound(search.cpu, 'SEARCH', log);
    if (s.wrongAnswers > 0) log(`    WARNING: ${target.name} answered ${s.wrongAnswers} SEARCH commands wrongly, e.g. ${s.firstWrongAnswer}`);
    return { append, fetch, search };
  } finally {
    await group.close();
  }
}

export type ImapClientsResult = Awaited<ReturnType<typeof imapPhases>>;

export const imapClientsPhase = definePhase<ImapClientsOptions, ImapClientsResult>({
  name: 'imap',
  summary: 'imapflow clients, each its own user: APPEND all at once, then FETCH and SEARCH for a fixed time',
  options: imapClientsOptions,
  users: (opts) => Array.from({ length: opts.clients }, (_, i) => readerName(i)),
  run: imapPhases,
  compare: (post, reference) => {
    const row = (figure: string, pick: (r: ImapClientsResult) => number | null, better: 'higher' | 'lower') => ({ figure, reference: pick(reference), post: pick(post), better });
    return [
      row('APPEND msg/s', (r) => r.append.messagesPerSecond, 'higher'),
      row('FETCH commands/s', (r) => r.fetch.opsPerSecond, 'higher'),
      row('FETCH messages/s', (r) => r.fetch.messagesPerSecond, 'higher'),
      row('FETCH server CPU ms/cmd', (r) => r.fetch.serverCpuMsPerOp, 'lower'),
      row('SEARCH commands/s', (r) => r.search.opsPerSecond, 'higher'),
      row('SEARCH server CPU ms/cmd', (r) => r.search.serverCpuMsPerOp, 'lower'),
    ];
  },
  problems: (r) => (r.search.wrongAnswers > 0 ? [`${r.search.wrongAnswers} SEARCH answers were wrong`] : []),
});
