// `post bench storage-requirements` (issue 11): the quick form runs, and what must hold does. Single-
// copy never stores more than one copy per recipient; k = 10 stores exactly 10/3 of k = 3; the same
// seed prints the same figures; a message to one recipient costs the same whether shared or not
// (the per-part layouts pay exactly their references, framing and tags); and the shortcuts the bench
// takes (block and layout sizes by arithmetic, placement by a walk, log states in shadows) agree with
// the real code, which is what "as built" follows.
import { describe, expect, it } from 'vitest';
import { SimRandom } from '../../../infra/sim/random';
import { BLOCK_TAG_BYTES } from '../../../protocol/limits';
import { kClosest } from '../../../overlay/id';
import { BLOCK_REF_BYTES } from '../../../storage/blocks';
import { folderModel } from '../../../storage/folders/folderModel';
import { messagesModel } from '../../../storage/messages/messagesModel';
import { runStorageRequirements, type StorageRequirementsResult } from '../../../bench/storageRequirements';
import { folderOps, sentMailOps } from '../../../bench/storageReq/calibration';
import { checkAgainstWriteBlocks, dataBytes } from '../../../bench/storageReq/dataBlocks';
import { checkLayoutRecordBytes, inlineRuns, layoutRecordBytes, messageBytes, messageData } from '../../../bench/storageReq/layouts';
import { FolderShadow, MessagesShadow, RealModelState } from '../../../bench/storageReq/logStates';
import { checkAgainstKClosest, RingPlacement } from '../../../bench/storageReq/placement';
import type { Leaf, TraceMessage } from '../../../bench/storageReq/trace';

const quiet = () => undefined;
const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

describe('storage-requirements bench, quick form', () => {
  let first: StorageRequirementsResult;

  it('runs, and checks its shortcuts against the real code first', async () => {
    first = await runStorageRequirements({ quick: true, log: quiet, seed: '7' });
    expect(first.calibration.dataBlocks.wrong).toEqual([]);
    expect(first.calibration.layoutRecords.wrong).toEqual([]);
    expect(first.calibration.placement.wrong).toBe(0);
    expect(first.calibration.logs.folder.equal).toBe(true);
    expect(first.calibration.logs.sentMail.equal).toBe(true);
    expect(first.trace.messages).toBeGreaterThan(1000);
    expect(first.rings.map((r) => [r.nodes, r.k])).toEqual([
      [first.params.users, 3],
      [first.params.users, 10],
      [first.params.smallRing, 3],
      [first.params.smallRing, 10],
    ]);
    for (const ring of first.rings) expect(ring.months).toHaveLength(first.params.months);
  }, 300_000);

  it('single-copy stores no more than one copy per recipient, every month, on every ring', () => {
    for (const ring of first.rings)
      for (const m of ring.months) {
        expect(m.content.single).toBeLessThanOrEqual(m.content.unique);
        expect(m.content.asBuilt).toBeLessThanOrEqual(m.content.unique);
        expect(m.single.total).toBeLessThanOrEqual(m.unique.total);
        expect(m.asBuilt.total).toBeLessThanOrEqual(m.unique.total);
        expect(m.single.max).toBeLessThanOrEqual(m.unique.max);
      }
  });

  it('grows month by month (no deletion)', () => {
    for (const ring of first.rings)
      for (let i = 1; i < ring.months.length; i++) {
        expect(ring.months[i]!.content.unique).toBeGreaterThan(ring.months[i - 1]!.content.unique);
        expect(ring.months[i]!.content.single).toBeGreaterThan(ring.months[i - 1]!.content.single);
      }
  });

  it('k = 10 holds 10/3 of what k = 3 holds, and the ring size changes only how it is spread', () => {
    const [big3, big10, small3, small10] = first.rings;
    for (let i = 0; i < first.params.months; i++) {
      for (const [k3, k10] of [
        [big3!, big10!],
        [small3!, small10!],
      ] as const) {
        const a = k3.months[i]!;
        const b = k10.months[i]!;
        for (const layout of ['unique', 'single', 'asBuilt'] as const) expect(b.content[layout] / a.content[layout]).toBeCloseTo(10 / 3, 9);
        expect(b.metadata.total / a.metadata.total).toBeCloseTo(10 / 3, 9);
      }
      // Every block is on exactly k nodes whatever the ring: totals agree, means scale with 1/N.
      expect(small3!.months[i]!.content).toEqual(big3!.months[i]!.content);
      expect(small3!.months[i]!.unique.mean * first.params.smallRing).toBeCloseTo(big3!.months[i]!.unique.mean * first.params.users, 0);
    }
  });

  it('the same seed gives the same figures; another seed other ones', async () => {
    const again = await runStorageRequirements({ quick: true, log: quiet, seed: '7' });
    expect(JSON.stringify(again)).toBe(JSON.stringify(first));
    const other = await runStorageRequirements({ quick: true, log: quiet, seed: '8', params: { months: 1 } });
    expect(other.rings[0]!.months[0]!.content.unique).not.toBe(first.rings[0]!.months[0]!.content.unique);
  }, 300_000);
});

