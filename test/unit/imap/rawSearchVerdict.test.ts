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

  it('leaves needles with spaces or non-ASCII to the full evaluation', () => {
    expect(rawSearchVerdict(plain, 'quarterly numbers', true)).toBeUndefined();
    expect(rawSearchVerdict(plain, 'café', true)).toBeUndefined();
  });
});
