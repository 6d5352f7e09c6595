// The store phase's check of each STORE reply: OK, and an untagged FETCH of message 1 whose FLAGS show
// \Flagged set after +FLAGS and cleared after -FLAGS. Each way a reply can be wrong is named.
import { describe, expect, it } from 'vitest';
import { flagProblem } from '../../../bench/mail/storeLoad';
import { UnitReader, type ImapReply, type ResponseUnit } from '../../../bench/mail/rawImap';

function reply(untagged: string, status: ImapReply['status'] = 'OK', text = 'STORE completed'): ImapReply {
  const units: ResponseUnit[] = [];
  new UnitReader().push(Buffer.from(untagged, 'latin1'), (u) => units.push(u));
  return { tag: 'b1', status, code: '', text, untagged: units, ms: 1 };
}

describe('store phase: the check of a STORE reply', () => {
  it('storeLoad: the flag as asked is no problem, with or without other flags and responses', () => {
    expect(flagProblem(reply('* 1 FETCH (FLAGS (\\Seen \\Flagged))\r\n'), true)).toBeUndefined();
    expect(flagProblem(reply('* 1 FETCH (UID 4 FLAGS (\\Seen) MODSEQ (12))\r\n'), false)).toBeUndefined();
    expect(flagProblem(reply('* 3 EXISTS\r\n* 1 FETCH (FLAGS ())\r\n'), false)).toBeUndefined();
  });

  it('storeLoad: a wrong flag, a missing FETCH, a FETCH without FLAGS, a NO are each an error', () => {
    expect(flagProblem(reply('* 1 FETCH (FLAGS (\\Seen))\r\n'), true)).toBe('\\Flagged missing after +FLAGS: (\\Seen)');
    expect(flagProblem(reply('* 1 FETCH (FLAGS (\\Flagged))\r\n'), false)).toBe('\\Flagged still there after -FLAGS: (\\Flagged)');
    expect(flagProblem(reply('* 2 FETCH (FLAGS (\\Flagged))\r\n'), true)).toBe('no untagged FETCH for message 1');
    expect(flagProblem(reply('* 1 FETCH (UID 4)\r\n'), true)).toBe('the untagged FETCH carries no FLAGS');
    expect(flagProblem(reply('', 'NO', 'store failed'), true)).toBe('NO store failed');
  });

  it('storeLoad: the last FETCH of message 1 in the reply is the one that counts', () => {
    expect(flagProblem(reply('* 1 FETCH (FLAGS ())\r\n* 1 FETCH (FLAGS (\\Flagged))\r\n'), true)).toBeUndefined();
  });
});
