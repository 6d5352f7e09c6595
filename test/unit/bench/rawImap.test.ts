// The benchmark's raw IMAP client: cutting a server's byte stream into responses (literals included,
// however the bytes are split) and parsing them afterwards.
import { describe, expect, it } from 'vitest';
import { fetchResponses, flagsOf, numberedResponses, parseUnit, searchResults, UnitReader, unitLine, type ResponseUnit } from '../../../bench/mail/rawImap';

function cut(text: string | Buffer, chunkBytes: number): ResponseUnit[] {
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text, 'latin1');
  const reader = new UnitReader();
  const units: ResponseUnit[] = [];
  for (let i = 0; i < bytes.length; i += chunkBytes) reader.push(bytes.subarray(i, i + chunkBytes), (u) => units.push(u));
  return units;
}

const body = 'Subject: hi\r\n\r\nb1 OK this line is inside the literal\r\n';
const stream =
  '* 2 EXISTS\r\n' +
  `* 1 FETCH (UID 7 FLAGS (\\Seen \\Recent) BODY[] {${body.length}}\r\n${body} ENVELOPE ("date" "a \\"quoted\\" subject" NIL NIL NIL NIL NIL NIL NIL "<id@x>"))\r\n` +
  '* SEARCH 3 9 12\r\n' +
  'b1 OK [APPENDUID 5 9] done\r\n';

describe('raw IMAP client: response units', () => {
  it('rawImap: a literal that holds a tagged-looking line is data, whatever the chunk size', () => {
    for (const chunk of [1, 2, 7, 64, stream.length]) {
      const units = cut(stream, chunk);
      expect(units.map(unitLine).map((l) => l.slice(0, 12)), `chunks of ${chunk}`).toEqual(['* 2 EXISTS', '* 1 FETCH (U', '* SEARCH 3 9', 'b1 OK [APPEN']);
      expect(units[1]!.literals.map((l) => l.toString('latin1'))).toEqual([body]);
    }
  });

  it('rawImap: FETCH items parse into UID, FLAGS without \\Recent, the literal body and a nested ENVELOPE', () => {
    const units = cut(stream, 5);
    const [fetch] = fetchResponses(units);
    expect(fetch!.seq).toBe(1);
    expect(fetch!.items.UID).toBe('7');
    expect(flagsOf(fetch!.items.FLAGS)).toEqual(['\\Seen']);
    expect(Buffer.isBuffer(fetch!.items['BODY[]']) && fetch!.items['BODY[]'].toString('latin1')).toBe(body);
    const envelope = fetch!.items.ENVELOPE as unknown[];
    expect(envelope[1]).toBe('a "quoted" subject');
    expect(envelope[2]).toBeNull();
    expect(envelope[9]).toBe('<id@x>');
    expect(numberedResponses(units, 'EXISTS')).toEqual([2]);
    expect(searchResults(units)).toEqual([3, 9, 12]);
  });

  it('rawImap: a section with spaces stays one item name', () => {
    const [unit] = cut('* 3 FETCH (BODY[HEADER.FIELDS (FROM TO)] {4}\r\nab\r\n UID 4)\r\n', 3);
    expect(parseUnit(unit!)).toEqual(['*', '3', 'FETCH', ['BODY[HEADER.FIELDS (FROM TO)]', Buffer.from('ab\r\n'), 'UID', '4']]);
  });
});
