// Folder placement (issue 11): a user created with a home node gets folder logs whose heads lie next to
// the home on the id circle, so the home is one of their k replicas whatever the ring; every device
// finds the same index (the identity record names it), and a login never guesses that name.
import { describe, expect, it } from 'vitest';
import { SimRandom } from '../../../infra/sim/random';
import { kClosest } from '../../../overlay/id';
import { firstNear, isNear } from '../../../storage/log/logPlacement';
import { LOG_PLACEMENT_BITS, REPLICATION_FACTOR_DEFAULT } from '../../../protocol/limits';
import type { StorageApi } from '../../../storage/api';
import {
  DEFAULT_SPECIAL_FOLDERS,
  ensureDefaultFolders,
  FOLDER_INDEX_LOG_NAME,
  folderHeadId,
  folderIndexAddress,
  folderPlacement,
  INBOX,
  inboxFolderId,
  newFolderId,
  openFolderIndex,
  placedFolderIndexName,
} from '../../../storage/folders/folderLogs';
import { MemoryStorage } from '../../../storage/memory/storage';
import { objectIdOf } from '../../../storage/signedObject';
import { createUser } from '../../../storage/users/createUser';
import { login } from '../../../storage/users/login';
import { IDENTITY_OBJECT_NAME } from '../../../storage/users/userRecords';
import { KEYSTORE_KDF_CHEAP } from '../../../crypto/keystore';
import { depsFor } from '../log/logFixtures';
import { ORG, TestClock, testCa, testIssuer } from './fixtures';

const randomId = (random: SimRandom) => Buffer.from(random.bytes(32)).toString('hex');

async function created(storage: StorageApi, local: string, home?: string) {
  const { user } = await createUser({
    storage,
    issuer: await testIssuer(),
    address: `${local}@${ORG}`,
    password: `${local}-password`,
    clock: new TestClock(),
    random: new SimRandom(`user ${local}`),
    kdf: KEYSTORE_KDF_CHEAP,
    ...(home ? { home } : {}),
  });
  return user;
}

describe('placing an id near a node', () => {
  it('isNear: within 2^-bits of the circle either way round, across zero too', () => {
    const at = (top: number) => top.toString(16).padStart(12, '0') + 'f'.repeat(52);
    const half = 2 ** (48 - 12);
    expect(isNear(at(1000 + half - 1), at(1000), 12)).toBe(true);
    expect(isNear(at(1000 + half), at(1000), 12)).toBe(false);
    expect(isNear(at(2 ** 48 - 5), at(3), 12)).toBe(true);
    expect(isNear(at(2 ** 47), at(0), 12)).toBe(false);
    expect(() => isNear(at(0), at(0), 0)).toThrow(RangeError);
    expect(() => isNear(at(0), at(0), 41)).toThrow(RangeError);
  });

  it('firstNear: the first candidate near the anchor; after the bound, the nearest tried', () => {
    const random = new SimRandom('first near');
    const ids = Array.from({ length: 5000 }, () => randomId(random));
    const anchor = randomId(random);
    const found = firstNear(anchor, (i) => ({ i, id: ids[i]! }), 8, ids.length);
    expect(isNear(found.id, anchor, 8)).toBe(true);
    expect(ids.slice(0, found.i).some((id) => isNear(id, anchor, 8))).toBe(false);
    const bounded = firstNear(anchor, (i) => ({ i, id: ids[i]! }), 30, 50);
    expect(bounded.i).toBeLessThan(50);
    const gap = (id: string) => {
      const d = Math.abs(parseInt(id.slice(0, 12), 16) - parseInt(anchor.slice(0, 12), 16));
      return Math.min(d, 2 ** 48 - d);
    };
    for (const id of ids.slice(0, 50)) expect(gap(bounded.id)).toBeLessThanOrEqual(gap(id));
    expect(() => firstNear('node-1', (i) => ({ i, id: ids[i]! }), 8, 10)).toThrow(/not an id/);
  });
});

