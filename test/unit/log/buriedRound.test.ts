// A round whose head put was answered CAS_MISMATCH while a replica kept that head, and another device
// then wrote two heads on top of it before this writer looked again: the round made history, so its
// callers get the results it had. Going again would apply the operations a second time on top, where
// an EXPUNGE of what the round itself expunged removes nothing (and a client is told nothing went).
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../../protocol/errors';
import type { ObjectPutResult, StorageApi } from '../../../storage/api';
import { type FolderLog, openFolderLog } from '../../../storage/folders/folderLogs';
import { MemoryStorage } from '../../../storage/memory/storage';
import type { SignedObject } from '../../../storage/signedObject';
import { depsFor, insertFor, testOwner } from './logFixtures';

const FOLDER = 'b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0';

/** Storage whose next head put runs `meanwhile` and is then answered CAS_MISMATCH; `keep` decides whether the put was stored first. */
function losingOnce(storage: MemoryStorage) {
  let armed: { keep: boolean; meanwhile: () => Promise<void> } | undefined;
  const api = new Proxy(storage, {
    get: (target, prop, receiver) => {
      if (prop === 'putObject') {
        return async (object: SignedObject, replacesSeq: number): Promise<ObjectPutResult> => {
          const lose = armed;
          if (!lose) return target.putObject(object, replacesSeq);
          armed = undefined;
          if (lose.keep) expect((await target.putObject(object, replacesSeq)).ok).toBe(true);
          await lose.meanwhile();
          return { ok: false, code: ErrorCodes.CAS_MISMATCH, message: 'another version is stored', ...(lose.keep ? { mayHold: true as const } : {}) };
        };
      }
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  }) as StorageApi;
  return { api, arm: (keep: boolean, meanwhile: () => Promise<void>) => (armed = { keep, meanwhile }) };
}

async function twoDevices() {
  const storage = new MemoryStorage();
  const lossy = losingOnce(storage);
  const alice = await testOwner(3);
  const mine = await openFolderLog(depsFor(lossy.api, alice, 'mine'), alice, FOLDER);
  const other = await openFolderLog(depsFor(storage, alice, 'other'), alice, FOLDER);
  const [inserted] = await mine.append([insertFor(1, 'm1')]);
  const uid = inserted!.change.type === 'insert' ? inserted!.change.message!.uid : -1;
  await mine.append([{ type: 'flags', uids: [uid], mode: 'add', flags: ['\\Deleted'] }]);
  // The other device writes two heads, on whatever head is stored when it looks.
  const twoHeadsOnTop = (log: FolderLog) => async () => {
    await log.refresh();
    await log.append([insertFor(2, 'm2')]);
    await log.append([insertFor(3, 'm3')]);
  };
  return { mine, other, uid, lossy, twoHeadsOnTop };
}

const removedBy = async (log: FolderLog, uid: number) => {
  const [r] = await log.append([{ type: 'expunge', uids: [uid], onlyDeleted: true }]);
  return r!.change.type === 'expunge' ? r!.change.removed.map((m) => m.uid) : [];
};

describe('log writer: a lost round buried under newer heads', () => {
  const cases = [
    { keep: true, what: 'a replica kept its head and two heads were written on top: the round made history, with the results it had' },
    { keep: false, what: 'no replica took its head: it goes again, on top of the two newer heads' },
  ];
  for (const { keep, what } of cases) {
    it(what, async () => {
      const { mine, other, uid, lossy, twoHeadsOnTop } = await twoDevices();
      const before = mine.seq;
      lossy.arm(keep, twoHeadsOnTop(other));
      expect(await removedBy(mine, uid)).toEqual([uid]);
      // One expunge in the log, and three heads since: the round's (or its retry's) and the other device's two.
      await other.refresh();
      expect([other.seq, mine.seq]).toEqual([before + 3, before + 3]);
      expect(await other.read((s) => s.messages.has(uid))).toBe(false);
    });
  }
});
