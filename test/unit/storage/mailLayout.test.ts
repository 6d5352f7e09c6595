// A message stored by parts: the layout record (canonical, strictly decoded), the writer (parts
// convergent on their own, the layout last but in parallel with them), the reader (byte for byte, or
// a typed error naming the block: never a shorter message), and the owner's lease refresh.
import { createHash } from 'node:crypto';
import { encode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { blake2b } from '../../../crypto/hash';
import { MAIL_LAYOUT_INLINE_BYTES_MAX, MAIL_LAYOUT_PARTS_MAX } from '../../../protocol/limits';
import {
  type BlockRef,
  type BlockToStore,
  decodeMailLayout,
  encodeBlockRef,
  encodeMailLayout,
  encodeManifest,
  decodeManifest,
  type LayoutSegment,
  type MailLayout,
  type MailSegment,
  matchesBlockId,
  readBlockData,
  readBlocks,
  writeBlocks,
  writeMailLayout,
} from '../../../storage/blocks';
import { contentBlockIds } from '../../../storage/leases';
import { MemoryStorage } from '../../../storage/memory/storage';

const secret = blake2b('ring lab.example convergence secret');

class Blocks {
  readonly map = new Map<string, Uint8Array>();
  readonly puts: BlockToStore[] = [];
  put = async (b: BlockToStore) => {
    expect(matchesBlockId(Buffer.from(b.id, 'hex'), b.bytes)).toBe(true);
    this.puts.push(b);
    this.map.set(b.id, Uint8Array.from(b.bytes));
  };
  fetch = async (id: string) => this.map.get(id);
}

const data = (size: number, label: string) => createHash('shake256', { outputLength: size }).update(label).digest();
const inline = (text: string): MailSegment => ({ kind: 'inline', bytes: Buffer.from(text) });
const part = (bytes: Uint8Array): MailSegment => ({ kind: 'part', bytes });
const joined = (segments: readonly MailSegment[]) => Buffer.concat(segments.map((s) => s.bytes));

const attachment = data(100 * 1024, 'attachment');
/** Two messages sharing an attachment: other headers, other text, the same part. */
const messageA = [inline('From: a\r\nSubject: one\r\n\r\n--b\r\n\r\n'), part(data(9000, 'text of a')), inline('\r\n--b\r\n\r\n'), part(attachment), inline('\r\n--b--\r\n')];
const messageB = [inline('From: b\r\nSubject: two, longer\r\n\r\n--b\r\n\r\n'), part(data(12_000, 'text of b')), inline('\r\n--b\r\n\r\n'), part(attachment), inline('\r\n--b--\r\n')];

const chunkRef = (size: number, fill = 1): BlockRef => ({ id: 'ab'.repeat(32), key: Buffer.alloc(32, fill), kind: 'chunk', sizeBytes: size });

describe('mail layout record', () => {
  const layout: MailLayout = { totalBytes: 5 + 1000 + 3, segments: [{ inline: Buffer.from('head:') }, { part: chunkRef(1000) }, { inline: Buffer.from('end') }] };

  it('encodes canonically and decodes back', () => {
    const bytes = encodeMailLayout(layout);
    const back = decodeMailLayout(bytes, 'x');
    expect(back.ok).toBe(true);
    if (back.ok) expect(Buffer.from(encodeMailLayout(back.value)).equals(Buffer.from(bytes))).toBe(true);
  });

  it('refuses what is not canonical, naming why', () => {
    const ref = encodeBlockRef(chunkRef(1000));
    const cases: [unknown, RegExp][] = [
      [[2, 1008, [[0, Buffer.from('head:')], [1, ref], [0, Buffer.from('end')]]], /unknown layout format 2/],
      [[1, 1009, [[0, Buffer.from('head:')], [1, ref], [0, Buffer.from('end')]]], /add up to 1008 bytes, it says 1009/],
      [[1, 8, [[0, Buffer.from('head:')], [0, Buffer.from('end')]]], /follows another inline segment/],
      [[1, 1005, [[0, Buffer.from('head:')], [1, ref], [0, Buffer.alloc(0)]]], /segment 2 is empty/],
      [[1, 5, [[0, Buffer.from('head:')]]], /no part/],
      [[1, 1000, [[1, encodeBlockRef({ ...chunkRef(1000), kind: 'mail' })]]], /a part is a chunk or a manifest/],
      [[1, 1000, [[2, ref]]], /unknown kind 2/],
      [[1, 1000, [[1, ref.subarray(1)]]], /expected 74 bytes/],
      [[1, 1000, [[1, ref, 7]]], /not a \[kind, bytes\] pair/],
      [[1, -1, []], /not a byte count/],
      [[1, 1000], /not a \[format, size, segments\] record/],
      [{ format: 1 }, /not msgpack/],
    ];
    for (const [wire, why] of cases) expect(decodeMailLayout(encode(wire), 'x'), String(why)).toMatchObject({ ok: false, code: 'BAD_MANIFEST', message: expect.stringMatching(why) });
    // The same values in another msgpack encoding (a size as float64), and trailing bytes.
    const canonical = Buffer.from(encodeMailLayout(layout));
    const float = Buffer.from(encode([1, 1008, [[0, Buffer.from('head:')], [1, ref], [0, Buffer.from('end')]]], { forceFloat32: false, forceIntegerToFloat: true }));
    expect(decodeMailLayout(float, 'x')).toMatchObject({ ok: false, message: expect.stringMatching(/not in canonical encoding/) });
    expect(decodeMailLayout(Buffer.concat([canonical, Buffer.from([0])]), 'x')).toMatchObject({ ok: false, message: expect.stringMatching(/not msgpack/) });
  });

  it('stays within one chunk at its bounds', () => {
    const segments: LayoutSegment[] = [];
    const inlineEach = Math.floor(MAIL_LAYOUT_INLINE_BYTES_MAX / (MAIL_LAYOUT_PARTS_MAX + 1));
    for (let i = 0; i < MAIL_LAYOUT_PARTS_MAX; i++) segments.push({ inline: Buffer.alloc(inlineEach, 1) }, { part: chunkRef(1024 * 1024) });
    segments.push({ inline: Buffer.alloc(inlineEach, 1) });
    const totalBytes = (MAIL_LAYOUT_PARTS_MAX + 1) * inlineEach + MAIL_LAYOUT_PARTS_MAX * 1024 * 1024;
    expect(decodeMailLayout(encodeMailLayout({ totalBytes, segments }), 'x').ok).toBe(true);
    expect(() => encodeMailLayout({ totalBytes: totalBytes + 1024 * 1024, segments: [...segments, { part: chunkRef(1024 * 1024) }] })).toThrow(/parts exceed/);
  });

  it('is never an entry of a manifest', () => {
    const manifest = encodeManifest([chunkRef(10)]);
    manifest[13 + 1] = 2; // the entry's kind byte: mail
    expect(decodeManifest(manifest, 'm')).toMatchObject({ ok: false, message: expect.stringMatching(/is a mail layout/) });
  });
});

describe('writing and reading a message by parts', () => {
  it('reads back byte for byte, as one buffer and as a stream', async () => {
    const blocks = new Blocks();
    const { root } = await writeMailLayout(messageA, { convergenceSecret: secret, put: blocks.put });
    expect(root.kind).toBe('mail');
    expect(root.sizeBytes).toBe(joined(messageA).length);
    const r = await readBlockData(root, blocks.fetch);
    expect(r.ok && r.data.equals(joined(messageA))).toBe(true);
    for (const readAheadBlocks of [1, 2, 16]) {
      const streamed: Buffer[] = [];
      for await (const piece of readBlocks(root, blocks.fetch, { readAheadBlocks })) streamed.push(piece);
      expect(Buffer.concat(streamed).equals(joined(messageA))).toBe(true);
    }
  });

  it('two messages sharing an attachment store its blocks once; the same message twice is the same reference', async () => {
    const blocks = new Blocks();
    const a = await writeMailLayout(messageA, { convergenceSecret: secret, put: blocks.put });
    const afterA = blocks.map.size;
    const b = await writeMailLayout(messageB, { convergenceSecret: secret, put: blocks.put });
    // B added its layout and its own text, not the attachment.
    expect(blocks.map.size - afterA).toBe(2);
    const again = await writeMailLayout(messageA, { convergenceSecret: secret, put: blocks.put });
    expect(again.root.id).toBe(a.root.id);
    expect(blocks.map.size - afterA).toBe(2);
    expect(b.root.id).not.toBe(a.root.id);
    // Adjacent inline segments merge: the layout depends on the bytes and the parts, not on how the caller cut the inline rest.
    const recut = [inline('From: a\r\nSubject: one\r\n'), inline('\r\n--b\r\n\r\n'), ...messageA.slice(1)];
    expect((await writeMailLayout(recut, { convergenceSecret: secret, put: blocks.put })).root.id).toBe(a.root.id);
  });

  it('without a part it is writeBlocks of the bytes: one datum, nothing extra', async () => {
    const blocks = new Blocks();
    const raw = data(4096, 'small message');
    const viaLayout = await writeMailLayout([{ kind: 'inline', bytes: raw }], { convergenceSecret: secret, put: blocks.put });
    const plain = await writeBlocks(raw, { convergenceSecret: secret, put: async () => {} });
    expect(viaLayout.root).toEqual(plain.root);
    expect(blocks.puts).toHaveLength(1);
    const empty = await writeMailLayout([], { convergenceSecret: secret, put: blocks.put });
    expect(empty.root).toMatchObject({ kind: 'chunk', sizeBytes: 0 });
  });

  it('refuses segments beyond the layout\'s bounds before storing anything', async () => {
    const blocks = new Blocks();
    const tooMany = Array.from({ length: MAIL_LAYOUT_PARTS_MAX + 1 }, (_, i) => [inline(`h${i}`), part(Buffer.from(`p${i}`))]).flat();
    await expect(writeMailLayout(tooMany, { convergenceSecret: secret, put: blocks.put })).rejects.toThrow(/at most 1024 parts/);
    const wide = [{ kind: 'inline' as const, bytes: Buffer.alloc(MAIL_LAYOUT_INLINE_BYTES_MAX + 1) }, part(attachment)];
    await expect(writeMailLayout(wide, { convergenceSecret: secret, put: blocks.put })).rejects.toThrow(/inline bytes/);
    expect(blocks.puts).toHaveLength(0);
  });

  it('puts the layout while the parts are still being stored, and resolves only when all are acknowledged', async () => {
    const started: string[] = [];
    const acks: (() => void)[] = [];
    let resolved = false;
    const put = (b: BlockToStore) => {
      started.push(b.kind);
      return new Promise<void>((ack) => acks.push(ack));
    };
    const writing = writeMailLayout(messageA, { convergenceSecret: secret, put }).then(() => (resolved = true));
    const turn = () => new Promise((r) => setImmediate(r));
    for (let i = 0; i < 100 && started.length < 3; i++) await turn();
    expect(started).toEqual(['chunk', 'chunk', 'mail']);
    acks.splice(0, 2).forEach((ack) => ack());
    await turn();
    expect(resolved).toBe(false);
    acks.splice(0).forEach((ack) => ack());
    await writing;
    expect(resolved).toBe(true);
  });

  it('a missing or corrupt part, or a corrupt layout, fails the read naming the block', async () => {
    const blocks = new Blocks();
    const { root } = await writeMailLayout(messageA, { convergenceSecret: secret, put: blocks.put });
    const attachmentId = blocks.puts.find((b) => b.kind === 'chunk' && b.bytes.length === attachment.length + 16)!.id;
    const cases: [string, (m: Map<string, Uint8Array>) => void, string][] = [
      ['part missing', (m) => m.delete(attachmentId), 'BLOCK_MISSING'],
      ['part corrupt', (m) => m.get(attachmentId)!.fill(0, 100, 101), 'BLOCK_CORRUPT'],
      ['layout missing', (m) => m.delete(root.id), 'BLOCK_MISSING'],
      ['layout corrupt', (m) => m.get(root.id)!.fill(0, 10, 11), 'BLOCK_CORRUPT'],
    ];
    for (const [label, damage, code] of cases) {
      const copy = new Blocks();
      for (const [id, bytes] of blocks.map) copy.map.set(id, Uint8Array.from(bytes));
      damage(copy.map);
      const r = await readBlockData(root, copy.fetch);
      expect(r, label).toMatchObject({ ok: false, code });
      if (!r.ok) expect(r.blockId, label).toBe(label.startsWith('part') ? attachmentId : root.id);
      const streamed = async () => {
        for await (const _ of readBlocks(root, copy.fetch)) void _;
      };
      await expect(streamed(), label).rejects.toMatchObject({ code, details: { blockId: label.startsWith('part') ? attachmentId : root.id } });
    }
  });

  it('a reference whose size disagrees with its layout is refused, not read short', async () => {
    const blocks = new Blocks();
    const { root } = await writeMailLayout(messageA, { convergenceSecret: secret, put: blocks.put });
    expect(await readBlockData({ ...root, sizeBytes: root.sizeBytes - 1 }, blocks.fetch)).toMatchObject({ ok: false, code: 'BAD_REFERENCE', blockId: root.id });
  });
});

describe('a message by parts over the StorageApi', () => {
  it('putMail, getData, readData and the owner\'s lease refresh cover the layout and every part', async () => {
    const storage = new MemoryStorage();
    const ref = await storage.putMail(messageA, { leaseMs: 1234 });
    expect((await storage.getData(ref)).equals(joined(messageA))).toBe(true);
    const streamed: Buffer[] = [];
    for await (const piece of storage.readData(ref)) streamed.push(piece);
    expect(Buffer.concat(streamed).equals(joined(messageA))).toBe(true);
    const ids = await contentBlockIds(storage, ref);
    expect(ids).toHaveLength(3); // layout, text, attachment
    expect(ids[0]).toBe(ref.id);
    for (const id of ids) expect(storage.leaseOf(id)).toBe(1234);
    await storage.refresh(ids, { leaseMs: 99 });
    for (const id of ids) expect(storage.leaseOf(id)).toBe(99);
    expect(storage.blockCount).toBe(3);
  });
});
