// Opening a log costs the snapshot plus its tail, not the whole history: counted in StorageApi calls
// for logs of 100, 10,000 and 100,000 operations.
import { describe, expect, it } from 'vitest';
import { LOG_SNAPSHOT_ENTRIES_MAX } from '../../../protocol/limits';
import { folderLogAddress, openFolderLog } from '../../../storage/folders/folderLogs';
import { FOLDER_LOG_KIND } from '../../../storage/folders/folderModel';
import { readHead } from '../../../storage/log/logReader';
import { MemoryStorage } from '../../../storage/memory/storage';
import { depsFor, insertFor, testOwner } from './logFixtures';

const FOLDER = 'c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0';
const BATCH = 50;

describe('log open cost', () => {
  for (const n of [100, 10_000, 100_000]) {
    it(`a folder of ${n.toLocaleString('en')} messages opens with 1 head read + snapshot blocks + fewer than ${LOG_SNAPSHOT_ENTRIES_MAX} entries`, async () => {
      const storage = new MemoryStorage();
      const alice = await testOwner(1);
      const writer = await openFolderLog(depsFor(storage, alice, 'w'), alice, FOLDER);
      for (let i = 0; i < n; i += BATCH) await writer.append(Array.from({ length: Math.min(BATCH, n - i) }, (_, k) => insertFor(i + k + 1)));
      const { body } = (await readHead(storage, folderLogAddress(alice, FOLDER), FOLDER_LOG_KIND))!;

      storage.resetCalls();
      const reader = await openFolderLog(depsFor(storage, alice, 'r'), alice, FOLDER);
      const snapshotBlocks = body.snapshot?.blocks.length ?? 0;
      expect(storage.calls.getObject).toBe(1);
      expect(storage.calls.getBlock).toBe(snapshotBlocks + body.tail.length);
      expect(body.tail.length).toBeLessThan(LOG_SNAPSHOT_ENTRIES_MAX);
      expect(storage.callTotal()).toBe(1 + snapshotBlocks + body.tail.length);
      expect(reader.summary).toEqual({ uidNext: n + 1, uidEpoch: 0, highestModseq: n + 1, messages: n, unseen: n });
      expect(await reader.read((s) => s.messages.get(n)!.key)).toBe(`k:${n}`);
      if (n >= 100_000) {
        // Replaying the whole history would read every entry (1,000 here); opening read under a third.
        expect(storage.calls.getBlock * 3).toBeLessThan(body.entryCount);
        expect(body.snapshot).not.toBeNull();
      }
    });
  }
});
