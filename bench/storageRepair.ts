// Repair on a real lab (issue 13, item 5): eight node processes on a three-server NATS cluster,
// started with `post lab up` as an operator would, their stores seeded with data on its k closest
// nodes; then the node holding the most is SIGKILLed and we time (a) detection: the first inspection
// frame of a survivor whose leaf set no longer holds it, and (b) repair: from detection until every
// block and signed object the dead node held is on its k closest live nodes again, read straight from
// their LMDB stores; every copy is then hash-verified. Next to it, in the same run and on the same
// disk and NATS servers, the raw rates repair is bounded by: NATS request/reply moving 1 MiB
// payloads, and LMDB writing 1 MiB blocks (one durable transaction each, and 8 at a time).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type LabFile, readLab } from '../lab/labFile';
import { operatorNatsOptions } from '../lab/nats';
import { postCommand } from '../lab/paths';
import { NatsTransport } from '../infra/nats/transport';
import { blockIdOf } from '../crypto/convergent';
import { LmdbStore } from '../infra/store/lmdb';
import type { BlockWrite } from '../infra/store/port';
import { kClosest } from '../overlay/id';
import { InspectFrame } from '../protocol/inspect';
import { BLOCK_BYTES_MAX, STORAGE_LEASE_MS } from '../protocol/limits';
import { subjects } from '../protocol/subjects';
import { getVerifiedBlock } from '../storage/replicaStore';
import { groupsCpuMs } from './reference/processes';
import { labNatsPids } from './benchLab';
import { round, summary } from './stats';
import { stopOnInterrupt } from './interrupt';

const run = promisify(execFile);
const MiB = 1024 * 1024;
/** Eight nodes: with k = 3, a lost node's blocks go to four new replicas, as in any larger ring (six would send two thirds to one). */
const LAB_NODES = 8;
const K = 3;
const LAB_COMMAND_TIMEOUT_MS = 180_000;
/** The small blocks of the data (mail text parts); the rest are full 1 MiB blocks. */
const SMALL_BLOCK_BYTES = 24 * 1024;
/** Seeded blocks are charged to this member (a user id of no one). */
const SEED_INSERTER = 'be'.repeat(32);
/** Bytes of blocks seeded per write to each store: the node waits for LMDB's write lock meanwhile (64 MiB got live nodes declared dead). */
const SEED_WRITE_BYTES = 16 * MiB;
const REPAIR_DEADLINE_MS = 900_000;
/** After seeding, the nodes' anti-entropy may still fetch what it saw half-written; waited out this long at most. */
const QUIET_DEADLINE_MS = 60_000;
/** The nodes' idle CPU is sampled this long before the kill. */
const IDLE_SAMPLE_MS = 3000;
const WHOLE = { lo: '0'.repeat(64), hi: '0'.repeat(64) };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
const FETCHED_BYTES = 'post_storage_repair_fetched_bytes_total';
/** How often the survivors' fetched bytes are polled for their first stored block. */
const FIRST_FETCH_POLL_MS = 100;

async function post(args: string[]): Promise<string> {
  const [exe, argv] = postCommand(args);
  return (await run(exe, argv, { timeout: LAB_COMMAND_TIMEOUT_MS })).stdout;
}

