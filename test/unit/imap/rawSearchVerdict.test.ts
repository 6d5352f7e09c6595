// rawSearchVerdict: SEARCH BODY/TEXT judged from the raw bytes only when that is certain.
import { describe, expect, it } from 'vitest';
import { rawSearchVerdict } from '../../../mail/imap/search/messageText';

const message = (header: string, body: string) => Buffer.from(`${header}\r\n\r\n${body}`, 'latin1');
const plain = message('From: a@example.org\r\nSubject: Plans', 'The Quarterly numbers are in.');

describe('rawSearchVerdict', () => {
  it('finds a needle in a plain body whatever its case, and is sure of its absence', () => {
    expect(rawSearchVerdict(plain, 'quarterly', true)).toBe(true);
    expect(rawSearchVerdict(plain, 'QUARTERLY', true)).toBe(true);
    expect(rawSearchVerdict(plain, 'annual', true)).toBe(false);
  });

  it('looks at the header only for TEXT', () => {
    expect(rawSearchVerdict(plain, 'plans', true)).toBe(false);
    expect(rawSearchVerdict(plain, 'plans', false)).toBe(true);
  });

  it('leaves to the full evaluation what is encoded, in any case of its markers', () => {
    for (const header of ['Content-Transfer-Encoding: BASE64', 'Content-Transfer-Encoding: Quoted-Printable', 'Subject: =?utf-8?q?caf=C3=A9?=', 'Content-Type: text/plain; charset=UTF-16', 'Content-Type: text/plain; charset=UCS-2', 'Content-Type: text/plain; charset=ISO-2022-JP', 'Content-Type: text/plain; charset=utf7']) {
      expect(rawSearchVerdict(message(header, 'nothing here'), 'quarterly', true), header).toBeUndefined();
    }
  });

  it('judges an ASCII-compatible charset from the bytes', () => {
    expect(rawSearchVerdict(message('Content-Type: text/plain; charset=UTF-8', 'Quarterly'), 'quarterly', true)).toBe(true);
    expect(rawSearchVerdict(message('Content-Type: text/plain; charset=utf-8', 'Quarterly'), 'annual', true)).toBe(false);
  });

  it('is not sure of a needle found in a message with parts, in any case of the header', () => {
    expect(rawSearchVerdict(message('CONTENT-TYPE: Multipart/Mixed; boundary=x', '--x\r\n\r\nQuarterly\r\n--x--'), 'quarterly', true)).toBeUndefined();
    expect(rawSearchVerdict(message('Content-Type: multipart/mixed; boundary=x', '--x\r\n\r\nQuarterly\r\n--x--'), 'annual', true)).toBe(false);
  });

  const multipart = (partHeader: string, partBody: string, textHeader = 'Content-Type: text/plain') =>
    message('Content-Type: multipart/mixed; boundary="b"', ['--b', textHeader, '', 'Quarterly report attached', '--b', partHeader, '', partBody, '--b--', ''].join('\r\n'));

  it('judges from the bytes a message whose only encoded parts are attachments, which BODY does not search', () => {
    const pdf = multipart('Content-Type: application/pdf; name="q.pdf"\r\nContent-Transfer-Encoding: base64', 'JVBERi0xLjQK');
    expect(rawSearchVerdict(pdf, 'annual', true)).toBe(false);
    expect(rawSearchVerdict(pdf, 'quarterly', true)).toBeUndefined(); // found: the parts decide
    const image = multipart('Content-Transfer-Encoding: BASE64\r\nContent-Type: Image/PNG', 'iVBORw0KGgo=');
    expect(rawSearchVerdict(image, 'annual', true)).toBe(false);
  });

  it('leaves to the full evaluation an encoded text part, an encoded part of no type, and an encoded single-part message', () => {
    expect(rawSearchVerdict(multipart('Content-Type: text/html\r\nContent-Transfer-Encoding: base64', 'PGI+YW5udWFsPC9iPg=='), 'annual', true)).toBeUndefined();
    expect(rawSearchVerdict(multipart('Content-Transfer-Encoding: quoted-printable', 'an=\r\nnual'), 'annual', true)).toBeUndefined();
    expect(rawSearchVerdict(multipart('Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64', 'U3ViamVjdDogYW5udWFs'), 'annual', true)).toBeUndefined();
    expect(rawSearchVerdict(multipart('Content-Type: application/pdf', 'x', 'Content-Type: text/plain\r\nContent-Transfer-Encoding : base64'), 'annual', true)).toBeUndefined();
    expect(rawSearchVerdict(message('Content-Type: application/json\r\nContent-Transfer-Encoding: base64', 'eyJhIjoiYW5udWFsIn0='), 'annual', true)).toBeUndefined();
    expect(rawSearchVerdict(message('Content-Type: text/plain\r\nContent-Transfer-Encoding:\r\n base64', 'YW5udWFs'), 'annual', true)).toBeUndefined();
  });

  it('does not take a body line that mentions an encoding for a header', () => {
    expect(rawSearchVerdict(message('Content-Type: text/plain', 'We send it with content-transfer-encoding: base64 soon.'), 'annual', true)).toBe(false);
  });

  it('leaves needles with spaces or non-ASCII to the full evaluation', () => {
    expect(rawSearchVerdict(plain, 'quarterly numbers', true)).toBeUndefined();
    expect(rawSearchVerdict(plain, 'café', true)).toBeUndefined();
  });
});

describe('rawSearchVerdict agrees with the full evaluation wherever it answers', () => {
  const b64 = (text: string) => Buffer.from(text).toString('base64');
  const parts: [string, string][] = [
    ['Content-Type: text/plain', 'plain annual words'],
    ['Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit', 'seven bit text'],
    ['Content-Type: text/plain\r\nContent-Transfer-Encoding: base64', b64('hidden annual report')],
    ['Content-Type: text/html\r\nContent-Transfer-Encoding: quoted-printable', 'an=\r\nnual <b>figures</b>'],
    ['Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64', b64('annual inside an attachment')],
    ['Content-Type: image/png\r\nContent-Transfer-Encoding: base64', 'iVBORw0KGgo='],
    ['Content-Type: message/rfc822', 'Subject: inner\r\n\r\nannual in a forwarded message'],
    ['Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64', b64('Subject: inner\r\n\r\nannual encoded forward')],
    ['Content-Transfer-Encoding: base64', b64('annual with no type')],
    ['Content-Type: application/pdf', 'annual in a pdf that is not encoded'],
  ];
  const needles = ['annual', 'figures', 'hidden', 'inner', 'words', 'absent'];

  it('over every pair of parts, every needle', async () => {
    const { parseMessageStructure } = await import('../../../mail/mime/structure');
    const { bodyText } = await import('../../../mail/imap/search/messageText');
    let certain = 0;
    for (const [h1, b1] of parts) {
      for (const [h2, b2] of parts) {
        const raw = message('Content-Type: multipart/mixed; boundary="b"', ['--b', h1, '', b1, '--b', h2, '', b2, '--b--', ''].join('\r\n'));
        const text = bodyText(raw, parseMessageStructure(raw)).toLowerCase();
        for (const needle of needles) {
          const verdict = rawSearchVerdict(raw, needle, true);
          if (verdict === undefined) continue;
          certain++;
          expect(verdict, `${h1} + ${h2}: ${needle}`).toBe(text.includes(needle));
        }
      }
    }
    expect(certain).toBeGreaterThan(100);
  });
});
