// The store actor driven by real LMDB failures (issue 13): a node over a real nats-server whose LMDB
// lives on a 2 MB tmpfs fills it; the failed write moves its store actor to `failed`, the writer and a
// peer asking the node over NATS are answered UNAVAILABLE (a reply, not a timeout), the supervisor
// reopens the database after the hold (what was written before is still there) and, as writes keep
// failing, escalates beyond its restart intensity. A second node's database file is replaced under
// it: the reopen after a restart fails, the store is failed and answers UNAVAILABLE, and it opens
// again once the file is back.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { PostNode } from '../../../actors/node';
import { Peers } from '../../../actors/storage/peers';
import { wallClock } from '../../../infra/clock';
import { type NatsCluster, startNatsServer } from '../../../infra/nats/server';
import { NatsTransport } from '../../../infra/nats/transport';
import { PostError } from '../../../protocol/errors';
import { BlockData, BlockGet } from '../../../protocol/storage';
import { type SoloNode, startSoloNode } from '../fixtures/soloNode';

const BLOCK_BYTES = 256 * 1024;
/** Blocks written before giving up on filling the tmpfs (2 MB: about 8 fit). */
const FILL_BLOCKS_MAX = 40;
const REQUEST_TIMEOUT_MS = 5_000;

const dir = mkdtempSync(join(tmpdir(), 'post-store-failure-'));
const mounts: string[] = [];
const nodes: SoloNode[] = [];
const transports: NatsTransport[] = [];
let nats: NatsCluster;

/** A 2 MB tmpfs at `path`, when this process may mount one (root in a container usually may). */
function mountTmpfs(path: string): boolean {
  mkdirSync(path, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', path], { stdio: 'pipe' });
  } catch (e) {
    console.warn(`cannot mount a tmpfs here (${(e as Error).message.split('\n')[0]}): the disk-full test is skipped`);
    return false;
  }
  mounts.push(path);
  return true;
}
const canMount = mountTmpfs(join(dir, 'probe'));

async function startNode(name: string, storeDir: string, holdMs: number): Promise<PostNode> {
  const solo = await startSoloNode(nats.urls, name, storeDir, { storeFailedHoldMs: holdMs });
  nodes.push(solo);
  return solo.node;
}

/** Write blocks through the node until one fails; the ids written and the failure. */
async function fill(node: PostNode): Promise<{ written: string[]; failure: PostError }> {
  const written: string[] = [];
  for (let i = 0; i < FILL_BLOCKS_MAX; i++) {
    try {
      written.push(await node.replicas.storage.putBlock(randomBytes(BLOCK_BYTES)));
    } catch (e) {
      if (!(e instanceof PostError)) throw e;
      return { written, failure: e };
    }
  }
  throw new Error(`${FILL_BLOCKS_MAX} blocks of ${BLOCK_BYTES} bytes fit on a 2 MB tmpfs`);
}

/** A peer's request for a block, over NATS: its answer (a reply with a code, or a transport failure). */
async function askForBlock(node: PostNode, id: string) {
  const client = await NatsTransport.connect({ servers: nats.urls, name: 'peer' });
  transports.push(client);
  return new Peers(client, node.status().ringId, wallClock).request(node.id, BlockGet, { id }, BlockData, REQUEST_TIMEOUT_MS);
}