export interface RepairFigures {
  readonly loadedMiB: number;
  readonly lostBytes: number;
  readonly lostBlocks: number;
  readonly lostObjects: number;
  readonly detectionMs: number;
  readonly repairMs: number;
  readonly repairMBs: number;
  readonly verifiedCopies: number;
  /**
   * CPU the surviving nodes and the NATS servers used from the kill to k copies again, per repaired
   * MB: what repair costs whatever else the machine runs. `nodesIdle`: what the nodes spend idle
   * (heartbeats, inspection, passes) over the same time, per MB, sampled before the kill (part of `nodes`).
   */
  readonly cpuMsPerMB: { nodes: number; nodesIdle: number; nats: number };
  /**
   * The replica that fetched the most bytes (repair ends when it is done; on a small ring one new
   * replica may take half of the loss): what it fetched, as a share of the loss, and its own CPU per
   * fetched MB beyond its idle work (verifying, storing, the NATS client and serving its own offers).
   */
  readonly busiestReplica: {
    fetchedMB: number;
    shareOfLost: number;
    cpuMsPerMB: number;
    /** When its first fetched block was stored, after detection (negative: before the first inspection frame showed the loss). */
    firstFetchMs: number;
    /** Its own rate, from its first fetched block to k copies everywhere. */
    fetchMBs: number;
    /** Per bulk fetch, mean ms waiting for the source's answer, and verifying and storing the batch (durable). */
    batchMs: { transfer: number; store: number; batches: number };
  };
  /** The machine's 1-minute load average when the node was killed (two cores, shared). */
  readonly loadAverage: number;
  readonly baselines: {
    natsRoundTripMs: ReturnType<typeof summary>;
    nats1MiBMBs: number;
    /** CPU of the NATS servers per MB of the 1 MiB payloads (each crosses two servers at most, as repair's do). */
    nats1MiBCpuMsPerMB: number;
    /** CPU of the two clients (this process: TLS, the NATS client's parsing and copies, sending and receiving) per MB. */
    nats1MiBClientCpuMsPerMB: number;
    lmdbDurablePutMBs: number;
    lmdbBatchedPutMBs: number;
  };
}

/** Raw NATS on the lab's servers, as the nodes use them (TLS): 4 KiB round trips one at a time, and 1 MiB payloads 8 in flight. */
async function natsBaseline(lab: LabFile, natsPids: readonly number[], quick: boolean) {
  const a = await NatsTransport.connect(operatorNatsOptions(lab, [lab.nats[0]!]));
  const b = await NatsTransport.connect(operatorNatsOptions(lab, [lab.nats[1]!]));
  try {
    b.subscribe('bench.echo', (m) => m.reply && b.publish(m.reply, m.data.length > 64 ? m.data.subarray(0, 8) : m.data));
    await b.flush();
    const small = randomBytes(4096);
    const rtt: number[] = [];
    for (let i = 0; i < 300; i++) {
      const t = performance.now();
      await a.request('bench.echo', small, { timeoutMs: 5000 });
      rtt.push(performance.now() - t);
    }
    const big = randomBytes(MiB);
    const count = quick ? 128 : 512;
    let next = 0;
    const cpu0 = groupsCpuMs(natsPids);
    const client0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next++ < count) await a.request('bench.echo', big, { timeoutMs: 10_000 });
      }),
    );
    const MB = (count * MiB) / 1e6;
    const client = process.cpuUsage(client0);
    return {
      natsRoundTripMs: summary(rtt),
      nats1MiBMBs: round(MB / ((performance.now() - t0) / 1000), 1),
      nats1MiBCpuMsPerMB: round((groupsCpuMs(natsPids) - cpu0) / MB, 1),
      nats1MiBClientCpuMsPerMB: round((client.user + client.system) / 1000 / MB, 1),
    };
  } finally {
    await a.close();
    await b.close();
  }
}

/** Raw LMDB on the lab's disk: 1 MiB blocks, one durable transaction each, then 8 puts at a time. */
async function lmdbBaseline(dir: string, quick: boolean) {
  const path = join(dir, 'baseline-store');
  const store = LmdbStore.open(path);
  const count = quick ? 64 : 256;
  const blocks = Array.from({ length: count * 2 }, () => randomBytes(MiB));
  const lease = { expiresAtMs: Date.now() + 3600_000, insertedBy: 'ab'.repeat(32) };
  const idOf = (i: number) => i.toString(16).padStart(64, '0');
  try {
    let t = performance.now();
    for (let i = 0; i < count; i++) await store.putBlock(idOf(i), blocks[i]!, lease);
    const durable = round((count * MiB) / 1e6 / ((performance.now() - t) / 1000), 1);
    t = performance.now();
    let next = count;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < 2 * count) {
          const i = next++;
          await store.putBlock(idOf(i), blocks[i]!, lease);
        }
      }),
    );
    const batched = round((count * MiB) / 1e6 / ((performance.now() - t) / 1000), 1);
    return { lmdbDurablePutMBs: durable, lmdbBatchedPutMBs: batched };
  } finally {
    await store.close();
    rmSync(path, { recursive: true, force: true });
  }
}

