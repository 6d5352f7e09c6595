// Single-writer logs: round trip, batching in the head, group commit, and readers refusing forged,
// replayed and corrupt logs.
import { describe, expect, it } from 'vitest';
import { PostError } from '../../../protocol/errors';
import { canonicalBytes } from '../../../protocol/frame';
import { LOG_PENDING_OPS_MAX } from '../../../protocol/limits';
import type { StorageApi } from '../../../storage/api';
import { encodeFolderState } from '../../../storage/folders/folderCodec';
import { type FolderLog, folderLogAddress, openFolderLog } from '../../../storage/folders/folderLogs';
import { HeadMarks } from '../../../storage/log/headMarks';
import { fetchEntry, readHead } from '../../../storage/log/logReader';
import { FOLDER_LOG_KIND } from '../../../storage/folders/folderModel';
import { MemoryStorage } from '../../../storage/memory/storage';
import type { SignedObject } from '../../../storage/signedObject';
import { depsFor, insertFor, testOwner } from './logFixtures';
import { LogWriter } from '../../../storage/log/logWriter';
import { logAddressFor } from '../../../storage/log/logAddress';
import { messagesModel } from '../../../storage/messages/messagesModel';

const FOLDER = 'f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0';
const stateBytes = (log: FolderLog) => log.read((s) => Buffer.from(canonicalBytes(encodeFolderState(s))));

async function errorOf(p: Promise<unknown>): Promise<{ code?: string; message?: string }> {
  return p.then(
    () => ({ code: 'no error' }),
    (e: { code?: string; message?: string }) => e,
  );
}

