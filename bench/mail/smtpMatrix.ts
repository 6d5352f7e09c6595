// Phase smtp: SMTP submission throughput, 10 sessions (each its own sender, raw SMTP client with AUTH
// PLAIN) to one recipient, in a matrix: (a) persistent sessions, (b) a new connection (and AUTH) per
// message; each at 4 KiB and 100 KiB. Per cell: accepted msg/s (250s over the time to the last 250)
// and visible msg/s (the recipient's IMAP session, polling NOOP every 5 ms, sees EXISTS reach every
// message accepted; over the time to that moment), SMTP latency per message, CPU of both sides.
// A cell sends for `durationMs` or `messages`, whichever ends first, after one untimed message per
// session (so the first connection, AUTH and caches are outside the figures). On a target with a
// replicated-write floor (POST), the floor follows at each message size with as many clients as
// sessions: one write of the message's size durable at k = 3 with nothing else, what no cell's 250
// can cost less than (a mail is at least that write: its notification, or its blocks).
import { randomBytes } from 'node:crypto';
import { round, summary } from '../stats';
import { loggedIn } from './fill';
import { MAIL_DOMAIN } from './messages';
import { definePhase, type BenchSize, type Comparison } from './phase';
import { expectOk, numberedResponses, type RawImapClient } from './rawImap';
import { RawSmtpSession } from './rawSmtp';
import { cpuMeter, cpuPerOp, cpuText, imapOf, kibText, sleep, smtpOf, untilQuiet, userNamed, warnIfClientBound, type Log, type MailTarget, type MailUser } from './target';
import type { WriteFloorRun } from './writeFloor';

export interface SmtpMatrixOptions {
  sessions: number;
  durationMs: number;
  /** Most messages per cell, by size: bounds the mailbox (and disk) on a fast server. */
  messagesMax: { small: number; large: number };
  smallBytes: number;
  largeBytes: number;
  deliveryTimeoutMs: number;
  /** Persistent sessions first send small mail to the cells' recipients for this long, untimed (`--age`). */
  ageMs: number;
}

export function smtpMatrixOptions(size: BenchSize): SmtpMatrixOptions {
  return {
    sessions: size === 'tiny' ? 2 : 10,
    durationMs: { tiny: 1000, quick: 5000, full: 20_000 }[size],
    messagesMax: { tiny: { small: 20, large: 10 }, quick: { small: 1500, large: 500 }, full: { small: 6000, large: 2000 } }[size],
    smallBytes: 4096,
    largeBytes: 100 * 1024,
    deliveryTimeoutMs: size === 'full' ? 300_000 : 120_000,
    ageMs: 0,
  };
}

type Mode = 'persistent' | 'per-message';
type Size = 'small' | 'large';
const CELLS: { mode: Mode; size: Size }[] = [
  { mode: 'persistent', size: 'small' },
  { mode: 'persistent', size: 'large' },
  { mode: 'per-message', size: 'small' },
  { mode: 'per-message', size: 'large' },
];
const senderName = (i: number) => `smtp${String(i + 1).padStart(2, '0')}`;
const recipientName = (cell: number) => `smtprcpt${cell + 1}`;
const NOOP_POLL_MS = 5;
/** The ageing load sends at most this many messages (400 MB at 4 KiB), however long `--age` is. */
const AGE_MESSAGES_MAX = 100_000;

