// Wire formats: modified UTF-7 names, sequence sets, response encoding, IMAP dates.
import { describe, expect, it } from 'vitest';
import { formatInternalDate, parseImapDateTime, parseSearchDate, daysFromCivil, civilFromDays } from '../../../mail/imap/dateTime';
import { atom, encodeStatus, encodeUntagged } from '../../../mail/imap/encoder';
import { formatSequenceSet, parseSequenceSet, resolveSequenceNumbers, resolveUidIndexes, SequenceSetError } from '../../../mail/imap/sequenceSet';
import { decodeMailboxUtf7, encodeMailboxUtf7, Utf7Error } from '../../../mail/imap/utf7';

describe('modified UTF-7 mailbox names (RFC 3501 5.1.3)', () => {
  it.each([
    ['INBOX', 'INBOX'],
    ['Entwürfe', 'Entw&APw-rfe'],
    ['~peter/mail/台北/日本語', '~peter/mail/&U,BTFw-/&ZeVnLIqe-'],
    ['Tom & Jerry', 'Tom &- Jerry'],
    ['😀 emoji', '&2D3eAA- emoji'],
  ])('%s <-> %s', (name, wire) => {
    expect(encodeMailboxUtf7(name)).toBe(wire);
    expect(decodeMailboxUtf7(wire)).toBe(name);
  });

  it.each(['&Jjo', '&Jjo!-', 'caf\u00e9', '&AGE-'])('rejects malformed %j', (wire) => {
    expect(() => decodeMailboxUtf7(wire)).toThrow(Utf7Error);
  });
});

describe('sequence sets', () => {
  it('resolves ranges, reversed ranges and * against a mailbox', () => {
    expect(resolveSequenceNumbers(parseSequenceSet('2:4,7,5:*'), 8)).toEqual([2, 3, 4, 5, 6, 7, 8]);
    expect(resolveSequenceNumbers(parseSequenceSet('4:2'), 5)).toEqual([2, 3, 4]);
    expect(resolveSequenceNumbers(parseSequenceSet('*:3'), 4)).toEqual([3, 4]);
    expect(resolveSequenceNumbers(parseSequenceSet('1:*'), 0)).toEqual([]);
  });

  it('refuses sequence numbers beyond the mailbox', () => {
    expect(() => resolveSequenceNumbers(parseSequenceSet('9'), 3)).toThrow(SequenceSetError);
  });

  it('resolves UID sets: "*" is the highest UID, n:* includes it even when n is larger', () => {
    const uids = [3, 7, 9, 20];
    expect(resolveUidIndexes(parseSequenceSet('1:*'), uids)).toEqual([0, 1, 2, 3]);
    expect(resolveUidIndexes(parseSequenceSet('100:*'), uids)).toEqual([3]);
    expect(resolveUidIndexes(parseSequenceSet('9:4'), uids)).toEqual([1, 2]);
    expect(resolveUidIndexes(parseSequenceSet('4,5,6'), uids)).toEqual([]);
  });

  it.each(['', '0', '1:', ':2', '1::2', 'a', '4294967296'])('rejects %j', (text) => {
    expect(() => parseSequenceSet(text)).toThrow(SequenceSetError);
  });

  it('formats compactly, preserving order', () => {
    expect(formatSequenceSet([1, 2, 3, 5, 9, 10])).toBe('1:3,5,9:10');
    expect(formatSequenceSet([5, 4])).toBe('5,4');
  });
});

describe('response encoding', () => {
  const ascii = { utf8: false };
  it('quotes simple strings, escapes quotes and backslashes, writes NIL and numbers', () => {
    const text = Buffer.concat(encodeUntagged([atom('X'), 'a "b" \\c', null, 42, ['x', atom('\\Seen')]], ascii)).toString();
    expect(text).toBe('* X "a \\"b\\" \\\\c" NIL 42 ("x" \\Seen)\r\n');
  });

  it('uses literals for CR/LF and for 8-bit text unless UTF8=ACCEPT', () => {
    expect(Buffer.concat(encodeUntagged(['a\r\nb'], ascii)).toString()).toBe('* {4}\r\na\r\nb\r\n');
    expect(Buffer.concat(encodeUntagged(['café'], ascii)).toString()).toBe('* {5}\r\ncafé\r\n');
    expect(Buffer.concat(encodeUntagged(['café'], { utf8: true })).toString()).toBe('* "café"\r\n');
  });

  it('keeps large buffers as separate chunks (no copy)', () => {
    const body = Buffer.alloc(1 << 20, 0x61);
    const chunks = encodeUntagged([1, atom('FETCH'), [atom('BODY[]'), body]], ascii);
    expect(chunks.some((chunk) => chunk === body)).toBe(true);
  });

  it('writes status lines with response codes and one-line text', () => {
    expect(encodeStatus('A1', 'NO', 'bad\r\nthing', 'TRYCREATE').toString()).toBe('A1 NO [TRYCREATE] bad thing\r\n');
  });
});

describe('IMAP dates', () => {
  it('formats and parses date-time with zones', () => {
    const ms = parseImapDateTime('17-Jul-1996 02:44:25 -0700')!;
    expect(formatInternalDate(ms)).toBe('17-Jul-1996 09:44:25 +0000');
    expect(parseImapDateTime(' 7-Jul-1996 02:44:25 +0000')).toBeDefined();
    expect(parseImapDateTime('32-Jul-1996 02:44:25 +0000')).toBeUndefined();
    expect(parseImapDateTime('17-Foo-1996 02:44:25 +0000')).toBeUndefined();
  });

  it('calendar arithmetic round-trips', () => {
    for (const days of [-1000, 0, 59, 10_000, 20_000, 50_000]) {
      const { year, month, day } = civilFromDays(days);
      expect(daysFromCivil(year, month, day)).toBe(days);
    }
    expect(parseSearchDate('1-Jan-1970')).toBe(0);
    expect(parseSearchDate('1-Feb-1994')).toBe(daysFromCivil(1994, 2, 1));
  });
});
