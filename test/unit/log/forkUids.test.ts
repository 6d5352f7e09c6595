// A fork's merge and the folder's UIDs (folderModel's recover): a UID names one message for the life of
// a UIDVALIDITY (RFC 3501 2.3.1.1). When the winner never gave out the UIDs the lost branch did, the
// carried messages keep theirs; otherwise the folder moves to a new UID epoch, whose UIDVALIDITY is
// greater, and the carried messages take the next UIDs.
import { describe, expect, it } from 'vitest';
import { canonicalBytes } from '../../../protocol/frame';
import { diffFolderStates, eventsOfChange } from '../../../storage/folders/folderEvents';
import { uidValidityOf } from '../../../storage/folders/folderLogs';
import { folderModel } from '../../../storage/folders/folderModel';
import type { FolderChangeRecord, FolderOp } from '../../../storage/folders/folderOps';
import { copyFolderState, type FolderState } from '../../../storage/folders/folderState';
import { insertFor } from './logFixtures';

const replay = (ops: readonly FolderOp[], start = folderModel.initial()): FolderState => {
  for (const op of ops) folderModel.apply(start, op);
  return start;
};
const expunge = (...uids: number[]): FolderOp => ({ type: 'expunge', uids, onlyDeleted: false });
const seen = (...uids: number[]): FolderOp => ({ type: 'flags', uids, mode: 'add', flags: ['\\Seen'] });
const byUid = (s: FolderState) => Object.fromEntries([...s.messages.values()].map((m) => [m.uid, m.key]));
const stateBytes = (s: FolderState) => Buffer.from(canonicalBytes(folderModel.encodeState(s))).toString('hex');

/** Every UID either branch or the merged folder gave out, with the key it named, under each epoch: a UID that names two keys under one epoch is returned. */
function uidsNamingTwo(...states: FolderState[]): string[] {
  const named = new Map<string, string>();
  const twice: string[] = [];
  for (const s of states) {
    const records = [...s.messages.values(), ...s.tombstones];
    for (const { uid, key } of records) {
      const at = `${s.uidEpoch}/${uid}`;
      const before = named.get(at);
      if (before !== undefined && before !== key) twice.push(`${at}: ${before} and ${key}`);
      named.set(at, key);
    }
  }
  return twice;
}

function merge(common: readonly FolderOp[], lostOps: readonly FolderOp[], winnerOps: readonly FolderOp[], withFork = true) {
  const ancestor = replay(common);
  const lost = replay(lostOps, copyFolderState(ancestor));
  const winner = replay(winnerOps, copyFolderState(ancestor));
  const ops = folderModel.recover!(lost, winner, withFork ? { ancestor, winnerOps } : undefined);
  const merged = replay(ops, copyFolderState(winner));
  return { ops, lost, winner, merged };
}

const common = [insertFor(1, 'n:1'), insertFor(2, 'n:2'), insertFor(3, 'n:3')];

