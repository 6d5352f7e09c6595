// The folder and folder-index models: deterministic UIDs and modseqs, idempotent keyed operations,
// CONDSTORE's unchangedSince, bounded tombstones, and exact reverts (what a lost compare-and-swap
// relies on), checked on random operation sequences.
import { describe, expect, it } from 'vitest';
import { SimRandom } from '../../../infra/sim/random';
import { canonicalBytes } from '../../../protocol/frame';
import { FOLDER_EXPUNGED_RETAINED_MAX } from '../../../protocol/limits';
import { contentDecoder } from '../../../storage/log/logFormat';
import { folderIndexModel } from '../../../storage/folders/folderIndexModel';
import type { FolderIndexOp } from '../../../storage/folders/folderIndexOps';
import { folderModel } from '../../../storage/folders/folderModel';
import type { FolderOp } from '../../../storage/folders/folderOps';
import { insertFor } from './logFixtures';

const folderBytes = (s: ReturnType<typeof folderModel.initial>) => Buffer.from(canonicalBytes(folderModel.encodeState(s)));
const indexBytes = (s: ReturnType<typeof folderIndexModel.initial>) => Buffer.from(canonicalBytes(folderIndexModel.encodeState(s)));

function randomFolderOp(rng: SimRandom, uidNext: number): FolderOp {
  const uids = Array.from({ length: 1 + rng.int(3) }, () => 1 + rng.int(Math.max(1, uidNext)));
  const roll = rng.float();
  if (roll < 0.5) return insertFor(rng.int(40), `k${rng.int(40)}`, rng.chance(0.5) ? ['\\Seen'] : []);
  if (roll < 0.8) {
    const mode = rng.pick(['add', 'remove', 'replace'] as const);
    const op = { type: 'flags' as const, uids, mode, flags: [rng.pick(['\\Seen', '\\Deleted', '\\Flagged', 'work', 'Work'])] };
    return rng.chance(0.2) ? { ...op, unchangedSince: rng.int(uidNext + 10) } : op;
  }
  return { type: 'expunge', uids, onlyDeleted: rng.chance(0.5) };
}

describe('folder model', () => {
  it('applied then reverted in reverse order, any sequence of operations leaves the state exactly as it was', () => {
    const rng = new SimRandom('revert');
    const state = folderModel.initial();
    for (let round = 0; round < 300; round++) {
      const before = folderBytes(state);
      const changes = Array.from({ length: 1 + rng.int(6) }, () => folderModel.apply(state, randomFolderOp(rng, state.uidNext)));
      for (const a of [...changes].reverse()) if (a.effective) folderModel.revert(state, a.change);
      expect(folderBytes(state).equals(before)).toBe(true);
      // ... and then keep some, so the state grows.
      for (let k = rng.int(4); k > 0; k--) folderModel.apply(state, randomFolderOp(rng, state.uidNext));
      expect(folderModel.summarize(state).unseen).toBe([...state.messages.values()].filter((m) => !m.flags.includes('\\Seen')).length);
    }
  });

  it('snapshot encoding round-trips, and an op encoding round-trips', () => {
    const rng = new SimRandom('codec');
    const state = folderModel.initial();
    for (let i = 0; i < 200; i++) {
      const op = randomFolderOp(rng, state.uidNext);
      const bytes = Buffer.from(canonicalBytes(folderModel.encodeOp(op)));
      expect(Buffer.from(canonicalBytes(folderModel.encodeOp(folderModel.decodeOp(contentDecoder.decode(bytes))))).equals(bytes)).toBe(true);
      folderModel.apply(state, op);
    }
    const decoded = folderModel.decodeState(contentDecoder.decode(canonicalBytes(folderModel.encodeState(state))));
    expect(folderBytes(decoded).equals(folderBytes(state))).toBe(true);
    expect(decoded.unseen).toBe(state.unseen);
  });

  it('UIDs ascend, every change takes a new modseq, a no-op takes none', () => {
    const s = folderModel.initial();
    const a = folderModel.apply(s, insertFor(1, 'a'));
    const b = folderModel.apply(s, insertFor(2, 'b'));
    expect([a.change, b.change].map((c) => c.type === 'insert' && [c.message!.uid, c.message!.modseq])).toEqual([
      [1, 2],
      [2, 3],
    ]);
    expect(folderModel.apply(s, { type: 'flags', uids: [1], mode: 'add', flags: ['\\seen'] }).change).toMatchObject({ changed: [{ uid: 1, flags: ['\\Seen'], modseq: 4 }] });
    expect(folderModel.apply(s, { type: 'flags', uids: [1], mode: 'add', flags: ['\\Seen'] }).effective).toBe(false);
    expect(s.highestModseq).toBe(4);
    const cond = folderModel.apply(s, { type: 'flags', uids: [1, 2], mode: 'add', flags: ['\\Flagged'], unchangedSince: 3 });
    expect(cond.change).toMatchObject({ failed: [1], changed: [{ uid: 2 }] });
    expect(folderModel.apply(s, { type: 'expunge', uids: [1, 2], onlyDeleted: true }).effective).toBe(false);
    const gone = folderModel.apply(s, { type: 'expunge', uids: [1, 2], onlyDeleted: false });
    expect(gone.change).toMatchObject({ type: 'expunge', modseq: 6 });
    // A re-delivered insert of an expunged key stays expunged.
    expect(folderModel.apply(s, insertFor(1, 'a')).change).toMatchObject({ outcome: 'expunged' });
  });

  it(`remembers at most ${FOLDER_EXPUNGED_RETAINED_MAX} expunged UIDs, forgetting the oldest`, () => {
    const s = folderModel.initial();
    const n = FOLDER_EXPUNGED_RETAINED_MAX + 50;
    for (let i = 1; i <= n; i++) folderModel.apply(s, insertFor(i, `k${i}`));
    folderModel.apply(s, { type: 'expunge', uids: Array.from({ length: 100 }, (_, i) => i + 1), onlyDeleted: false });
    for (let i = 101; i <= n; i += 5000) folderModel.apply(s, { type: 'expunge', uids: Array.from({ length: Math.min(5000, n - i + 1) }, (_, k) => i + k), onlyDeleted: false });
    expect(s.tombstones.length).toBe(FOLDER_EXPUNGED_RETAINED_MAX);
    expect(s.tombstones[0]!.uid).toBe(51);
    expect(s.forgottenThroughModseq).toBeGreaterThan(0);
    expect(s.byKey.has('k50')).toBe(false);
    expect(s.byKey.has('k51')).toBe(true);
  });
});

