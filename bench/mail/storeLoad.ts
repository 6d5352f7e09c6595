// Phase store: STORE alone, one client and then `clients` clients (each its own user, one message in
// its INBOX), each flipping \Flagged on it and waiting for the answer, for a fixed time; every reply
// is checked (OK, and the untagged FETCH shows the flag as set or cleared). The server's CPU per
// STORE is the figure: a STORE is the smallest replicated write, the one the mixed load is full of.
// Where the target can (POST), the replicated-write floor runs beside it (writeFloor.ts): the same
// clients against three processes that do only what a write durable at k = 3 needs (a signature, three
// LMDB commits, two verifications, the lab's NATS servers between them). POST's CPU per STORE over the
// floor's is how much POST's own work adds to what the machine must do anyway.
import { round, summary } from '../stats';
import { appendCommand, loggedIn } from './fill';
import { mailboxMessage } from './messages';
import { definePhase, type BenchSize } from './phase';
import { expectOk, fetchResponses, flagsOf, type ImapReply, type RawImapClient } from './rawImap';
import { clientsText, type CpuUse, cpuMeter, cpuPerOp, cpuText, imapOf, perOpText, untilQuiet, userNamed, warnIfClientBound, type Log, type MailTarget } from './target';
import type { WriteFloorRun } from './writeFloor';

export interface StoreLoadOptions {
  /** Client counts, one run each, in order. */
  clientCounts: number[];
  durationMs: number;
  /** The untimed STOREs before each run last this long instead (`--age`), when longer than the warm-up. */
  ageMs: number;
}

export function storeLoadOptions(size: BenchSize): StoreLoadOptions {
  return { clientCounts: size === 'tiny' ? [1, 2] : [1, 10], durationMs: { tiny: 1000, quick: 4000, full: 15_000 }[size], ageMs: 0 };
}

const clientName = (i: number) => `store${String(i + 1).padStart(2, '0')}`;
const EXAMPLES_KEPT = 5;
/** The untimed STOREs before each run last this long, or the run's own length when shorter. */
const WARM_UP_MS = 3000;

interface StoreRun {
  clients: number;
  stores: number;
  storesPerSecond: number;
  latencyMs: ReturnType<typeof summary>;
  errors: number;
  errorExamples: string[];
  serverCpuMsPerOp: number | null;
  clientCpuMsPerOp: number;
  cpu: CpuUse;
}

/** Why a STORE's reply does not show \Flagged on message 1 as set (or cleared); undefined when it does. */
export function flagProblem(reply: ImapReply, set: boolean): string | undefined {
  if (reply.status !== 'OK') return `${reply.status} ${reply.text}`;
  const fetched = fetchResponses(reply.untagged).filter((f) => f.seq === 1);
  if (fetched.length === 0) return 'no untagged FETCH for message 1';
  const flags = flagsOf(fetched.at(-1)!.items['FLAGS']);
  if (!flags) return 'the untagged FETCH carries no FLAGS';
  return flags.includes('\\Flagged') === set ? undefined : `\\Flagged ${set ? 'missing after +FLAGS' : 'still there after -FLAGS'}: (${flags.join(' ')})`;
}

/** A session on the user's INBOX holding exactly one message, \Flagged cleared. */
async function prepared(target: MailTarget, localPart: string): Promise<RawImapClient> {
  const user = userNamed(target, localPart);
  const session = await loggedIn(imapOf(target, user), user);
  const selected = expectOk(await session.command('SELECT INBOX'), 'SELECT INBOX');
  if (!selected.untagged.some((u) => /^\* [1-9]\d* EXISTS/i.test(u.parts[0]!.toString('latin1')))) {
    expectOk(await session.command(appendCommand('INBOX', []), mailboxMessage(0, user.address, 2048)), 'APPEND');
    expectOk(await session.command('SELECT INBOX'), 'SELECT INBOX');
  }
  expectOk(await session.command('STORE 1 -FLAGS.SILENT (\\Flagged)'), 'STORE');
  return session;
}

/**
 * Flips \Flagged on message 1 in every session, each waiting for its answer, for `durationMs`; the
 * replies checked. `flagged[i]`: whether session i's message has the flag now (kept between calls: a
 * STORE that changes nothing may come back without a FETCH).
 */
