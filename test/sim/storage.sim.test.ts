// Replicated storage on the simulator (issue 3): 100 nodes, 10,000 blocks, adjacent replicas killed,
// then churn; every block stays readable and returns to k verified replicas within a bounded time.
import { describe, expect, test } from 'vitest';
import { createCertificateAuthority } from '../../crypto/certificates';
import { blockIdOf } from '../../crypto/convergent';
import { signOffer, type StorageSigner } from '../../crypto/insertAuth';
import { MemoryStore } from '../../infra/store/memory';
import { OVERLAY_TIMINGS, STORAGE_TIMINGS } from '../../protocol/limits';
import { BlockOffer, BlockOfferReply, type OfferedBlock } from '../../protocol/storage';
import { SimCluster } from '../../scenarios/sim/cluster';
import { offerDigest } from '../../storage/repair';
import { signObjectVersion } from '../../storage/signedObject';
import { simSeed, withSeed } from './seed';
import { settle, userSigner } from './storageMembers';

const NODES = 100;
const BLOCKS = 10_000;
/** After the last failure, every block must have k verified replicas again within this (simulated). */
const REPAIR_BOUND_MS = OVERLAY_TIMINGS.suspicionTimeoutMs + 30_000;

/** A counter of /metrics summed over the live nodes. */
const counter = (cluster: SimCluster, name: string) =>
  cluster.live().reduce((n, node) => n + Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(node.metrics.render())?.[1] ?? 0), 0);

/** A ring of `nodes`, ready, holding `count` small blocks at k verified copies each; their ids. */
async function settledRingWithBlocks(cluster: SimCluster, nodes: number, count: number): Promise<string[]> {
  await cluster.addNodes(nodes, 30);
  await cluster.runUntil(() => cluster.allReady(), 20_000);
  await cluster.runFor(3_000);
  const client = cluster.live()[0]!.replicas.client(await userSigner(cluster, 'erin@sim.example'));
  const r = cluster.random.fork('blocks');
  const ids = (await settle(cluster, Array.from({ length: count }, () => client.putBlock(r.bytes(100 + r.int(200)))))).map((x) => (x as PromiseFulfilledResult<string>).value);
  await cluster.runFor(5_000);
  expect(await cluster.underReplicated(ids)).toEqual([]);
  return ids;
}

/** Wait (bounded) until every id has k verified replicas; log how long it took. */
async function backToK(cluster: SimCluster, ids: string[], since: number, what: string) {
  let under = await cluster.underReplicated(ids);
  while (under.length > 0 && cluster.clock.now() - since < REPAIR_BOUND_MS) {
    await cluster.runFor(1_000);
    under = await cluster.underReplicated(ids);
  }
  console.log(`storage sim: all ${ids.length} blocks at k verified replicas ${Math.round(cluster.clock.now() - since)} ms after ${what} (bound ${REPAIR_BOUND_MS} ms)`);
  return under;
}

