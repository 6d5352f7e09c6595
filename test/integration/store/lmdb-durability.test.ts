// Every write the LMDB store acknowledged survives SIGKILL of the writing process: a child writes
// blocks, object versions and inbox-drop entries (taking some, tombstoning others), printing each
// acknowledgement; we kill it mid-stream, reopen the database and find every acknowledged block and
// drop entry intact, every acknowledged take gone behind its tombstone, the object at least at its
// last acked seq, and the counters in agreement with the data.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { blake2bHex } from '../../../crypto/hash';
import { LmdbStore } from '../../../infra/store/lmdb';
import type { LocalStore } from '../../../infra/store/port';
import {
  blockFor,
  dropEntryFor,
  DURABILITY_DROP_IDS,
  DURABILITY_OBJECT_ID,
  DURABILITY_SENDERS,
  INSERTER,
  neverPutEntryId,
  TAKE_EVERY,
} from './fixtures/durability-data';

const CHILD = fileURLToPath(new URL('./fixtures/write-blocks.ts', import.meta.url));
const ACKS_BEFORE_KILL = 60;
const DROP_ACKS_BEFORE_KILL = 60;
const WAIT_MS = 30_000;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface Acks {
  blocks: Map<string, number>;
  objectSeq: number;
  /** Drop entries put, taken (deleted after their put) and tombstoned without ever being put, by n. */
  drops: Set<number>;
  takes: Set<number>;
  tombs: Set<number>;
}

/** Run the writer until it has acknowledged `count` blocks and drop entries, then SIGKILL it; resolve with every ack it printed. */
function writeUntilKilled(dir: string, count: number): Promise<Acks> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acks: Acks = { blocks: new Map(), objectSeq: 0, drops: new Set(), takes: new Set(), tombs: new Set() };
    let pending = '';
    let stderr = '';
    let killed = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`writer acknowledged only ${acks.blocks.size} blocks and ${acks.drops.size} drop entries in ${WAIT_MS} ms; stderr: ${stderr.slice(0, 2000)}`));
    }, WAIT_MS);
    const take = (line: string) => {
      const [kind, a, b] = line.split(' ');
      if (kind === 'block') acks.blocks.set(a!, Number(b));
      else if (kind === 'object') acks.objectSeq = Math.max(acks.objectSeq, Number(a));
      else if (kind === 'drop') acks.drops.add(Number(a));
      else if (kind === 'take') acks.takes.add(Number(a));
      else if (kind === 'tomb') acks.tombs.add(Number(a));
    };
    child.stdout!.on('data', (data: Buffer) => {
      const lines = (pending + data.toString('utf8')).split('\n');
      pending = lines.pop()!;
      lines.forEach(take);
      if (!killed && acks.blocks.size >= count && acks.drops.size >= DROP_ACKS_BEFORE_KILL) {
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
  it('every block, object version, drop entry, take and tombstone acknowledged before SIGKILL is there after reopening', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'post-durability-'));
    dirs.push(dir);
    const acks = await writeUntilKilled(dir, ACKS_BEFORE_KILL);
    expect(acks.blocks.size).toBeGreaterThanOrEqual(ACKS_BEFORE_KILL);
    expect(acks.drops.size).toBeGreaterThanOrEqual(DROP_ACKS_BEFORE_KILL);
    expect(acks.takes.size).toBeGreaterThan(0);
    expect(acks.tombs.size).toBeGreaterThan(0);

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

      expect(await dropProblems(store, acks)).toEqual([]);
      expect(await counterDisagreements(store)).toEqual([]);
      // Tombstones hold after the restart: a replica re-offering a taken entry is refused.
      for (const n of acks.takes) {
        const e = dropEntryFor(n);
        expect(await store.putDropEntry(e.dropId, e.entryId, e.bytes, { sender: e.sender, receivedAtMs: e.receivedAtMs })).toEqual({ created: false, tombstoned: true });
      }
    } finally {
      await store.close();
    }
  });
});

/** Acknowledged drop writes that did not survive. */
async function dropProblems(store: LocalStore, acks: Acks): Promise<string[]> {
  const problems: string[] = [];
  for (const n of acks.drops) {
    const e = dropEntryFor(n);
    const got = await store.getDropEntry(e.dropId, e.entryId);
    const tombstoned = await store.hasTombstone(e.dropId, e.entryId);
    if (acks.takes.has(n)) {
      if (got || !tombstoned) problems.push(`entry ${n}: taken, but ${got ? 'still there' : 'no tombstone'}`);
      continue;
    }
    // A take of this entry may have been in flight at the kill: gone with its tombstone is fine too.
    if (!got && n % TAKE_EVERY === 0 && tombstoned) continue;
    if (!got) problems.push(`entry ${n} missing`);
    else if (!Buffer.from(got.bytes).equals(e.bytes) || got.sender !== e.sender || got.receivedAtMs !== e.receivedAtMs) problems.push(`entry ${n} damaged`);
  }
  for (const n of acks.tombs) if (!(await store.hasTombstone(DURABILITY_DROP_IDS[n % 3]!, neverPutEntryId(n)))) problems.push(`tombstone ${n} missing`);
  return problems;
}

/** Counters (per drop, per sender, totals) that disagree with a full listing of the drops. */
async function counterDisagreements(store: LocalStore): Promise<string[]> {
  const out: string[] = [];
  const whole = { lo: '0'.repeat(64), hi: '0'.repeat(64) };
  let entries = 0;
  let bytes = 0;
  const scanned = new Map((await store.scanDrops(whole)).map((d) => [d.dropId, d.entries]));
  for (const dropId of DURABILITY_DROP_IDS) {
    let listed = 0;
    for (let afterEntryId: string | undefined; ; ) {
      const page = await store.listDrop(dropId, afterEntryId ? { afterEntryId } : {});
      if (page.length === 0) break;
      listed += page.length;
      bytes += page.reduce((sum, e) => sum + e.sizeBytes, 0);
      afterEntryId = page.at(-1)!.entryId;
    }
    entries += listed;
    const counted = await store.countDrop(dropId);
    const bySender = (await Promise.all(DURABILITY_SENDERS.map((sender) => store.countDrop(dropId, { sender })))).reduce((a, b) => a + b, 0);
    const digest = await store.dropDigest(dropId);
    if (counted !== listed || bySender !== listed || digest.count !== listed || (scanned.get(dropId) ?? 0) !== listed)
      out.push(`drop ${dropId.slice(0, 8)}: listed ${listed}, counted ${counted}, by sender ${bySender}, digest ${digest.count}, scan ${scanned.get(dropId)}`);
  }
  const totals = await store.totals();
  const digest = await store.rangeDigest(whole);
  if (totals.dropEntries !== entries || totals.dropBytes !== bytes || digest.drops.count !== entries)
    out.push(`totals ${totals.dropEntries} entries / ${totals.dropBytes} bytes, digest ${digest.drops.count}; listed ${entries} / ${bytes}`);
  return out;
}