/** Headers unique per message (a unique block for a content-addressed store), a body shared by the cell. */
function cellMessage(runId: string, i: number, from: string, to: string, body: string): Buffer {
  const headers = [`From: <${from}>`, `To: <${to}>`, `Subject: smtp ${runId} #${i}`, `Message-ID: <${runId}.${i}@${MAIL_DOMAIN}>`, 'Date: Mon, 01 Jan 2024 10:00:00 +0000', 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=us-ascii'];
  return Buffer.from(`${headers.join('\r\n')}\r\n\r\nmessage ${runId} #${i}\r\n${body}`);
}

function fillerBody(bytes: number): string {
  const line = 'quarterly ledger review notes for the harbour team, budget draft and agenda follow\r\n';
  return line.repeat(Math.ceil(bytes / line.length)).slice(0, bytes - 2) + '\r\n';
}

/** A session of the recipient on INBOX that polls NOOP and remembers when each EXISTS count was first seen. */
class ExistsWatcher {
  private highest = 0;
  private readonly reachedAtMs: { count: number; atMs: number }[] = [];
  private stopped = false;
  private failure: Error | undefined;
  private readonly polling: Promise<void>;

  private constructor(
    private readonly client: RawImapClient,
    readonly base: number,
  ) {
    this.highest = base;
    this.polling = this.poll();
  }

  static async open(target: MailTarget, recipient: MailUser): Promise<ExistsWatcher> {
    const client = await loggedIn(imapOf(target, recipient), recipient);
    const selected = expectOk(await client.command('SELECT INBOX'), 'SELECT INBOX');
    return new ExistsWatcher(client, numberedResponses(selected.untagged, 'EXISTS').at(-1) ?? 0);
  }

  private async poll(): Promise<void> {
    while (!this.stopped) {
      try {
        const reply = expectOk(await this.client.command('NOOP'), 'NOOP');
        const atMs = performance.now();
        const count = numberedResponses(reply.untagged, 'EXISTS').at(-1);
        if (count !== undefined && count > this.highest) {
          this.highest = count;
          this.reachedAtMs.push({ count, atMs });
        }
      } catch (error) {
        this.failure ??= error as Error;
        return;
      }
      await sleep(NOOP_POLL_MS);
    }
  }

  /** When the INBOX first held `count` messages (now, when it held them before it was watched); waits for it (bounded). */
  async reached(count: number, timeoutMs: number): Promise<number> {
    if (count <= this.base) return performance.now();
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (this.failure) throw this.failure;
      const hit = this.reachedAtMs.find((r) => r.count >= count);
      if (hit) return hit.atMs;
      if (performance.now() > deadline) throw new Error(`${this.highest - this.base} of ${count - this.base} messages were visible over IMAP within ${timeoutMs} ms`);
      await sleep(NOOP_POLL_MS);
    }
  }

  async close(): Promise<void> {
    this.stopped = true;
    await this.polling;
    await this.client.close();
  }
}

