// Phase mixed: `clients` clients for a fixed time, each its own user (so no client ever sees another's
// changes: there is no cross-client interference to model), each running a seeded random mix of
// LOGIN, SELECT, FETCH, STORE, EXPUNGE, APPEND and LOGOUT on its INBOX with the raw client, and
// tracking its mailbox (MailboxModel) to check every reply. An error (a wrong FLAGS, a lost message,
// an EXPUNGE of the wrong UIDs, a UID that changes, a NO, a dropped connection) is counted, the
// client resynchronises from the server and goes on; a valid run has 0 errors.
import { round, summary } from '../stats';
import { fillFolder } from './fill';
import { MailboxModel, type ModelMessage } from './mailboxModel';
import { mailboxFlags, mailboxMessage, mailboxMessageId, mailboxMessageIndex } from './messages';
import { definePhase, type BenchSize } from './phase';
import { fetchResponses, quote, RawImapClient, type ImapReply } from './rawImap';
import { cpuMeter, cpuPerOp, cpuText, imapOf, perOpText, seededRandom, untilQuiet, userNamed, warnIfClientBound, type Log, type MailTarget, type MailUser } from './target';

export interface MixedOptions {
  clients: number;
  durationMs: number;
  /** Messages in each INBOX before the clock starts. */
  initialMessages: number;
  messageBytes: number;
  /** Seed of the command mix (client i uses seed + i). */
  seed: number;
  /** The same mix run this long first, untimed (`--age`): its wrong replies count, its latencies do not. */
  ageMs: number;
}

export function mixedOptions(size: BenchSize): MixedOptions {
  return {
    clients: size === 'tiny' ? 3 : 10,
    durationMs: { tiny: 2000, quick: 5000, full: 20_000 }[size],
    initialMessages: size === 'tiny' ? 10 : 30,
    messageBytes: 4096,
    seed: 1,
    ageMs: 0,
  };
}

const clientName = (i: number) => `mixed${String(i + 1).padStart(2, '0')}`;
const COMMANDS = ['LOGIN', 'SELECT', 'FETCH', 'STORE', 'EXPUNGE', 'APPEND', 'LOGOUT'] as const;
type Command = (typeof COMMANDS)[number];
/** The mix, by cumulative probability: reads most, then flag changes, appends, expunges, reselects, reconnects. */
const MIX: [number, 'FETCH' | 'STORE' | 'APPEND' | 'EXPUNGE' | 'SELECT' | 'LOGOUT'][] = [
  [0.35, 'FETCH'],
  [0.6, 'STORE'],
  [0.72, 'APPEND'],
  [0.8, 'EXPUNGE'],
  [0.9, 'SELECT'],
  [1, 'LOGOUT'],
];
const STORE_FLAGS = ['\\Seen', '\\Flagged', '\\Answered', '\\Draft'];
const EXAMPLES_KEPT = 10;

interface Tally {
  latencyMs: Record<Command, number[]>;
  errors: number;
  examples: string[];
}

/** One client: its user, its session (absent between LOGOUT and the next LOGIN), its model. */
class MixedClient {
  private session: RawImapClient | undefined;
  private readonly model = new MailboxModel();
  private readonly known = new Map<string, { size: number }>();
  private nextMessage: number;
  private readonly random: () => number;

  constructor(
    private readonly target: MailTarget,
    private readonly user: MailUser,
    private readonly opts: MixedOptions,
    seed: number,
    private readonly tally: Tally,
  ) {
    this.random = seededRandom(seed);
    this.nextMessage = opts.initialMessages;
    for (let i = 0; i < opts.initialMessages; i++) this.known.set(this.messageId(i), { size: this.message(i).length });
  }

  private message(i: number): Buffer {
    return mailboxMessage(i, this.user.address, this.opts.messageBytes);
  }