describe('storage: 100 simulated nodes', () => {
  test('10,000 blocks survive two adjacent replicas dying and churn, and return to k verified replicas', async () => {
    const seed = simSeed(41);
    const cluster = await SimCluster.create({ seed });
    console.log(`storage sim: seed=${seed} nodes=${NODES} blocks=${BLOCKS}`);
    await withSeed(cluster, async () => {
      await cluster.addNodes(NODES, 20);
      await cluster.runUntil(() => cluster.allReady(), 30_000);
      await cluster.runFor(5_000);
      const alice = await userSigner(cluster, 'alice@sim.example');
      const writers = cluster.live().slice(0, 10).map((n) => n.replicas.client(alice));
      const r = cluster.random.fork('payloads');
      const puts = Array.from({ length: BLOCKS }, (_, i) => writers[i % writers.length]!.putBlock(r.bytes(64 + r.int(512))));
      const results = await settle(cluster, puts);
      const ids = results.map((x) => (x.status === 'fulfilled' ? x.value : ''));
      expect(results.filter((x) => x.status === 'rejected')).toEqual([]);
      await cluster.runFor(5_000);
      expect(await cluster.underReplicated(ids)).toEqual([]);

      // Kill two adjacent nodes: k-1 replicas of the keys between them and their neighbours.
      const sorted = cluster.liveIds().sort();
      const a = 40;
      await cluster.kill(sorted[a]!);
      await cluster.kill(sorted[a + 1]!);
      const killedAt = cluster.clock.now();
      const readers = cluster.live().slice(20, 30);
      const reads = await settle(cluster, ids.map((id, i) => readers[i % readers.length]!.replicas.storage.getBlock(id)));
      expect(reads.filter((x) => x.status === 'rejected').length).toBe(0);
      expect(await backToK(cluster, ids, killedAt, 'two adjacent nodes died')).toEqual([]);

      // More churn: three more die, five join.
      for (let i = 0; i < 3; i++) {
        await cluster.kill(cluster.liveIds()[cluster.random.int(cluster.liveIds().length)]!);
        await cluster.runFor(3_000);
      }
      await cluster.addNodes(5, 1_000);
      expect(await backToK(cluster, ids, cluster.clock.now(), 'churn ended')).toEqual([]);
      const again = await settle(cluster, ids.map((id, i) => cluster.live()[i % cluster.live().length]!.replicas.storage.getBlock(id)));
      expect(again.filter((x) => x.status === 'rejected').length).toBe(0);
    });
    await cluster.stop();
  }, 600_000);
});