async function runCell(target: MailTarget, opts: SmtpMatrixOptions, cellIndex: number, log: Log) {
  const { mode, size } = CELLS[cellIndex]!;
  const bytes = bytesOf(opts, size);
  const messagesMax = opts.messagesMax[size];
  const senders = Array.from({ length: opts.sessions }, (_, i) => userNamed(target, senderName(i)));
  const recipient = userNamed(target, recipientName(cellIndex));
  const runId = `m${cellIndex}${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const body = fillerBody(bytes - 300);
  let sequence = 0;
  const message = (from: string) => cellMessage(runId, sequence++, from, recipient.address, body);

  const watcher = await ExistsWatcher.open(target, recipient);
  const persistent: RawSmtpSession[] = [];
  try {
    // One untimed message per session: connections, AUTH and caches warm.
    const warmUp = async (sender: MailUser, i: number) => {
      const session = await RawSmtpSession.open(smtpOf(target, sender), sender);
      await session.send(sender.address, recipient.address, message(sender.address));
      if (mode === 'persistent') persistent[i] = session;
      else await session.quit();
    };
    await Promise.all(senders.map(warmUp));
    const base = watcher.base + opts.sessions;
    await watcher.reached(base, opts.deliveryTimeoutMs);

    const acceptMs: number[] = [];
    let started = 0;
    let accepted = 0;
    let lastAcceptAtMs = 0;
    const meter = cpuMeter(target);
    const t0 = performance.now();
    const endAtMs = t0 + opts.durationMs;
    await Promise.all(
      senders.map(async (sender, i) => {
        while (started < messagesMax && performance.now() < endAtMs) {
          started++;
          const raw = message(sender.address);
          const startMs = performance.now();
          const session = mode === 'persistent' ? persistent[i]! : await RawSmtpSession.open(smtpOf(target, sender), sender);
          await session.send(sender.address, recipient.address, raw);
          lastAcceptAtMs = performance.now();
          acceptMs.push(lastAcceptAtMs - startMs);
          accepted++;
          if (mode === 'per-message') await session.quit();
        }
      }),
    );
    const visibleAtMs = await watcher.reached(base + accepted, opts.deliveryTimeoutMs);
    const cpu = meter();
    const result = {
      mode,
      messageBytes: cellMessage(runId, 0, senders[0]!.address, recipient.address, body).length,
      messages: accepted,
      acceptedPerSecond: round(accepted / ((lastAcceptAtMs - t0) / 1000), 1),
      visiblePerSecond: round(accepted / ((visibleAtMs - t0) / 1000), 1),
      smtpMs: summary(acceptMs),
      ...cpuPerOp(cpu, accepted),
      cpu,
    };
    log(
      `    SMTP ${mode}, ${opts.sessions} sessions, ${kibText(bytes)}: ${result.acceptedPerSecond} msg/s accepted (p50 ${result.smtpMs.p50} ms, p99 ${result.smtpMs.p99} ms), ` +
        `${result.visiblePerSecond} msg/s visible over IMAP (${accepted} messages); ${cpuText(cpu)}; CPU per message: server ${result.serverCpuMsPerOp ?? '-'} ms, clients ${result.clientCpuMsPerOp} ms`,
    );
    warnIfClientBound(cpu, `SMTP ${mode} ${kibText(bytes)}`, log);
    return result;
  } finally {
    await Promise.all(persistent.map((s) => s.quit()));
    await watcher.close();
  }
}

/**
 * `--age`: the senders' persistent sessions send small mail to each cell's recipient in turn, `ageMs`
 * in all, untimed; each recipient's share is waited for until visible over IMAP, so that no delivery
 * of it is left to run during a timed cell. The node's own state (its submissions, its deliveries)
 * and the recipients' INBOX logs are then those of a server in use.
 */
async function age(target: MailTarget, opts: SmtpMatrixOptions, log: Log): Promise<void> {
  const senders = Array.from({ length: opts.sessions }, (_, i) => userNamed(target, senderName(i)));
  const runId = `age${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const body = fillerBody(opts.smallBytes - 300);
  const t0 = performance.now();
  let sent = 0;
  const sessions = await Promise.all(senders.map((sender) => RawSmtpSession.open(smtpOf(target, sender), sender)));
  try {
    for (let cell = 0; cell < CELLS.length; cell++) {
      const recipient = userNamed(target, recipientName(cell));
      const watcher = await ExistsWatcher.open(target, recipient);
      try {
        // Each recipient's share of the time is spent sending; waiting until it is visible comes on top.
        const endAtMs = performance.now() + opts.ageMs / CELLS.length;
        const sentBefore = sent;
        await Promise.all(
          senders.map(async (sender, i) => {
            while (performance.now() < endAtMs && sent < AGE_MESSAGES_MAX) {
              const raw = cellMessage(runId, sent++, sender.address, recipient.address, body);
              await sessions[i]!.send(sender.address, recipient.address, raw);
            }
          }),
        );
        await watcher.reached(watcher.base + (sent - sentBefore), opts.deliveryTimeoutMs);
      } finally {
        await watcher.close();
      }
    }
  } finally {
    await Promise.all(sessions.map((s) => s.quit()));
  }
  log(`    aged: ${sent} messages of ${kibText(opts.smallBytes)} over ${opts.sessions} persistent sessions to the cells' recipients in ${round((performance.now() - t0) / 1000, 1)} s, untimed, every one visible over IMAP`);
}

const bytesOf = (opts: SmtpMatrixOptions, size: Size) => (size === 'small' ? opts.smallBytes : opts.largeBytes);
const cellName = (opts: SmtpMatrixOptions, cell: { mode: Mode; size: Size }) => `${cell.mode} ${kibText(bytesOf(opts, cell.size))}`;
/** The message size of a cell's name ("persistent 4 KiB" -> "4 KiB"): the floors' key. */
const sizeOfCell = (name: string) => name.slice(name.indexOf(' ') + 1);

/**
 * The replicated-write floor at each message size, with as many clients as the cells have sessions,
 * by size ("4 KiB"): a put to each replica (`floor`, as POST sends them) and the value published once
 * to all of them (`fanOutFloor`, the least any design could send through this broker). Each cell
 * against them: its 250s per second and its server CPU per message beside the floor's.
 */
async function floorBySize(writeFloor: NonNullable<MailTarget['writeFloor']>, target: MailTarget, opts: SmtpMatrixOptions, cells: Record<string, CellResult>, log: Log) {
  const floor: Record<string, WriteFloorRun> = {};
  const fanOutFloor: Record<string, WriteFloorRun> = {};
  for (const size of ['small', 'large'] as const) {
    await untilQuiet(target, log);
    const [each, once] = await writeFloor({ clientCounts: [opts.sessions], durationMs: opts.durationMs, valueBytes: bytesOf(opts, size), fanOut: true }, log);
    const key = kibText(bytesOf(opts, size));
    floor[key] = each!;
    fanOutFloor[key] = once!;
  }
  for (const cell of CELLS) {
    const r = cells[cellName(opts, cell)]!;
    const key = kibText(bytesOf(opts, cell.size));
    const [f, once] = [floor[key]!, fanOutFloor[key]!];
    const cpu = r.serverCpuMsPerOp === null ? '' : `, server CPU per message ${round(r.serverCpuMsPerOp / f.serverCpuMsPerWrite, 2)}x the floor's per write`;
    log(`    SMTP ${cellName(opts, cell)}: accepted at ${round(r.acceptedPerSecond / f.writesPerSecond, 2)}x the floor's writes/s (${round(r.acceptedPerSecond / once.writesPerSecond, 2)}x published once)${cpu}`);
  }
  return { floor, fanOutFloor };
}

type CellResult = Awaited<ReturnType<typeof runCell>>;

async function smtpMatrix(target: MailTarget, opts: SmtpMatrixOptions, log: Log) {
  const cells: Record<string, CellResult> = {};
  if (opts.ageMs > 0) {
    await age(target, opts, log);
    await untilQuiet(target, log);
  }
  for (let i = 0; i < CELLS.length; i++) {
    cells[cellName(opts, CELLS[i]!)] = await runCell(target, opts, i, log);
    await sleep(500); // let the last deliveries' background work settle
  }
  const floors = target.writeFloor ? await floorBySize(target.writeFloor, target, opts, cells, log) : undefined;
  return { sessions: opts.sessions, cells, ...floors };
}

export type SmtpMatrixResult = Awaited<ReturnType<typeof smtpMatrix>>;

export const smtpMatrixPhase = definePhase<SmtpMatrixOptions, SmtpMatrixResult>({
  name: 'smtp',
  summary: 'SMTP submission, 10 sessions, persistent and a connection per message, 4 KiB and 100 KiB: accepted and visible over IMAP; on POST the replicated-write floor at each size',
  options: smtpMatrixOptions,
  load: true,
  ages: true,
  users: (opts) => [...Array.from({ length: opts.sessions }, (_, i) => senderName(i)), ...CELLS.map((_, i) => recipientName(i))],
  run: smtpMatrix,
  compare(post, reference) {
    const rows: Comparison[] = [];
    for (const [cell, p] of Object.entries(post.cells)) {
      const r = reference.cells[cell];
      // Every message POST accepts (and shows) needs at least one bare write of its size: the published-once floor bounds both rates.
      const once = post.fanOutFloor?.[sizeOfCell(cell)];
      const reach = (referenceRate: number | undefined) => (once && referenceRate ? { reach: round(once.writesPerSecond / referenceRate, 3) } : {});
      rows.push({ figure: `SMTP ${cell} accepted msg/s`, reference: r?.acceptedPerSecond ?? null, post: p.acceptedPerSecond, better: 'higher', goal: '>= 1.0x', ...reach(r?.acceptedPerSecond) });
      rows.push({ figure: `SMTP ${cell} visible msg/s`, reference: r?.visiblePerSecond ?? null, post: p.visiblePerSecond, better: 'higher', goal: '>= 1.0x', ...reach(r?.visiblePerSecond) });
      rows.push({ figure: `SMTP ${cell} server CPU ms/msg`, reference: r?.serverCpuMsPerOp ?? null, post: p.serverCpuMsPerOp, better: 'lower' });
    }
    for (const [size, f] of Object.entries(post.floor ?? {}))
      rows.push({ figure: `SMTP write floor, ${size} a write, writes/s (POST only)`, reference: null, post: f.writesPerSecond, better: 'higher' });
    // The bound: a bare write durable at k = 3, sent once, against the reference's acceptance of a message
    // of that size; POST's 250 needs at least that write, so POST's ratio cannot exceed this one.
    for (const [size, f] of Object.entries(post.fanOutFloor ?? {})) {
      const r = reference.cells[`persistent ${size}`];
      rows.push({ figure: `SMTP persistent ${size}: a bare write published once, writes/s, against the reference's accepted msg/s`, reference: r?.acceptedPerSecond ?? null, post: f.writesPerSecond, better: 'higher', bound: true });
    }
    return rows;
  },
});