  private messageId(i: number): string {
    return mailboxMessageId(i, this.user.address);
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  /** Sends a command; `name` records its time under that command (undefined: an untimed helper). A NO or BAD throws. */
  private async command(name: Command | undefined, text: string, literal?: Buffer): Promise<ImapReply> {
    const reply = await this.session!.command(text, literal);
    if (name) this.tally.latencyMs[name].push(reply.ms);
    if (reply.status !== 'OK') throw new Error(`${name ?? text.split(' ')[0]}: ${reply.status} ${reply.text}`.slice(0, 200));
    return reply;
  }

  private countErrors(): void {
    const errors = this.model.errors.splice(0);
    this.tally.errors += errors.length;
    for (const e of errors) if (this.tally.examples.length < EXAMPLES_KEPT) this.tally.examples.push(`${this.user.address}: ${e}`);
  }

  /** Logs in and selects INBOX (both timed). */
  private async connect(): Promise<void> {
    this.session = await RawImapClient.connect(imapOf(this.target, this.user));
    await this.command('LOGIN', `LOGIN ${quote(this.user.address)} ${quote(this.user.password)}`);
    await this.select();
  }

  private async select(): Promise<void> {
    this.model.applySelect(await this.command('SELECT', 'SELECT INBOX'));
  }

  /** A fresh session, untimed, and the model taken from what the server says now. */
  private async resyncFromServer(): Promise<void> {
    const session = await RawImapClient.connect(imapOf(this.target, this.user));
    this.session = session;
    try {
      await this.command(undefined, `LOGIN ${quote(this.user.address)} ${quote(this.user.password)}`);
      const selected = await this.command(undefined, 'SELECT INBOX');
      const fetched = fetchResponses((await this.command(undefined, 'FETCH 1:* (UID FLAGS ENVELOPE)')).untagged);
      this.model.resync(fetched, this.known);
      this.model.applySelect(selected);
    } catch (error) {
      session.destroy();
      this.session = undefined;
      throw error;
    }
  }

  /** Startup: the INBOX as filled, every message the one appended, with its flags. */
  async start(): Promise<void> {
    await this.resyncFromServer();
    const flagsAsAppended = (m: ModelMessage) => [...m.flags].sort().join(' ') === mailboxFlags(mailboxMessageIndex(m.messageId) ?? -1).sort().join(' ');
    if (this.model.view.length !== this.opts.initialMessages || !this.model.view.every((m) => m.messageId && flagsAsAppended(m))) {
      this.model.errors.push(`INBOX holds ${this.model.view.length} messages after the fill, expected ${this.opts.initialMessages} with the flags appended`);
    }
    this.countErrors();
  }

  /** Runs the mix until `endAtMs`; the session is closed at the end unless it is to go on (`keepSession`). */
  async run(endAtMs: number, keepSession = false): Promise<void> {
    while (performance.now() < endAtMs) {
      try {
        if (!this.session) await this.connect();
        await this.step();
      } catch (error) {
        this.model.errors.push((error as Error).message);
      }
      if (this.model.errors.length > 0) {
        this.countErrors();
        await this.recover();
      }
    }
    if (!keepSession) await this.session?.close();
  }

  private async step(): Promise<void> {
    const r = this.random();
    let op = MIX.find(([p]) => r < p)![1];
    const view = this.model.view;
    if (view.length === 0 && (op === 'FETCH' || op === 'STORE' || op === 'EXPUNGE')) op = 'APPEND';
    switch (op) {
      case 'FETCH':
        return this.fetch();
      case 'STORE': {
        const message = this.pick(view);
        const flag = this.pick(STORE_FLAGS);
        const add = !message.flags.has(flag);
        if (add) message.flags.add(flag);
        else message.flags.delete(flag);
        const reply = await this.command('STORE', `UID STORE ${message.uid} ${add ? '+' : '-'}FLAGS (${flag})`);
        this.model.checkStored(this.model.applyUntagged('STORE', reply.untagged, false).fetched, message);
        return;
      }
      case 'APPEND': {
        const i = this.nextMessage++;
        const raw = this.message(i);
        const flags = STORE_FLAGS.filter(() => this.random() < 0.25);
        const reply = await this.command('APPEND', `APPEND INBOX (${flags.join(' ')})`, raw);
        this.known.set(this.messageId(i), { size: raw.length });
        this.model.applyAppend(reply, { flags: new Set(flags), size: raw.length, messageId: this.messageId(i) });
        this.model.applyUntagged('APPEND', reply.untagged, false);
        return;
      }
      case 'EXPUNGE': {
        // Mark one to three messages \Deleted (STOREs of the mix), then EXPUNGE: exactly those must go.
        const marks = 1 + Math.floor(this.random() * 3);
        for (let k = 0; k < marks && view.some((m) => !m.flags.has('\\Deleted')); k++) {
          const message = this.pick(view.filter((m) => !m.flags.has('\\Deleted')));
          message.flags.add('\\Deleted');
          const reply = await this.command('STORE', `UID STORE ${message.uid} +FLAGS (\\Deleted)`);
          this.model.checkStored(this.model.applyUntagged('STORE', reply.untagged, false).fetched, message);
        }
        const reply = await this.command('EXPUNGE', 'EXPUNGE');
        const before = [...this.model.view, ...this.model.pending];
        const { expunged } = this.model.applyUntagged('EXPUNGE', reply.untagged, true);
        this.model.checkExpunged(
          before.filter((m) => m.flags.has('\\Deleted')),
          expunged,
        );
        return;
      }
      case 'SELECT':
        return this.select();
      case 'LOGOUT': {
        const reply = await this.command('LOGOUT', 'LOGOUT');
        if (!reply.untagged.some((u) => u.parts[0]!.toString('latin1', 0, 5).toUpperCase() === '* BYE')) this.model.errors.push('LOGOUT: no untagged BYE');
        this.session!.destroy();
        this.session = undefined;
        return;
      }
    }
  }

  private async fetch(): Promise<void> {
    const view = this.model.view;
    const kind = this.random();
    if (kind < 0.5) {
      const reply = await this.command('FETCH', 'FETCH 1:* (UID FLAGS)');
      this.model.checkFetchAll(this.model.applyUntagged('FETCH', reply.untagged, false).fetched);
    } else if (kind < 0.8) {
      const from = 1 + Math.floor(this.random() * view.length);
      const to = Math.min(view.length, from + 19);
      const reply = await this.command('FETCH', `FETCH ${from}:${to} (UID FLAGS ENVELOPE)`);
      const { fetched } = this.model.applyUntagged('FETCH', reply.untagged, false);
      this.model.checkEnvelopes(
        fetched.filter((f) => f.seq >= from && f.seq <= to),
        from,
        to,
      );
    } else {
      const message = this.pick(view);
      const reply = await this.command('FETCH', `UID FETCH ${message.uid} (UID BODY.PEEK[])`);
      this.model.checkBody(this.model.applyUntagged('FETCH', reply.untagged, false).fetched, message);
    }
  }

  /** After an error: start over from what the server says now (that is the new truth, not a new error). */
  private async recover(): Promise<void> {
    await this.session?.close();
    this.session = undefined;
    try {
      await this.resyncFromServer();
      this.model.errors.splice(0);
    } catch (error) {
      this.model.errors.push(`reconnecting after an error: ${(error as Error).message}`);
      this.countErrors();
    }
  }
}

async function mixedWorkload(target: MailTarget, opts: MixedOptions, log: Log) {
  const users = Array.from({ length: opts.clients }, (_, i) => userNamed(target, clientName(i)));
  const fill = { messages: 0, seconds: 0 };
  for (const user of users) {
    const filled = await fillFolder({
      imap: imapOf(target, user),
      user,
      folder: 'INBOX',
      from: 0,
      to: opts.initialMessages,
      message: (i) => ({ raw: mailboxMessage(i, user.address, opts.messageBytes), flags: mailboxFlags(i) }),
      connections: 2,
    });
    fill.messages += filled.messages;
    fill.seconds += filled.seconds;
  }
  const tally: Tally = { latencyMs: Object.fromEntries(COMMANDS.map((c) => [c, []])) as unknown as Record<Command, number[]>, errors: 0, examples: [] };
  const clients = users.map((user, i) => new MixedClient(target, user, opts, opts.seed + i, tally));
  await Promise.all(clients.map((c) => c.start()));
  if (opts.ageMs > 0) {
    const agedFrom = performance.now();
    await Promise.all(clients.map((c) => c.run(agedFrom + opts.ageMs, true)));
    const aged = Object.values(tally.latencyMs).reduce((n, l) => n + l.length, 0);
    log(`    aged: ${aged} commands of the mix in ${round((performance.now() - agedFrom) / 1000, 1)} s, untimed; consistency errors so far: ${tally.errors}`);
    for (const latencies of Object.values(tally.latencyMs)) latencies.length = 0;
    await untilQuiet(target, log);
  }
  const meter = cpuMeter(target);
  const t0 = performance.now();
  await Promise.all(clients.map((c) => c.run(t0 + opts.durationMs)));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = meter();
  const commands = Object.values(tally.latencyMs).reduce((n, l) => n + l.length, 0);
  const perCommand = Object.fromEntries(COMMANDS.map((c) => [c, summary(tally.latencyMs[c])]));
  const result = {
    clients: opts.clients,
    seed: opts.seed,
    seconds: round(seconds, 2),
    commands,
    commandsPerSecond: round(commands / seconds, 1),
    perCommand,
    errors: tally.errors,
    errorExamples: tally.examples,
    ...cpuPerOp(cpu, commands),
    cpu,
  };
  log(`    mixed: ${opts.clients} clients, ${result.seconds} s, seed ${opts.seed}: ${result.commandsPerSecond} commands/s (${commands}); ${cpuText(cpu)}${perOpText(result)}`);
  log(`      ${COMMANDS.map((c) => `${c} n ${perCommand[c]!.n} avg ${perCommand[c]!.mean} p99 ${perCommand[c]!.p99} ms`).join('; ')}`);
  log(`      consistency errors: ${tally.errors}${tally.errors > 0 ? ` (INVALID RUN), e.g. ${tally.examples.slice(0, 3).join(' | ')}` : ''}`);
  warnIfClientBound(cpu, 'mixed', log);
  return result;
}

export type MixedResult = Awaited<ReturnType<typeof mixedWorkload>>;

export const mixedWorkloadPhase = definePhase<MixedOptions, MixedResult>({
  name: 'mixed',
  summary: '10 clients, each its own user: seeded LOGIN/SELECT/FETCH/STORE/EXPUNGE/APPEND/LOGOUT mix, every reply checked',
  options: mixedOptions,
  load: true,
  ages: true,
  users: (opts) => Array.from({ length: opts.clients }, (_, i) => clientName(i)),
  run: mixedWorkload,
  compare: (post, reference) => [
    { figure: 'mixed commands/s', reference: reference.commandsPerSecond, post: post.commandsPerSecond, better: 'higher', goal: '>= 1.0x' },
    { figure: 'mixed server CPU ms/cmd', reference: reference.serverCpuMsPerOp, post: post.serverCpuMsPerOp, better: 'lower' },
    ...COMMANDS.flatMap((c) => [
      { figure: `mixed ${c} avg ms`, reference: reference.perCommand[c]!.mean, post: post.perCommand[c]!.mean, better: 'lower' as const },
      { figure: `mixed ${c} p99 ms`, reference: reference.perCommand[c]!.p99, post: post.perCommand[c]!.p99, better: 'lower' as const },
    ]),
  ],
  problems: (r) => (r.errors > 0 ? [`${r.errors} consistency errors, e.g. ${r.errorExamples[0]}`] : []),
});
