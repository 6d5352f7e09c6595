// IM benchmark (issue 17): chat messages from one user to another, from the send to the moment the
// recipient's client has them, on Debian's Prosody (the reference, started here on loopback) and on
// POST (a real local lab, each pair's users on two different nodes), one after the other in the same
// run, with the same client (bench/im/client.ts) and workload (bench/im/workload.ts). Each POST figure
// is printed next to Prosody's with the ratio. Times are printed, never asserted: this machine is
// shared, and a figure is only worth its neighbour in the same run.
import { randomBytes } from 'node:crypto';
import type { ImResult } from './im/workload';
import { imOptions, runImWorkload } from './im/workload';
import { startPostIm } from './imPost';
import { onStartedTarget } from './interrupt';
import { printRows, rate, type PhaseOutcome, type RatedComparison } from './mail';
import type { Comparison } from './mail/phase';
import type { Log } from './mail/target';
import { startReferenceProsody } from './reference/prosody';
import type { Bench } from './stats';

const IM_DOMAIN = 'im.example';
/** Nodes of the POST lab: quick keeps the lab's start short; full has k = 3 replicas among five. */
const IM_LAB_NODES = { quick: 3, full: 5 };

export function compareIm(post: ImResult, reference: ImResult): Comparison[] {
  const row = (figure: string, of: (r: ImResult) => number | null, better: 'higher' | 'lower'): Comparison => ({ figure, reference: of(reference), post: of(post), better });
  return [
    row('serial latency p50 ms', (r) => r.serial.latencyMs.p50, 'lower'),
    row('serial latency p99 ms', (r) => r.serial.latencyMs.p99, 'lower'),
    row(`loaded (${post.loaded.pairs} pairs) msg/s`, (r) => r.loaded.perSecond, 'higher'),
    row('loaded latency p50 ms', (r) => r.loaded.latencyMs.p50, 'lower'),
    row('loaded latency p99 ms', (r) => r.loaded.latencyMs.p99, 'lower'),
    row('server CPU ms/message (loaded)', (r) => r.loaded.serverCpuMsPerMessage, 'lower'),
  ];
}

function problemsOf(target: string, outcome: PhaseOutcome): string[] {
  if (!outcome.ok) return [`${target}: failed: ${outcome.error}`];
  const r = outcome.result as ImResult;
  return [
    r.duplicates > 0 && `${target}: ${r.duplicates} messages arrived twice`,
    r.misdelivered > 0 && `${target}: ${r.misdelivered} messages arrived from someone other than the pair's sender`,
    r.refused > 0 && `${target}: ${r.refused} stanzas refused`,
  ].filter((p): p is string => typeof p === 'string');
}

export async function runImBench(opts: { quick: boolean; log?: Log }) {
  const log = opts.log ?? (() => {});
  const options = imOptions(opts.quick);
  const nodes = opts.quick ? IM_LAB_NODES.quick : IM_LAB_NODES.full;
  log(
    `  ${options.pairs} pairs (user A sends to user B, both logged in), ${options.serialMessages} serial messages, ${options.messagesPerPair} per pair loaded, ${options.warmUpMessages} warm-up messages per pair untimed`,
  );
  const users = Array.from({ length: 2 * options.pairs }, (_, i) => ({ address: `user${i + 1}@${IM_DOMAIN}`, password: `bench-${randomBytes(9).toString('base64url')}` }));
  const reference = await onStartedTarget(
    'Prosody',
    async () => {
      const prosody = await startReferenceProsody({ users, log });
      const login = (n: number) => ({ endpoint: prosody.xmpp, account: { jid: users[n]!.address, password: users[n]!.password } });
      const pairs = Array.from({ length: options.pairs }, (_, i) => ({ sender: login(2 * i), recipient: login(2 * i + 1) }));
      return { target: { name: 'Prosody', pairs, serverCpuMs: prosody.cpuMs }, stop: prosody.stop };
    },
    (target) => runImWorkload(target, options, log),
    log,
  );
  const post = await onStartedTarget('POST', () => startPostIm({ domain: IM_DOMAIN, nodes, pairs: options.pairs }), (target) => runImWorkload(target, options, log), log);
  let comparison: RatedComparison[] = [];
  if (post.ok && reference.ok) {
    comparison = compareIm(post.result, reference.result).map(rate);
    log('  POST / Prosody, same workload, same client, same machine, one after the other:');
    printRows(comparison, log);
  } else log(`  no comparison: ${[!reference.ok && 'Prosody', !post.ok && 'POST'].filter(Boolean).join(' and ')} failed`);
  const problems = [...problemsOf('Prosody', reference), ...problemsOf('POST', post)];
  for (const problem of problems) log(`  PROBLEM: ${problem}`);
  return { options, nodes, reference, post, comparison, valid: problems.length === 0, problems };
}

export const imBench: Bench = {
  name: 'im',
  summary: 'POST vs Prosody over XMPP, same client: chat send -> the recipient client sees it, p50/p99 one at a time, then messages/s with N pairs at once',
  run: ({ quick, log }) => runImBench({ quick, log }),
};
