// A fork's flags merge three-way (folderModel's recover with the fork point): per message and per flag,
// what the lost branch changed since the fork and the winner left alone is carried into the winner;
// a flag the winner changed since the fork keeps the winner's value.
import { describe, expect, it } from 'vitest';
import { folderModel } from '../../../storage/folders/folderModel';
import type { FolderOp } from '../../../storage/folders/folderOps';
import type { FolderState } from '../../../storage/folders/folderState';
import { insertFor } from './logFixtures';

const replay = (ops: readonly FolderOp[]): FolderState => {
  const state = folderModel.initial();
  for (const op of ops) folderModel.apply(state, op);
  return state;
};
const flags = (uids: number[], mode: 'add' | 'remove', ...names: string[]): FolderOp => ({ type: 'flags', uids, mode, flags: names });

/** The winner after the recovered operations are applied on top, as uid -> sorted flags. */
function merge(common: readonly FolderOp[], lostOps: readonly FolderOp[], winnerOps: readonly FolderOp[], withFork = true) {
  const lost = replay([...common, ...lostOps]);
  const winner = replay([...common, ...winnerOps]);
  const fork = withFork ? { ancestor: replay(common), winnerOps } : undefined;
  const ops = folderModel.recover!(lost, winner, fork);
  for (const op of ops) folderModel.apply(winner, op);
  const byUid = Object.fromEntries([...winner.messages.values()].map((m) => [m.uid, [...m.flags].sort()]));
  return { ops, byUid, winner };
}

const common = [insertFor(1, 'n:1'), insertFor(2, 'n:2', ['\\Seen', '\\Flagged']), insertFor(3, 'n:3')];

describe('fork merge of flags, three-way against the fork point', () => {
  it('each side changed a different flag of one message: both stand (\\Seen on one device, \\Flagged on the other)', () => {
    const { byUid } = merge(common, [flags([1], 'add', '\\Seen', '$Label1')], [flags([1], 'add', '\\Flagged')]);
    expect(byUid[1]).toEqual(['$Label1', '\\Flagged', '\\Seen']);
    expect(byUid[2]).toEqual(['\\Flagged', '\\Seen']);
    expect(byUid[3]).toEqual([]);
  });

  it('a flag removed on the lost side only is removed in the winner', () => {
    const { byUid, ops } = merge(common, [flags([2], 'remove', '\\Flagged')], [flags([3], 'add', '\\Answered')]);
    expect(byUid[2]).toEqual(['\\Seen']);
    expect(byUid[3]).toEqual(['\\Answered']);
    expect(ops).toEqual([flags([2], 'remove', '\\Flagged')]);
  });

  it('the same flag changed on both sides: the winner stands, even when it changed it back', () => {
    // Lost: \Seen off on 2 and \Answered on 1. Winner: \Seen off then on again on 2, \Answered on then off on 1.
    const { byUid, ops } = merge(
      common,
      [flags([2], 'remove', '\\Seen'), flags([1], 'add', '\\Answered'), flags([2], 'remove', '\\Flagged')],
      [flags([2], 'remove', '\\Seen'), flags([2], 'add', '\\Seen'), flags([1], 'add', '\\Answered'), flags([1], 'remove', '\\Answered')],
    );
    expect(byUid[2]).toEqual(['\\Seen']); // \Flagged, which only the lost side changed, goes
    expect(byUid[1]).toEqual([]);
    expect(ops).toEqual([flags([2], 'remove', '\\Flagged')]);
    // Both set it the same way: nothing to carry either.
    expect(merge(common, [flags([3], 'add', '\\Seen')], [flags([3], 'add', '\\Seen')]).ops).toEqual([]);
  });

  it('a message expunged on the winner stays expunged; its lost-side flags are not carried', () => {
    const { byUid, ops, winner } = merge(common, [flags([3], 'add', '\\Seen'), flags([1], 'add', '\\Seen')], [{ type: 'expunge', uids: [3], onlyDeleted: false }]);
    expect(byUid[3]).toBeUndefined();
    expect(winner.messages.has(3)).toBe(false);
    expect(byUid[1]).toEqual(['\\Seen']);
    expect(ops).toEqual([flags([1], 'add', '\\Seen')]);
  });

  it('a message inserted on both sides after the fork has no fork-point flags: the winner stands', () => {
    const { byUid } = merge(common, [insertFor(4, 'n:4'), flags([4], 'add', '\\Seen')], [insertFor(4, 'n:4')]);
    expect(byUid[4]).toEqual([]);
  });

  it('many messages marked on the lost side are carried in one operation per flag and direction', () => {
    const { ops } = merge(common, [flags([1, 3], 'add', '\\Seen'), flags([2], 'remove', '\\Seen')], []);
    expect(ops).toEqual([flags([1, 3], 'add', '\\Seen'), flags([2], 'remove', '\\Seen')]);
  });

  it('without the fork point (it could not be read) the winner\'s flags stand, as before', () => {
    const { ops } = merge(common, [flags([1], 'add', '\\Seen')], [flags([1], 'add', '\\Flagged')], false);
    expect(ops).toEqual([]);
  });
});
