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
});
