// MIME indexing: structure offsets, ENVELOPE, BODYSTRUCTURE and section bytes, on well-formed,
// broken and very large messages.
import { describe, expect, it } from 'vitest';
import { bodyStructureValue } from '../../../mail/imap/fetch/bodyStructure';
import { envelopeValue } from '../../../mail/imap/fetch/envelope';
import { partialBytes, sectionBytes, type SectionSpec } from '../../../mail/imap/fetch/sections';
import { encodeInline } from '../../../mail/imap/encoder';
import { parseAddressList } from '../../../mail/mime/addresses';
import { decodeEncodedWords } from '../../../mail/mime/encodedWords';
import { parseMessageStructure } from '../../../mail/mime/structure';
import { bodyText } from '../../../mail/imap/search/messageText';
import { multipartMessage } from './fixtures';

const raw = Buffer.from(multipartMessage, 'utf8');
const root = parseMessageStructure(raw);
const inline = (value: Parameters<typeof encodeInline>[0][number]) => encodeInline([value], { utf8: true });

function section(path: number[], specifier: SectionSpec['specifier'] = '', fieldNames: string[] = []): string | undefined {
  return sectionBytes(raw, root, { path, specifier, fieldNames })?.toString('utf8');
}

describe('MIME structure', () => {
  it('finds nested parts with exact byte ranges', () => {
    expect(root.type).toBe('multipart');
    expect(root.children).toHaveLength(3);
    expect(root.children![0]!.children!.map((c) => `${c.type}/${c.subtype}`)).toEqual(['text/plain', 'text/html']);
    expect(section([1, 1])).toBe('Caf=C3=A9 plain with searchable zebra');
    expect(section([1, 2])).toBe('<p>Café html</p>');
    expect(section([3])).toBe('AAECAw==');
  });

  it('addresses an encapsulated message by HEADER, TEXT and its own part numbers', () => {
    expect(section([2])).toBe('From: inner@example.org\r\nSubject: Inner message\r\nContent-Type: text/plain\r\n\r\nInner body');
    expect(section([2], 'HEADER')).toBe('From: inner@example.org\r\nSubject: Inner message\r\nContent-Type: text/plain\r\n\r\n');
    expect(section([2], 'TEXT')).toBe('Inner body');
    expect(section([2, 1])).toBe('Inner body');
    expect(section([2], 'MIME')).toBe('Content-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\n');
  });

  it('gives HEADER, TEXT, HEADER.FIELDS and HEADER.FIELDS.NOT of the top message', () => {
    expect(section([], 'HEADER')!.endsWith('boundary="outer"\r\n\r\n')).toBe(true);
    expect(section([], 'TEXT')!.startsWith('This is the preamble.\r\n--outer')).toBe(true);
    expect(section([], 'HEADER.FIELDS', ['subject', 'MESSAGE-ID'])).toBe(
      'Subject: =?utf-8?B?UmFwcG9ydCBmaW5hbA==?= and more\r\nMessage-ID: <multi@example.org>\r\n\r\n',
    );
    const without = section([], 'HEADER.FIELDS.NOT', ['From', 'To', 'Cc', 'Subject', 'Date', 'Message-ID', 'In-Reply-To', 'MIME-Version']);
    expect(without).toBe('Content-Type: multipart/mixed; boundary="outer"\r\n\r\n');
  });

  it('answers undefined (NIL) for parts that do not exist', () => {
    expect(section([9])).toBeUndefined();
    expect(section([3, 1])).toBeUndefined();
    expect(section([1], 'HEADER')).toBeUndefined();
  });

  it('treats a single-part message body as part 1', () => {
    const simple = Buffer.from('Subject: x\r\n\r\nbody\r\n');
    const structure = parseMessageStructure(simple);
    expect(sectionBytes(simple, structure, { path: [1], specifier: '', fieldNames: [] })?.toString()).toBe('body\r\n');
    expect(sectionBytes(simple, structure, { path: [1], specifier: 'MIME', fieldNames: [] })?.toString()).toBe('Subject: x\r\n\r\n');
  });

  it('applies partial ranges, returning "" past the end', () => {
    const bytes = Buffer.from('0123456789');
    expect(partialBytes(bytes, 2, 3).toString()).toBe('234');
    expect(partialBytes(bytes, 8, 10).toString()).toBe('89');
    expect(partialBytes(bytes, 20, 5).toString()).toBe('');
  });
});

