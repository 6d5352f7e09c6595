// Block references: a compact canonical binary form and a printable form, both parsed strictly.
import { describe, expect, it } from 'vitest';
import { obj } from '../../../protocol/codec';
import { canonicalBytes, defineFrame } from '../../../protocol/frame';
import { BLOCK_CHUNK_BYTES_MAX, PROTOCOL_VERSION } from '../../../protocol/limits';
import {
  BLOCK_REF_BYTES,
  type BlockRef,
  blockRefCodec,
  decodeBlockRef,
  encodeBlockRef,
  formatBlockRef,
  parseBlockRef,
  sameBlockRef,
} from '../../../storage/blocks';

const ref: BlockRef = { id: 'ab'.repeat(32), key: Buffer.alloc(32, 0xcd), kind: 'manifest', sizeBytes: 52_428_800 + 12_345 };
const chunk: BlockRef = { id: '01'.repeat(32), key: Buffer.alloc(32, 7), kind: 'chunk', sizeBytes: 0 };
/** A message stored by parts: its size is the whole message's, larger than any chunk. */
const mail: BlockRef = { id: 'ef'.repeat(32), key: Buffer.alloc(32, 9), kind: 'mail', sizeBytes: 3 * BLOCK_CHUNK_BYTES_MAX + 17 };
const text = formatBlockRef(ref);

describe('block references', () => {
  it('print as post1:<kind>:<id>:<key>:<size> and parse back', () => {
    expect(text).toBe(`post1:manifest:${'ab'.repeat(32)}:${'cd'.repeat(32)}:52441145`);
    expect(formatBlockRef(mail)).toBe(`post1:mail:${'ef'.repeat(32)}:${'09'.repeat(32)}:${3 * BLOCK_CHUNK_BYTES_MAX + 17}`);
    for (const r of [ref, chunk, mail]) {
      const parsed = parseBlockRef(formatBlockRef(r));
      expect(parsed.ok && sameBlockRef(parsed.value, r)).toBe(true);
    }
    const pasted = parseBlockRef(`  ${text}\n`);
    expect(pasted.ok).toBe(true);
  });

  it('encode to 74 canonical bytes and decode back', () => {
    const bytes = encodeBlockRef(ref);
    expect(bytes.length).toBe(BLOCK_REF_BYTES);
    expect(bytes.equals(encodeBlockRef({ ...ref, key: new Uint8Array(ref.key) }))).toBe(true);
    const back = decodeBlockRef(bytes);
    expect(back.ok && sameBlockRef(back.value, ref)).toBe(true);
    // The kind byte: chunk 0, manifest 1, mail 2 (references stored before mail layouts read as before).
    expect([chunk, ref, mail].map((r) => encodeBlockRef(r)[1])).toEqual([0, 1, 2]);
    const mailBack = decodeBlockRef(encodeBlockRef(mail));
    expect(mailBack.ok && sameBlockRef(mailBack.value, mail)).toBe(true);
    expect(mailBack.ok && sameBlockRef(mailBack.value, { ...mail, kind: 'manifest' })).toBe(false);
  });

  it('refuse malformed printable references with a reason and the expected shape', () => {
    const id = 'ab'.repeat(32);
    const key = 'cd'.repeat(32);
    const cases: [string, RegExp][] = [
      ['', /it is empty/],
      [`post2:chunk:${id}:${key}:1`, /does not start with "post1:"/],
      [`post1:chunk:${id}:${key}`, /4 colon-separated parts, not 5/],
      [`post1:chunk:${id}:${key}:1:extra`, /6 colon-separated parts/],
      [`post1:block:${id}:${key}:1`, /unknown kind "block"/],
      [`post1:Mail:${id}:${key}:1`, /unknown kind "Mail"/],
      [`post1:chunk:${id.toUpperCase()}:${key}:1`, /the id is not 64 lowercase hex/],
      [`post1:chunk:${id.slice(2)}:${key}:1`, /the id is not 64 lowercase hex/],
      [`post1:chunk:${id}:${key}zz:1`, /the key is not 64 lowercase hex/],
      [`post1:chunk:${id}:${key}:01`, /size is not a decimal byte count/],
      [`post1:chunk:${id}:${key}:-1`, /size is not a decimal byte count/],
      [`post1:chunk:${id}:${key}:1e3`, /size is not a decimal byte count/],
      [`post1:manifest:${id}:${key}:9007199254740993`, /exceeds 2\^53 - 1/],
      [`post1:chunk:${id}:${key}:${BLOCK_CHUNK_BYTES_MAX + 1}`, /a chunk holds at most/],
    ];
    for (const [input, why] of cases) {
      const r = parseBlockRef(input);
      expect(r.ok, input).toBe(false);
      if (!r.ok) {
        expect(r.code).toBe('BAD_REFERENCE');
        expect(r.message, input).toMatch(why);
        expect(r.message).toMatch(/as printed by `post block put`/);
        expect(r.message).toMatch(/post1:<chunk\|manifest\|mail>:/);
      }
    }
  });

  it('refuse malformed binary references', () => {
    const good = encodeBlockRef(ref);
    const variants: [Uint8Array, RegExp][] = [
      [good.subarray(0, 73), /expected 74 bytes/],
      [Buffer.concat([good, Buffer.alloc(1)]), /expected 74 bytes/],
      [Buffer.from([2, ...good.subarray(1)]), /unknown reference format 2/],
      [Buffer.from([1, 9, ...good.subarray(2)]), /unknown block kind 9/],
      [Buffer.from([1, 3, ...good.subarray(2)]), /unknown block kind 3/],
      [Buffer.from([...good.subarray(0, 66), 0xff, 0, 0, 0, 0, 0, 0, 0]), /exceeds 2\^53 - 1/],
      [encodeBlockRef({ ...chunk, sizeBytes: BLOCK_CHUNK_BYTES_MAX }).fill(0x20, 73, 74), /a chunk holds at most/],
    ];
    for (const [bytes, why] of variants) expect(decodeBlockRef(bytes)).toMatchObject({ ok: false, code: 'BAD_REFERENCE', message: expect.stringMatching(why) });
  });

  it('travel inside frames as their binary form, checked on decode', () => {
    const frame = defineFrame('test.block-ref-carrier', obj({ ref: blockRefCodec }));
    const decoded = frame.decode(frame.encode({ ref }));
    expect(decoded.ok && sameBlockRef(decoded.body.ref, ref)).toBe(true);
    const truncated = canonicalBytes([PROTOCOL_VERSION, frame.kind, { ref: encodeBlockRef(ref).subarray(0, 73) }]);
    expect(frame.decode(truncated)).toMatchObject({ ok: false, reason: expect.stringMatching(/ref: not a block reference: expected 74 bytes/) });
  });

  it('treat building a malformed reference as a programmer error', () => {
    expect(() => formatBlockRef({ ...ref, id: 'xyz' })).toThrow(/64 lowercase hex/);
    expect(() => encodeBlockRef({ ...ref, key: new Uint8Array(31) })).toThrow(/32 bytes/);
    expect(() => encodeBlockRef({ ...ref, sizeBytes: -1 })).toThrow(/uint/);
    expect(() => encodeBlockRef({ ...ref, kind: 'layout' as BlockRef['kind'] })).toThrow(/one of chunk, manifest, mail/);
  });
});