describe('storage-requirements bench, one message', () => {
  const leaves: Leaf[] = [
    { id: 1, bytes: 900, shared: false },
    { id: 2, bytes: 3200, shared: false },
    { id: 3, bytes: 150_000, shared: true },
  ];
  const message = (from: number, to: number[]): TraceMessage => ({
    id: 42,
    atMs: Date.UTC(2026, 2, 3, 10),
    kind: from < 0 ? 'inbound' : 'new',
    from,
    mailFrom: from < 0 ? 'someone@partner.example' : `user${from + 1}@storage.example`,
    to,
    externalTo: [],
    headerBytes: 1200,
    structureBytes: 700,
    leaves,
    textBytes: 900,
    attachments: [leaves[2]!],
    depth: 0,
  });
  const stored = (data: ReturnType<typeof messageData>) => ({
    unique: sum(data.unique.map(dataBytes)),
    asBuilt: sum(data.asBuilt.copies.map((c) => dataBytes(c.bytes))) + sum(data.asBuilt.parts.map((l) => dataBytes(l.bytes))),
    single: sum(data.single.data.map(dataBytes)) + sum(data.single.leaves.map((l) => dataBytes(l.bytes))),
  });

  it('to one recipient costs the same stored once or per recipient; the per-part layouts add their references, framing and tags', () => {
    const m = message(-1, [3]);
    const bytes = messageBytes(m, ['user4@storage.example']);
    const data = messageData(m, bytes);
    const cost = stored(data);
    expect(cost.single - cost.unique).toBe(leaves.length * (BLOCK_REF_BYTES + BLOCK_TAG_BYTES));
    // As built, only the 150,000-byte attachment is a part: the layout holds the rest inline, the
    // headers and short bodies before it, the structure (700 bytes) after it.
    expect(data.asBuilt.parts).toEqual([leaves[2]]);
    const inline = bytes.delivered - 150_000;
    const layout = layoutRecordBytes(bytes.delivered, [inline - 700, 700]);
    expect(data.asBuilt.copies).toEqual([{ bytes: layout, layoutOf: bytes.delivered }]);
    expect(cost.asBuilt - cost.unique).toBe(layout - inline + BLOCK_TAG_BYTES);
    expect(cost.asBuilt - cost.unique).toBeLessThan(BLOCK_REF_BYTES + 2 * BLOCK_TAG_BYTES + 20);
  });

  it('from a user to one colleague (with the Sent copy): the copies share their parts, as built and per part', () => {
    const m = message(0, [3]);
    const bytes = messageBytes(m, ['user4@storage.example']);
    const cost = stored(messageData(m, bytes));
    expect(cost.asBuilt).toBeLessThan(cost.unique - 140_000);
    expect(cost.single).toBeLessThan(cost.unique - 140_000);
  });

  it('without a body of 8 KiB or more, as built stores each copy whole, as before', () => {
    const small = { ...message(0, [3]), leaves: leaves.slice(0, 2), attachments: [] };
    const bytes = messageBytes(small, ['user4@storage.example']);
    const data = messageData(small, bytes);
    expect(data.asBuilt).toEqual({ copies: [{ bytes: bytes.delivered }, { bytes: bytes.client }], parts: [] });
    expect(stored(data).asBuilt).toBe(stored(data).unique);
  });

  it('to ten recipients: one copy per recipient against one copy', () => {
    const to = Array.from({ length: 10 }, (_, i) => i + 1);
    const m = message(0, to);
    const bytes = messageBytes(m, to.map((i) => `user${i + 1}@storage.example`));
    const data = messageData(m, bytes);
    expect(data.unique).toHaveLength(11);
    expect(data.asBuilt.copies.map((c) => c.layoutOf)).toEqual([bytes.delivered, bytes.client]);
    expect(stored(data).asBuilt * 5).toBeLessThan(stored(data).unique);
  });
});

