// A partition splits the replicas of one log; a writer on each side (the home node and a session or a
// standby on the other side) goes on writing; at the heal, repair keeps the newer head. The writer
// that learns of the other branch merges it (LogWriter.catchUp, LogModel.recover): mail delivered on
// either side is in the folder once, an expunge on either side holds, nothing else moves.
import { describe, expect, it } from 'vitest';
import { type FolderLog, openFolderLog } from '../../../storage/folders/folderLogs';
import { LogWriter } from '../../../storage/log/logWriter';
import { logAddressFor } from '../../../storage/log/logAddress';
import { messagesModel } from '../../../storage/messages/messagesModel';
import { depsFor, insertFor, testOwner } from './logFixtures';
import { Partition } from './partition';

const FOLDER = 'f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0';

const keysOf = (log: FolderLog) => log.readNow((s) => [...s.messages.values()].map((m) => m.key).sort());
const flagsOf = (log: FolderLog) => log.readNow((s) => Object.fromEntries([...s.messages.values()].map((m) => [m.uid, [...m.flags].sort()])));
const keysByUid = (log: FolderLog) => log.readNow((s) => Object.fromEntries([...s.messages.values()].map((m) => [m.uid, m.key])));
const uidsUnique = (log: FolderLog) => log.readNow((s) => new Set([...s.messages.values()].map((m) => m.uid)).size === s.messages.size);

async function pair(p: Partition) {
  const owner = await testOwner(7);
  const forks: string[] = [];
  const deps = (side: 0 | 1) => depsFor(p.side(side), owner, `writer-${side}`, { onFork: (f) => forks.push(`${f.log}: ${f.why} (${f.carried})`) });
  const home = await openFolderLog(deps(0), owner, FOLDER);
  await home.append([insertFor(1, 'n:before-1'), insertFor(2, 'n:before-2'), insertFor(3, 'n:before-3')]);
  const away = await openFolderLog(deps(1), owner, FOLDER);
  return { owner, home, away, forks, deps };
}