describe('folder placement', () => {
  it('a user created with a home: INBOX lies next to the home, which is one of its k replicas in any ring', async () => {
    const random = new SimRandom('rings');
    const storage = new MemoryStorage();
    for (let u = 0; u < 4; u++) {
      const home = randomId(random);
      const user = await created(storage, `placed${u}`, home);
      expect(user.folderIndexLog).toBe(placedFolderIndexName(user, home)); // deterministic
      expect(user.folderIndexLog).toMatch(/^folders:\d+$/);
      const inboxHead = folderHeadId(user.signing.publicKey, inboxFolderId(folderIndexAddress(user, user.folderIndexLog)));
      expect(isNear(inboxHead, home, LOG_PLACEMENT_BITS)).toBe(true);
      for (const size of [5, 50, 500]) {
        const ring = [home, ...Array.from({ length: size - 1 }, () => randomId(random))];
        expect(kClosest(ring, inboxHead, REPLICATION_FACTOR_DEFAULT)[0]).toBe(home);
      }
    }
  });

  it('every device opens the same index: a login reads its name from the identity record', async () => {
    const storage = new MemoryStorage();
    const home = 'a'.repeat(64);
    const user = await created(storage, 'carol', home);
    const again = await login({ storage, trust: await testCa(), address: `carol@${ORG}`, password: 'carol-password', clock: new TestClock() });
    expect(again.folderIndexLog).toBe(user.folderIndexLog);
    const unplaced = await created(storage, 'dave');
    expect(unplaced.folderIndexLog).toBe(FOLDER_INDEX_LOG_NAME);
    expect((await login({ storage, trust: await testCa(), address: `dave@${ORG}`, password: 'dave-password', clock: new TestClock() })).folderIndexLog).toBe(FOLDER_INDEX_LOG_NAME);
  });

  it('a login whose identity record is not readable yet is UNAVAILABLE, never a guess at the index', async () => {
    const storage = new MemoryStorage();
    const user = await created(storage, 'erin', 'b'.repeat(64));
    const identity = objectIdOf(user.signing.publicKey, IDENTITY_OBJECT_NAME);
    const lagging: StorageApi = Object.assign(Object.create(storage), {
      getObject: (id: string) => (id === identity ? Promise.resolve(undefined) : storage.getObject(id)),
    });
    const failed = await login({ storage: lagging, trust: await testCa(), address: `erin@${ORG}`, password: 'erin-password', clock: new TestClock() }).then(
      () => undefined,
      (e: { code?: string }) => e.code,
    );
    expect(failed).toBe('UNAVAILABLE');
  });

  it('the special folders and new folders lie next to INBOX; without a placement a folder id is plain random', async () => {
    const storage = new MemoryStorage();
    const user = await created(storage, 'frank', 'c'.repeat(64));
    const index = await openFolderIndex(depsFor(storage, user, 'frank'), user, user.folderIndexLog);
    await ensureDefaultFolders(index, new SimRandom('defaults'));
    const folders = await index.read((s) => new Map([...s.byName].map(([name, e]) => [name, e.folderId])));
    const inbox = folders.get(INBOX)!;
    expect(inbox).toBe(inboxFolderId(index.address));
    const anchor = folderHeadId(user.signing.publicKey, inbox);
    for (const f of DEFAULT_SPECIAL_FOLDERS) expect(isNear(folderHeadId(user.signing.publicKey, folders.get(f.name)!), anchor, LOG_PLACEMENT_BITS), f.name).toBe(true);
    const random = new SimRandom('new folders');
    const placed = newFolderId(random, folderPlacement(index.address, inbox));
    expect(placed).toMatch(/^[0-9a-f]{32}$/);
    expect(isNear(folderHeadId(user.signing.publicKey, placed), anchor, LOG_PLACEMENT_BITS)).toBe(true);
    const plain = new SimRandom('plain');
    expect(newFolderId(plain)).toBe(Buffer.from(new SimRandom('plain').bytes(16)).toString('hex'));
  });
});
