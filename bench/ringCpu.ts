// CPU of the whole ring per command, on the simulator (issue 11): five nodes, k = 3, every node in this
// process, so the figure is the protocol's own work (JavaScript and libsodium) on every node a command
// touches, the hosting node and the replicas, without sockets, TLS, the NATS server or LMDB (the
// simulated network and in-memory disks cost little). Commands one at a time, as a client that waits
// for each answer:
//   STORE       +FLAGS on one message: one replicated head write
//   APPEND      4 KiB: the message's block and a head
//   SUBMIT      an SMTP submission of 4 KiB (authentication's fast check, the inline notification to
//               the recipient's drop replicas) to a user of another node, and that node's delivery
//               (its block, its INBOX head, the receipts), all counted
// Process CPU time per command, median over rounds (after one that is not counted), less the idle ring's upkeep over the simulated time
// the commands took (measured each round). Baseline in the same run: the signatures a
// replicated write cannot do without, one Ed25519 signature and k verifications over a head-sized
// message (the writer signs; each replica verifies).
// The lab's figures are larger: every message between processes costs socket I/O, TLS and a NATS hop
// there, and every replica a durable commit. This one moves only when the protocol's own work does,
// with far less noise than a throughput on the shared machine: the yardstick for a change of a few
// per cent.
//   npx tsx bench/ringCpu.ts [--quick] [--json] [--seed N]
import { pathToFileURL } from 'node:url';
import { SignatureBaseline } from '../crypto/signatureBaseline';
import type { MailUserSession } from '../mail/backend';
import { rawMail } from '../scenarios/env/env';
import { submitAs } from '../scenarios/env/simEnv';
import { SimCluster } from '../scenarios/sim/cluster';
import { type Bench, percentile, round } from './stats';

const NODES = 5;
const K = 3;
/** The head a STORE writes on this ring is about this big (measured: 1.6 KiB median frame). */
const HEAD_BYTES = 1600;
const MESSAGE_BODY_BYTES = 4096;
/** Simulated time the idle ring is measured over, each round. */
const IDLE_SIM_MS = 2_000;
/** How often the recipient's deliveries are counted while the last ones finish (simulated). */
const DELIVERY_CHECK_SIM_MS = 20;

export interface RingCpuResult {
  readonly seed: string;
  readonly rounds: number;
  readonly perRound: number;
  /** Median CPU (user + system) of the whole ring per command, in microseconds. */
  readonly commandUs: Readonly<Record<'STORE' | 'APPEND' | 'SUBMIT', number>>;
  /** One Ed25519 signature and K verifications of a HEAD_BYTES message, in microseconds. */
  readonly baselineUs: number;
}

const cpuUs = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return used.user + used.system;
};

function signatureBaseline(count: number): number {
  const baseline = new SignatureBaseline(new Uint8Array(32).fill(7));
  const head = Buffer.alloc(HEAD_BYTES, 3);
  const since = process.cpuUsage();
  for (let i = 0; i < count; i++) {
    head.writeUInt32BE(i, 0);
    if (!baseline.run(head, K)) throw new Error('ring-cpu: the baseline signature did not verify');
  }
  return cpuUs(since) / count;
}

