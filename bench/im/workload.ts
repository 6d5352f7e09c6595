// The IM benchmark's workload, the same on every target: user A sends chat messages to user B, who is
// logged in (POST: on another node than A). Measured from just before A's message is written to its
// socket to the arrival of the bytes completing it on B's connection.
//   serial  one pair, one message in flight: latency p50/p99.
//   loaded  `pairs` pairs at once, each with one message in flight (each sender waits for its
//           message to arrive before the next): messages/s = messages / (last arrival - first send),
//           and latency under that load.
// Every message is checked: it arrives once, from its sender, with its text; a message that does not
// arrive within the deadline fails the run (a lost message is not a figure).
import { randomBytes } from 'node:crypto';
import { cpuMeter, cpuPerOp, cpuText, type CpuUse, type Log } from '../mail/target';
import { round, summary } from '../stats';
import { BenchXmppClient, type XmppAccount, type XmppEndpoint } from './client';

export interface ImLogin {
  endpoint: XmppEndpoint;
  account: XmppAccount;
}

export interface ImPair {
  sender: ImLogin;
  recipient: ImLogin;
}

export interface ImTarget {
  name: string;
  /** At least `pairs` pairs; the first also runs the serial phase. */
  pairs: readonly ImPair[];
  /** CPU time used so far by the target's server processes. */
  serverCpuMs(): number;
}

export interface ImOptions {
  serialMessages: number;
  pairs: number;
  messagesPerPair: number;
  /** Messages per pair sent and waited for before anything is timed (sessions, caches, routes warm). */
  warmUpMessages: number;
  /** Bound on the wait for one message. */
  deliveryTimeoutMs: number;
}

export const imOptions = (quick: boolean): ImOptions => ({
  serialMessages: quick ? 50 : 300,
  pairs: quick ? 2 : 8,
  messagesPerPair: quick ? 25 : 100,
  warmUpMessages: quick ? 2 : 5,
  deliveryTimeoutMs: 30_000,
});

export interface LoadFigures {
  messages: number;
  seconds: number;
  perSecond: number;
  latencyMs: ReturnType<typeof summary>;
  cpu: CpuUse;
  serverCpuMsPerMessage: number | null;
}

export interface ImResult {
  serial: LoadFigures;
  loaded: LoadFigures & { pairs: number };
  /** Stanzas the target refused (type='error') during the run. */
  refused: number;
  /** Messages that arrived twice, or from someone other than the pair's sender: both should be 0. */
  duplicates: number;
  misdelivered: number;
}

/** A logged-in pair that sends one message at a time and waits for it on the other side. */
class Conversation {
  private readonly waiting = new Map<string, (atMs: number) => void>();
  private readonly seen = new Set<string>();
  duplicates = 0;
  misdelivered = 0;

  constructor(
    readonly sender: BenchXmppClient,
    readonly recipient: BenchXmppClient,
    private readonly deliveryTimeoutMs: number,
  ) {
    recipient.onMessage = (message) => {
      if (message.from.split('/')[0] !== sender.account.jid) return void this.misdelivered++;
      if (this.seen.has(message.body)) return void this.duplicates++;
      this.seen.add(message.body);
      const arrived = this.waiting.get(message.body);
      this.waiting.delete(message.body);
      arrived?.(message.atMs);
    };
  }

  /** Sends `text`; resolves with the send's start and the arrival time. */
  async exchange(text: string): Promise<{ sentAtMs: number; arrivedAtMs: number }> {
    let timer: NodeJS.Timeout | undefined;
    const arrival = new Promise<number>((resolve, reject) => {
      this.waiting.set(text, resolve);
      timer = setTimeout(() => reject(new Error(`'${text}' from ${this.sender.account.jid} did not reach ${this.recipient.account.jid} within ${this.deliveryTimeoutMs} ms${this.refusals()}`)), this.deliveryTimeoutMs);
    });
    const sentAtMs = performance.now();
    this.sender.send(this.recipient.account.jid, text);
    try {
      return { sentAtMs, arrivedAtMs: await arrival };
    } finally {
      clearTimeout(timer);
      this.waiting.delete(text);
    }
  }

