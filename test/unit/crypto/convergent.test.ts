// Convergent encryption: the same chunk under the same ring secret always gives the same key,
// ciphertext and id; readers verify both the id and the AEAD tag.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { blockIdOf, matchesBlockId, openConvergent, sealConvergent } from '../../../crypto/convergent';
import { HashDomain } from '../../../crypto/domains';
import { blake2b } from '../../../crypto/hash';
import { BLOCK_CHUNK_BYTES_MAX } from '../../../protocol/limits';

/** libsodium itself, not through crypto/: the construction is checked step by step. */
const libsodium = createRequire(import.meta.url)('sodium-native');

const secretA = new Uint8Array(32).fill(1);
const secretB = new Uint8Array(32).fill(2);
const text = (s: string) => Buffer.from(s, 'utf8');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('convergent encryption', () => {
  it('is deterministic per ring: same plaintext and secret give the same key, ciphertext and id', () => {
    const a = sealConvergent(secretA, text('Subject: hello\r\n\r\nthe same MIME part'));
    const b = sealConvergent(secretA, text('Subject: hello\r\n\r\nthe same MIME part'));
    expect(hex(a.id)).toBe(hex(b.id));
    expect(hex(a.key)).toBe(hex(b.key));
    expect(hex(a.ciphertext)).toBe(hex(b.ciphertext));
  });

  it('another ring secret gives an unrelated key and id; other content another id', () => {
    const p = text('one message body');
    expect(hex(sealConvergent(secretB, p).id)).not.toBe(hex(sealConvergent(secretA, p).id));
    expect(hex(sealConvergent(secretA, text('one message body!')).id)).not.toBe(hex(sealConvergent(secretA, p).id));
  });

  it('follows the documented construction (each step a raw libsodium call)', () => {
    const p = text('check me against an independent implementation');
    const sealed = sealConvergent(secretA, p);
    expect(hex(sealed.key)).toBe(hex(blake2b(p, secretA)));
    expect(hex(sealed.id)).toBe(hex(blake2b(sealed.ciphertext)));
    const nonce = Buffer.alloc(24);
    libsodium.crypto_generichash(nonce, Buffer.concat([text(HashDomain.convergentNonce), sealed.key]));
    const expected = Buffer.alloc(p.length + 16);
    libsodium.crypto_aead_xchacha20poly1305_ietf_encrypt(expected, p, null, null, nonce, Buffer.from(sealed.key));
    expect(hex(sealed.ciphertext)).toBe(hex(expected));
  });

  it('opens what it sealed, for an empty and a full-size chunk too', () => {
    for (const p of [new Uint8Array(0), text('x'), Buffer.alloc(BLOCK_CHUNK_BYTES_MAX, 0xab)]) {
      const sealed = sealConvergent(secretA, p);
      expect(sealed.ciphertext.length).toBe(p.length + 16);
      const opened = openConvergent(sealed.id, sealed.key, sealed.ciphertext);
      expect(opened.ok && hex(opened.plaintext) === hex(p)).toBe(true);
    }
  });

  it('seals and opens into caller buffers when given, with the same result', () => {
    const p = text('bulk path');
    const out = Buffer.alloc(64, 0xee);
    const into = sealConvergent(secretA, p, out);
    expect(into.ciphertext.buffer).toBe(out.buffer);
    expect(hex(into.ciphertext)).toBe(hex(sealConvergent(secretA, p).ciphertext));
    const plain = Buffer.alloc(32);
    const opened = openConvergent(into.id, into.key, into.ciphertext, plain);
    expect(opened.ok && opened.plaintext.buffer === plain.buffer && opened.plaintext.equals(p)).toBe(true);
    expect(() => sealConvergent(secretA, p, Buffer.alloc(p.length + 15))).toThrow(/cannot hold/);
  });

  it('refuses a block whose bytes do not hash to its id, naming the block', () => {
    const sealed = sealConvergent(secretA, text('payload'));
    const damaged = Buffer.from(sealed.ciphertext);
    damaged[3]! ^= 1;
    expect(matchesBlockId(sealed.id, damaged)).toBe(false);
    const r = openConvergent(sealed.id, sealed.key, damaged);
    expect(r).toMatchObject({ ok: false, code: 'BLOCK_CORRUPT' });
    if (!r.ok) expect(r.message).toContain(hex(sealed.id));
  });

  it('refuses a block that hashes right but does not open under the given key', () => {
    const sealed = sealConvergent(secretA, text('payload'));
    const otherKey = sealConvergent(secretA, text('another')).key;
    const r = openConvergent(sealed.id, otherKey, sealed.ciphertext);
    expect(r).toMatchObject({ ok: false, code: 'BLOCK_CORRUPT' });
    if (!r.ok) expect(r.message).toMatch(/does not decrypt/);
    expect(hex(blockIdOf(sealed.ciphertext))).toBe(hex(sealed.id));
  });

  it('treats oversized chunks and malformed secrets as programmer errors', () => {
    expect(() => sealConvergent(secretA, new Uint8Array(BLOCK_CHUNK_BYTES_MAX + 1))).toThrow(/split it first/);
    expect(() => sealConvergent(new Uint8Array(16), text('x'))).toThrow(/32 bytes/);
  });
});