describe('storage: rules', () => {
  test('the same plaintext stored twice, or by two users, is one set of blocks', async () => {
    const cluster = await SimCluster.create({ seed: simSeed(42) });
    await withSeed(cluster, async () => {
      await cluster.addNodes(20, 30);
      await cluster.runUntil(() => cluster.allReady(), 20_000);
      await cluster.runFor(3_000);
      const alice = cluster.live()[0]!.replicas.client(await userSigner(cluster, 'alice@sim.example'));
      const bob = cluster.live()[7]!.replicas.client(await userSigner(cluster, 'bob@sim.example'));
      const data = cluster.random.fork('data').bytes(3 * 1024 * 1024 + 17);
      const [r1, r2, r3] = (await settle(cluster, [alice.putData(data), alice.putData(data), bob.putData(data)])).map((x) => (x as PromiseFulfilledResult<any>).value);
      expect(r1.id).toBe(r2.id);
      expect(r1.id).toBe(r3.id);
      await cluster.runFor(2_000);
      let blocks = 0;
      for (const disk of cluster.disks.values()) blocks += disk.blocks.map.size;
      expect(blocks).toBe(5 * 3); // 4 chunks + 1 manifest, k = 3 copies each
      const back = (await settle(cluster, [bob.getData(r1)]))[0] as PromiseFulfilledResult<Buffer>;
      expect(Buffer.compare(back.value, Buffer.from(data))).toBe(0);
    });
    await cluster.stop();
  }, 120_000);

  test('an insert signed by a non-member is refused, with a clear error', async () => {
    const cluster = await SimCluster.create({ seed: simSeed(43) });
    await withSeed(cluster, async () => {
      await cluster.addNodes(10, 30);
      await cluster.runUntil(() => cluster.allReady(), 20_000);
      const rogueCa = await createCertificateAuthority('sim.example', cluster.random.fork('rogue').bytes(32));
      const mallory = cluster.live()[0]!.replicas.client(await userSigner(cluster, 'mallory@sim.example', rogueCa));
      const [r] = await settle(cluster, [mallory.putBlock(new Uint8Array([1, 2, 3]))]);
      expect(r!.status).toBe('rejected');
      const e = (r as PromiseRejectedResult).reason;
      expect(e.code).toBe('NOT_AUTHORISED');
      expect(e.message).toMatch(/does not verify against the CA of sim\.example/);
      let blocks = 0;
      for (const disk of cluster.disks.values()) blocks += disk.blocks.map.size;
      expect(blocks).toBe(0);
    });
    await cluster.stop();
  }, 60_000);

  test('a stale head is refused (compare-and-swap), an old version replayed is refused, readers get the newest', async () => {
    const cluster = await SimCluster.create({ seed: simSeed(44) });
    await withSeed(cluster, async () => {
      await cluster.addNodes(12, 30);
      await cluster.runUntil(() => cluster.allReady(), 20_000);
      const signer = await userSigner(cluster, 'carol@sim.example');
      const carol = cluster.live()[0]!.replicas.client(signer);
      const v1 = await signObjectVersion({ keys: signer.keys, name: 'log:INBOX', payload: new Uint8Array([1]) });
      const v2 = await signObjectVersion({ keys: signer.keys, name: 'log:INBOX', payload: new Uint8Array([2]), previous: v1 });
      const v2b = await signObjectVersion({ keys: signer.keys, name: 'log:INBOX', payload: new Uint8Array([9]), previous: v1 });
      const [p1] = await settle(cluster, [carol.putObject(v1, 0)]);
      expect((p1 as PromiseFulfilledResult<any>).value).toEqual({ ok: true, acked: expect.any(Array) });
      const [p2] = await settle(cluster, [carol.putObject(v2, 1)]);
      expect((p2 as PromiseFulfilledResult<any>).value.ok).toBe(true);
      // Another device still at seq 1 tries to replace it: refused, and told what is current.
      const [stale] = await settle(cluster, [carol.putObject(v2b, 1)]);
      const s = (stale as PromiseFulfilledResult<any>).value;
      expect(s.ok).toBe(false);
      expect(s.code).toBe('CAS_MISMATCH');
      expect(s.current.seq).toBe(2);
      // Replaying the old version (as repair would) is refused as not newer.
      const [replay] = await settle(cluster, [carol.putObjectTo(v1, undefined)]);
      expect((replay as PromiseFulfilledResult<any>).value.code).toBe('SEQ_NOT_NEWER');
      const [read] = await settle(cluster, [cluster.live()[9]!.replicas.storage.getObject(v1.objectId)]);
      expect((read as PromiseFulfilledResult<any>).value.seq).toBe(2);
      // A user cannot write an object someone else owns.
      const dave = cluster.live()[3]!.replicas.client(await userSigner(cluster, 'dave@sim.example'));
      const v3 = await signObjectVersion({ keys: signer.keys, name: 'log:INBOX', payload: new Uint8Array([3]), previous: v2 });
      const [forged] = await settle(cluster, [dave.putObject(v3, 2)]);
      expect((forged as PromiseFulfilledResult<any>).value).toMatchObject({ ok: false, code: 'NOT_AUTHORISED' });
    });
    await cluster.stop();
  }, 60_000);

  test('a corrupt copy on one replica is detected, never served, and repaired from the others', async () => {
    const cluster = await SimCluster.create({ seed: simSeed(45) });
    await withSeed(cluster, async () => {
      await cluster.addNodes(12, 30);
      await cluster.runUntil(() => cluster.allReady(), 20_000);
      const node = cluster.live()[0]!;
      const [put] = await settle(cluster, [node.replicas.storage.putBlock(cluster.random.fork('c').bytes(4000))]);
      const id = (put as PromiseFulfilledResult<string>).value;
      await cluster.runFor(1_000);
      const holders = [...cluster.disks].filter(([, d]) => d.blocks.map.has(id)).map(([n]) => n);
      expect(holders).toHaveLength(3);
      const victim = holders[0]!;
      cluster.disks.get(victim)!.blocks.map.get(id)!.bytes[10]! ^= 0xff;
      const [read] = await settle(cluster, [cluster.live()[5]!.replicas.storage.getBlock(id)]);
      expect(read!.status).toBe('fulfilled');
      // The scrub (or the read that found it) restores a good copy.
      await cluster.runFor(120_000);
      expect(await cluster.underReplicated([id])).toEqual([]);
      expect(cluster.log.entries().some((e) => e.event === 'storage.corrupt')).toBe(true);
    });
    await cluster.stop();
  }, 120_000);

  test('repair fetches a batch: the good blocks are stored, a corrupt one is refused and counted; only nodes may offer', async () => {
    const cluster = await SimCluster.create({ seed: simSeed(48) });
    await withSeed(cluster, async () => {
      await cluster.addNodes(6, 30);
      await cluster.runUntil(() => cluster.allReady(), 20_000);
      await cluster.runFor(2_000);
      const [source, receiver] = cluster.live();
      // Blocks only the source holds (as after a loss), one of them rotten on its disk.
      const disk = new MemoryStore(cluster.disks.get(source!.id)!);
      const r = cluster.random.fork('batch');
      const expiresAtMs = Math.floor(cluster.clock.now() + 3_600_000);
      const blocks: OfferedBlock[] = [];
      for (let i = 0; i < 6; i++) {
        const bytes = r.bytes(2000 + i);
        const id = blockIdOf(bytes).toString('hex');
        await disk.putBlock(id, bytes, { expiresAtMs, insertedBy: source!.id });
        blocks.push({ id, expiresAtMs, insertedBy: source!.id, sizeBytes: bytes.length });
      }
      const rotten = blocks[2]!.id;
      disk.corrupt(rotten);
      const offer = async (signer: StorageSigner) => {
        const auth = await signOffer(signer, offerDigest(blocks));
        return cluster.settle(source!.replicas.peers.request(receiver!.id, BlockOffer, { blocks, verify: false, auth }, BlockOfferReply, 2_000));
      };

      // A user cannot have replicas take blocks under leases it names for others.
      const byUser = await offer(await userSigner(cluster, 'mallory@sim.example'));
      expect(byUser).toMatchObject({ ok: true, body: { ok: false, code: 'NOT_AUTHORISED' } });
      await cluster.runFor(1_000);
      expect(blocks.some((b) => cluster.disks.get(receiver!.id)!.blocks.map.has(b.id))).toBe(false);
      const taken = await offer(source!.replicas.storage.signer);
      expect(taken).toMatchObject({ ok: true, body: { ok: true, held: blocks.map(() => false), queued: blocks.length } });
      await cluster.runFor(2_000);

      const stored = [...cluster.disks.get(receiver!.id)!.blocks.map.keys()];
      expect(blocks.filter((b) => b.id !== rotten).every((b) => stored.includes(b.id))).toBe(true);
      expect(stored).not.toContain(rotten);
      // One bulk request carried the whole batch, the rotten block with the good ones.
      expect(source!.metrics.render()).toMatch(/^post_storage_replica_ms_count\{kind="storage.blocks.get"\} 1$/m);
      const metrics = receiver!.metrics.render();
      expect(metrics).toMatch(/^post_storage_refused_total\{code="BLOCK_CORRUPT"\} 1$/m);
      expect(metrics).toMatch(/^post_storage_repair_fetched_total 5$/m);
      expect(cluster.log.entries().some((e) => e.event === 'storage.repair.refused' && e.block === rotten)).toBe(true);
    });
    await cluster.stop();
  }, 60_000);

  test('a node dies: its new replicas pull the arcs they gained at once, back to k verified copies before any holder\'s repair pass offers', async () => {
    // The holders' repair passes wait out a long debounce here, and anti-entropy does not run: only
    // the new replicas' pulls can bring the lost copies back before it ends.
    const debounceMs = 120_000;
    const timings = { ...STORAGE_TIMINGS, repairDebounceMs: debounceMs, antiEntropyIntervalMs: 3_600_000 };
    const cluster = await SimCluster.create({ seed: simSeed(49), storageTimings: timings });
    await withSeed(cluster, async () => {
      await cluster.addNodes(12, 30);
      await cluster.runUntil(() => cluster.allReady(), 20_000);
      await cluster.runFor(debounceMs + 10_000); // the joins' repair passes are done
      const signer = await userSigner(cluster, 'heidi@sim.example');
      const client = cluster.live()[0]!.replicas.client(signer);
      const r = cluster.random.fork('pull');
      const ids = (await settle(cluster, Array.from({ length: 300 }, () => client.putBlock(r.bytes(200 + r.int(4000)))))).map((x) => (x as PromiseFulfilledResult<string>).value);
      const objects: string[] = [];
      for (let i = 0; i < 20; i++) {
        const v = await signObjectVersion({ keys: signer.keys, name: `log:pull-${i}`, payload: r.bytes(100) });
        const [put] = await settle(cluster, [client.putObject(v, 0)]);
        expect((put as PromiseFulfilledResult<{ ok: boolean }>).value.ok).toBe(true);
        objects.push(v.objectId);
      }
      await cluster.runFor(2_000);
      expect(await cluster.underReplicated(ids)).toEqual([]);
      expect(await cluster.underReplicated(objects, 'object')).toEqual([]);

      const held = (node: string) => ids.filter((id) => cluster.disks.get(node)!.blocks.map.has(id)).length;
      const victim = cluster.liveIds().sort((a, b) => held(b) - held(a))[0]!;
      const passes = (what: 'pull' | 'repair') => cluster.live().filter((node) => node.id !== victim).reduce((n, node) => n + (node.replicas.snapshot?.context.passes[what] ?? 0), 0);
      const repairsBefore = passes('repair');
      await cluster.kill(victim);
      // Detection (the suspicion timeout) and the pulls: well inside the holders' debounce.
      const killedAt = cluster.clock.now();
      while ((await cluster.underReplicated(ids)).length > 0 && cluster.clock.now() - killedAt < OVERLAY_TIMINGS.suspicionTimeoutMs + 10_000) await cluster.runFor(500);
      console.log(`storage sim: ${held(victim)} blocks of the dead node at k verified copies ${Math.round(cluster.clock.now() - killedAt)} ms after the kill (holders' debounce ${debounceMs} ms)`);
      expect(await cluster.underReplicated(ids)).toEqual([]);
      expect(await cluster.underReplicated(objects, 'object')).toEqual([]);
      expect(passes('repair')).toBe(repairsBefore);
      expect(counter(cluster, 'post_storage_repair_offered_total')).toBe(0);
      expect(counter(cluster, 'post_storage_pull_queued_total')).toBeGreaterThan(0);
      // The holders' repair passes, the safety net, run later and find nothing left to offer.
      await cluster.runFor(debounceMs + 10_000);
      expect(passes('repair')).toBeGreaterThan(repairsBefore);
      expect(counter(cluster, 'post_storage_repair_offered_total')).toBe(0);
      expect(await cluster.underReplicated(ids)).toEqual([]);
    });
    await cluster.stop();
  }, 180_000);

  test('a stable sparse ring: anti-entropy fetches nothing and repair hands nothing over, pass after pass', async () => {
    // Five nodes, k = 3: the gaps are long, and near one end of a gap the other end is not among a key's
    // k closest. Anti-entropy compared the whole arc up to the clockwise neighbour, never matched, and
    // each pass fetched the keys of that part of the arc which the repair pass then handed over again.
    const cluster = await SimCluster.create({ seed: simSeed(50) });
    await withSeed(cluster, async () => {
      const ids = await settledRingWithBlocks(cluster, 5, 300);
      const churn = () => ['post_storage_antientropy_queued_total', 'post_storage_handed_over_total', 'post_storage_repair_fetched_total'].map((name) => counter(cluster, name));
      const before = churn();
      await cluster.runFor(STORAGE_TIMINGS.antiEntropyIntervalMs * 4);
      const after = churn();
      expect(after).toEqual(before);
      const copies = ids.map((id) => [...cluster.disks.values()].filter((d) => d.blocks.map.has(id)).length);
      expect(copies.filter((n) => n !== 3)).toEqual([]);
    });
    await cluster.stop();
  }, 120_000);

  test('anti-entropy offers nothing while the digests agree, and the keys of the arc that differs when one does: a copy lost in silence comes back', async () => {
    // A repair over every key held (a sweep) offers each to its other replicas: run after every pass,
    // it and the health check after it took 16% of a core on the idle lab at 30,000 keys a node.
    const cluster = await SimCluster.create({ seed: simSeed(59) });
    await withSeed(cluster, async () => {
      const ids = await settledRingWithBlocks(cluster, 8, 200);
      // The repairs after the start looked at every key and found everything in place.
      await cluster.runFor(STORAGE_TIMINGS.antiEntropyIntervalMs * 2);
      const offersServed = () => cluster.live().reduce((n, node) => n + Number(/^post_storage_replica_ms_count\{kind="storage\.block\.offer"\} (\d+)$/m.exec(node.metrics.render())?.[1] ?? 0), 0);
      const sweeps = () => cluster.live().reduce((n, node) => n + [...node.metrics.render().matchAll(/^post_storage_sweeps_total\{[^}]*\} (\d+)$/gm)].reduce((m, x) => m + Number(x[1]), 0), 0);
      const antiEntropy = () => cluster.live().reduce((n, node) => n + (node.replicas.snapshot?.context.passes.antiEntropy ?? 0), 0);
      const [offers0, sweeps0, passes0] = [offersServed(), sweeps(), antiEntropy()];
      await cluster.runFor(STORAGE_TIMINGS.antiEntropyIntervalMs * 4);
      expect(antiEntropy() - passes0).toBeGreaterThanOrEqual(3 * cluster.live().length);
      expect(sweeps()).toBe(sweeps0);
      expect(offersServed()).toBe(offers0);
      // One replica loses a copy without a word (no fault the ring sees): a digest differs, a repair of
      // that arc alone offers the block again, and it is back at k copies within two passes.
      const id = ids[0]!;
      const holder = [...cluster.disks].find(([, d]) => d.blocks.map.has(id))![0];
      cluster.disks.get(holder)!.blocks.delete(id);
      expect((await cluster.underReplicated([id])).map((u) => u.id)).toEqual([id]);
      await cluster.runFor(STORAGE_TIMINGS.antiEntropyIntervalMs * 2 + 5_000);
      expect(counter(cluster, 'post_storage_antientropy_mismatches_total')).toBeGreaterThan(0);
      expect(await cluster.underReplicated(ids)).toEqual([]);
      expect(sweeps()).toBe(sweeps0);
    });
    await cluster.stop();
  }, 120_000);

  test('leases: what the owner refreshes lives on, what nobody refreshes is collected', async () => {
    const cluster = await SimCluster.create({ seed: simSeed(46), storageTimings: { ...STORAGE_TIMINGS, gcIntervalMs: 10_000 } });
    await withSeed(cluster, async () => {
      await cluster.addNodes(12, 30);
      await cluster.runUntil(() => cluster.allReady(), 20_000);
      const client = cluster.live()[2]!.replicas.client(await userSigner(cluster, 'erin@sim.example'));
      const r = cluster.random.fork('lease');
      const puts = Array.from({ length: 40 }, () => client.putBlock(r.bytes(300), { leaseMs: 60_000 }));
      const ids = (await settle(cluster, puts)).map((x) => (x as PromiseFulfilledResult<string>).value);
      const kept = ids.slice(0, 20);
      const dropped = ids.slice(20);
      // The owner refreshes what it still references, well inside the lease, for five leases.
      for (let i = 0; i < 10; i++) {
        await settle(cluster, [client.refresh(kept, { leaseMs: 60_000 })]);
        await cluster.runFor(30_000);
      }
      expect(await cluster.underReplicated(kept)).toEqual([]);
      const survivors = dropped.filter((id) => [...cluster.disks.values()].some((d) => d.blocks.map.has(id)));
      expect(survivors).toEqual([]);
      expect(cluster.log.entries().some((e) => e.event === 'storage.gc')).toBe(true);
    });
    await cluster.stop();
  }, 120_000);

  test('a member over its quota is refused with QUOTA_EXCEEDED; others still store', async () => {
    const cluster = await SimCluster.create({ seed: simSeed(47) });
    await withSeed(cluster, async () => {
      for (let i = 0; i < 8; i++) {
        await cluster.addNode({ quotaBytes: 64 * 1024 });
        await cluster.runFor(30);
      }
      await cluster.runUntil(() => cluster.allReady(), 20_000);
      const frank = cluster.live()[0]!.replicas.client(await userSigner(cluster, 'frank@sim.example'));
      const results = await settle(cluster, [frank.putData(cluster.random.fork('big').bytes(200 * 1024))]);
      expect(results[0]!.status).toBe('rejected');
      expect((results[0] as PromiseRejectedResult).reason.code).toBe('QUOTA_EXCEEDED');
      const grace = cluster.live()[1]!.replicas.client(await userSigner(cluster, 'grace@sim.example'));
      const ok = await settle(cluster, [grace.putBlock(new Uint8Array(1000))]);
      expect(ok[0]!.status).toBe('fulfilled');
    });
    await cluster.stop();
  }, 60_000);
});