describe('ENVELOPE', () => {
  it('keeps encoded words, splits groups and defaults Sender/Reply-To to From', () => {
    const envelope = inline(envelopeValue(root.fields!));
    expect(envelope).toBe(
      '("Wed, 15 Nov 2023 08:30:00 +0100" "=?utf-8?B?UmFwcG9ydCBmaW5hbA==?= and more" ' +
        '(("=?utf-8?Q?Andr=C3=A9?=" NIL "andre" "example.org")) (("=?utf-8?Q?Andr=C3=A9?=" NIL "andre" "example.org")) ' +
        '(("=?utf-8?Q?Andr=C3=A9?=" NIL "andre" "example.org")) ' +
        '((NIL NIL "Team" NIL) (NIL NIL "alice" "example.org") ("Bob B." NIL "bob" "example.org") (NIL NIL NIL NIL) (NIL NIL "carol" "example.org")) ' +
        '(("Dave D" NIL "dave" "example.org")) NIL "<earlier@example.org>" "<multi@example.org>")',
    );
  });

  it('parses odd address forms: routes, quoted locals, missing domains, empty groups', () => {
    expect(parseAddressList('<@relay.example:joe@example.org>')).toEqual([
      { kind: 'mailbox', name: undefined, route: '@relay.example', local: 'joe', domain: 'example.org' },
    ]);
    expect(parseAddressList('"odd local"@example.org')[0]).toMatchObject({ local: '"odd local"', domain: 'example.org' });
    expect(parseAddressList('undisclosed-recipients:;')).toEqual([{ kind: 'group', name: 'undisclosed-recipients', members: [] }]);
    expect(parseAddressList('justlocal')[0]).toMatchObject({ local: 'justlocal', domain: undefined });
    expect(parseAddressList('"Last, First" <lf@example.org>, x@example.org')).toHaveLength(2);
  });

  it('takes any white space between words (a form feed or NBSP once looped forever; found by fuzzing)', () => {
    expect(parseAddressList('Alice\f<alice@example.org>')).toEqual([{ kind: 'mailbox', name: 'Alice', route: undefined, local: 'alice', domain: 'example.org' }]);
    expect(parseAddressList('a\u00a0b@example.org, c\vd@example.org')).toHaveLength(2);
    const message = Buffer.from('From: Alice <A\fICE@example.org>\r\nContent-Type: text/plain;\fcharset=utf-8\r\n\r\nbody\r\n');
    expect(inline(envelopeValue(parseMessageStructure(message).fields!))).toContain('"example.org"');
  });

  it('decodes RFC 2047 words for searching', () => {
    expect(decodeEncodedWords('=?utf-8?Q?Andr=C3=A9?= =?utf-8?B?IFPDuGJ5?=')).toBe('André Søby');
    expect(decodeEncodedWords('=?iso-8859-1?Q?caf=E9?=')).toBe('café');
  });
});