/**
 * Put `totalMiB` of random blocks straight into the stores of their K closest nodes, as mail would
 * leave them: three quarters of the bytes in full 1 MiB blocks (large attachments), a quarter in
 * SMALL_BLOCK_BYTES blocks (text parts). The nodes' own writes would take minutes on two cores and
 * are measured by the put benchmark; repair only needs the data in place.
 */
async function seed(stores: ReadonlyMap<string, LmdbStore>, totalMiB: number): Promise<void> {
  const nodes = [...stores.keys()];
  const lease = { expiresAtMs: Date.now() + STORAGE_LEASE_MS, insertedBy: SEED_INSERTER };
  const sizes = [
    ...Array.from({ length: Math.ceil((totalMiB * MiB * 3) / 4 / BLOCK_BYTES_MAX) }, () => BLOCK_BYTES_MAX),
    ...Array.from({ length: Math.ceil((totalMiB * MiB) / 4 / SMALL_BLOCK_BYTES) }, () => SMALL_BLOCK_BYTES),
  ];
  for (let i = 0; i < sizes.length; ) {
    const pending = new Map<string, BlockWrite[]>(nodes.map((n) => [n, []]));
    for (let bytes = 0; i < sizes.length && bytes < SEED_WRITE_BYTES; i++) {
      const block = randomBytes(sizes[i]!);
      const id = blockIdOf(block).toString('hex');
      for (const n of kClosest(nodes, id, K)) pending.get(n)!.push({ id, bytes: block, lease });
      bytes += block.length;
    }
    await Promise.all([...pending].map(([n, writes]) => stores.get(n)!.putBlocks(writes)));
  }
}

/** The copies (id on node) the K closest live nodes of each lost id should hold; confirmed ones are removed as they appear. */
function wantedCopies(live: readonly string[], blocks: readonly string[], objects: ReadonlyMap<string, number>) {
  const copies: { id: string; node: string; seq?: number }[] = [];
  for (const id of blocks) for (const node of kClosest([...live], id, K)) copies.push({ id, node });
  for (const [id, seq] of objects) for (const node of kClosest([...live], id, K)) copies.push({ id, node, seq });
  return copies;
}

async function stillMissing(stores: ReadonlyMap<string, LmdbStore>, copies: ReturnType<typeof wantedCopies>) {
  const missing: typeof copies = [];
  for (const c of copies) {
    const store = stores.get(c.node)!;
    const here = c.seq === undefined ? await store.hasBlock(c.id) : ((await store.getObject(c.id))?.seq ?? 0) >= c.seq;
    if (!here) missing.push(c);
  }
  return missing;
}

