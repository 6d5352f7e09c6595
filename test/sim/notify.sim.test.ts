// Users, logs and notification on the simulator (issue 4).
import { describe, expect, test } from 'vitest';
import { issueUserCertificate } from '../../crypto/certificates';
import { entryIdOf, dropIdOf, envelopeNonce, sealTo, signEnvelope } from '../../crypto/notification';
import { signingKeyPairFromSeed } from '../../crypto/sign';
import { boxKeyPairFromSeed } from '../../crypto/userKeys';
import { NOTIFY_DELIVER_BATCH_MAX, NOTIFY_PULL_PAGE_MAX, NOTIFY_RECEIPT_LINGER_MS, OVERLAY_TIMINGS, STORAGE_TIMINGS } from '../../protocol/limits';
import { kClosest } from '../../overlay/id';
import { decodeFrame } from '../../protocol/frame';
import { DROP_BATCH, DropPut, DropPutReply, InboxPush, InboxPushes } from '../../protocol/notify';
import { subjects } from '../../protocol/subjects';
import { SimCluster } from '../../scenarios/sim/cluster';
import { MemoryStore } from '../../infra/store/memory';
import { messagesModel } from '../../storage/messages/messagesModel';
import { simSeed, withSeed } from './seed';

/** Slower failure detection and housekeeping: a simulated day must stay cheap to run. */
const DAY_TIMINGS = { ...OVERLAY_TIMINGS, heartbeatIntervalMs: 60_000, suspicionTimeoutMs: 240_000, deadProbeIntervalMs: 600_000 };
const DAY_STORAGE = { ...STORAGE_TIMINGS, antiEntropyIntervalMs: 600_000, scrubIntervalMs: 3_600_000 };

async function ring(seed: number, n: number, opts: Parameters<typeof SimCluster.create>[0] extends infer O ? Partial<O> : never = {}) {
  const cluster = await SimCluster.create({ seed, ...opts });
  await cluster.addNodes(n, 50);
  await cluster.runUntil(() => cluster.allReady(), 60_000);
  await cluster.runFor(3_000);
  return cluster;
}

/** Drop requests of `kind` the cluster's replicas served so far (their /metrics counter). */
function dropRequests(cluster: SimCluster, kind: string): number {
  let total = 0;
  for (const node of cluster.live())
    for (const line of node.metrics.render().split('\n')) if (line.startsWith(`post_notify_drop_requests_total{kind="${kind}"} `)) total += Number(line.split(' ')[1]);
  return total;
}

type SimUser = Awaited<ReturnType<SimCluster['addUser']>>['user'];

/** A notification from alice (`alice`) to `to`, signed by `signer`: alice herself, or someone forging her. */
async function aliceEnvelope(cluster: SimCluster, alice: SimUser, to: SimUser['certificate'], signer: SimUser = alice) {
  const fields = { toUserId: to.userId, to: to.address, from: 'alice@sim.example', timeMs: Math.floor(cluster.clock.now()), nonce: envelopeNonce(cluster.random), sealed: sealTo(to.boxKey, new Uint8Array([1])) };
  return { ...fields, fromCert: alice.certificate, signature: await signEnvelope(fields, signer.signing.secretKey) };
}

const texts = async (cluster: SimCluster, app: { listMessages(): Promise<{ direction: string; text: string }[]> }) =>
  (await cluster.settle(app.listMessages())).filter((m) => m.direction === 'in').map((m) => m.text);

