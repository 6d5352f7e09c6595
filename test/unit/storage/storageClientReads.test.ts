// StorageClient reads with the host block cache and this node first (SEARCH BODY over a big folder
// reads every message): the same verified bytes with and without the cache; a bad cached copy is
// dropped and the ring read instead; a block no replica has is still a clear BLOCK_MISSING.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Peers, PeerReply } from '../../../actors/storage/peers';
import { localFirst, StorageClient } from '../../../actors/storage/storageClient';
import { MemoryBlockCache } from '../../../infra/store/blockCache';
import { PostError } from '../../../protocol/errors';
import { STORAGE_TIMINGS } from '../../../protocol/limits';
import { type BlockRef, writeBlocks } from '../../../storage/blocks';

const SECRET = randomBytes(32);
const nodeId = (n: number) => n.toString(16).padStart(64, '0');
const NODES = [nodeId(1), nodeId(2), nodeId(3)];

/** Replicas in memory behind a fake Peers; counts the requests each node got. */
class FakeRing {
  readonly blocks = new Map<string, Map<string, Uint8Array>>(NODES.map((n) => [n, new Map()]));
  readonly asked: string[] = [];

  get peers(): Peers {
    return {
      request: async (node: string, _kind: unknown, body: { id: string }): Promise<PeerReply<unknown>> => {
        this.asked.push(node);
        const block = this.blocks.get(node)?.get(body.id);
        return { ok: true, body: block ? { found: true, block } : { found: false } };
      },
    } as unknown as Peers;
  }

  async store(data: Uint8Array): Promise<BlockRef> {
    const put = async (b: { id: string; bytes: Uint8Array }) => {
      for (const node of this.blocks.values()) node.set(b.id, Uint8Array.from(b.bytes));
    };
    return (await writeBlocks(data, { convergenceSecret: SECRET, put })).root;
  }
}

function client(ring: FakeRing, opts: { selfId?: string; blockCache?: MemoryBlockCache; readOwnBlock?: (id: string) => Promise<Uint8Array | undefined> } = {}): StorageClient {
  return new StorageClient(
    {
      peers: ring.peers,
      clock: { now: () => 0 } as never,
      timings: STORAGE_TIMINGS,
      replicationFactor: 3,
      convergenceSecret: SECRET,
      locate: async () => NODES,
      ...opts,
    },
    {} as never, // reads sign nothing
  );
}

describe('StorageClient reads: local first and the host block cache', () => {
  it('localFirst: this node first when it is a candidate, the order otherwise kept', () => {
    expect(localFirst(['a', 'b', 'c'], 'c')).toEqual(['c', 'a', 'b']);
    expect(localFirst(['a', 'b', 'c'], 'a')).toEqual(['a', 'b', 'c']);
    expect(localFirst(['a', 'b', 'c'], 'x')).toEqual(['a', 'b', 'c']);
    expect(localFirst(['a', 'b'], undefined)).toEqual(['a', 'b']);
  });

  it('a read asks this node first when it is one of the replicas', async () => {
    const ring = new FakeRing();
    const ref = await ring.store(Buffer.from('hello'));
    await client(ring, { selfId: NODES[2] }).getData(ref);
    expect(ring.asked).toEqual([NODES[2]]);
  });

  it('a block read from another node is cached; the second read asks nobody and gives the same bytes', async () => {
    const ring = new FakeRing();
    const data = randomBytes(3000);
    const ref = await ring.store(data);
    const cache = new MemoryBlockCache(1 << 20);
    const reader = client(ring, { selfId: nodeId(9), blockCache: cache });
    expect(await reader.getData(ref)).toEqual(data);
    expect(ring.asked).toHaveLength(1);
    expect(await reader.getData(ref)).toEqual(data);
    expect(ring.asked).toHaveLength(1);
  });

  it('a block this node holds as a replica is not cached again', async () => {
    const ring = new FakeRing();
    const ref = await ring.store(randomBytes(100));
    const cache = new MemoryBlockCache(1 << 20);
    await client(ring, { selfId: NODES[0], blockCache: cache }).getData(ref);
    expect(cache.bytes()).toBe(0);
  });

  it('a cached copy that does not match its id is dropped and the ring read instead', async () => {
    const ring = new FakeRing();
    const data = randomBytes(500);
    const ref = await ring.store(data);
    const cache = new MemoryBlockCache(1 << 20);
    cache.put(ref.id, randomBytes(516)); // damaged on this disk
    expect(await client(ring, { blockCache: cache }).getData(ref)).toEqual(data);
    expect(ring.asked).toHaveLength(1);
    expect(Buffer.from(cache.get(ref.id)!)).toEqual(Buffer.from(ring.blocks.get(NODES[0]!)!.get(ref.id)!)); // the good copy replaced it
    expect(await client(ring, { blockCache: cache }).getData(ref)).toEqual(data);
  });

  it('a block no replica has fails the read with BLOCK_MISSING, cache or not', async () => {
    const ring = new FakeRing();
    const ref = await ring.store(randomBytes(200));
    for (const node of ring.blocks.values()) node.clear();
    await expect(client(ring, { blockCache: new MemoryBlockCache(1 << 20) }).getData(ref)).rejects.toMatchObject({ code: 'BLOCK_MISSING' });
  });

  it('a corrupt copy on every replica fails the read, and nothing bad is cached', async () => {
    const ring = new FakeRing();
    const ref = await ring.store(randomBytes(200));
    for (const node of ring.blocks.values()) node.set(ref.id, randomBytes(216));
    const cache = new MemoryBlockCache(1 << 20);
    await expect(client(ring, { blockCache: cache }).getData(ref)).rejects.toMatchObject({ code: 'BLOCK_MISSING' });
    expect(cache.bytes()).toBe(0);
  });

  it("this node's own replica copy is read directly when it verifies; a bad one goes to the ring, this node asked first", async () => {
    const ring = new FakeRing();
    const data = randomBytes(700);
    const ref = await ring.store(data);
    const own = ring.blocks.get(NODES[1]!)!;
    const reader = client(ring, { selfId: NODES[1], readOwnBlock: async (id) => own.get(id) });
    expect(await reader.getData(ref)).toEqual(data);
    expect(ring.asked).toEqual([]);
    own.set(ref.id, randomBytes(716)); // bit rot here: the replica's own read reports it
    expect(await reader.getData(ref)).toEqual(data);
    expect(ring.asked).toEqual([NODES[1], NODES[0]]);
  });

  it('a local store that is not open (UNAVAILABLE) sends the read to the ring', async () => {
    const ring = new FakeRing();
    const data = randomBytes(100);
    const ref = await ring.store(data);
    const reader = client(ring, {
      readOwnBlock: async () => {
        throw new PostError('UNAVAILABLE', 'reopening');
      },
    });
    expect(await reader.getData(ref)).toEqual(data);
    expect(ring.asked).toHaveLength(1);
  });
});