describe('logs', () => {
  it('append/read round trip: a second reader replays the same state, UIDs and modseqs', async () => {
    const storage = new MemoryStorage();
    const alice = await testOwner(1);
    const log = await openFolderLog(depsFor(storage, alice, 'w'), alice, FOLDER);
    const results = [];
    for (let i = 1; i <= 120; i++) results.push(...(await log.append([insertFor(i, `k:${i}`, i % 3 === 0 ? ['\\Seen'] : [])])));
    await log.append([{ type: 'flags', uids: [5, 6], mode: 'add', flags: ['\\Flagged'] }]);
    await log.append([{ type: 'flags', uids: [7], mode: 'add', flags: ['\\Deleted'] }]);
    await log.append([{ type: 'expunge', uids: [7, 8], onlyDeleted: true }]);
    expect(results.map((r) => r.change.type === 'insert' && r.change.message?.uid)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    const reader = await openFolderLog(depsFor(storage, alice, 'r'), alice, FOLDER);
    expect((await stateBytes(reader)).equals(await stateBytes(log))).toBe(true);
    const summary = reader.summary;
    // 40 of the 120 were \Seen; uid 7 (unseen, \Deleted) was expunged, uid 8 (not \Deleted) kept.
    expect(summary).toMatchObject({ uidNext: 121, messages: 119, unseen: 79 });
    const m5 = await reader.read((s) => s.messages.get(5)!);
    expect(m5.flags).toEqual(['\\Flagged']);
    expect(await reader.read((s) => [s.messages.has(7), s.messages.has(8)])).toEqual([false, true]);
    expect(await reader.read((s) => s.tombstones.map((t) => t.uid))).toEqual([7]);
  });

  it('small appends are batched in the head: N single-op appends write about N / PENDING_OPS_MAX entry blocks', async () => {
    const storage = new MemoryStorage();
    const alice = await testOwner(1);
    const log = await openFolderLog(depsFor(storage, alice, 'w'), alice, FOLDER);
    storage.resetCalls();
    const n = 500;
    for (let i = 1; i <= n; i++) await log.append([insertFor(i)]);
    expect(storage.calls.putObject).toBe(n);
    const { body } = (await readHead(storage, folderLogAddress(alice, FOLDER), FOLDER_LOG_KIND))!;
    expect(body.entryCount).toBeLessThanOrEqual(Math.ceil(n / LOG_PENDING_OPS_MAX));
    expect(body.entryCount).toBeGreaterThanOrEqual(Math.floor(n / (LOG_PENDING_OPS_MAX + 1)));
    // The other blocks are the small state's snapshots (a one-block snapshot every few entries).
    expect(body.snapshot).not.toBeNull();
    expect(storage.calls.putBlock - body.entryCount).toBeGreaterThan(0);
    expect(storage.calls.putBlock - body.entryCount).toBeLessThanOrEqual(body.entryCount / 2);
    expect(log.summary.messages).toBe(n);
  });

  it('concurrent appends of one writer are grouped into few head writes (group commit)', async () => {
    const storage = new MemoryStorage();
    const alice = await testOwner(1);
    const log = await openFolderLog(depsFor(storage, alice, 'w'), alice, FOLDER);
    storage.resetCalls();
    const all = await Promise.all(Array.from({ length: 200 }, (_, i) => log.append([insertFor(i + 1)])));
    expect(storage.calls.putObject).toBeLessThanOrEqual(3);
    const uids = all.map(([r]) => (r!.change.type === 'insert' ? r!.change.message!.uid : 0));
    expect(new Set(uids).size).toBe(200);
    expect(Math.max(...uids)).toBe(200);
  });

  it('the same insert key twice is one message; the same content with distinct keys is two', async () => {
    const storage = new MemoryStorage();
    const alice = await testOwner(1);
    const log = await openFolderLog(depsFor(storage, alice, 'w'), alice, FOLDER);
    const [a] = await log.append([insertFor(1, 'n:notification-1')]);
    const [b] = await log.append([insertFor(1, 'n:notification-1')]);
    expect(a!.change).toMatchObject({ outcome: 'added' });
    expect(b!.change).toMatchObject({ outcome: 'duplicate', message: { uid: 1 } });
    await log.append([insertFor(1, 'a:other')]);
    expect(log.summary.messages).toBe(2);
  });

  it('a head signed by another user is refused: LOG_FORGED', async () => {
    const storage = new MemoryStorage();
    const alice = await testOwner(1);
    const mallory = await testOwner(2);
    const aliceLog = await openFolderLog(depsFor(storage, alice, 'a'), alice, FOLDER);
    await aliceLog.append([insertFor(1)]);
    // Mallory writes her own folder log with the same name; a replica serves it for Alice's id.
    const malloryLog = await openFolderLog(depsFor(storage, mallory, 'm'), mallory, FOLDER);
    await malloryLog.append([insertFor(666)]);
    const malloryHead = (await storage.getObject(folderLogAddress(mallory, FOLDER).objectId))!;
    const serving = (head: SignedObject): StorageApi => Object.assign(Object.create(storage), { getObject: async () => head });
    const e1 = await errorOf(openFolderLog(depsFor(serving(malloryHead), alice, 'r'), alice, FOLDER));
    expect(e1.code).toBe('LOG_FORGED');
    // ... or re-labels it with Alice's id and key: the signature no longer verifies.
    const address = folderLogAddress(alice, FOLDER);
    const relabelled = { ...malloryHead, objectId: address.objectId, owner: alice.signing.publicKey, name: address.objectName };
    const e2 = await errorOf(openFolderLog(depsFor(serving(relabelled), alice, 'r'), alice, FOLDER));
    expect(e2.code).toBe('LOG_FORGED');
    expect(e2.message).toMatch(/signature|signed/);
  });

  it('an old head replayed after a newer one was seen is refused: LOG_ROLLBACK', async () => {
    const storage = new MemoryStorage();
    const alice = await testOwner(1);
    const log = await openFolderLog(depsFor(storage, alice, 'w'), alice, FOLDER);
    await log.append([insertFor(1)]);
    await log.append([insertFor(2)]);
    const old = (await storage.getObject(folderLogAddress(alice, FOLDER).objectId))!;
    await log.append([insertFor(3)]);
    await log.append([insertFor(4)]);
    const marks = new HeadMarks();
    const reader = await openFolderLog({ ...depsFor(storage, alice, 'r'), marks }, alice, FOLDER);
    expect(reader.seq).toBe(4);
    const replaying: StorageApi = Object.assign(Object.create(storage), { getObject: async () => old });
    const e = await errorOf(openFolderLog({ ...depsFor(replaying, alice, 'r2'), marks }, alice, FOLDER));
    expect(e.code).toBe('LOG_ROLLBACK');
    expect(e.message).toMatch(/seq 2.*seq 4/);
    // An open writer told about the old head keeps its newer state.
    expect(await reader.refresh(old)).toBe('stale');
    expect(reader.summary.messages).toBe(4);
  });

  it('a corrupt entry is detected with a clear error naming the entry: LOG_CORRUPT', async () => {
    const storage = new MemoryStorage();
    const alice = await testOwner(1);
    const log = await openFolderLog(depsFor(storage, alice, 'w'), alice, FOLDER);
    storage.resetCalls();
    for (let i = 1; i <= 3 * LOG_PENDING_OPS_MAX; i++) await log.append([insertFor(i)]);
    const entryIds: string[] = [];
    const recording: StorageApi = Object.assign(Object.create(storage), {
      getBlock: async (id: string) => {
        entryIds.push(id);
        return storage.getBlock(id);
      },
    });
    await openFolderLog(depsFor(recording, alice, 'r0'), alice, FOLDER);
    expect(entryIds.length).toBeGreaterThanOrEqual(2);
    // Bit rot on every replica: the storage port reports BLOCK_CORRUPT, the log names the entry.
    storage.corruptBlock(entryIds[1]!);
    const e = await errorOf(openFolderLog(depsFor(storage, alice, 'r1'), alice, FOLDER));
    expect(e.code).toBe('LOG_CORRUPT');
    expect(e.message).toContain(`entry ${entryIds[1]!.slice(0, 16)} of log folder:${FOLDER}`);
    // A storage port that does not verify: the reader checks the hash itself.
    const lying: StorageApi = Object.assign(Object.create(storage), { getBlock: async () => new Uint8Array(200).fill(1) });
    const e2 = await errorOf(openFolderLog(depsFor(lying, alice, 'r2'), alice, FOLDER));
    expect(e2).toMatchObject({ code: 'LOG_CORRUPT' });
    expect(e2.message).toMatch(/does not hash to its id/);
  });

  it('an entry of another log does not open here (log key and associated data bind it to its log)', async () => {
    const storage = new MemoryStorage();
    const alice = await testOwner(1);
    const other = 'abababababababababababababababab';
    const b = await openFolderLog(depsFor(storage, alice, 'b'), alice, other);
    for (let i = 1; i <= 2 * LOG_PENDING_OPS_MAX; i++) await b.append([insertFor(i)]);
    const { body } = (await readHead(storage, folderLogAddress(alice, other), FOLDER_LOG_KIND))!;
    const entryId = body.lastEntry!;
    // A head of log A naming log B's entry (a writer bug, or blocks mixed up) is refused on read.
    const e = await errorOf(fetchEntry(storage, folderLogAddress(alice, FOLDER), entryId));
    expect(e.code).toBe('LOG_CORRUPT');
    expect(e.message).toMatch(/does not open under the log key/);
    expect((await fetchEntry(storage, folderLogAddress(alice, other), entryId)).index).toBe(body.entryCount - 1);
  });

  it('a head put that times out after landing counts as stored; one that failed is rolled back cleanly', async () => {
    const storage = new MemoryStorage();
    const alice = await testOwner(1);
    let timeoutAfterStore = false;
    const flaky: StorageApi = Object.assign(Object.create(storage), {
      putObject: async (o: SignedObject, replaces: number) => {
        const r = await storage.putObject(o, replaces);
        if (timeoutAfterStore) {
          timeoutAfterStore = false;
          throw new PostError('TIMEOUT', 'reply lost');
        }
        return r;
      },
    });
    const log = await openFolderLog(depsFor(flaky, alice, 'w'), alice, FOLDER);
    await log.append([insertFor(1)]);
    timeoutAfterStore = true;
    const [landed] = await log.append([insertFor(2)]);
    expect(landed!.change).toMatchObject({ outcome: 'added', message: { uid: 2 } });
    storage.failNext(1); // the next put never reaches a replica
    expect((await errorOf(log.append([insertFor(3)]))).code).toBe('UNAVAILABLE');
    expect(log.summary).toMatchObject({ messages: 2, uidNext: 3 });
    const [next] = await log.append([insertFor(4)]);
    expect(next!.change).toMatchObject({ message: { uid: 3 } });
    const reader = await openFolderLog(depsFor(storage, alice, 'r'), alice, FOLDER);
    expect((await stateBytes(reader)).equals(await stateBytes(log))).toBe(true);
  });

  it('refuses an operation its own schema would refuse on reading, and the log stays readable', async () => {
    const storage = new MemoryStorage();
    const alice = await testOwner(7);
    const deps = depsFor(storage, alice, 'm');
    const log = await LogWriter.open(deps, logAddressFor(alice, 'notes'), messagesModel);
    const record = (key: string) => ({ key, direction: 'out' as const, from: 'a@x.example', to: [], ref: 'r', sentAtMs: 1, recordedAtMs: 1 });
    await log.append([{ type: 'add', record: record('short') }]);
    const refused = await log.append([{ type: 'add', record: record('k'.repeat(200)) }]).catch((e: PostError) => e);
    expect((refused as PostError).code).toBe('BAD_REQUEST');
    expect(String((refused as PostError).message)).toMatch(/exceeds 128/);
    const reader = await LogWriter.open(depsFor(storage, alice, 'r'), logAddressFor(alice, 'notes'), messagesModel);
    expect(reader.opCount).toBe(1);
  });
});
