// A selected-mailbox view shares one flags array per distinct flag set among its messages (an open
// folder of 100,000 messages held as many copies), and a change to one message's flags touches no other.
import { describe, expect, it } from 'vitest';
import type { FolderSnapshot, MessageMeta } from '../../../mail/backend';
import { SelectedMailbox } from '../../../mail/imap/selectedMailbox';

const meta = (uid: number, flags: string[]): MessageMeta => ({ uid, flags, internalDateMs: 0, modseq: uid, sizeOctets: 10, ref: `r${uid}` });

function view(messages: MessageMeta[]): SelectedMailbox {
  const snapshot: FolderSnapshot = { folder: { name: 'INBOX', uidValidity: 1, uidNext: messages.length + 1, highestModseq: messages.length, subscribed: true }, messages };
  return new SelectedMailbox('INBOX', false, snapshot);
}

describe('selected mailbox view', () => {
  it('shares flag arrays among messages with the same flags; a change replaces one message\'s only', () => {
    const v = view(Array.from({ length: 1000 }, (_, i) => meta(i + 1, i % 2 ? ['\\Seen'] : i % 3 ? ['\\Seen', '\\Answered'] : [])));
    expect(new Set(v.messages.map((m) => m.flags)).size).toBe(3);
    const before = v.messages[1]!.flags;
    v.applyOwnFlags(2, ['\\Seen', '\\Flagged'], 5000);
    expect(v.messages[1]!.flags).toEqual(['\\Seen', '\\Flagged']);
    expect(v.messages[3]!.flags).toBe(before);
    expect(before).toEqual(['\\Seen']);
    expect(() => (v.messages[3]!.flags as string[]).push('x')).toThrow(TypeError); // shared, so frozen
  });

  it('counts \\Recent as messages are claimed, arrive and are expunged, the same as counting the view', () => {
    const v = view(Array.from({ length: 50 }, (_, i) => meta(2 * i + 1, [])));
    const counted = () => v.messages.filter((m) => m.recent).length;
    expect(v.markRecent(80, 1000)).toBe(10); // UIDs 81..99
    expect(v.markRecent(80, 1000)).toBe(10); // claimed again: nothing new
    expect(v.markRecent(0, 10)).toBe(15); // older ones too (a first SELECT claims from 0)
    let uid = 101;
    for (let round = 0; round < 20; round++) {
      for (let k = 0; k < 3; k++) v.enqueue({ kind: 'added', message: meta(uid++, []) });
      const added = v.applyPending(true).added;
      expect(v.markRecent(added[0]!.uid - 1, uid - 1)).toBe(counted());
      v.removeOwn([v.messages[round]!.uid, uid - 1]); // an old one (recent or not) and the newest
      expect(v.recentCount).toBe(counted());
    }
    expect(v.recentCount).toBe(counted());
    expect(v.recentCount).toBeGreaterThan(20);
  });
});