/** Poll `check` every 20 ms for at most `timeoutMs`. */
async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  for (const end = Date.now() + timeoutMs; !check(); ) {
    if (Date.now() > end) throw new Error(`not ${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('store actor on real LMDB failures', () => {
  beforeAll(async () => {
    nats = await startNatsServer({ dir: join(dir, 'nats') });
  }, 60_000);

  afterAll(async () => {
    for (const solo of nodes) await solo.stop().catch((e: Error) => console.warn(`stopping a node: ${e.message}`));
    await Promise.all(transports.map((t) => t.close()));
    await nats?.stop();
    // Lazily: the failed environment of the first node keeps its file mapped until this process ends.
    for (const m of mounts) execFileSync('umount', ['-l', m]);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  test.skipIf(!canMount)(
    'disk full: the failed write moves the store to failed, writer and peers get UNAVAILABLE, the supervisor reopens it, then escalates',
    async () => {
      // A long hold first: the store stays failed while we look at it.
      const disk = join(dir, 'full-a');
      mountTmpfs(disk);
      const held = await startNode('held', join(disk, 'store'), 60_000);
      const { written, failure } = await fill(held);
      expect(written.length).toBeGreaterThan(0);
      expect(failure.code).toBe('UNAVAILABLE');
      expect(failure.message).toMatch(/local store/);
      expect(held.status().store.state).toBe('failed');
      expect(held.status().actors).toMatchObject({ store: { status: 'active', value: 'failed' } });
      // A peer asking over NATS gets an answer with the code at once, not a timeout.
      const asked = await askForBlock(held, written[0]!);
      expect(asked).toMatchObject({ ok: false, code: 'UNAVAILABLE' });
      expect(held.status().restarts).toEqual({});

      // A short hold: the supervisor reopens the database, which still holds what was written.
      const diskB = join(dir, 'full-b');
      mountTmpfs(diskB);
      const cycling = await startNode('cycling', join(diskB, 'store'), 100);
      const restarts: string[] = [];
      cycling.restarts$.subscribe((r) => restarts.push(`${r.child}: ${r.error}`));
      let escalated: Error | undefined;
      cycling.failed$.subscribe((e) => (escalated = e));
      const first = await fill(cycling);
      expect(first.failure.code).toBe('UNAVAILABLE');
      await until(() => restarts.length > 0, 10_000, 'restarted');
      expect(restarts[0]).toMatch(/^store: local store failed: local store write failed/);
      await until(() => cycling.store.state === 'open', 10_000, 'reopened');
      expect(Buffer.from((await cycling.store.getBlock(first.written[0]!))!.bytes).length).toBe(BLOCK_BYTES);
      // Writes keep failing: each failure costs a restart, and beyond the intensity the node fails.
      for (let i = 0; i < 200 && !escalated; i++) {
        await cycling.replicas.storage.putBlock(randomBytes(BLOCK_BYTES)).catch((e: PostError) => expect(e.code).toBe('UNAVAILABLE'));
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(escalated?.message).toMatch(/child store exceeded its restart intensity/);
      expect(cycling.supervisorSnapshot?.value).toBe('escalated');
    },
    120_000,
  );

  test('a database that cannot be reopened: the restarted store is failed and answers UNAVAILABLE, and opens once the file is back', async () => {
    const storeDir = join(dir, 'replaced', 'store');
    const node = await startNode('replaced', storeDir, 1_500);
    const restarts: string[] = [];
    node.restarts$.subscribe((r) => restarts.push(`${r.child}: ${r.error}`));
    const id = await node.replicas.storage.putBlock(randomBytes(1024));
    // The database file is replaced by a directory: LMDB cannot open it again.
    renameSync(join(storeDir, 'data.mdb'), join(storeDir, 'data.mdb.away'));
    mkdirSync(join(storeDir, 'data.mdb'));
    node.injectCrash('store');
    await until(() => node.store.state === 'failed', 10_000, 'failed');
    expect(restarts).toEqual(['store: injected crash (fault injection)']);
    expect(await askForBlock(node, id)).toMatchObject({ ok: false, code: 'UNAVAILABLE' });
    // The file is back: the next restart (after the hold) opens it, and the block is there.
    rmSync(join(storeDir, 'data.mdb'), { recursive: true });
    renameSync(join(storeDir, 'data.mdb.away'), join(storeDir, 'data.mdb'));
    await until(() => node.store.state === 'open', 10_000, 'open again');
    expect(restarts[1]).toMatch(/^store: local store failed: cannot open the local store/);
    expect(await askForBlock(node, id)).toMatchObject({ ok: true, body: { found: true } });
  }, 60_000);
});