describe('folder index model', () => {
  const id = (n: number) => n.toString(16).padStart(32, '0');

  it('rename moves inferiors and subscriptions; create/rename/delete name the folder id they mean', () => {
    const s = folderIndexModel.initial();
    const ops: FolderIndexOp[] = [
      { type: 'create', name: 'Old', folderId: id(1) },
      { type: 'create', name: 'Old/Sub', folderId: id(2) },
      { type: 'subscribe', name: 'Old/Sub', subscribed: true },
    ];
    for (const op of ops) expect(folderIndexModel.apply(s, op).effective).toBe(true);
    expect(folderIndexModel.apply(s, { type: 'create', name: 'Old', folderId: id(3) }).change).toMatchObject({ outcome: 'exists', entry: { folderId: id(1) } });
    const before = indexBytes(s);
    const renamed = folderIndexModel.apply(s, { type: 'rename', from: 'Old', to: 'New', folderId: id(1) });
    expect([...s.byName.keys()].sort()).toEqual(['New', 'New/Sub']);
    expect([...s.subscriptions]).toEqual(['New/Sub']);
    expect(s.byName.get('New/Sub')!.folderId).toBe(id(2));
    folderIndexModel.revert(s, renamed.change);
    expect(indexBytes(s).equals(before)).toBe(true);
    // A delete that names another folder id (the name was reused meanwhile) changes nothing.
    expect(folderIndexModel.apply(s, { type: 'delete', name: 'Old', folderId: id(9) }).effective).toBe(false);
  });

  it('random operations revert exactly', () => {
    const rng = new SimRandom('index');
    const s = folderIndexModel.initial();
    const names = ['A', 'A/B', 'A/B/C', 'D', 'D/E', 'INBOX'];
    for (let round = 0; round < 300; round++) {
      const before = indexBytes(s);
      const applied = Array.from({ length: 1 + rng.int(4) }, () => {
        const name = rng.pick(names);
        const existing = s.byName.get(name);
        const roll = rng.float();
        const op: FolderIndexOp =
          roll < 0.4
            ? { type: 'create', name, folderId: id(rng.int(50)) }
            : roll < 0.6 && existing
              ? { type: 'rename', from: name, to: rng.pick(names), folderId: existing.folderId }
              : roll < 0.8 && existing
                ? { type: 'delete', name, folderId: existing.folderId }
                : { type: 'subscribe', name, subscribed: rng.chance(0.5) };
        return folderIndexModel.apply(s, op);
      });
      for (const a of applied.reverse()) if (a.effective) folderIndexModel.revert(s, a.change);
      expect(indexBytes(s).equals(before)).toBe(true);
      folderIndexModel.apply(s, { type: 'create', name: rng.pick(names), folderId: id(100 + round) });
    }
  });
});