describe('storage-requirements bench, its shortcuts against the real code', () => {
  it('layout record sizes by arithmetic are what encodeMailLayout writes', () => {
    const shapes = [1, 2, 15, 16, 40].flatMap((parts) =>
      [0, 1, 200, 300, 70_000].map((structure) => ({ runs: inlineRuns(900, structure, parts), partBytes: 9000 })),
    );
    expect(checkLayoutRecordBytes(shapes)).toEqual([]);
  });

  it('block sizes by arithmetic are what writeBlocks puts (deep manifest trees included)', async () => {
    const sizes = Array.from({ length: 300 }, (_, i) => i * 13);
    expect(await checkAgainstWriteBlocks(sizes, { chunkBytesMax: 16, manifestEntriesMax: 4 }, new Uint8Array(32).fill(3))).toEqual([]);
    expect(await checkAgainstWriteBlocks(sizes.filter((n) => n <= 64 * 2 ** 4), { chunkBytesMax: 64, manifestEntriesMax: 2 }, new Uint8Array(32).fill(3))).toEqual([]);
  });

  it('placement is overlay kClosest, on small and large rings, for k = 3 and 10', () => {
    const r = new SimRandom('placement test');
    const id = () => Buffer.from(r.bytes(32)).toString('hex');
    const keys = Array.from({ length: 1500 }, id);
    for (const size of [10, 11, 40, 250]) {
      const ring = new RingPlacement(Array.from({ length: size }, id));
      for (const k of [3, 10]) expect(checkAgainstKClosest(ring, keys, k)).toEqual([]);
    }
    // Keys right next to node ids (distances within rounding of each other).
    const ring = new RingPlacement(Array.from({ length: 40 }, id));
    const near = ring.ids.flatMap((n) => [n, n.slice(0, 60) + 'ffff', n.slice(0, 60) + '0000']);
    expect(checkAgainstKClosest(ring, near, 10)).toEqual([]);
    expect(kClosest(ring.ids, near[0]!, 1)).toEqual([near[0]]);
  });

  it('the folder shadow encodes the state and summary the real folder model does', () => {
    const ref = new Uint8Array(BLOCK_REF_BYTES).fill(5);
    const shadow = new FolderShadow((uid) => `n:${uid.toString(16).padStart(64, '0')}`, ref);
    const real = new RealModelState(folderModel);
    const ops = folderOps(3000, shadow);
    ops.push({ type: 'flags', uids: [1], mode: 'add', flags: ['\\Answered'] }, { type: 'flags', uids: [1], mode: 'add', flags: ['\\Seen'] }, { type: 'flags', uids: [2], mode: 'add', flags: ['$Forwarded'] });
    for (const op of ops) {
      const encoded = real.encodeOp(op);
      expect(shadow.encodeOp(op)).toEqual(encoded);
      expect(shadow.apply(op, encoded)).toBe(real.apply(op, encoded));
    }
    expect(shadow.summaryWire()).toEqual(real.summaryWire());
    expect(Buffer.from(shadow.stateBytes()).equals(Buffer.from(real.stateBytes()))).toBe(true);
  });

  it('the sent-mail shadow has the real model\'s summary and state length', () => {
    const shadow = new MessagesShadow();
    const real = new RealModelState(messagesModel);
    for (const op of sentMailOps(700, 'user1@storage.example')) {
      const encoded = real.encodeOp(op);
      expect(shadow.apply(op, shadow.encodeOp(op))).toBe(real.apply(op, encoded));
    }
    expect(shadow.summaryWire()).toEqual(real.summaryWire());
    expect(shadow.stateBytes().length).toBe(real.stateBytes().length);
  });
});
