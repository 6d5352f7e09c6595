// Single-writer logs over the in-memory StorageApi (so the figures are the log's own CPU cost, not the
// network's):
//   append      ops/s for one-op appends awaited one by one (one signed head each), the same from 16
//               concurrent streams (group commit), and 50-op batches; baseline: Ed25519 sign + verify, the
//               least a head write costs (the writer signs, the replica verifies)
//   open        time to open a folder of N messages (snapshot + tail) for N = 100, 10,000, 100,000,
//               with the storage calls it made; baseline: N sealWithKey and N openWithKey calls on a
//               message-sized record in the same run, i.e. what "one encrypted record per message"
//               would cost at the least
//   long use    a folder of 100 messages taking flag changes one at a time (a client marking mail read),
//               for long: the head's bytes (what every change signs, seals, sends to and stores on every
//               replica) and the CPU per change at checkpoints; it stays flat when snapshots keep the
//               tail short (storage/log/nextHead.ts snapshotDue)
// Medians over rounds. Not registered in bench/index.ts (the lead does that).
//   npx tsx bench/logs.ts [--quick] [--json]
import { pathToFileURL } from 'node:url';
import { openWithKey, sealWithKey } from '../crypto/secretbox';
import { signingKeyPairFromSeed, sign, verify } from '../crypto/sign';
import { deriveLogKey } from '../crypto/userKeys';
import { SimRandom } from '../infra/sim/random';
import { LOG_PENDING_OPS_MAX } from '../protocol/limits';
import { encodeBlockRef } from '../storage/blocks';
import { folderLogAddress, openFolderLog } from '../storage/folders/folderLogs';
import { FOLDER_LOG_KIND } from '../storage/folders/folderModel';
import type { FolderOp } from '../storage/folders/folderOps';
import type { LogOwner } from '../storage/log/logAddress';
import { encodeHeadBody } from '../storage/log/logFormat';
import { readHead } from '../storage/log/logReader';
import { MemoryStorage } from '../storage/memory/storage';
import { type Bench, percentile, round } from './stats';

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;
/** One entry per append, as when messages arrive one by one (the pending batch then flushes). */
const ENTRY_OPS = LOG_PENDING_OPS_MAX + 1;

function insert(i: number): FolderOp {
  const ref = encodeBlockRef({ id: i.toString(16).padStart(64, '0'), key: new Uint8Array(32).fill(i & 0xff), kind: 'chunk', sizeBytes: 2000 + (i % 5000) });
  return { type: 'insert', key: `a:${i.toString(16).padStart(24, '0')}`, ref, flags: i % 3 ? ['\\Seen'] : [], internalDateMs: 1_700_000_000_000 + i, sizeOctets: 2000 + (i % 5000) };
}

async function owner(): Promise<LogOwner> {
  const signing = await signingKeyPairFromSeed(new Uint8Array(32).fill(1));
  const master = new Uint8Array(32).fill(2);
  return { signing, logKey: (name) => deriveLogKey(master, name) };
}

const folderId = (n: number) => n.toString(16).padStart(32, '0');

async function appendFigures(user: LogOwner, count: number, log: (line: string) => void) {
  const deps = (seed: string) => ({ storage: new MemoryStorage(), signing: user.signing, random: new SimRandom(seed) });
  const time = async (work: () => Promise<unknown>) => {
    const t = nowMs();
    await work();
    return nowMs() - t;
  };
  const sequential = await openFolderLog(deps('seq'), user, folderId(1));
  const seqMs = await time(async () => {
    for (let i = 0; i < count; i++) await sequential.append([insert(i)]);
  });
  // 16 sessions appending one op at a time each, concurrently: the writer groups what arrives meanwhile.
  const grouped = await openFolderLog(deps('grp'), user, folderId(2));
  const streams = 16;
  const groupMs = await time(() =>
    Promise.all(
      Array.from({ length: streams }, async (_, s) => {
        for (let i = s; i < count; i += streams) await grouped.append([insert(i)]);
      }),
    ),
  );
  const batched = await openFolderLog(deps('bat'), user, folderId(3));
  const batchMs = await time(async () => {
    for (let i = 0; i < count; i += 50) await batched.append(Array.from({ length: 50 }, (_, k) => insert(i + k)));
  });
  const signMs = await time(async () => {
    for (let i = 0; i < count; i++) {
      const fields = [i, 'head'];
      await verify('signed-object', fields, await sign('signed-object', fields, user.signing.secretKey), user.signing.publicKey);
    }
  });
  const perSecond = (ms: number) => round(count / (ms / 1000), 0);
  const figures = {
    appends: count,
    sequentialOpsPerS: perSecond(seqMs),
    groupCommitOpsPerS: perSecond(groupMs),
    groupCommitHeadWrites: grouped.stats.headsWritten,
    batched50OpsPerS: perSecond(batchMs),
    baselineSignVerifyPerS: perSecond(signMs),
  };
  log(`append (${count} ops over the in-memory StorageApi):`);
  log(`  one op per append, awaited   ${String(figures.sequentialOpsPerS).padStart(8)} ops/s   (one signed head each)`);
  log(`  one op per append, 16 streams ${String(figures.groupCommitOpsPerS).padStart(7)} ops/s   (group commit: ${figures.groupCommitHeadWrites} head writes)`);
  log(`  50 ops per append            ${String(figures.batched50OpsPerS).padStart(8)} ops/s`);
  log(`  baseline Ed25519 sign+verify ${String(figures.baselineSignVerifyPerS).padStart(8)} /s     (the least one head write costs)`);
  return figures;
}