export async function runRingCpu(opts: { quick: boolean; log: (line: string) => void; seed?: string; size?: { rounds: number; perRound: number } }): Promise<RingCpuResult> {
  const seed = opts.seed ?? '11';
  const { rounds, perRound } = opts.size ?? (opts.quick ? { rounds: 3, perRound: 100 } : { rounds: 5, perRound: 300 });
  const log = opts.log;
  log(`ring-cpu: seed ${seed}; ${NODES} simulated nodes, k = ${K}, in this process; ${rounds} rounds of ${perRound} commands each, one at a time`);
  const cluster = await SimCluster.create({ seed, replicationFactor: K });
  try {
    await cluster.addNodes(NODES, 50);
    await cluster.runUntil(() => cluster.allReady(), 20_000);
    const [home, other] = [cluster.live()[1]!, cluster.live()[3]!];
    await cluster.addUser('carol@sim.example', 'c', home);
    await cluster.addUser('dave@sim.example', 'd', other);
    await cluster.runFor(5_000);
    const session: MailUserSession = await cluster.settle(home.mail.authenticator.authenticate('carol@sim.example', 'c'));
    const body = 'x'.repeat(MESSAGE_BODY_BYTES - 2) + '\r\n';
    const mail = (from: string, to: string, subject: string) => rawMail(from, to, subject, cluster.clock.now(), body);
    const uids: number[] = [];
    for (let i = 0; i < 5; i++) uids.push((await cluster.settle(session.append('INBOX', mail('bob@sim.example', 'carol@sim.example', `seed ${i}`), [], cluster.clock.now()))).uid);
    await cluster.runFor(2_000);

    // The ring's own upkeep (heartbeats, timers) costs CPU for every simulated second, whatever the
    // commands do: measured idle in each round and taken off each command's figure for the simulated
    // time its calls took.
    const idleUsPerSimMs = async () => {
      const since = process.cpuUsage();
      await cluster.runFor(IDLE_SIM_MS);
      return cpuUs(since) / IDLE_SIM_MS;
    };
    /** CPU microseconds per command, `count` commands one after another, then `settle` (what they left running). */
    const perCommand = async (count: number, idleRate: number, run: (i: number) => Promise<unknown>, settle?: () => Promise<void>) => {
      const [since, simAt] = [process.cpuUsage(), cluster.clock.now()];
      for (let i = 0; i < count; i++) await run(i);
      await settle?.();
      return (cpuUs(since) - idleRate * (cluster.clock.now() - simAt)) / count;
    };
    // Deliveries on the recipient's node, from its /metrics (read every few simulated ms, not after every event).
    const deliveredOnOther = () => Number(/^post_notify_delivered_total (\d+)$/m.exec(other.metrics.render())?.[1] ?? 0);
    const deliveredBefore = deliveredOnOther();
    let sent = 0;
    let submitted = 0;
    const commands: Record<'STORE' | 'APPEND' | 'SUBMIT', { run: (i: number) => Promise<unknown>; settle?: () => Promise<void> }> = {
      STORE: { run: (i) => cluster.settle(session.storeFlags('INBOX', [uids[i % uids.length]!], { mode: i % 2 ? 'remove' : 'add', flags: ['\\Flagged'] })) },
      APPEND: { run: () => cluster.settle(session.append('Trash', mail('bob@sim.example', 'carol@sim.example', `append ${sent++}`), [], cluster.clock.now())) },
      // The recipient's node delivers after the 250: counted until the last delivery of the round.
      SUBMIT: {
        run: () => {
          const n = sent++;
          submitted++;
          const who = { from: 'carol@sim.example', password: 'c', to: 'dave@sim.example', key: `ring-cpu ${n}`, helo: 'bench' };
          return cluster.settle(submitAs(home, who, mail('carol@sim.example', 'dave@sim.example', `submit ${n}`), () => cluster.clock.now()));
        },
        settle: async () => {
          const took = await cluster.runUntilChecked(() => deliveredOnOther() - deliveredBefore >= submitted, { everyMs: DELIVERY_CHECK_SIM_MS, maxMs: 30_000 });
          if (took === undefined) throw new Error(`ring-cpu: ${deliveredOnOther() - deliveredBefore} of ${submitted} submitted mails delivered 30 s (simulated) after the last`);
        },
      },
    };
    const samples: Record<keyof typeof commands | 'baseline', number[]> = { STORE: [], APPEND: [], SUBMIT: [], baseline: [] };
    // A round first that is not counted: compiled code, caches and the logs' pending batches settle.
    for (let pass = -1; pass < rounds; pass++) {
      const idleRate = await idleUsPerSimMs();
      for (const [name, { run, settle }] of Object.entries(commands) as [keyof typeof commands, (typeof commands)['STORE']][]) {
        const us = await perCommand(perRound, idleRate, run, settle);
        if (pass >= 0) samples[name].push(us);
      }
      const signaturesUs = signatureBaseline(perRound);
      if (pass >= 0) samples.baseline.push(signaturesUs);
    }
    // The figure includes the deliveries only if they happened: every submitted mail must be in the INBOX.
    const delivered = (await cluster.settle(other.mail.authenticator.authenticate('dave@sim.example', 'd').then((s) => s.folderStatus('INBOX')))).messages;
    if (delivered < submitted) throw new Error(`ring-cpu: ${delivered} of ${submitted} submitted mails reached the recipient's INBOX`);
    const median = (xs: readonly number[]) => round(percentile(xs, 50), 0);
    const commandUs = { STORE: median(samples.STORE), APPEND: median(samples.APPEND), SUBMIT: median(samples.SUBMIT) };
    const baselineUs = median(samples.baseline);
    for (const [name, us] of Object.entries(commandUs)) log(`  ${name.padEnd(7)} ${String(us).padStart(6)} us of CPU per command, the whole ring (${round(us / baselineUs, 1)}x the baseline)`);
    log(`  baseline ${String(baselineUs).padStart(5)} us: one Ed25519 signature and ${K} verifications of ${HEAD_BYTES} bytes`);
    return { seed, rounds, perRound, commandUs, baselineUs };
  } finally {
    await cluster.stop();
  }
}

export const ringCpuBench: Bench = {
  name: 'ring-cpu',
  summary: 'CPU of the whole ring per STORE, APPEND and SMTP submission on the simulator (the protocol\'s own work, without sockets, TLS, NATS or LMDB), next to the signatures a replicated write needs',
  run: runRingCpu,
};

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const json = process.argv.includes('--json');
  const log = json ? (line: string) => console.error(line) : (line: string) => console.log(line);
  const seedAt = process.argv.indexOf('--seed');
  const result = await runRingCpu({ quick: process.argv.includes('--quick'), log, ...(seedAt > 0 ? { seed: process.argv[seedAt + 1]! } : {}) });
  if (json) console.log(JSON.stringify(result));
}
