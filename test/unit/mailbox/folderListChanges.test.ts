// The folder index's changes as the MailBackend port's folder-list feed shows them: applied changes
// one by one, and the difference between two states when a device reloads the index from a snapshot.
import { describe, expect, it } from 'vitest';
import { folderListChangesOf, folderListDiff } from '../../../actors/mail/postMailboxViews';
import type { FolderIndexState } from '../../../storage/folders/folderIndexModel';
import type { FolderEntry } from '../../../storage/folders/folderIndexOps';

const entry = (name: string, n: number): FolderEntry => ({ name, folderId: n.toString(16).padStart(32, '0') });

function state(entries: readonly FolderEntry[], subscriptions: readonly string[]): FolderIndexState {
  return { byName: new Map(entries.map((e) => [e.name, e])), byId: new Map(entries.map((e) => [e.folderId, e])), subscriptions: new Set(subscriptions) };
}

describe('folder-list changes of the folder index', () => {
  it('leave out changes that changed nothing (exists, missing, same, limit)', () => {
    expect(
      folderListChangesOf([
        { type: 'create', outcome: 'created', entry: entry('A', 1) },
        { type: 'create', outcome: 'exists' },
        { type: 'rename', outcome: 'renamed', moves: [{ from: 'A', to: 'B', entry: entry('B', 1) }], subscriptionsMoved: [] },
        { type: 'rename', outcome: 'missing', moves: [], subscriptionsMoved: [] },
        { type: 'subscribe', outcome: 'changed', name: 'B', subscribed: true },
        { type: 'subscribe', outcome: 'same', name: 'B', subscribed: true },
        { type: 'subscribe', outcome: 'limit', name: 'C', subscribed: true },
        { type: 'delete', outcome: 'deleted', entry: entry('B', 1) },
        { type: 'delete', outcome: 'missing' },
      ]),
    ).toEqual([
      { kind: 'created', name: 'A' },
      { kind: 'renamed', from: 'A', to: 'B' },
      { kind: 'subscription', name: 'B', subscribed: true },
      { kind: 'deleted', name: 'B' },
    ]);
  });

  it('after a reload, tell deletes, renames, creates and subscription changes apart by folder id', () => {
    const before = state([entry('INBOX', 1), entry('Old', 2), entry('Gone', 3)], ['INBOX', 'Gone']);
    const after = state([entry('INBOX', 1), entry('New', 2), entry('Gone', 4)], ['INBOX', 'New']);
    expect(folderListDiff(before, after)).toEqual([
      { kind: 'renamed', from: 'Old', to: 'New' },
      { kind: 'deleted', name: 'Gone' },
      { kind: 'created', name: 'Gone' },
      { kind: 'subscription', name: 'Gone', subscribed: false },
      { kind: 'subscription', name: 'New', subscribed: true },
    ]);
  });
});
