// Every write the LMDB store acknowledged survives SIGKILL of the writing process: a child writes
// blocks and object versions, printing each acknowledgement; we kill it mid-stream, reopen the
// database and find every acknowledged block intact and the object at least at its last acked seq.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { blake2bHex } from '../../../crypto/hash';
import { LmdbStore } from '../../../infra/store/lmdb';
import { blockFor, DURABILITY_OBJECT_ID, INSERTER } from './fixtures/durability-data';

const CHILD = fileURLToPath(new URL('./fixtures/write-blocks.ts', import.meta.url));
const ACKS_BEFORE_KILL = 60;
const WAIT_MS = 30_000;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface Acks {
  blocks: Map<string, number>;
  objectSeq: number;
}

/** Run the writer until it has acknowledged `count` blocks, then SIGKILL it; resolve with every ack it printed. */
function writeUntilKilled(dir: string, count: number): Promise<Acks> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acks: Acks = { blocks: new Map(), objectSeq: 0 };
    let pending = '';
    let stderr = '';
    let killed = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`writer acknowledged only ${acks.blocks.size} blocks in ${WAIT_MS} ms; stderr: ${stderr.slice(0, 2000)}`));
    }, WAIT_MS);
    const take = (line: string) => {
      const [kind, a, b] = line.split(' ');
      if (kind === 'block') acks.blocks.set(a!, Number(b));
      else if (kind === 'object') acks.objectSeq = Math.max(acks.objectSeq, Number(a));
    };
    child.stdout!.on('data', (data: Buffer) => {
      const lines = (pending + data.toString('utf8')).split('\n');
      pending = lines.pop()!;
      lines.forEach(take);
      if (!killed && acks.blocks.size >= count) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr!.on('data', (data: Buffer) => (stderr += data.toString('utf8')));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      // Lines already in the pipe were acknowledged before the kill: count them too.
      if (pending) take(pending);
      if (signal === 'SIGKILL' && killed) resolve(acks);
      else reject(new Error(`writer exited on its own (code ${code}, signal ${signal}); stderr: ${stderr.slice(0, 2000)}`));
    });
  });
}

describe('LMDB store durability', () => {
  it('every block and object version acknowledged before SIGKILL is there, intact, after reopening', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'post-durability-'));
    dirs.push(dir);
    const acks = await writeUntilKilled(dir, ACKS_BEFORE_KILL);
    expect(acks.blocks.size).toBeGreaterThanOrEqual(ACKS_BEFORE_KILL);

    const store = LmdbStore.open(dir);
    try {
      const missing: string[] = [];
      for (const [id, n] of acks.blocks) {
        const got = await store.getBlock(id);
        if (!got) {
          missing.push(`${id} (block ${n}) missing`);
          continue;
        }
        if (blake2bHex(got.bytes) !== id || !Buffer.from(got.bytes).equals(blockFor(n))) missing.push(`${id} (block ${n}) damaged`);
        if (got.meta.insertedBy !== INSERTER) missing.push(`${id} lost its inserter`);
      }
      expect(missing).toEqual([]);
      const object = await store.getObject(DURABILITY_OBJECT_ID);
      expect(object?.seq ?? 0).toBeGreaterThanOrEqual(acks.objectSeq);
      const totals = await store.totals();
      expect(totals.blocks).toBeGreaterThanOrEqual(acks.blocks.size);
      // Counters committed in the same transactions as the data: they agree with a full scan.
      const whole = { lo: '0'.repeat(64), hi: '0'.repeat(64) };
      expect((await store.rangeDigest(whole)).blocks.count).toBe(totals.blocks);
    } finally {
      await store.close();
    }
  });
});