/** An unlabelled counter or gauge of a node's /metrics (0 when absent). */
async function nodeMetric(node: LabFile['nodes'][number], name: string): Promise<number> {
  const text = await (await fetch(`http://${node.http.host}:${node.http.port}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
}

/** The sum and count of a node's repair fetch histogram for one stage (post_storage_repair_fetch_ms). */
async function fetchStage(node: LabFile['nodes'][number], stage: 'transfer' | 'store'): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`http://${node.http.host}:${node.http.port}/metrics`)).text();
  const read = (part: string) => Number(new RegExp(`^post_storage_repair_fetch_ms_${part}\\{stage="${stage}"\\} ([0-9.e+-]+)`, 'm').exec(text)?.[1] ?? 0);
  return { sum: read('sum'), count: read('count') };
}

async function fetchStages(node: LabFile['nodes'][number]) {
  return { transfer: await fetchStage(node, 'transfer'), store: await fetchStage(node, 'store') };
}

/**
 * When each node stored its first fetched block (its fetched bytes rose above `before`), polled on its
 * own: a pass over the wanted copies takes seconds on a loaded machine. stop() ends it.
 */
function watchFirstFetches(nodes: readonly LabFile['nodes'][number][], before: readonly number[]) {
  const at: (number | undefined)[] = nodes.map(() => undefined);
  let watching = true;
  const polled = (async () => {
    while (watching && at.includes(undefined)) {
      await Promise.all(
        nodes.map(async (n, i) => {
          if (at[i] === undefined && (await nodeMetric(n, FETCHED_BYTES)) > before[i]!) at[i] = performance.now();
        }),
      );
      await sleep(FIRST_FETCH_POLL_MS);
    }
  })();
  return {
    stop: async () => {
      watching = false;
      await polled;
      return at;
    },
  };
}

/** Blocks the nodes have queued for fetching. */
async function queuedFetches(lab: LabFile): Promise<number> {
  let total = 0;
  for (const n of lab.nodes) total += await nodeMetric(n, 'post_storage_repair_queued');
  return total;
}

/**
 * Wait until no node has fetches queued twice in a row: an anti-entropy pass that compared digests
 * while the seed was half-written fetches blocks the seed was about to write, and would count as idle work.
 */
async function quiet(lab: LabFile): Promise<void> {
  const deadline = performance.now() + QUIET_DEADLINE_MS;
  for (let calm = 0; calm < 2; ) {
    if (performance.now() > deadline) throw new Error(`the nodes still had fetches queued ${QUIET_DEADLINE_MS} ms after seeding`);
    calm = (await queuedFetches(lab)) === 0 ? calm + 1 : 0;
    await sleep(500);
  }
}

export async function labRepair({ quick, log }: { quick: boolean; log: (line: string) => void }): Promise<RepairFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'post-bench-repair-'));
  const stores = new Map<string, LmdbStore>();
  let watch: NatsTransport | undefined;
  const forget = stopOnInterrupt(() => post(['lab', 'down', '--dir', dir]).then(() => undefined));
  try {
    const lab = readLab((await post(['lab', 'up', '--nodes', String(LAB_NODES), '--dir', dir, '--no-dashboard'])).trim());
    const natsPids = labNatsPids(lab);
    const nats = await natsBaseline(lab, natsPids, quick);
    log(
      `  [lab] raw NATS request (4 KiB): p50 ${nats.natsRoundTripMs.p50} ms; 1 MiB payloads, 8 in flight: ${nats.nats1MiBMBs} MB/s, ` +
        `CPU per MB: ${nats.nats1MiBCpuMsPerMB} ms in the NATS servers, ${nats.nats1MiBClientCpuMsPerMB} ms in the two clients`,
    );
    const lmdb = await lmdbBaseline(dir, quick);
    log(`  [lab] raw LMDB put 1 MiB: ${lmdb.lmdbDurablePutMBs} MB/s one durable transaction each; ${lmdb.lmdbBatchedPutMBs} MB/s 8 at a time`);

    const loadMiB = quick ? 320 : 1536;
    for (const n of lab.nodes) stores.set(n.id, LmdbStore.open(join(n.data, 'store')));
    const ids = lab.nodes.map((n) => n.id);
    const t = performance.now();
    await seed(stores, loadMiB);
    log(`  [lab] stored ${loadMiB} MiB (k=${K}; 3/4 in 1 MiB blocks, 1/4 in ${SMALL_BLOCK_BYTES / 1024} KiB blocks) in ${round((performance.now() - t) / 1000, 1)} s`);
    await quiet(lab);

    const held = new Map<string, number>();
    for (const [id, s] of stores) held.set(id, (await s.totals()).blockBytes);
    const victimId = [...held].sort((x, y) => y[1] - x[1])[0]![0];
    const victim = lab.nodes.find((n) => n.id === victimId)!;
    const victimStore = stores.get(victimId)!;
    const lostBlocks = await scanAll(victimStore);
    const lostObjects = new Map<string, number>();
    for (let afterId: string | undefined; ; ) {
      const page = await victimStore.scanObjects(WHOLE, { afterId });
      for (const o of page) lostObjects.set(o.id, o.seq);
      if (page.length === 0) break;
      afterId = page[page.length - 1]!.id;
    }
    const lostBytes = (await victimStore.totals()).blockBytes;
    await victimStore.close();
    stores.delete(victimId);
    const live = ids.filter((id) => id !== victimId);

    // Detection, as the survivors publish it: the first inspection frame without the victim in its leaf set.
    watch = await NatsTransport.connect(operatorNatsOptions(lab));
    let detectedAt = 0;
    let killedAt = Infinity;
    watch.subscribe(subjects.inspectAll(lab.orgs[0]!.ringId), (m) => {
      const f = InspectFrame.decode(m.data);
      if (!f.ok || detectedAt || performance.now() < killedAt || f.body.nodeId === victimId) return;
      if (!f.body.router.leafSet.includes(victimId)) detectedAt = performance.now();
    });
    await watch.flush();
    const survivorNodes = lab.nodes.filter((n) => n.id !== victimId);
    const survivors = survivorNodes.map((n) => n.pid);
    // What the survivors spend idle (heartbeats, inspection, passes), so that repair's own cost shows.
    const idleFrom = { at: performance.now(), cpu: survivors.map((pid) => groupsCpuMs([pid])) };
    await sleep(IDLE_SAMPLE_MS);
    const idleCpuPerMs = survivors.map((pid, i) => (groupsCpuMs([pid]) - idleFrom.cpu[i]!) / (performance.now() - idleFrom.at));
    const fetchedBefore = await Promise.all(survivorNodes.map((n) => nodeMetric(n, FETCHED_BYTES)));
    const stagesBefore = await Promise.all(survivorNodes.map(fetchStages));
    const cpuBefore = { nodes: survivors.map((pid) => groupsCpuMs([pid])), nats: groupsCpuMs(natsPids) };
    const loadAverage = round(loadavg()[0]!, 1);
    killedAt = performance.now();
    process.kill(victim.pid, 'SIGKILL');

    const firstFetches = watchFirstFetches(survivorNodes, fetchedBefore);
    let missing = wantedCopies(live, lostBlocks, lostObjects);
    for (;;) {
      missing = await stillMissing(stores, missing);
      if (detectedAt && missing.length === 0) break;
      if (performance.now() - killedAt > REPAIR_DEADLINE_MS) throw new Error(`repair did not finish within ${REPAIR_DEADLINE_MS} ms`);
      await sleep(100);
    }
    const doneAt = performance.now();
    const firstFetchAt = await firstFetches.stop();
    const nodeCpuMs = survivors.map((pid, i) => groupsCpuMs([pid]) - cpuBefore.nodes[i]!);
    const nodeIdleMs = idleCpuPerMs.map((perMs) => perMs * (doneAt - killedAt));
    const cpuMs = { nodes: sum(nodeCpuMs), nodesIdle: sum(nodeIdleMs), nats: groupsCpuMs(natsPids) - cpuBefore.nats };
    // The replica that fetched most: the ring is back to k copies only when it is done.
    const fetched = (await Promise.all(survivorNodes.map((n) => nodeMetric(n, FETCHED_BYTES)))).map((b, i) => b - fetchedBefore[i]!);
    const busiest = fetched.indexOf(Math.max(...fetched));
    const stages = await fetchStages(survivorNodes[busiest]!);
    const stageMean = (st: 'transfer' | 'store') => {
      const count = stages[st].count - stagesBefore[busiest]![st].count;
      return count ? round((stages[st].sum - stagesBefore[busiest]![st].sum) / count, 0) : 0;
    };
    const busiestStart = firstFetchAt[busiest] ?? doneAt;

    // Every copy the repair made, verified as a reader would.
    let verifiedCopies = 0;
    for (const id of lostBlocks)
      for (const n of kClosest(live, id, K)) {
        const local = await getVerifiedBlock(stores.get(n)!, id);
        if (local.status !== 'ok') throw new Error(`block ${id.slice(0, 16)} on ${n.slice(0, 12)} is ${local.status} after repair`);
        verifiedCopies++;
      }
    const repairMs = doneAt - detectedAt;
    const figures: RepairFigures = {
      loadedMiB: loadMiB,
      lostBytes,
      lostBlocks: lostBlocks.length,
      lostObjects: lostObjects.size,
      detectionMs: round(detectedAt - killedAt, 0),
      repairMs: round(repairMs, 0),
      repairMBs: round(lostBytes / 1e6 / (repairMs / 1000), 1),
      verifiedCopies,
      cpuMsPerMB: {
        nodes: round(cpuMs.nodes / (lostBytes / 1e6), 1),
        nodesIdle: round(cpuMs.nodesIdle / (lostBytes / 1e6), 1),
        nats: round(cpuMs.nats / (lostBytes / 1e6), 1),
      },
      busiestReplica: {
        fetchedMB: round(fetched[busiest]! / 1e6, 1),
        shareOfLost: round(fetched[busiest]! / lostBytes, 2),
        cpuMsPerMB: round((nodeCpuMs[busiest]! - nodeIdleMs[busiest]!) / (fetched[busiest]! / 1e6), 1),
        firstFetchMs: round(busiestStart - detectedAt, 0),
        fetchMBs: round(fetched[busiest]! / 1e6 / ((doneAt - busiestStart) / 1000), 1),
        batchMs: { transfer: stageMean('transfer'), store: stageMean('store'), batches: stages.transfer.count - stagesBefore[busiest]!.transfer.count },
      },
      loadAverage,
      baselines: { ...nats, ...lmdb },
    };
    log(
      `  [lab] repair after SIGKILL of a node holding ${round(lostBytes / 1e6, 1)} MB (${lostBlocks.length} blocks, ${lostObjects.size} objects): ` +
        `detected after ${figures.detectionMs} ms; k=${K} verified copies again ${figures.repairMs} ms later = ${figures.repairMBs} MB/s ` +
        `(raw: NATS 1 MiB ${nats.nats1MiBMBs} MB/s, LMDB ${lmdb.lmdbDurablePutMBs}/${lmdb.lmdbBatchedPutMBs} MB/s); ` +
        `CPU per repaired MB: ${figures.cpuMsPerMB.nodes} ms in the nodes (${figures.cpuMsPerMB.nodesIdle} of it their idle work), ` +
        `${figures.cpuMsPerMB.nats} ms in NATS (raw 1 MiB: ${nats.nats1MiBCpuMsPerMB}); the busiest replica fetched ${figures.busiestReplica.fetchedMB} MB ` +
        `(${Math.round(figures.busiestReplica.shareOfLost * 100)}% of the loss) at ${figures.busiestReplica.cpuMsPerMB} ms of its CPU per MB beyond idle, ` +
        `its first block stored ${figures.busiestReplica.firstFetchMs} ms after detection, then ${figures.busiestReplica.fetchMBs} MB/s ` +
        `(${figures.busiestReplica.batchMs.batches} bulk fetches: ${figures.busiestReplica.batchMs.transfer} ms waiting for the source, ` +
        `${figures.busiestReplica.batchMs.store} ms verifying and storing, on average); ` +
        `load average ${loadAverage} on ${cpus().length} cores`,
    );
    return figures;
  } finally {
    forget();
    await watch?.close();
    for (const s of stores.values()) await s.close().catch(() => {});
    await post(['lab', 'down', '--dir', dir]).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

async function scanAll(store: LmdbStore): Promise<string[]> {
  const out: string[] = [];
  for (let afterId: string | undefined; ; ) {
    const page = await store.scanBlocks(WHOLE, { afterId });
    out.push(...page.map((b) => b.id));
    if (page.length === 0) break;
    afterId = page[page.length - 1]!.id;
  }
  return out;
}