describe('BODYSTRUCTURE', () => {
  it('describes the whole tree with extension data', () => {
    const text = inline(bodyStructureValue(root, true));
    expect(text).toContain('("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 37 1 NIL NIL NIL NIL)');
    expect(text).toContain('"alternative" ("boundary" "inner") NIL NIL NIL)');
    expect(text).toContain('("message" "rfc822" NIL NIL NIL "7BIT" 87 (NIL "Inner message" ((NIL NIL "inner" "example.org"))');
    expect(text).toContain('("text" "plain" NIL NIL NIL "7BIT" 10 1 NIL NIL NIL NIL) 5 NIL ("inline" NIL) NIL NIL)');
    expect(text).toContain(
      '("application" "octet-stream" ("name" "data.bin") "<att1@example.org>" NIL "base64" 8 NIL ("attachment" ("filename" "data.bin")) ("en" "fr") NIL)',
    );
    expect(text.endsWith('"mixed" ("boundary" "outer") NIL NIL NIL)')).toBe(true);
  });

  it('counts the body lines of a part: a last line without its line end counts, the line ends themselves do not add one', () => {
    const lines = (body: string) => parseMessageStructure(Buffer.from(`Subject: x\r\n\r\n${body}`)).lines;
    expect(lines('')).toBe(0);
    expect(lines('one')).toBe(1);
    expect(lines('one\r\n')).toBe(1);
    expect(lines('one\r\ntwo\r\nthree')).toBe(3);
    expect(lines('one\ntwo\n\nfour\r\n')).toBe(4);
    expect(lines('x'.repeat(300) + '\r\n' + 'y'.repeat(70_000) + '\r\nz')).toBe(3);
    expect(lines('line\r\n'.repeat(10_000))).toBe(10_000);
  });

  it('BODY leaves extension data out', () => {
    const text = inline(bodyStructureValue(root, false));
    expect(text).not.toContain('attachment');
    expect(text.endsWith('"mixed")')).toBe(true);
  });

  it('degrades malformed MIME to text/plain instead of failing', () => {
    for (const broken of [
      'Content-Type: multipart/mixed\r\n\r\nno boundary at all',
      'Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nunterminated part',
      'Content-Type: ///\r\n\r\nbody',
      '',
      'no header separator',
    ]) {
      const bytes = Buffer.from(broken);
      const structure = parseMessageStructure(bytes);
      expect(() => inline(bodyStructureValue(structure, true))).not.toThrow();
    }
  });

  it('bounds nesting depth', () => {
    let nested = 'leaf';
    for (let i = 0; i < 200; i++) nested = `Content-Type: multipart/mixed; boundary=b${i}\r\n\r\n--b${i}\r\n${nested}\r\n--b${i}--`;
    const bytes = Buffer.from(nested);
    expect(() => inline(bodyStructureValue(parseMessageStructure(bytes), true))).not.toThrow();
  });
});

describe('search text', () => {
  it('decodes quoted-printable and charsets in text parts, includes encapsulated messages', () => {
    const text = bodyText(raw, root);
    expect(text).toContain('Café plain with searchable zebra');
    expect(text).toContain('Inner body');
    expect(text).not.toContain('AAECAw');
  });
});

describe('a 50 MB message', () => {
  // No time bound: the memory bounds show the 50 MB are neither copied nor decoded, and the test's own
  // timeout catches a parser that scans them more than linearly.
  it('is indexed without copying its bytes, and sections are views into it', () => {
    const attachment = Buffer.alloc(50 * 1024 * 1024, 'QUJD');
    const head = Buffer.from('Subject: big\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\nContent-Type: text/plain\r\n\r\nhello\r\n--zz\r\nContent-Type: application/zip\r\nContent-Transfer-Encoding: base64\r\n\r\n');
    const tail = Buffer.from('\r\n--zz--\r\n');
    const big = Buffer.concat([head, attachment, tail]);
    const before = process.memoryUsage();
    const structure = parseMessageStructure(big);
    const after = process.memoryUsage();
    expect(structure.children).toHaveLength(2);
    const part = sectionBytes(big, structure, { path: [2], specifier: '', fieldNames: [] })!;
    expect(part.length).toBe(attachment.length);
    expect(part.buffer).toBe(big.buffer);
    expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(8 * 1024 * 1024);
    expect(after.heapUsed - before.heapUsed).toBeLessThan(32 * 1024 * 1024);
  });
});
