// BLAKE2b-256 (crypto/hash.ts): the published digests, parts hashed as their concatenation, keyed
// hashing, and one native call per hash (issue 11: ids and version hashes are computed on every put;
// the streaming init/update/final with a zeroed state buffer of our own cost about twice as much).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { blake2b, blake2bHex } from '../../../crypto/hash';
import { native } from '../../../crypto/sodium';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('blake2b', () => {
  afterEach(() => vi.restoreAllMocks());

  it('gives the published BLAKE2b-256 digests', () => {
    expect(hex(blake2b(new Uint8Array(0)))).toBe('0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8');
    expect(blake2bHex('abc')).toBe('bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319');
  });

  it('hashes parts as their concatenation, strings as UTF-8, and keyed differently', () => {
    expect(blake2bHex(['ab', Buffer.from('c')])).toBe(blake2bHex('abc'));
    expect(blake2bHex([])).toBe(blake2bHex(new Uint8Array(0)));
    const big = new Uint8Array(Buffer.alloc(3000, 7)).subarray(100); // a view, not a Buffer
    const key = new Uint8Array(32).fill(1);
    expect(blake2bHex([big, 'tail'], key)).toBe(blake2bHex([Buffer.concat([big, Buffer.from('tail')])], key));
    expect(blake2bHex([big, 'tail'], key)).not.toBe(blake2bHex([big, 'tail']));
  });

  it('takes one native call per hash, with no state buffer of its own', () => {
    const batch = vi.spyOn(native, 'crypto_generichash_batch');
    const init = vi.spyOn(native, 'crypto_generichash_init');
    blake2b(['POST/v1/signed-object\0', new Uint8Array(300)]);
    blake2b('x', new Uint8Array(32));
    expect(batch).toHaveBeenCalledTimes(2);
    expect(init).not.toHaveBeenCalled();
  });
});