describe('fork merge: the carried messages and their UIDs', () => {
  it('the winner gave out no UID since the fork: the lost branch\'s messages keep their UIDs, under the same UIDVALIDITY', () => {
    const { ops, merged, lost } = merge(common, [insertFor(4, 'n:lost-a'), insertFor(5, 'n:lost-b'), expunge(4), insertFor(6, 'n:lost-c')], [seen(1), seen(2)]);
    expect(ops[0]).toEqual({ type: 'reserveUids', uidEpoch: 0, uidFrom: 4, uidNext: 7 });
    expect(byUid(merged)).toEqual({ 1: 'n:1', 2: 'n:2', 3: 'n:3', 5: 'n:lost-b', 6: 'n:lost-c' });
    expect(merged.uidEpoch).toBe(0);
    expect(merged.uidNext).toBe(7); // 4, which the lost branch gave out and expunged, is never given out again
    expect(uidsNamingTwo(lost, merged)).toEqual([]);
    expect(merged.messages.get(1)!.flags).toEqual(['\\Seen']);
  });

  it('both branches took one notification under one UID: still no renumbering', () => {
    const { ops, merged } = merge(common, [insertFor(4, 'n:both'), insertFor(5, 'n:lost-a')], [insertFor(4, 'n:both')]);
    expect(ops.some((op) => op.type === 'renumber')).toBe(false);
    expect(byUid(merged)).toEqual({ 1: 'n:1', 2: 'n:2', 3: 'n:3', 4: 'n:both', 5: 'n:lost-a' });
    expect(merged.uidEpoch).toBe(0);
  });

  it('both branches gave out the same UIDs to different messages: a new, greater UIDVALIDITY and unique UIDs', () => {
    const { ops, merged, lost, winner } = merge(common, [insertFor(4, 'n:lost-a'), insertFor(5, 'n:lost-b')], [insertFor(4, 'n:home-a')]);
    expect(ops[0]).toEqual({ type: 'renumber', pastEpoch: 0 });
    expect(merged.uidEpoch).toBe(1);
    expect(byUid(merged)).toEqual({ 1: 'n:1', 2: 'n:2', 3: 'n:3', 4: 'n:home-a', 5: 'n:lost-a', 6: 'n:lost-b' });
    expect(uidsNamingTwo(lost, winner)).toEqual(['0/4: n:lost-a and n:home-a']); // the fork itself
    expect(uidsNamingTwo(lost, merged)).toEqual([]); // different epochs
    const folderId = '0123456789abcdef0123456789abcdef';
    expect(uidValidityOf(folderId, merged.uidEpoch)).toBeGreaterThan(uidValidityOf(folderId, 0));
  });

  it('one notification under two UIDs, or a winner\'s message below the lost branch\'s UIDNEXT, renumbers even with nothing to carry', () => {
    // Lost: n:x as 4. Winner: n:w as 4, n:x as 5. Nothing to carry, but the lost side's clients hold 4 -> n:x.
    expect(merge(common, [insertFor(4, 'n:x')], [insertFor(4, 'n:w'), insertFor(5, 'n:x')]).merged.uidEpoch).toBe(1);
    // Lost: 4 given out and expunged (its sessions' UIDNEXT is 5); winner: n:w as 4.
    const { merged, lost } = merge(common, [insertFor(4, 'n:gone'), expunge(4)], [insertFor(4, 'n:w')]);
    expect(merged.uidEpoch).toBe(1);
    expect(uidsNamingTwo(lost, merged)).toEqual([]);
  });

  it('without the fork point the whole numbering is compared: disjoint still keeps the UIDs, a clash renumbers', () => {
    const kept = merge(common, [insertFor(4, 'n:lost-a')], [seen(3)], false);
    expect(byUid(kept.merged)[4]).toBe('n:lost-a');
    expect(kept.merged.uidEpoch).toBe(0);
    const clash = merge(common, [insertFor(4, 'n:lost-a')], [insertFor(4, 'n:home-a')], false);
    expect(clash.merged.uidEpoch).toBe(1);
    expect(byUid(clash.merged)).toEqual({ 1: 'n:1', 2: 'n:2', 3: 'n:3', 4: 'n:home-a', 5: 'n:lost-a' });
  });

  it('a UID taken between the plan and its application (an append retried first) renumbers rather than name two messages', () => {
    const { ops, lost, winner } = merge(common, [insertFor(4, 'n:lost-a')], []);
    expect(ops[0]).toMatchObject({ type: 'reserveUids' });
    const raced = replay([insertFor(9, 'n:raced'), ...ops], copyFolderState(winner));
    expect(raced.uidEpoch).toBe(1);
    expect(byUid(raced)).toEqual({ 1: 'n:1', 2: 'n:2', 3: 'n:3', 4: 'n:raced', 5: 'n:lost-a' });
    expect(uidsNamingTwo(lost, raced)).toEqual([]);
  });

  it('branches in different epochs: the merged folder\'s epoch is past the lost branch\'s, never back', () => {
    const renumbered = replay([{ type: 'renumber', pastEpoch: 0 }], replay(common));
    // The lost branch was renumbered (epoch 1) and the winner not: past 1.
    const lost = replay([insertFor(4, 'n:lost-a')], copyFolderState(renumbered));
    const winner = replay([insertFor(4, 'n:home-a')], replay(common));
    const merged = replay(folderModel.recover!(lost, winner), copyFolderState(winner));
    expect(merged.uidEpoch).toBe(2);
    // The winner was (epoch 1), the lost branch not: the winner's numbering stands, the carried message takes the next UID.
    const merged2 = replay(folderModel.recover!(winner, lost), copyFolderState(lost));
    expect(merged2.uidEpoch).toBe(1);
    expect(byUid(merged2)).toEqual({ 1: 'n:1', 2: 'n:2', 3: 'n:3', 4: 'n:lost-a', 5: 'n:home-a' });
  });

  it('replay is deterministic: two readers of the logged operations (through their wire form) reach the same state, and every change reverts', () => {
    const { ops, winner } = merge(common, [insertFor(4, 'n:lost-a'), insertFor(5, 'n:lost-b')], [insertFor(4, 'n:home-a')]);
    const kept = merge(common, [insertFor(4, 'n:lost-c')], []);
    for (const [carry, base] of [
      [ops, winner],
      [kept.ops, kept.winner],
    ] as const) {
      const wire = carry.map((op) => folderModel.decodeOp(folderModel.encodeOp(op)));
      const a = replay(carry, copyFolderState(base));
      const b = replay(wire, copyFolderState(base));
      expect(stateBytes(b)).toBe(stateBytes(a));
      expect(folderModel.decodeState(folderModel.encodeState(a))).toEqual(a);
      expect(folderModel.decodeSummary(folderModel.encodeSummary(folderModel.summarize(a)))).toEqual(folderModel.summarize(a));
      // Apply then revert, newest first: back where it started.
      const state = copyFolderState(base);
      const changes: FolderChangeRecord[] = [];
      for (const op of carry) {
        const applied = folderModel.apply(state, op);
        if (applied.effective) changes.push(applied.change);
      }
      for (const c of changes.reverse()) folderModel.revert(state, c);
      expect(stateBytes(state)).toBe(stateBytes(base));
    }
  });

  it('a folder never renumbered encodes as before the epoch existed (stored heads keep matching their counters)', () => {
    const s = replay(common);
    expect(folderModel.encodeState(s) as unknown[]).toHaveLength(6);
    expect(folderModel.encodeSummary(folderModel.summarize(s)) as unknown[]).toHaveLength(4);
  });
});

describe('fork merge: what watchers are told', () => {
  it('a renumbering is an event; a reload onto a winner that numbered differently is one too', () => {
    const { lost, winner, merged } = merge(common, [insertFor(4, 'n:lost-a')], [insertFor(4, 'n:home-a')]);
    expect(diffFolderStates(lost, winner)).toEqual([{ kind: 'renumbered' }]);
    expect(diffFolderStates(winner, merged)).toEqual([{ kind: 'renumbered' }]);
    const state = copyFolderState(winner);
    expect(eventsOfChange(folderModel.apply(state, { type: 'renumber', pastEpoch: 0 }).change)).toEqual([{ kind: 'renumbered' }]);
  });

  it('a reload onto a winner that never numbered the lost branch\'s messages reports no expunge of them (the merge brings them back)', () => {
    const { lost, winner } = merge(common, [insertFor(4, 'n:lost-a')], [seen(1)]);
    expect(diffFolderStates(lost, winner)).toEqual([{ kind: 'flags', uid: 1, flags: ['\\Seen'], modseq: winner.highestModseq }]);
  });
});