async function flipFlags(sessions: readonly RawImapClient[], flagged: boolean[], durationMs: number, tally: { latencies: number[]; errors: number; examples: string[] }): Promise<void> {
  const t0 = performance.now();
  await Promise.all(
    sessions.map(async (session, i) => {
      while (performance.now() - t0 < durationMs) {
        const set = (flagged[i] = !flagged[i]);
        const reply = await session.command(`STORE 1 ${set ? '+' : '-'}FLAGS (\\Flagged)`);
        tally.latencies.push(reply.ms);
        const problem = flagProblem(reply, set);
        if (!problem) continue;
        tally.errors++;
        if (tally.examples.length < EXAMPLES_KEPT) tally.examples.push(`${clientName(i)}: ${problem}`);
      }
    }),
  );
}

async function storeRun(target: MailTarget, clients: number, opts: StoreLoadOptions, log: Log): Promise<StoreRun> {
  const { durationMs } = opts;
  const sessions = await Promise.all(Array.from({ length: clients }, (_, i) => prepared(target, clientName(i))));
  try {
    // Untimed first: the server's code paths compiled and its caches warm, as in the mixed load after its fill.
    // Its wrong replies count; its latencies do not.
    const tally = { latencies: [] as number[], errors: 0, examples: [] as string[] };
    const flagged = sessions.map(() => false);
    const warmUpMs = Math.max(Math.min(durationMs, WARM_UP_MS), opts.ageMs);
    await flipFlags(sessions, flagged, warmUpMs, tally);
    if (opts.ageMs > 0) log(`    aged: ${tally.latencies.length} STOREs, ${clientsText(clients)}, in ${warmUpMs / 1000} s, untimed; wrong replies so far: ${tally.errors}`);
    await untilQuiet(target, log);
    tally.latencies = [];
    const meter = cpuMeter(target);
    const t0 = performance.now();
    await flipFlags(sessions, flagged, durationMs, tally);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = meter();
    const { latencies, errors } = tally;
    const run = { clients, stores: latencies.length, storesPerSecond: round(latencies.length / seconds, 1), latencyMs: summary(latencies), errors, errorExamples: tally.examples, ...cpuPerOp(cpu, latencies.length), cpu };
    log(`    STORE, ${clientsText(clients)}: ${run.storesPerSecond} commands/s (${run.stores}), p50 ${run.latencyMs.p50} ms, p99 ${run.latencyMs.p99} ms; ${cpuText(cpu)}${perOpText(run)}; errors: ${errors}`);
    warnIfClientBound(cpu, `STORE, ${clientsText(clients)}`, log);
    return run;
  } finally {
    await Promise.all(sessions.map((s) => s.close()));
  }
}

async function storeLoad(target: MailTarget, opts: StoreLoadOptions, log: Log) {
  const runs: StoreRun[] = [];
  for (const clients of opts.clientCounts) runs.push(await storeRun(target, clients, opts, log));
  let floor: WriteFloorRun[] | undefined;
  if (target.writeFloor) {
    await untilQuiet(target, log);
    floor = await target.writeFloor(opts, log);
    for (const f of floor) {
      const run = runs.find((r) => r.clients === f.clients);
      if (run?.serverCpuMsPerOp) log(`    ${clientsText(f.clients)}: server CPU per STORE is ${round(run.serverCpuMsPerOp / f.serverCpuMsPerWrite, 2)}x the floor's per write`);
    }
  }
  return { runs, ...(floor ? { floor } : {}) };
}

export type StoreLoadResult = Awaited<ReturnType<typeof storeLoad>>;

export const storeLoadPhase = definePhase<StoreLoadOptions, StoreLoadResult>({
  name: 'store',
  summary: 'STORE alone, 1 and 10 clients (each its own user): server CPU per STORE, and on POST the replicated-write floor beside it',
  options: storeLoadOptions,
  load: true,
  ages: true,
  users: (opts) => Array.from({ length: Math.max(...opts.clientCounts) }, (_, i) => clientName(i)),
  run: storeLoad,
  compare: (post, reference) =>
    post.runs.flatMap((p) => {
      const r = reference.runs.find((x) => x.clients === p.clients);
      const label = `STORE ${clientsText(p.clients)}`;
      return [
        { figure: `${label} commands/s`, reference: r?.storesPerSecond ?? null, post: p.storesPerSecond, better: 'higher' as const },
        { figure: `${label} server CPU ms/cmd`, reference: r?.serverCpuMsPerOp ?? null, post: p.serverCpuMsPerOp, better: 'lower' as const },
      ];
    }),
  problems: (r) => r.runs.filter((x) => x.errors > 0).map((x) => `STORE, ${clientsText(x.clients)}: ${x.errors} wrong replies, e.g. ${x.errorExamples[0]}`),
});
