// Phase e2e (issue 5): from the start of an SMTP submission (nodemailer, AUTH PLAIN) to the moment
// a session of the recipient on INBOX receives the EXISTS that includes the message (identified
// afterwards by its Message-ID with FETCH ENVELOPE, not counted). Two sessions watch: one in IDLE
// (what a mail client does; the headline figure) and one sending NOOP every 5 ms (when the message is
// visible at all: Dovecot, for one, holds IDLE notifications ~0.5 s).
//   serial   one message in flight: latency p50/p99.
//   loaded   `submitters` SMTP connections submitting back to back; throughput = messages / time
//            from the first submission's start to the last message seen; latency under that load.
import { randomBytes } from 'node:crypto';
import type { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { round, summary } from '../stats';
import { closeClient, imapClient } from './imapflowClient';
import { e2eMessage } from './messages';
import { definePhase, type BenchSize } from './phase';
import { cpuMeter, cpuText, sleep, userNamed, warnIfClientBound, type Log, type MailTarget, type MailUser } from './target';

export interface EndToEndOptions {
  /** Messages of the serial (one in flight) phase. */
  serialMessages: number;
  /** Messages of the loaded phase. */
  loadedMessages: number;
  /** SMTP connections submitting in parallel in the loaded phase. */
  submitters: number;
  /** Size of each message, headers included. */
  messageBytes: number;
  /** Bound on waiting for submitted messages to be seen over IMAP, per phase. */
  deliveryTimeoutMs: number;
}

export function endToEndOptions(size: BenchSize): EndToEndOptions {
  return {
    serialMessages: { tiny: 5, quick: 50, full: 200 }[size],
    loadedMessages: { tiny: 20, quick: 200, full: 1000 }[size],
    submitters: size === 'tiny' ? 2 : 8,
    messageBytes: 4096,
    deliveryTimeoutMs: size === 'full' ? 300_000 : 120_000,
  };
}

export function smtpSubmitter(target: { smtp: MailTarget['smtp'] }, user: MailUser) {
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
export class InboxWatcher {
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

  static async open(target: Pick<MailTarget, 'name' | 'imap'>, recipient: MailUser, mode: 'idle' | 'poll'): Promise<InboxWatcher> {
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

export async function submit(transport: ReturnType<typeof smtpSubmitter>, target: Pick<MailTarget, 'name' | 'smtp'>, from: string, to: string, raw: Buffer): Promise<void> {
  try {
    await transport.sendMail({ envelope: { from, to: [to] }, raw });
  } catch (error) {
    throw new Error(`${target.name}: SMTP submission at ${target.smtp.host}:${target.smtp.port} failed: ${(error as Error).message}`);
  }
}

async function endToEnd(target: MailTarget, opts: EndToEndOptions, log: Log) {
  const [sender, recipient] = [userNamed(target, 'sender'), userNamed(target, 'recipient')];
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
    warnIfClientBound(cpu, 'e2e loaded', log);
    return { serial, loaded };
  } finally {
    for (const transport of submitters) transport.close();
    await Promise.all(watchers.map((w) => w.close()));
  }
}

export type EndToEndResult = Awaited<ReturnType<typeof endToEnd>>;

export const endToEndPhase = definePhase<EndToEndOptions, EndToEndResult>({
  name: 'e2e',
  summary: 'SMTP submission to EXISTS on the recipient\'s IMAP session (IDLE and NOOP poll), one in flight and loaded',
  options: endToEndOptions,
  users: () => ['sender', 'recipient'],
  run: endToEnd,
  compare: (post, reference) => {
    const n = reference.loaded.submitters;
    const row = (figure: string, pick: (r: EndToEndResult) => number, better: 'higher' | 'lower') => ({ figure, reference: pick(reference), post: pick(post), better });
    return [
      row(`SMTP accepted msg/s (${n})`, (r) => r.loaded.submittedPerSecond, 'higher'),
      row(`e2e msg/s (${n}, IDLE)`, (r) => r.loaded.messagesPerSecond, 'higher'),
      row(`e2e msg/s (${n}, NOOP poll)`, (r) => r.loaded.pollMessagesPerSecond, 'higher'),
      row('e2e p50 ms (1, IDLE)', (r) => r.serial.latencyMs.p50, 'lower'),
      row('e2e p99 ms (1, IDLE)', (r) => r.serial.latencyMs.p99, 'lower'),
      row('e2e p50 ms (1, NOOP poll)', (r) => r.serial.pollLatencyMs.p50, 'lower'),
      row('e2e p99 ms (1, NOOP poll)', (r) => r.serial.pollLatencyMs.p99, 'lower'),
      row(`e2e p50 ms (${n}, IDLE)`, (r) => r.loaded.latencyMs.p50, 'lower'),
      row(`e2e p99 ms (${n}, IDLE)`, (r) => r.loaded.latencyMs.p99, 'lower'),
      row(`e2e p50 ms (${n}, NOOP poll)`, (r) => r.loaded.pollLatencyMs.p50, 'lower'),
      row(`e2e p99 ms (${n}, NOOP poll)`, (r) => r.loaded.pollLatencyMs.p99, 'lower'),
    ];
  },
});
