// decodeCharset: text in a declared charset; pure ASCII in an ASCII-compatible charset takes a fast path
// that must give what the full decoder gives.
import { describe, expect, it } from 'vitest';
import { decode } from 'libmime/lib/charset';
import { decodeCharset } from '../../../mail/mime/charset';

describe('decodeCharset', () => {
  const ascii = Buffer.from('Quarterly report\r\n\tline two ~!@#$%^&*()_+{}|:"<>?');
  it.each(['us-ascii', 'US-ASCII', 'ascii', 'utf-8', 'UTF8', 'iso-8859-1', 'ISO_8859-15', 'latin1', 'windows-1252', 'cp1251', 'koi8-r', undefined])('pure ASCII in %s is the bytes as they are', (charset) => {
    expect(decodeCharset(ascii, charset)).toBe(decode(ascii, charset ?? 'utf-8'));
    expect(decodeCharset(ascii, charset)).toBe(ascii.toString('latin1'));
  });

  it('decodes what is not pure ASCII by its charset', () => {
    expect(decodeCharset(Buffer.from('café', 'utf8'), 'utf-8')).toBe('café');
    expect(decodeCharset(Buffer.from([0x63, 0x61, 0x66, 0xe9]), 'iso-8859-1')).toBe('café');
    expect(decodeCharset(Buffer.from([0x80]), 'windows-1252')).toBe('€');
    expect(decodeCharset(Buffer.from([0xc1]), 'koi8-r')).toBe(decode(Buffer.from([0xc1]), 'koi8-r'));
  });

  it('leaves charsets that do not keep ASCII to the decoder, ASCII-looking bytes or not', () => {
    const utf16 = Buffer.from('hi', 'utf16le');
    expect(decodeCharset(utf16, 'utf-16le')).toBe('hi');
    expect(decodeCharset(Buffer.from('+AGEAYgBj-'), 'utf-7')).toBe(decode(Buffer.from('+AGEAYgBj-'), 'utf-7'));
    expect(decodeCharset(Buffer.from('hi'), 'utf-16be')).toBe(decode(Buffer.from('hi'), 'utf-16be'));
  });
});