  private refusals(): string {
    const refused = [...this.sender.refused, ...this.recipient.refused];
    const failed = [this.sender.error, this.recipient.error].filter((e) => e !== undefined);
    return `${refused.length ? `; refused: ${refused.map((r) => `${r.name} ${r.condition}`).join(', ')}` : ''}${failed.length ? `; ${failed.map((e) => e.message).join('; ')}` : ''}`;
  }

  async close(): Promise<void> {
    await Promise.all([this.sender.close(), this.recipient.close()]);
  }
}

async function converse(target: ImTarget, pair: ImPair, index: number, opts: ImOptions): Promise<Conversation> {
  const sender = await BenchXmppClient.login(pair.sender.endpoint, pair.sender.account, { resource: `bench-a${index}` });
  try {
    const recipient = await BenchXmppClient.login(pair.recipient.endpoint, pair.recipient.account, { resource: `bench-b${index}` });
    return new Conversation(sender, recipient, opts.deliveryTimeoutMs);
  } catch (e) {
    await sender.close();
    throw new Error(`${target.name}: pair ${index} could not log in: ${(e as Error).message}`);
  }
}

/** Each conversation sends `count` messages, one in flight each, all conversations at once. */
async function timedRun(target: ImTarget, conversations: readonly Conversation[], runId: string, count: number): Promise<Omit<LoadFigures, 'cpu' | 'serverCpuMsPerMessage'> & { cpu: () => CpuUse }> {
  const meter = cpuMeter(target);
  const latencies: number[] = [];
  let [first, last] = [Infinity, -Infinity];
  await Promise.all(
    conversations.map(async (conversation, c) => {
      for (let i = 0; i < count; i++) {
        const { sentAtMs, arrivedAtMs } = await conversation.exchange(`${runId} pair ${c} message ${i}`);
        latencies.push(arrivedAtMs - sentAtMs);
        first = Math.min(first, sentAtMs);
        last = Math.max(last, arrivedAtMs);
      }
    }),
  );
  const cpu = meter();
  const seconds = (last - first) / 1000;
  return { messages: latencies.length, seconds: round(seconds, 2), perSecond: round(latencies.length / seconds, 1), latencyMs: summary(latencies), cpu: () => cpu };
}

async function measured(target: ImTarget, conversations: readonly Conversation[], runId: string, opts: ImOptions, count: number): Promise<LoadFigures> {
  await timedRun(target, conversations, `${runId}w`, opts.warmUpMessages);
  const { cpu, ...figures } = await timedRun(target, conversations, runId, count);
  const used = cpu();
  return { ...figures, cpu: used, serverCpuMsPerMessage: cpuPerOp(used, figures.messages).serverCpuMsPerOp };
}

const describeLoad = (f: LoadFigures) =>
  `${f.messages} messages in ${f.seconds} s: ${f.perSecond} msg/s; latency p50 ${f.latencyMs.p50} ms, p99 ${f.latencyMs.p99} ms, max ${f.latencyMs.max} ms; server CPU ${f.serverCpuMsPerMessage ?? '?'} ms/message; ${cpuText(f.cpu)}`;

export async function runImWorkload(target: ImTarget, opts: ImOptions, log: Log): Promise<ImResult> {
  if (target.pairs.length < opts.pairs) throw new Error(`${target.name}: ${opts.pairs} pairs wanted, ${target.pairs.length} given`);
  const runId = `im${randomBytes(4).toString('hex')}`;
  const conversations: Conversation[] = [];
  try {
    for (const [i, pair] of target.pairs.slice(0, opts.pairs).entries()) conversations.push(await converse(target, pair, i, opts));
    const serial = await measured(target, conversations.slice(0, 1), `${runId}s`, opts, opts.serialMessages);
    log(`    ${target.name}, serial (one message in flight): ${describeLoad(serial)}`);
    const loaded = await measured(target, conversations, `${runId}l`, opts, opts.messagesPerPair);
    log(`    ${target.name}, loaded (${opts.pairs} pairs, one message in flight each): ${describeLoad(loaded)}`);
    const refused = conversations.reduce((n, c) => n + c.sender.refused.length + c.recipient.refused.length, 0);
    const duplicates = conversations.reduce((n, c) => n + c.duplicates, 0);
    const misdelivered = conversations.reduce((n, c) => n + c.misdelivered, 0);
    return { serial, loaded: { ...loaded, pairs: opts.pairs }, refused, duplicates, misdelivered };
  } finally {
    await Promise.all(conversations.map((c) => c.close()));
  }
}