describe('a log written on both sides of a partition', () => {
  it('the losing side catches up with the winner and carries its own mail and expunges over', async () => {
    const p = new Partition();
    const { home, away, forks } = await pair(p);
    p.split();
    // Home side: two mails and an expunge; the other side: one mail (so home's head is newer) and an expunge.
    await home.append([insertFor(10, 'n:home-a')]);
    await home.append([insertFor(11, 'n:home-b')]);
    await home.append([{ type: 'expunge', uids: [1], onlyDeleted: false }]);
    await away.append([insertFor(20, 'n:away-a'), insertFor(10, 'n:home-a')]); // one notification delivered on both sides
    await away.append([{ type: 'expunge', uids: [2], onlyDeleted: false }]);
    expect(home.seq).toBeGreaterThan(away.seq);
    p.heal();

    // The away writer hears of the newer head (a notice, or its next write's lost compare-and-swap).
    expect(await away.refresh()).toBe('reloaded');
    await expect.poll(() => keysOf(away)).toEqual(['n:away-a', 'n:before-3', 'n:home-a', 'n:home-b']);
    expect(forks.join('\n')).toMatch(/does not extend/);
    // Home catches up with the merged head as with any other device's writes: a plain replay.
    expect(await home.refresh()).toBe('caught-up');
    expect(keysOf(home)).toEqual(keysOf(away));
    expect(uidsUnique(home)).toBe(true);
    expect(home.seq).toBe(away.seq);
  });

  it('the winning side merges a losing branch a replica still holds (its writer may be gone)', async () => {
    const p = new Partition();
    const { home, away } = await pair(p);
    p.split();
    await home.append([insertFor(10, 'n:home-a')]);
    await home.append([insertFor(11, 'n:home-b')]);
    await away.append([insertFor(20, 'n:away-a')]);
    away.close(); // the session on the far side ended before the heal
    const lost = p.sideOneVersion(away.address.objectId)!;
    p.heal();
    // A put of the winner reaches a replica of the far side before repair did: CAS_MISMATCH with its
    // version, which the writer is handed as a hint.
    expect(await home.refresh(lost)).toBe('stale');
    await expect.poll(() => keysOf(home)).toContain('n:away-a');
    expect(keysOf(home)).toEqual(['n:away-a', 'n:before-1', 'n:before-2', 'n:before-3', 'n:home-a', 'n:home-b']);
  });

  it('two heads with one sequence: no LOG_FORK, the other branch is carried over on top', async () => {
    const p = new Partition();
    const { home, away } = await pair(p);
    p.split();
    await home.append([insertFor(10, 'n:home-a')]);
    await away.append([insertFor(20, 'n:away-a')]);
    expect(home.seq).toBe(away.seq);
    const other = p.sideOneVersion(away.address.objectId)!;
    p.heal();
    expect(await home.refresh(other)).toBe('unchanged');
    await expect.poll(() => keysOf(home)).toEqual(['n:away-a', 'n:before-1', 'n:before-2', 'n:before-3', 'n:home-a']);
    expect(await away.refresh()).toBe('reloaded');
    await expect.poll(() => keysOf(away)).toEqual(keysOf(home));
  });

  it('a fork at one sequence that nobody writes on again is settled at reconcile: one newer head holding both', async () => {
    const p = new Partition();
    const { home, away } = await pair(p);
    p.split();
    await home.append([insertFor(10, 'n:home-a')]);
    await away.append([insertFor(20, 'n:away-a')]);
    away.close(); // the far side's session ended; nobody writes this log again
    p.heal();
    const id = home.address.objectId;
    expect(p.versions(id)).toHaveLength(2);
    await home.reconcile();
    p.repair();
    expect(p.versions(id)).toHaveLength(1);
    expect(p.versions(id)[0]!.seq).toBe(home.seq);
    expect(keysOf(home)).toEqual(['n:away-a', 'n:before-1', 'n:before-2', 'n:before-3', 'n:home-a']);
  });

  it('a fork at one sequence whose branches hold the same entries is buried under an empty head', async () => {
    const p = new Partition();
    const { home, away, forks } = await pair(p);
    p.split();
    await home.append([insertFor(10, 'n:both')]); // one notification delivered on both sides
    await away.append([insertFor(10, 'n:both')]);
    away.close();
    p.heal();
    const id = home.address.objectId;
    const seq = home.seq;
    expect(p.versions(id)).toHaveLength(2);
    expect(await home.settleForks()).toBe(1);
    expect(forks).toEqual([]); // the same entries on both: nothing to carry
    p.repair();
    expect(p.versions(id).map((v) => v.seq)).toEqual([seq + 1]);
    expect(await home.settleForks()).toBe(0);
  });

  it('a stale replica of our own history, or a head we extend, merges nothing', async () => {
    const p = new Partition();
    const { home, away, forks } = await pair(p);
    const old = p.sideOneVersion(home.address.objectId) ?? (await p.side(0).getObject(home.address.objectId))!;
    await home.append([insertFor(10, 'n:home-a')]);
    expect(await home.refresh(old)).toBe('stale');
    expect(await away.refresh()).toBe('caught-up');
    expect(forks).toEqual([]);
    expect(home.stats.forksMerged).toBe(0);
  });

  it('a flag set on the losing side survives, beside one set on the winning side (three-way against the fork point)', async () => {
    const p = new Partition();
    const { home, away, forks } = await pair(p);
    p.split();
    // Home marks uid 1 \Flagged and takes a mail (its head is newer); away marks uid 1 and uid 2 \Seen.
    await home.append([{ type: 'flags', uids: [1], mode: 'add', flags: ['\\Flagged'] }]);
    await home.append([insertFor(10, 'n:home-a')]);
    await away.append([{ type: 'flags', uids: [1, 2], mode: 'add', flags: ['\\Seen'] }]);
    expect(home.seq).toBeGreaterThan(away.seq);
    p.heal();
    expect(await away.refresh()).toBe('reloaded');
    await expect.poll(() => flagsOf(away)).toEqual({ 1: ['\\Flagged', '\\Seen'], 2: ['\\Seen'], 3: [], 4: [] });
    expect(forks.join('\n')).toMatch(/does not extend.*\(1\)/);
    expect(await home.refresh()).toBe('caught-up');
    expect(flagsOf(home)).toEqual(flagsOf(away));
  });

  it('the winner merging a lost branch a replica still holds carries its flags too', async () => {
    const p = new Partition();
    const { home, away } = await pair(p);
    p.split();
    await home.append([insertFor(10, 'n:home-a')]);
    await home.append([{ type: 'flags', uids: [2], mode: 'add', flags: ['\\Answered'] }]);
    await away.append([{ type: 'flags', uids: [2, 3], mode: 'add', flags: ['\\Seen'] }]);
    away.close();
    const lost = p.sideOneVersion(away.address.objectId)!;
    p.heal();
    expect(await home.refresh(lost)).toBe('stale');
    await expect.poll(() => flagsOf(home)).toEqual({ 1: [], 2: ['\\Answered', '\\Seen'], 3: ['\\Seen'], 4: [] });
  });

  it('mail the losing side took keeps its UID when the winner took none, even when the loser learns of the fork by an append that lost the compare-and-swap', async () => {
    const p = new Partition();
    const { home, away } = await pair(p);
    p.split();
    // Home only marks mail (two writes: its head is newer); away takes a mail, UID 4.
    await home.append([{ type: 'flags', uids: [1], mode: 'add', flags: ['\\Seen'] }]);
    await home.append([{ type: 'flags', uids: [2], mode: 'add', flags: ['\\Seen'] }]);
    const [taken] = await away.append([insertFor(20, 'n:away-a')]);
    expect(taken!.change).toMatchObject({ message: { uid: 4 } });
    p.heal();
    // Away's next append is refused (the winner's head is in the way): catch-up, merge, and the
    // carried mail goes before the retried append, so it keeps UID 4 and the new one takes 5.
    const [after] = await away.append([insertFor(21, 'n:away-after')]);
    await away.reconcile();
    expect(after!.change).toMatchObject({ message: { uid: 5 } });
    expect(keysByUid(away)).toEqual({ 1: 'n:before-1', 2: 'n:before-2', 3: 'n:before-3', 4: 'n:away-a', 5: 'n:away-after' });
    expect(away.summary.uidEpoch).toBe(0);
    expect(await home.refresh()).toBe('caught-up');
    expect(keysByUid(home)).toEqual(keysByUid(away));
  });

  it('mail both sides took under the same UIDs: one new UID epoch, every UID naming one message', async () => {
    const p = new Partition();
    const { home, away } = await pair(p);
    p.split();
    await home.append([insertFor(10, 'n:home-a')]);
    await home.append([insertFor(11, 'n:home-b')]);
    await away.append([insertFor(20, 'n:away-a')]);
    p.heal();
    expect(await away.refresh()).toBe('reloaded');
    await away.reconcile();
    expect(away.summary.uidEpoch).toBe(1);
    expect(keysByUid(away)).toEqual({ 1: 'n:before-1', 2: 'n:before-2', 3: 'n:before-3', 4: 'n:home-a', 5: 'n:home-b', 6: 'n:away-a' });
    expect(await home.refresh()).toBe('caught-up');
    expect(home.summary.uidEpoch).toBe(1);
  });

  it('a flag change or expunge made by the lost numbering, retried after the merge renumbered the folder, changes nothing', async () => {
    const p = new Partition();
    const { home, away } = await pair(p);
    p.split();
    await home.append([insertFor(10, 'n:home-a')]);
    await home.append([insertFor(11, 'n:home-b')]);
    await away.append([insertFor(20, 'n:away-a')]); // UID 4 on the far side
    p.heal();
    // A client of the far side deletes its UID 4; the put is refused, the merge renumbers (UID 4 is home-a there).
    const epoch = away.summary.uidEpoch;
    await away.append([
      { type: 'flags', uids: [4], mode: 'add', flags: ['\\Deleted'], uidEpoch: epoch },
      { type: 'expunge', uids: [4], onlyDeleted: false, uidEpoch: epoch },
    ]);
    await away.reconcile();
    expect(away.summary.uidEpoch).toBe(epoch + 1);
    expect(keysByUid(away)).toEqual({ 1: 'n:before-1', 2: 'n:before-2', 3: 'n:before-3', 4: 'n:home-a', 5: 'n:home-b', 6: 'n:away-a' });
    expect(flagsOf(away)[4]).toEqual([]);
  });

  it('the messages log: records added on the losing side are added again', async () => {
    const p = new Partition();
    const owner = await testOwner(9);
    const address = logAddressFor(owner, 'messages');
    const rec = (key: string) => ({ type: 'add' as const, record: { key, direction: 'in' as const, from: 'a@x', to: ['b@x'], ref: 'r', sentAtMs: 1, recordedAtMs: 1 } });
    const a = await LogWriter.open(depsFor(p.side(0), owner, 'a'), address, messagesModel);
    await a.append([rec('n:1')]);
    const b = await LogWriter.open(depsFor(p.side(1), owner, 'b'), address, messagesModel);
    p.split();
    await a.append([rec('n:2')]);
    await a.append([rec('n:3')]);
    await b.append([rec('n:4')]);
    p.heal();
    expect(await b.refresh()).toBe('reloaded');
    await expect.poll(() => b.readNow((s) => [...s.order].sort())).toEqual(['n:1', 'n:2', 'n:3', 'n:4']);
  });
});
