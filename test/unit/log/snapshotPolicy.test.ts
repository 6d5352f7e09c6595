// When a log starts over from a snapshot (storage/log/nextHead.ts snapshotDue): once the tail the
// head writes have carried since the last snapshot weighs as much as the state, and at
// LOG_SNAPSHOT_ENTRIES_MAX entries at the latest. A small folder written for long keeps small heads.
import { describe, expect, it } from 'vitest';
import { canonicalBytes } from '../../../protocol/frame';
import { LOG_PENDING_OPS_MAX, LOG_SNAPSHOT_ENTRIES_MAX } from '../../../protocol/limits';
import { encodeFolderState } from '../../../storage/folders/folderCodec';
import { folderLogAddress, openFolderLog } from '../../../storage/folders/folderLogs';
import { FOLDER_LOG_KIND } from '../../../storage/folders/folderModel';
import { encodeHeadBody, TAIL_ENTRY_BYTES } from '../../../storage/log/logFormat';
import { readHead } from '../../../storage/log/logReader';
import { snapshotDue } from '../../../storage/log/nextHead';
import { MemoryStorage } from '../../../storage/memory/storage';
import { depsFor, insertFor, testOwner } from './logFixtures';

const FOLDER = '5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a';

describe('snapshotDue', () => {
  it('a log without a snapshot takes one at its first flush', () => {
    expect(snapshotDue(1, LOG_PENDING_OPS_MAX, 0)).toBe(true);
  });

  it('balances the tail carried by the head writes against the state written once', () => {
    const ops = (entries: number) => entries * LOG_PENDING_OPS_MAX;
    const carried = (entries: number) => (TAIL_ENTRY_BYTES * ops(entries) * (entries - 1)) / 2;
    // About 100 messages of state: due at the fifth entry of 50 operations, not before.
    const state = 13_000;
    expect(carried(4)).toBeLessThan(state);
    expect(carried(5)).toBeGreaterThanOrEqual(state);
    expect(snapshotDue(4, ops(4), state)).toBe(false);
    expect(snapshotDue(5, ops(5), state)).toBe(true);
    // A bigger state waits for a longer tail.
    expect(snapshotDue(5, ops(5), 1_300_000)).toBe(false);
    expect(snapshotDue(37, ops(37), 1_300_000)).toBe(true);
  });

  it('at LOG_SNAPSHOT_ENTRIES_MAX entries whatever the state', () => {
    expect(snapshotDue(LOG_SNAPSHOT_ENTRIES_MAX - 1, 1, 1e12)).toBe(false);
    expect(snapshotDue(LOG_SNAPSHOT_ENTRIES_MAX, 1, 1e12)).toBe(true);
  });
});

describe('a small folder written for long', () => {
  it('keeps its head small: the tail starts over every few entries, and a reader replays the same state', async () => {
    const storage = new MemoryStorage();
    const alice = await testOwner(1);
    const log = await openFolderLog(depsFor(storage, alice, 'w'), alice, FOLDER);
    await log.append(Array.from({ length: 100 }, (_, i) => insertFor(i + 1)));
    const address = folderLogAddress(alice, FOLDER);
    let longestTail = 0;
    let largestHead = 0;
    // 3,000 flag changes one at a time (a mail client marking messages read): 60 entries.
    for (let i = 0; i < 3_000; i++) {
      await log.append([{ type: 'flags', uids: [1 + (i % 100)], mode: i % 200 < 100 ? 'add' : 'remove', flags: ['\\Seen'] }]);
      if (i % 25 === 0) {
        const { body } = (await readHead(storage, address, FOLDER_LOG_KIND))!;
        longestTail = Math.max(longestTail, body.tail.length);
        largestHead = Math.max(largestHead, encodeHeadBody(body).length);
      }
    }
    const { body } = (await readHead(storage, address, FOLDER_LOG_KIND))!;
    expect(body.entryCount).toBeGreaterThanOrEqual(58);
    // Without the balance the tail would have grown to every entry written (60, 2.4 KB in every head).
    expect(longestTail).toBeLessThanOrEqual(5);
    expect(largestHead).toBeLessThan(4_000);
    expect(body.snapshot!.bytes).toBeGreaterThan(0);
    const reader = await openFolderLog(depsFor(storage, alice, 'r'), alice, FOLDER);
    const state = (l: typeof log) => l.read((s) => Buffer.from(canonicalBytes(encodeFolderState(s))));
    expect((await state(reader)).equals(await state(log))).toBe(true);
    expect(reader.summary).toEqual(log.summary);
  }, 60_000);
});