async function openFigures(user: LogOwner, size: number, rounds: number) {
  const storage = new MemoryStorage();
  const writer = await openFolderLog({ storage, signing: user.signing, random: new SimRandom('build') }, user, folderId(size));
  for (let i = 0; i < size; i += ENTRY_OPS) await writer.append(Array.from({ length: Math.min(ENTRY_OPS, size - i) }, (_, k) => insert(i + k)));
  await openFolderLog({ storage, signing: user.signing, random: new SimRandom('warm') }, user, folderId(size)); // warm-up
  const openTimes: number[] = [];
  let calls = 0;
  for (let r = 0; r < rounds; r++) {
    storage.resetCalls();
    const t = nowMs();
    const reader = await openFolderLog({ storage, signing: user.signing, random: new SimRandom('read') }, user, folderId(size));
    openTimes.push(nowMs() - t);
    calls = storage.callTotal();
    if (reader.summary.messages !== size) throw new Error(`opened ${reader.summary.messages} of ${size} messages`);
  }
  // Baseline: one sealed ~150-byte record per message (the naive layout), sealed and opened N times.
  const key = user.logKey('bench');
  const random = new SimRandom('baseline');
  const record = new Uint8Array(150).fill(7);
  const sealTimes: number[] = [];
  const unsealTimes: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const sealed = new Array<Uint8Array>(size);
    let t = nowMs();
    for (let i = 0; i < size; i++) sealed[i] = sealWithKey(key, record, random);
    sealTimes.push(nowMs() - t);
    t = nowMs();
    let sink = 0;
    for (let i = 0; i < size; i++) sink ^= openWithKey(key, sealed[i]!)![0]!;
    unsealTimes.push(nowMs() - t + (sink & 0));
  }
  return {
    messages: size,
    entries: writer.stats.headsWritten,
    openMs: round(percentile(openTimes, 50), 2),
    storageCalls: calls,
    baselineSealMs: round(percentile(sealTimes, 50), 2),
    baselineOpenMs: round(percentile(unsealTimes, 50), 2),
  };
}

/** Messages of the long-used folder. */
const LONG_USE_MESSAGES = 100;

async function longUseFigures(user: LogOwner, checkpoints: readonly number[], log: (line: string) => void) {
  const storage = new MemoryStorage();
  const folder = folderId(0xfeed);
  const writer = await openFolderLog({ storage, signing: user.signing, random: new SimRandom('long use') }, user, folder);
  await writer.append(Array.from({ length: LONG_USE_MESSAGES }, (_, i) => insert(i)));
  const uids = await writer.read((s) => [...s.messages.keys()]);
  log(`long use: a folder of ${LONG_USE_MESSAGES} messages, one flag change per append (awaited), over the in-memory StorageApi:`);
  const figures = [];
  let done = 0;
  for (const upTo of checkpoints) {
    const since = process.cpuUsage();
    const from = done;
    for (; done < upTo; done++) await writer.append([{ type: 'flags', uids: [uids[done % uids.length]!], mode: done % (2 * uids.length) < uids.length ? 'add' : 'remove', flags: ['\\Seen'] }]);
    const used = process.cpuUsage(since);
    const { body } = (await readHead(storage, folderLogAddress(user, folder), FOLDER_LOG_KIND))!;
    const f = { changes: upTo, headBytes: encodeHeadBody(body).length, tailEntries: body.tail.length, snapshotBytes: body.snapshot?.bytes ?? 0, cpuUsPerChange: round((used.user + used.system) / (upTo - from), 1) };
    figures.push(f);
    log(`  after ${upTo.toLocaleString('en').padStart(7)} changes: head ${String(f.headBytes).padStart(6)} bytes (tail of ${String(f.tailEntries).padStart(3)} entries, snapshot of ${f.snapshotBytes} bytes), ${f.cpuUsPerChange} us of CPU per change since the last line`);
  }
  return figures;
}

export async function runLogsBench(opts: { quick: boolean; log: (line: string) => void }) {
  const { log } = opts;
  const user = await owner();
  const append = await appendFigures(user, opts.quick ? 2000 : 10_000, log);
  const sizes = opts.quick ? [100, 10_000] : [100, 10_000, 100_000];
  const rounds = opts.quick ? 3 : 5;
  log(`open a folder (snapshot + tail), median of ${rounds}; baseline: N x sealWithKey / openWithKey of a 150-byte record:`);
  const open = [];
  for (const size of sizes) {
    const f = await openFigures(user, size, rounds);
    open.push(f);
    log(
      `  ${String(size).padStart(7)} messages  open ${f.openMs.toFixed(1).padStart(8)} ms  ${String(f.storageCalls).padStart(4)} storage calls` +
        `   baseline seal ${f.baselineSealMs.toFixed(1).padStart(7)} ms  open ${f.baselineOpenMs.toFixed(1).padStart(7)} ms`,
    );
  }
  const longUse = await longUseFigures(user, opts.quick ? [1_000, 5_000, 10_000] : [1_000, 10_000, 25_000, 50_000], log);
  return { append, open, longUse };
}

export const logsBench: Bench = {
  name: 'logs',
  summary: 'single-writer log appends (ops/s) and folder open time for 100 / 10k / 100k messages, vs raw signatures and per-record AEAD',
  run: runLogsBench,
};

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const json = process.argv.includes('--json');
  const log = json ? (line: string) => console.error(line) : (line: string) => console.log(line);
  const result = await runLogsBench({ quick: process.argv.includes('--quick'), log });
  if (json) console.log(JSON.stringify(result));
}
