// Issue 11: the puts a node makes to one replica in one event-loop turn travel as one storage.batch
// frame and come back in one answer; each put inside is checked, stored or refused as if it came alone.
import { describe, expect, test } from 'vitest';
import { createCertificateAuthority } from '../../crypto/certificates';
import { blockIdOf } from '../../crypto/convergent';
import { signInsert } from '../../crypto/insertAuth';
import { Peers } from '../../actors/storage/peers';
import { decodeFrame } from '../../protocol/frame';
import { STORAGE_BATCH_REQUEST_BYTES_MAX, STORAGE_BATCH_REQUESTS_MAX } from '../../protocol/limits';
import { FrameRefused } from '../../protocol/refusal';
import { BlockPut, STORAGE_BATCH, StorageReply } from '../../protocol/storage';
import { subjects } from '../../protocol/subjects';
import { SimCluster } from '../../scenarios/sim/cluster';
import { signObjectVersion } from '../../storage/signedObject';
import { simSeed, withSeed } from './seed';
import { settle, userSigner } from './storageMembers';

/** Counts the put frames on the wire: alone, and inside batches. */
function countPuts(cluster: SimCluster) {
  const counts = { alone: 0, batches: 0, batched: 0 };
  const stop = cluster.network.observe((_from, _subject, data) => {
    const d = decodeFrame(data);
    if (!d.ok) return;
    if (d.frame.kind === STORAGE_BATCH.request.kind) {
      counts.batches++;
      counts.batched += (d.frame.body as { frames: unknown[] }).frames.length;
    } else if (d.frame.kind === 'storage.object.put' || d.frame.kind === 'storage.block.put') counts.alone++;
  });
  return { counts, stop };
}

/** A block put frame of `block`, signed by `signer`. */
async function blockPutFrame(signer: Awaited<ReturnType<typeof userSigner>>, block: Uint8Array): Promise<Uint8Array> {
  const id = blockIdOf(block).toString('hex');
  const auth = await signInsert(signer, [id, 1, signer.id]);
  return BlockPut.encode({ id, block, expiresAtMs: 1, insertedBy: signer.id, auth });
}