describe('notification', () => {
  test('a recipient offline for a simulated day while its drop replicas churn gets every notification exactly once', async () => {
    const cluster = await ring(simSeed(51), 14, { timings: DAY_TIMINGS, storageTimings: DAY_STORAGE });
    await withSeed(cluster, async () => {
      const nodes = cluster.live();
      const alice = await cluster.addUser('alice@sim.example', 'a-secret', nodes[0]!);
      const bobNode = nodes[7]!;
      await cluster.addUser('bob@sim.example', 'b-secret', bobNode);
      await cluster.kill(bobNode.id);
      const sent: string[] = [];
      const hour = 3600_000;
      for (let h = 0; h < 24; h++) {
        const text = `hour ${h}`;
        const r = await cluster.settle(alice.sendMessage(['bob@sim.example'], text));
        expect(r.failed).toEqual([]);
        sent.push(text);
        // Churn among the drop's neighbourhood: one node dies, another joins, every few hours.
        if (h % 6 === 3) {
          const victims = cluster.liveIds().filter((id) => id !== nodes[0]!.id);
          await cluster.kill(victims[cluster.random.int(victims.length)]!);
          await cluster.addNode();
        }
        await cluster.runFor(hour);
      }
      const back = await cluster.restart(bobNode.id);
      await cluster.runUntil(() => back.router.state === 'ready' && back.users.status().hosted.length === 1, 120_000);
      await cluster.runFor(120_000);
      const bob = back.users.get('bob@sim.example');
      expect((await texts(cluster, bob)).sort()).toEqual([...sent].sort());
      // And nothing is left pending: every replica of the drop got the receipts.
      await cluster.runFor(60_000);
      expect(await cluster.settle(bob.pull())).toBe(0);
      expect(await texts(cluster, bob)).toHaveLength(sent.length);
    });
    await cluster.stop();
  }, 600_000);

  test('a recipient node that crashes between the INBOX append and the receipt gets no duplicate', async () => {
    let crash = false;
    const cluster = await SimCluster.create({ seed: simSeed(52) });
    await withSeed(cluster, async () => {
      await cluster.addNodes(10, 50);
      await cluster.runUntil(() => cluster.allReady(), 20_000);
      const bobNode = await cluster.addNode({ faults: { crashBeforeReceipt: () => crash } });
      await cluster.runUntil(() => bobNode.router.state === 'ready', 20_000);
      const alice = await cluster.addUser('alice@sim.example', 'a', cluster.live()[0]!);
      await cluster.addUser('bob@sim.example', 'b', bobNode);
      crash = true;
      await cluster.settle(alice.sendMessage(['bob@sim.example'], 'only once'));
      await cluster.runFor(2_000);
      // The message is in Bob's log, the receipt was never sent: the node dies now.
      expect(await texts(cluster, bobNode.users.get('bob@sim.example'))).toEqual(['only once']);
      await cluster.kill(bobNode.id);
      crash = false;
      const back = await cluster.restart(bobNode.id);
      await cluster.runUntil(() => back.users.status().hosted.length === 1, 60_000);
      await cluster.runFor(10_000);
      const bob = back.users.get('bob@sim.example');
      expect(await texts(cluster, bob)).toEqual(['only once']);
      expect(await cluster.settle(bob.pull())).toBe(0);
    });
    await cluster.stop();
  }, 120_000);

  test('receipts wait NOTIFY_RECEIPT_LINGER_MS: one per drop replica clears many deliveries, each message still once and the drop emptied', async () => {
    const cluster = await SimCluster.create({ seed: simSeed(54) });
    await withSeed(cluster, async () => {
      await cluster.addNodes(6, 50);
      await cluster.runUntil(() => cluster.allReady(), 20_000);
      await cluster.runFor(3_000);
      const nodes = cluster.live();
      const alice = await cluster.addUser('alice@sim.example', 'a', nodes[0]!);
      const bob = await cluster.addUser('bob@sim.example', 'b', nodes[3]!);
      const acksBefore = dropRequests(cluster, 'notify.drop.ack');
      // Twelve messages, each its own delivery batch (well apart), all within a few linger periods.
      const sent: string[] = [];
      const spacingMs = NOTIFY_RECEIPT_LINGER_MS / 4;
      for (let i = 0; i < 12; i++) {
        sent.push(`lingered ${i}`);
        expect((await cluster.settle(alice.sendMessage(['bob@sim.example'], sent[i]!))).failed).toEqual([]);
        await cluster.runFor(spacingMs);
      }
      // Delivered, receipts held back: a pull now offers nothing again (the inbox knows what awaits its receipt).
      expect(await cluster.settle(bob.pull())).toBe(0);
      await cluster.runFor(10 * NOTIFY_RECEIPT_LINGER_MS);
      expect((await texts(cluster, bob)).sort()).toEqual([...sent].sort());
      // One receipt per linger period (not per delivery) to each of the drop's k = 3 replicas.
      const acks = dropRequests(cluster, 'notify.drop.ack') - acksBefore;
      const periods = Math.ceil((12 * spacingMs) / NOTIFY_RECEIPT_LINGER_MS) + 1;
      expect(acks).toBeGreaterThan(0);
      expect(acks).toBeLessThanOrEqual(3 * periods);
      // Every replica of the drop took the receipts: nothing pending, nothing delivered twice.
      const dropId = dropIdOf(bob.user.certificate.userId);
      for (const node of cluster.live()) expect(await cluster.settle(node.store.countDrop(dropId))).toBe(0);
      await cluster.runFor(2_000);
      expect(await texts(cluster, bob)).toHaveLength(sent.length);
    });
    await cluster.stop();
  }, 120_000);

  test('two devices of one user interleaving 1,000 operations on one log converge with nothing lost', async () => {
    const cluster = await ring(simSeed(53), 12);
    await withSeed(cluster, async () => {
      const [n1, n2] = [cluster.live()[1]!, cluster.live()[8]!];
      const d1 = await cluster.addUser('carol@sim.example', 'c', n1);
      const twice = await cluster.addUser('carol@sim.example', 'c', n2).catch((e) => e);
      expect(String(twice.message)).toMatch(/already exists/);
      const d2 = await cluster.hostUser(n2, 'carol@sim.example', 'c');
      const [l1, l2] = await cluster.settle(Promise.all([d1.openLog('notes', messagesModel), d2.openLog('notes', messagesModel)]));
      const op = (device: number, i: number) => ({ type: 'add' as const, record: { key: `d${device}-${i}`, direction: 'out' as const, from: 'carol@sim.example', to: [], ref: 'x', sentAtMs: i, recordedAtMs: i } });
      const r = cluster.random.fork('interleave');
      const writes: Promise<unknown>[] = [];
      let i1 = 0;
      let i2 = 0;
      while (i1 < 500 || i2 < 500) {
        const pickFirst = i2 >= 500 || (i1 < 500 && r.float() < 0.5);
        const batch = 1 + r.int(4);
        const ops: ReturnType<typeof op>[] = [];
        for (let j = 0; j < batch; j++) {
          if (pickFirst && i1 < 500) ops.push(op(1, i1++));
          else if (!pickFirst && i2 < 500) ops.push(op(2, i2++));
        }
        // Retry on contention, as a client does: the operations are idempotent.
        const log = pickFirst ? l1 : l2;
        const write = async (): Promise<unknown> => log.append(ops).catch((e: { code?: string }) => (e.code === 'LOG_CONTENTION' ? write() : Promise.reject(e)));
        writes.push(write());
        if (r.float() < 0.3) await cluster.runFor(r.int(20));
      }
      await cluster.settle(Promise.all(writes), 600_000);
      await cluster.settle(Promise.all([l1.refresh(), l2.refresh()]));
      const keys1 = await l1.read((s) => [...s.order].sort());
      const keys2 = await l2.read((s) => [...s.order].sort());
      expect(keys1).toHaveLength(1000);
      expect(keys2).toEqual(keys1);
    });
    await cluster.stop();
  }, 600_000);

  test('messages sent to a recipient whose node is down reach its store in the order they were sent, across delivery batches', async () => {
    const cluster = await ring(simSeed(58), 8);
    await withSeed(cluster, async () => {
      const nodes = cluster.live();
      const alice = await cluster.addUser('alice@sim.example', 'a', nodes[0]!);
      const bobNode = nodes[4]!;
      await cluster.addUser('bob@sim.example', 'b', bobNode);
      await cluster.kill(bobNode.id);
      // More than one batch: the drop lists its entries by id, which is no order at all.
      const sent = Array.from({ length: NOTIFY_DELIVER_BATCH_MAX + 8 }, (_, i) => `backlog ${i + 1}`);
      for (const text of sent) {
        expect((await cluster.settle(alice.sendMessage(['bob@sim.example'], text))).failed).toEqual([]);
        await cluster.runFor(200);
      }
      const back = await cluster.restart(bobNode.id);
      await cluster.runUntil(() => back.router.state === 'ready' && back.users.status().hosted.length === 1, 120_000);
      await cluster.runFor(30_000);
      expect(await texts(cluster, back.users.get('bob@sim.example'))).toEqual(sent);
    });
    await cluster.stop();
  }, 180_000);

  test('a message keeps its XMPP type (normal, headline) from the sender\'s store to the recipient\'s; a chat and `post message` carry none; a headline for a user with no available session is dropped', async () => {
    const cluster = await ring(simSeed(57), 8);
    await withSeed(cluster, async () => {
      const nodes = cluster.live();
      const alice = await cluster.addUser('alice@sim.example', 'a', nodes[0]!);
      const bob = await cluster.addUser('bob@sim.example', 'b', nodes[4]!);
      for (const [text, xmppType] of [['a note', 'normal'], ['breaking', 'headline'], ['hi', undefined]] as const)
        expect((await cluster.settle(alice.sendMessage(['bob@sim.example'], text, xmppType ? { xmppType } : {}))).failed).toEqual([]);
      await cluster.runFor(5_000);
      const typed = (list: { text: string; xmppType?: string; direction: string }[], direction: string) => list.filter((m) => m.direction === direction).map((m) => [m.text, m.xmppType]);
      const sent = [['a note', 'normal'], ['breaking', 'headline'], ['hi', undefined]];
      expect(typed(await cluster.settle(alice.listMessages()), 'out')).toEqual(sent);
      // Bob has no available XMPP session: the headline is dropped, not kept for later (RFC 6121 8.5.2.1.1, 8.5.2.2.1).
      expect(typed(await cluster.settle(bob.listMessages()), 'in')).toEqual([['a note', 'normal'], ['hi', undefined]]);
      // With one (what bob's XMPP thread on his node says while a session is available), a headline is delivered and kept.
      bob.xmppAvailable = () => true;
      expect((await cluster.settle(alice.sendMessage(['bob@sim.example'], 'live news', { xmppType: 'headline' }))).failed).toEqual([]);
      await cluster.runFor(5_000);
      expect(typed(await cluster.settle(bob.listMessages()), 'in')).toEqual([['a note', 'normal'], ['hi', undefined], ['live news', 'headline']]);
    });
    await cluster.stop();
  }, 120_000);

  test('a forged, misaddressed or replayed notification is refused', async () => {
    const cluster = await ring(simSeed(54), 10);
    await withSeed(cluster, async () => {
      const nodes = cluster.live();
      const alice = await cluster.addUser('alice@sim.example', 'a', nodes[0]!);
      const bob = await cluster.addUser('bob@sim.example', 'b', nodes[4]!);
      const eve = await cluster.addUser('eve@sim.example', 'e', nodes[6]!);
      const bobCert = bob.user.certificate;
      const make = (signer = alice.user, to = bobCert) => aliceEnvelope(cluster, alice.user, to, signer);
      const put = async (dropId: string, envelope: any) => {
        const replicas = await cluster.settle(nodes[2]!.replicas.locate(dropId, 0));
        return cluster.settle(nodes[2]!.replicas.peers.request(replicas[0]!, DropPut, { dropId, envelope }, DropPutReply, 2000));
      };
      // Forged: claims to be from Alice, signed by Eve.
      const forged = await put(dropIdOf(bobCert.userId), await make(eve.user));
      expect(forged).toMatchObject({ ok: true, body: { ok: false, code: 'BAD_SIGNATURE' } });
      // Misaddressed: for Bob, put in Eve's drop.
      const mis = await put(dropIdOf(eve.user.certificate.userId), await make());
      expect(mis).toMatchObject({ ok: true, body: { ok: false, code: 'MISADDRESSED' } });
      // Replayed: a genuine one, delivered and acknowledged, sent again: not stored, not delivered again.
      const genuine = await make();
      expect(await put(dropIdOf(bobCert.userId), genuine)).toMatchObject({ ok: true, body: { ok: true } });
      await cluster.runFor(5_000);
      const replay = await put(dropIdOf(bobCert.userId), genuine);
      expect(replay).toMatchObject({ ok: true, body: { ok: true, code: 'ALREADY_DELIVERED' } });
      await cluster.runFor(5_000);
      const entryId = entryIdOf(genuine.signature);
      for (const disk of cluster.disks.values()) expect(await new MemoryStore(disk).getDropEntry(dropIdOf(bobCert.userId), entryId)).toBeUndefined();
      // Replayed from long ago (outside the freshness window): refused outright.
      const old = { ...(await make()), timeMs: Math.floor(cluster.clock.now()) - 40 * 24 * 3600_000 };
      const stale = await put(dropIdOf(bobCert.userId), { ...old, signature: await signEnvelope(old, alice.user.signing.secretKey) });
      expect(stale).toMatchObject({ ok: true, body: { ok: false, code: 'REPLAYED' } });
    });
    await cluster.stop();
  }, 120_000);

  test('drop puts of one turn travel as one notify.batch per replica, each checked and answered as if alone', async () => {
    const cluster = await ring(simSeed(58), 8);
    await withSeed(cluster, async () => {
      const nodes = cluster.live();
      const alice = await cluster.addUser('alice@sim.example', 'a', nodes[0]!);
      const bob = await cluster.addUser('bob@sim.example', 'b', nodes[4]!);
      const carol = await cluster.addUser('carol@sim.example', 'c', nodes[5]!);
      const eve = await cluster.addUser('eve@sim.example', 'e', nodes[6]!);
      const bobCert = bob.user.certificate;
      const make = (signer = alice.user, to = bobCert) => aliceEnvelope(cluster, alice.user, to, signer);
      const dropId = dropIdOf(bobCert.userId);
      // Genuine, forged (signed by eve), genuine, carol's notification put in bob's drop, genuine.
      const [replica] = await cluster.settle(nodes[2]!.replicas.locate(dropId, 0));
      const puts = [await make(), await make(eve.user), await make(), await make(alice.user, carol.user.certificate), await make()].map((envelope) => DropPut.encode({ dropId, envelope }));
      const [batchesBefore, putsBefore] = [dropRequests(cluster, DROP_BATCH.request.kind), dropRequests(cluster, DropPut.kind)];
      const replies = await cluster.settle(Promise.all(puts.map((frame) => nodes[2]!.replicas.peers.requestBatched(replica!, frame, DropPutReply, 2000, DROP_BATCH))));
      expect(replies.map((r) => (r.ok ? r.body : r))).toEqual([
        { ok: true },
        { ok: false, code: 'BAD_SIGNATURE', message: expect.any(String) },
        { ok: true },
        { ok: false, code: 'MISADDRESSED', message: expect.any(String) },
        { ok: true },
      ]);
      // One frame carried the five puts; each was served on its own.
      expect(dropRequests(cluster, DROP_BATCH.request.kind) - batchesBefore).toBe(1);
      expect(dropRequests(cluster, DropPut.kind) - putsBefore).toBe(puts.length);
    });
    await cluster.stop();
  }, 120_000);

  test('several live pushes in one notify.inbox.pushes frame are each delivered once, without waiting for a pull', async () => {
    const cluster = await ring(simSeed(59), 6);
    await withSeed(cluster, async () => {
      const nodes = cluster.live();
      const alice = await cluster.addUser('alice@sim.example', 'a', nodes[0]!);
      // Dan's keys, received through his node's notifier with a pull interval longer than the test.
      const signing = await signingKeyPairFromSeed(cluster.random.fork('dan').bytes(32));
      const box = boxKeyPairFromSeed(cluster.random.fork('dan-box').bytes(32));
      const cert = await issueUserCertificate(cluster.ca, { address: 'dan@sim.example', signingKey: signing.publicKey, boxKey: box.publicKey }, { nowMs: cluster.clock.now() });
      const delivered: string[] = [];
      const handle = nodes[3]!.notifier.receive({ cert, signingSecretKey: signing.secretKey, box }, async (n) => (delivered.push(n.entryId), 'delivered'), { pullIntervalMs: 3_600_000 });
      await cluster.runFor(2_000); // the start-up pull found the drop empty
      const envelopes = [await aliceEnvelope(cluster, alice.user, cert), await aliceEnvelope(cluster, alice.user, cert), await aliceEnvelope(cluster, alice.user, cert)];
      const entries = envelopes.map((envelope) => ({ entryId: entryIdOf(envelope.signature), envelope }));
      const frame = InboxPushes.encode({ dropId: dropIdOf(cert.userId), entries: [...entries, entries[0]!] }); // one twice
      cluster.network.connect('pusher').publish(subjects.inbox(cert.ringId, cert.userId), frame);
      await cluster.runFor(1_000);
      expect(delivered.sort()).toEqual(entries.map((e) => e.entryId).sort());
      // A frame for another drop on this subject is not taken.
      const stray = await aliceEnvelope(cluster, alice.user, cert);
      cluster.network.connect('stray').publish(subjects.inbox(cert.ringId, cert.userId), InboxPushes.encode({ dropId: dropIdOf(alice.user.certificate.userId), entries: [{ entryId: entryIdOf(stray.signature), envelope: stray }, entries[1]!] }));
      await cluster.runFor(1_000);
      expect(delivered).toHaveLength(entries.length);
      handle.stop();
    });
    await cluster.stop();
  }, 120_000);

  test('a notification is pushed live once, by its sender after a majority stored it; an older sender\'s put is pushed by each replica', async () => {
    const cluster = await ring(simSeed(57), 8);
    await withSeed(cluster, async () => {
      const nodes = cluster.live();
      const alice = await cluster.addUser('alice@sim.example', 'a', nodes[0]!);
      const bob = await cluster.addUser('bob@sim.example', 'b', nodes[4]!);
      const bobCert = bob.user.certificate;
      const pushes: string[] = [];
      const listener = cluster.network.connect('push-listener');
      listener.subscribe(subjects.inbox(bobCert.ringId, bobCert.userId), (m) => {
        const r = decodeFrame(m.data);
        if (r.ok && r.frame.kind === InboxPush.kind) pushes.push((r.frame.body as { entryId: string }).entryId);
      });
      const sent = ['one', 'two', 'three'];
      for (const text of sent) expect((await cluster.settle(alice.sendMessage(['bob@sim.example'], text))).failed).toEqual([]);
      await cluster.runFor(3_000);
      expect((await texts(cluster, bob)).sort()).toEqual([...sent].sort());
      expect(pushes).toHaveLength(sent.length);
      expect(new Set(pushes).size).toBe(sent.length);
      // A put that does not say the sender pushes (a node of an older version): a replica that stores
      // the new entry pushes it, as before (the later replicas may find it taken already: no push).
      pushes.length = 0;
      const fields = { toUserId: bobCert.userId, to: bobCert.address, from: 'alice@sim.example', timeMs: Math.floor(cluster.clock.now()), nonce: envelopeNonce(cluster.random), sealed: sealTo(bobCert.boxKey, new Uint8Array([1])) };
      const envelope = { ...fields, fromCert: alice.user.certificate, signature: await signEnvelope(fields, alice.user.signing.secretKey) };
      const dropId = dropIdOf(bobCert.userId);
      const replicas = await cluster.settle(nodes[2]!.replicas.locate(dropId, 0));
      for (const replica of replicas.slice(0, 3)) expect(await cluster.settle(nodes[2]!.replicas.peers.request(replica, DropPut, { dropId, envelope }, DropPutReply, 2000))).toMatchObject({ ok: true, body: { ok: true } });
      await cluster.runFor(1_000);
      expect(pushes.filter((id) => id === entryIdOf(envelope.signature)).length).toBeGreaterThanOrEqual(1);
    });
    await cluster.stop();
  }, 120_000);

  test('a drop holding more entries than one sync page reaches a new replica whole', async () => {
    const cluster = await ring(simSeed(55), 8);
    await withSeed(cluster, async () => {
      const nodes = cluster.live();
      const alice = await cluster.addUser('alice@sim.example', 'a', nodes[0]!);
      const bobNode = nodes[4]!;
      const bobCert = (await cluster.addUser('bob@sim.example', 'b', bobNode)).user.certificate;
      await cluster.kill(bobNode.id); // nobody takes the entries: they wait in the drop
      await cluster.runFor(30_000); // the ring knows it is gone
      const dropId = dropIdOf(bobCert.userId);
      const live = () => nodes.filter((n) => cluster.liveIds().includes(n.id));
      const via = live()[0]!;
      const waiting = NOTIFY_PULL_PAGE_MAX + 30;
      for (let i = 0; i < waiting; i++) {
        const fields = { toUserId: bobCert.userId, to: bobCert.address, from: 'alice@sim.example', timeMs: Math.floor(cluster.clock.now()), nonce: envelopeNonce(cluster.random), sealed: sealTo(bobCert.boxKey, new Uint8Array([i & 0xff])) };
        const envelope = { ...fields, fromCert: alice.user.certificate, signature: await signEnvelope(fields, alice.user.signing.secretKey) };
        // Put at every replica, as a sender's notifier does.
        for (const replica of await cluster.settle(via.replicas.locate(dropId, 0))) {
          const from = live().find((n) => n.id !== replica)!;
          expect(await cluster.settle(from.replicas.peers.request(replica, DropPut, { dropId, envelope }, DropPutReply, 2000))).toMatchObject({ ok: true, body: { ok: true } });
        }
      }
      const held = async (nodeId: string) => {
        const store = new MemoryStore(cluster.disks.get(nodeId)!);
        let n = 0;
        for (let after: string | undefined, page; (page = await store.listDrop(dropId, { afterEntryId: after })).length > 0; after = page[page.length - 1]!.entryId) n += page.length;
        return n;
      };
      // The drop's nearest replica dies for good: the next node in line becomes a replica and is
      // given every entry by the repair pass, several sync pages of them.
      const before = kClosest(cluster.liveIds(), dropId, 3);
      await cluster.kill(before[0]!);
      const after = kClosest(cluster.liveIds(), dropId, 3);
      const newcomer = after.find((id) => !before.includes(id))!;
      expect(await held(newcomer)).toBe(0);
      await cluster.runFor(STORAGE_TIMINGS.antiEntropyIntervalMs * 3);
      for (const id of after) expect(await held(id), id.slice(0, 8)).toBe(waiting);
    });
    await cluster.stop();
  }, 300_000);

  test('owners refresh what their logs reference: messages outlive many leases, unreferenced data does not', async () => {
    const storageTimings = { ...STORAGE_TIMINGS, leaseMs: 10 * 60_000, refreshIntervalMs: 3 * 60_000, gcIntervalMs: 60_000 };
    const cluster = await ring(simSeed(55), 10, { storageTimings });
    await withSeed(cluster, async () => {
      const nodes = cluster.live();
      const alice = await cluster.addUser('alice@sim.example', 'a', nodes[0]!);
      const bob = await cluster.addUser('bob@sim.example', 'b', nodes[5]!);
      for (let i = 0; i < 5; i++) await cluster.settle(alice.sendMessage(['bob@sim.example'], `note ${i}`));
      const orphan = await cluster.settle(nodes[2]!.replicas.storage.putBlock(new Uint8Array(500).fill(7)));
      await cluster.runFor(60 * 60_000); // six leases
      expect(await texts(cluster, bob)).toHaveLength(5);
      expect((await cluster.settle(alice.listMessages())).map((m) => m.text)).toEqual(['note 0', 'note 1', 'note 2', 'note 3', 'note 4']);
      expect([...cluster.disks.values()].some((d) => d.blocks.map.has(orphan))).toBe(false);
      expect(cluster.log.entries().some((e) => e.event === 'user.leases.refreshed')).toBe(true);
    });
    await cluster.stop();
  }, 300_000);
});