describe('storage puts batched per replica and turn', () => {
  test('puts of several members in one turn share frames; each is stored or refused on its own', async () => {
    const cluster = await SimCluster.create({ seed: simSeed(1101), replicationFactor: 3 });
    await withSeed(cluster, async () => {
      await cluster.addNodes(5, 50);
      await cluster.runUntil(() => cluster.allReady(), 20_000);
      const node = cluster.live()[0]!;
      const carolSigner = await userSigner(cluster, 'carol@sim.example');
      const daveSigner = await userSigner(cluster, 'dave@sim.example');
      const carol = node.replicas.client(carolSigner);
      const dave = node.replicas.client(daveSigner);
      const rogueCa = await createCertificateAuthority('sim.example', cluster.random.fork('rogue').bytes(32));
      const mallory = node.replicas.client(await userSigner(cluster, 'mallory@sim.example', rogueCa));
      const carolHead = await signObjectVersion({ keys: carolSigner.keys, name: 'log:INBOX', payload: new Uint8Array([1]) });
      const daveHead = await signObjectVersion({ keys: daveSigner.keys, name: 'log:INBOX', payload: new Uint8Array([2]) });
      const carolOther = await signObjectVersion({ keys: carolSigner.keys, name: 'log:Sent', payload: new Uint8Array([3]) });
      const rogueBlock = new Uint8Array([7, 7, 7]);

      const { counts, stop } = countPuts(cluster);
      const [c, d, forged, rogue, c2] = await settle(cluster, [
        carol.putObject(carolHead, 0),
        dave.putObject(daveHead, 0),
        dave.putObject(carolOther, 0), // dave may not write carol's object
        mallory.putBlock(rogueBlock), // not a member of this organisation
        carol.putObject(carolOther, 0),
      ] as Promise<unknown>[]);
      stop();
      console.log('put frames on the wire', counts);

      expect((c as PromiseFulfilledResult<any>).value).toMatchObject({ ok: true });
      expect((d as PromiseFulfilledResult<any>).value).toMatchObject({ ok: true });
      expect((forged as PromiseFulfilledResult<any>).value).toMatchObject({ ok: false, code: 'NOT_AUTHORISED' });
      expect((forged as PromiseFulfilledResult<any>).value.message).toMatch(/may write only objects it owns/);
      expect(rogue!.status).toBe('rejected');
      expect((rogue as PromiseRejectedResult).reason.code).toBe('NOT_AUTHORISED');
      // carol's log:Sent was refused from dave in the same batch, then stored from carol: not taken twice.
      expect((c2 as PromiseFulfilledResult<any>).value).toMatchObject({ ok: true });

      // Five puts to k = 3 replicas each, this node among them or not: the remote ones went in batches.
      expect(counts.batches).toBeGreaterThan(0);
      expect(counts.alone + counts.batched).toBeGreaterThanOrEqual(5 * 2);
      expect(counts.alone + counts.batches).toBeLessThan(counts.alone + counts.batched);

      // What was stored is read back verified from another node; the refused puts left nothing.
      const reader = cluster.live()[4]!.replicas.storage;
      for (const head of [carolHead, daveHead, carolOther]) {
        const [read] = await settle(cluster, [reader.getObject(head.objectId)]);
        expect((read as PromiseFulfilledResult<any>).value).toMatchObject({ seq: 1, owner: head.owner });
      }
      const [sent] = await settle(cluster, [reader.getObject(carolOther.objectId)]);
      expect(Buffer.from((sent as PromiseFulfilledResult<any>).value.payload)).toEqual(Buffer.from([3]));
      expect(await cluster.underReplicated([blockIdOf(rogueBlock).toString('hex')])).toEqual([{ id: blockIdOf(rogueBlock).toString('hex'), holders: 0 }]);
      expect(await cluster.underReplicated([carolHead.objectId, daveHead.objectId, carolOther.objectId], 'object')).toEqual([]);
    });
    await cluster.stop();
  }, 120_000);

  test('a replica that does not know batches refuses the frame: each put goes again alone (and batches stay within their count)', async () => {
    const cluster = await SimCluster.create({ seed: simSeed(1102) });
    await withSeed(cluster, async () => {
      const ringId = cluster.ca.ringId;
      const oldNode = 'a'.repeat(64);
      const replica = cluster.network.connect('old-replica');
      const seen: string[] = [];
      replica.subscribe(subjects.node(ringId, oldNode), (msg) => {
        const d = decodeFrame(msg.data);
        seen.push(!d.ok ? 'undecodable' : d.frame.kind === STORAGE_BATCH.request.kind ? `batch of ${(d.frame.body as { frames: unknown[] }).frames.length}` : d.frame.kind);
        // As a node of before batches answers a kind it does not know (its router's refusal).
        if (!d.ok || d.frame.kind !== BlockPut.kind) return replica.publish(msg.reply!, FrameRefused.encode({ code: 'BAD_FRAME', reason: `unknown frame kind ${d.ok ? d.frame.kind : '?'}` }));
        replica.publish(msg.reply!, StorageReply.encode({ ok: true }));
      });
      const peers = new Peers(cluster.network.connect('writer'), ringId, cluster.clock);
      const signer = await userSigner(cluster, 'erin@sim.example');
      const puts = await Promise.all(Array.from({ length: STORAGE_BATCH_REQUESTS_MAX + 2 }, (_, n) => blockPutFrame(signer, new Uint8Array([n]))));
      const replies = await settle(cluster, puts.map((frame) => peers.requestBatched(oldNode, frame, StorageReply, 1_000)));
      expect(replies.map((r) => (r as PromiseFulfilledResult<any>).value)).toEqual(puts.map(() => ({ ok: true, body: { ok: true } })));
      expect(seen.filter((k) => k.startsWith('batch'))).toEqual([`batch of ${STORAGE_BATCH_REQUESTS_MAX}`, 'batch of 2']);
      expect(seen.filter((k) => k === BlockPut.kind)).toHaveLength(puts.length);
    });
    await cluster.stop();
  }, 60_000);

  test('a bulk put travels alone, while the small puts of its turn to the same replica share a batch', async () => {
    const cluster = await SimCluster.create({ seed: simSeed(1103) });
    await withSeed(cluster, async () => {
      const ringId = cluster.ca.ringId;
      const node = 'b'.repeat(64);
      const replica = cluster.network.connect('replica');
      const seen: string[] = [];
      replica.subscribe(subjects.node(ringId, node), (msg) => {
        const d = decodeFrame(msg.data);
        if (!d.ok) return;
        if (d.frame.kind !== STORAGE_BATCH.request.kind) {
          seen.push(`alone: ${d.frame.kind}`);
          return replica.publish(msg.reply!, StorageReply.encode({ ok: true }));
        }
        const frames = (d.frame.body as { frames: Uint8Array[] }).frames;
        seen.push(`batch of ${frames.length}`);
        replica.publish(msg.reply!, STORAGE_BATCH.reply.encode({ replies: frames.map(() => StorageReply.encode({ ok: true })) }));
      });
      const peers = new Peers(cluster.network.connect('writer'), ringId, cluster.clock);
      const signer = await userSigner(cluster, 'erin@sim.example');
      const small = await Promise.all([1, 2, 3].map((n) => blockPutFrame(signer, new Uint8Array(100).fill(n))));
      const bulk = await blockPutFrame(signer, new Uint8Array(STORAGE_BATCH_REQUEST_BYTES_MAX).fill(9));
      expect(bulk.length).toBeGreaterThan(STORAGE_BATCH_REQUEST_BYTES_MAX);
      const frames = [small[0]!, bulk, small[1]!, small[2]!];
      const replies = await settle(cluster, frames.map((frame) => peers.requestBatched(node, frame, StorageReply, 1_000)));
      expect(replies.map((r) => (r as PromiseFulfilledResult<any>).value)).toEqual(frames.map(() => ({ ok: true, body: { ok: true } })));
      expect(seen.sort()).toEqual([`alone: ${BlockPut.kind}`, 'batch of 3']);
    });
    await cluster.stop();
  }, 60_000);
});
