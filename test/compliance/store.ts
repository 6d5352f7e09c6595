// The LocalStore port's contract (infra/store/port.ts), for the LMDB and the in-memory adapter alike.
import { describe, expect, it } from 'vitest';
import { blake2b, blake2bHex } from '../../crypto/hash';
import { BLOCK_BYTES_MAX, DROP_ENTRY_BYTES_MAX, DROP_LIST_ENTRIES_MAX } from '../../protocol/limits';
import type { LocalStore, ObjectVersion } from '../../infra/store/port';

export interface StoreHarness {
  store: LocalStore;
  /** Close the store and open it again on the same data, as a restarted node would. */
  reopen(): Promise<LocalStore>;
  /** Close whatever is open and remove its data. */
  cleanup(): Promise<void>;
}

const alice = blake2bHex('user alice');
const bob = blake2bHex('user bob');
const T0 = 1_700_000_000_000;

/** A 32-byte id whose hex starts with `prefix` (the rest zeros): easy to place on the circle. */
const idAt = (prefix: string) => prefix.padEnd(64, '0');
const blockBytes = (label: string, size = 100) => {
  const out = Buffer.alloc(size);
  for (let at = 0; at < size; at += 32) blake2b(`${label}/${at}`).slice(0, Math.min(32, size - at)).forEach((b, i) => (out[at + i] = b));
  return out;
};
const version = (seq: number, label: string): ObjectVersion => ({ seq, hash: blake2b(`v/${label}/${seq}`), bytes: Buffer.from(`${label} version ${seq}`) });
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const lease = (expiresAtMs: number, insertedBy = alice) => ({ expiresAtMs, insertedBy });
/** totals() of a store holding no drop entries. */
const noDrops = { dropEntries: 0, dropBytes: 0 };

function xorHex(values: Uint8Array[]): string {
  const acc = Buffer.alloc(32);
  for (const v of values) for (let i = 0; i < 32; i++) acc[i]! ^= v[i]!;
  return acc.toString('hex');
}

async function withStore(make: () => Promise<StoreHarness>, body: (h: StoreHarness) => Promise<void>): Promise<void> {
  const h = await make();
  try {
    await body(h);
  } finally {
    await h.cleanup();
  }
}

export function storeCompliance(label: string, make: () => Promise<StoreHarness>): void {
  describe(`LocalStore compliance: ${label}`, () => {
    it('stores a block exactly as given, with its lease, inserter and size', () =>
      withStore(make, async ({ store }) => {
        const bytes = blockBytes('a', 1000);
        const id = blake2bHex(bytes);
        expect(await store.hasBlock(id)).toBe(false);
        expect(await store.getBlock(id)).toBeUndefined();
        const put = await store.putBlock(id, bytes, lease(T0 + 5000));
        expect(put).toEqual({ created: true, meta: { expiresAtMs: T0 + 5000, insertedBy: alice, sizeBytes: 1000 } });
        const got = await store.getBlock(id);
        expect(hex(got!.bytes)).toBe(hex(bytes));
        expect(got!.meta).toEqual(put.meta);
        expect(await store.hasBlock(id)).toBe(true);
        expect(await store.blockMeta(id)).toEqual(put.meta);
      }));

    it('keeps a copy: changing the caller buffer or the returned one changes nothing stored', () =>
      withStore(make, async ({ store }) => {
        const bytes = blockBytes('copy');
        const id = blake2bHex(bytes);
        const original = hex(bytes);
        await store.putBlock(id, bytes, lease(T0));
        bytes[0]! ^= 0xff;
        const got = await store.getBlock(id);
        got!.bytes[1]! ^= 0xff;
        expect(hex((await store.getBlock(id))!.bytes)).toBe(original);
      }));

    it('an empty block is a block', () =>
      withStore(make, async ({ store }) => {
        const id = blake2bHex(new Uint8Array(0));
        await store.putBlock(id, new Uint8Array(0), lease(T0));
        expect((await store.getBlock(id))!.bytes.length).toBe(0);
      }));

    it('a second put of a stored block keeps its bytes and first inserter, and only extends its lease', () =>
      withStore(make, async ({ store }) => {
        const bytes = blockBytes('dup', 300);
        const id = blake2bHex(bytes);
        await store.putBlock(id, bytes, lease(T0 + 1000, alice));
        const again = await store.putBlock(id, blockBytes('other', 50), lease(T0 + 9000, bob));
        expect(again).toEqual({ created: false, meta: { expiresAtMs: T0 + 9000, insertedBy: alice, sizeBytes: 300 } });
        const shorter = await store.putBlock(id, bytes, lease(T0 + 10, bob));
        expect(shorter.meta.expiresAtMs).toBe(T0 + 9000);
        expect(hex((await store.getBlock(id))!.bytes)).toBe(hex(bytes));
        expect(await store.bytesUsedBy(alice)).toBe(300);
        expect(await store.bytesUsedBy(bob)).toBe(0);
        expect(await store.totals()).toEqual({ blocks: 1, blockBytes: 300, objects: 0, objectBytes: 0, ...noDrops });
      }));

    it('putBlocks stores a batch as putBlock would, in order: new, already stored, and named twice', () =>
      withStore(make, async ({ store }) => {
        const [a, b, c] = ['b1', 'b2', 'b3'].map((seed, i) => blockBytes(seed, 100 * (i + 1)));
        const [ida, idb, idc] = [a!, b!, c!].map((x) => blake2bHex(x));
        await store.putBlock(idb!, b!, lease(T0 + 100, bob));
        const results = await store.putBlocks([
          { id: ida!, bytes: a!, lease: lease(T0 + 500, alice) },
          { id: idb!, bytes: b!, lease: lease(T0 + 900, alice) },
          { id: idc!, bytes: c!, lease: lease(T0 + 10, alice) },
          { id: idc!, bytes: c!, lease: lease(T0 + 20, bob) },
        ]);
        expect(results).toEqual([
          { created: true, meta: { expiresAtMs: T0 + 500, insertedBy: alice, sizeBytes: 100 } },
          { created: false, meta: { expiresAtMs: T0 + 900, insertedBy: bob, sizeBytes: 200 } },
          { created: true, meta: { expiresAtMs: T0 + 10, insertedBy: alice, sizeBytes: 300 } },
          { created: false, meta: { expiresAtMs: T0 + 20, insertedBy: alice, sizeBytes: 300 } },
        ]);
        expect(hex((await store.getBlock(idc!))!.bytes)).toBe(hex(c!));
        expect(await store.bytesUsedBy(alice)).toBe(400);
        expect(await store.bytesUsedBy(bob)).toBe(200);
        expect(await store.totals()).toEqual({ blocks: 3, blockBytes: 600, objects: 0, objectBytes: 0, ...noDrops });
        expect(await store.putBlocks([])).toEqual([]);
        await expect(store.putBlocks([{ id: 'nothex', bytes: a!, lease: lease(T0) }])).rejects.toThrow();
      }));

    it('extendLease takes the later expiry and ignores unknown blocks', () =>
      withStore(make, async ({ store }) => {
        const id = idAt('aa');
        await store.putBlock(id, blockBytes('l'), lease(T0 + 100));
        expect((await store.extendLease(id, T0 + 500))!.expiresAtMs).toBe(T0 + 500);
        expect((await store.extendLease(id, T0 + 200))!.expiresAtMs).toBe(T0 + 500);
        expect(await store.extendLease(idAt('bb'), T0 + 500)).toBeUndefined();
      }));

    it('deleteBlock removes a block and returns it; accounting follows', () =>
      withStore(make, async ({ store }) => {
        const id = idAt('01');
        await store.putBlock(id, blockBytes('d', 64), lease(T0, bob));
        expect(await store.deleteBlock(id)).toEqual({ id, expiresAtMs: T0, insertedBy: bob, sizeBytes: 64 });
        expect(await store.hasBlock(id)).toBe(false);
        expect(await store.deleteBlock(id)).toBeUndefined();
        expect(await store.bytesUsedBy(bob)).toBe(0);
        expect(await store.totals()).toEqual({ blocks: 0, blockBytes: 0, objects: 0, objectBytes: 0, ...noDrops });
      }));

    it('deleteExpired removes leases ended by now, oldest first, at most limit, and returns them', () =>
      withStore(make, async ({ store }) => {
        await store.putBlock(idAt('10'), blockBytes('e1', 10), lease(T0 + 30, alice));
        await store.putBlock(idAt('20'), blockBytes('e2', 20), lease(T0 + 10, bob));
        await store.putBlock(idAt('30'), blockBytes('e3', 30), lease(T0 + 20, alice));
        await store.putBlock(idAt('40'), blockBytes('e4', 40), lease(T0 + 10, alice));
        await store.putBlock(idAt('50'), blockBytes('e5', 50), lease(T0 + 99, alice));
        await store.extendLease(idAt('10'), T0 + 1000); // refreshed by its owner: survives

        const first = await store.deleteExpired(T0 + 30, { limit: 2 });
        expect(first.map((e) => e.id)).toEqual([idAt('20'), idAt('40')]);
        expect(first[0]).toEqual({ id: idAt('20'), expiresAtMs: T0 + 10, insertedBy: bob, sizeBytes: 20 });
        const rest = await store.deleteExpired(T0 + 30);
        expect(rest.map((e) => e.id)).toEqual([idAt('30')]);
        expect(await store.deleteExpired(T0 + 30)).toEqual([]);
        expect((await store.scanBlocks({ lo: idAt('00'), hi: idAt('00') })).map((e) => e.id)).toEqual([idAt('10'), idAt('50')]);
        expect(await store.bytesUsedBy(bob)).toBe(0);
        expect(await store.bytesUsedBy(alice)).toBe(60);
      }));

    it('compareAndPutObject creates, replaces the expected version, and reports the current one otherwise', () =>
      withStore(make, async ({ store }) => {
        const id = idAt('0b');
        expect(await store.getObject(id)).toBeUndefined();
        const v1 = version(1, 'o');
        expect(await store.compareAndPutObject(id, undefined, v1)).toEqual({ swapped: true });
        const lost = await store.compareAndPutObject(id, undefined, version(1, 'other writer'));
        expect(lost.swapped).toBe(false);
        if (!lost.swapped) expect(hex(lost.current!.bytes)).toBe(hex(v1.bytes));

        const v2 = version(2, 'o');
        expect(await store.compareAndPutObject(id, { seq: 1, hash: v1.hash }, v2)).toEqual({ swapped: true });
        // Same seq, different hash (a forked reader): refused.
        const stale = await store.compareAndPutObject(id, { seq: 2, hash: blake2b('not v2') }, version(3, 'o'));
        expect(stale.swapped).toBe(false);
        if (!stale.swapped) expect(stale.current!.seq).toBe(2);
        const got = await store.getObject(id);
        expect({ seq: got!.seq, hash: hex(got!.hash), bytes: hex(got!.bytes) }).toEqual({ seq: 2, hash: hex(v2.hash), bytes: hex(v2.bytes) });
        expect(await store.totals()).toMatchObject({ objects: 1, objectBytes: v2.bytes.length });
      }));

    it('of many concurrent puts expecting the same version, exactly one wins', () =>
      withStore(make, async ({ store }) => {
        const id = idAt('0c');
        const v1 = version(1, 'race');
        await store.compareAndPutObject(id, undefined, v1);
        const writers = Array.from({ length: 12 }, (_, i) => version(2, `writer ${i}`));
        const results = await Promise.all(writers.map((v) => store.compareAndPutObject(id, { seq: 1, hash: v1.hash }, v)));
        const winners = results.flatMap((r, i) => (r.swapped ? [i] : []));
        expect(winners).toHaveLength(1);
        expect(hex((await store.getObject(id))!.hash)).toBe(hex(writers[winners[0]!]!.hash));
        for (const r of results) if (!r.swapped) expect(hex(r.current!.hash)).toBe(hex(writers[winners[0]!]!.hash));
        const creates = await Promise.all([1, 2, 3].map((i) => store.compareAndPutObject(idAt('0d'), undefined, version(1, `c${i}`))));
        expect(creates.filter((r) => r.swapped)).toHaveLength(1);
      }));

    it('deleteObject removes the current version', () =>
      withStore(make, async ({ store }) => {
        const id = idAt('0e');
        await store.compareAndPutObject(id, undefined, version(1, 'del'));
        expect(await store.deleteObject(id)).toBe(true);
        expect(await store.deleteObject(id)).toBe(false);
        expect(await store.getObject(id)).toBeUndefined();
        expect(await store.totals()).toMatchObject({ objects: 0, objectBytes: 0 });
      }));

    it('scans list [lo, hi) in circle order with metadata, wrapping past the top, and page with afterId', () =>
      withStore(make, async ({ store }) => {
        const ids = ['00', '10', '3f', '40', '80', 'c0', 'ff'].map(idAt);
        for (const [i, id] of [...ids].reverse().entries()) await store.putBlock(id, blockBytes(id, 10 + i), lease(T0 + i));
        const list = async (lo: string, hi: string, opts = {}) => (await store.scanBlocks({ lo: idAt(lo), hi: idAt(hi) }, opts)).map((e) => e.id.slice(0, 2));
        expect(await list('10', '80')).toEqual(['10', '3f', '40']);
        expect(await list('c0', '3f')).toEqual(['c0', 'ff', '00', '10']);
        expect(await list('40', '40')).toEqual(['40', '80', 'c0', 'ff', '00', '10', '3f']);
        expect(await list('41', '7f')).toEqual([]);
        const full = await store.scanBlocks({ lo: idAt('c0'), hi: idAt('c0') });
        expect(full[0]).toEqual({ id: idAt('c0'), ...(await store.blockMeta(idAt('c0')))! });

        const paged: string[] = [];
        let afterId: string | undefined;
        for (let page = 0; page < 10; page++) {
          const entries = await store.scanBlocks({ lo: idAt('c0'), hi: idAt('80') }, { limit: 2, ...(afterId ? { afterId } : {}) });
          if (entries.length === 0) break;
          expect(entries.length).toBeLessThanOrEqual(2);
          paged.push(...entries.map((e) => e.id.slice(0, 2)));
          afterId = entries.at(-1)!.id;
        }
        expect(paged).toEqual(['c0', 'ff', '00', '10', '3f', '40']);
      }));

    it('object scans list id, sequence, hash and size in circle order', () =>
      withStore(make, async ({ store }) => {
        for (const p of ['e0', '20', '90']) await store.compareAndPutObject(idAt(p), undefined, version(3, p));
        const entries = await store.scanObjects({ lo: idAt('80'), hi: idAt('30') });
        expect(entries.map((e) => e.id.slice(0, 2))).toEqual(['90', 'e0', '20']);
        expect(entries[0]).toEqual({ id: idAt('90'), seq: 3, hash: expect.anything(), sizeBytes: version(3, '90').bytes.length });
        expect(hex(entries[0]!.hash)).toBe(hex(version(3, '90').hash));
      }));

    it('range digests summarise ids (blocks) and versions (objects), and change with the content', () =>
      withStore(make, async ({ store }) => {
        const ids = ['05', '50', 'a0', 'f5'].map(idAt);
        for (const id of ids) await store.putBlock(id, blockBytes(id), lease(T0));
        for (const p of ['06', 'a1']) await store.compareAndPutObject(idAt(p), undefined, version(1, p));
        const whole = { lo: idAt('00'), hi: idAt('00') };
        const d = await store.rangeDigest(whole);
        expect(d.blocks).toEqual({ count: 4, xor: xorHex(ids.map((id) => Buffer.from(id, 'hex'))) });
        const objXor = xorHex(['06', 'a1'].flatMap((p) => [Buffer.from(idAt(p), 'hex'), version(1, p).hash]));
        expect(d.objects).toEqual({ count: 2, xor: objXor });
        const wrapped = await store.rangeDigest({ lo: idAt('a0'), hi: idAt('10') });
        expect(wrapped.blocks).toEqual({ count: 3, xor: xorHex([idAt('a0'), idAt('f5'), idAt('05')].map((id) => Buffer.from(id, 'hex'))) });
        expect(await store.rangeDigest({ lo: idAt('10'), hi: idAt('20') })).toEqual({
          blocks: { count: 0, xor: '0'.repeat(64) },
          objects: { count: 0, xor: '0'.repeat(64) },
          drops: { count: 0, xor: '0'.repeat(64) },
        });

        await store.compareAndPutObject(idAt('06'), { seq: 1, hash: version(1, '06').hash }, version(2, '06'));
        expect((await store.rangeDigest(whole)).objects.xor).not.toBe(objXor);
        await store.deleteBlock(idAt('50'));
        expect((await store.rangeDigest(whole)).blocks.count).toBe(3);
      }));

    it('keeps per-inserter byte accounting and totals', () =>
      withStore(make, async ({ store }) => {
        await store.putBlock(idAt('61'), blockBytes('q1', 100), lease(T0, alice));
        await store.putBlock(idAt('62'), blockBytes('q2', 250), lease(T0, alice));
        await store.putBlock(idAt('63'), blockBytes('q3', 40), lease(T0, bob));
        await store.compareAndPutObject(idAt('64'), undefined, version(1, 'q'));
        expect(await store.bytesUsedBy(alice)).toBe(350);
        expect(await store.bytesUsedBy(bob)).toBe(40);
        expect(await store.bytesUsedBy(blake2bHex('nobody'))).toBe(0);
        expect(await store.totals()).toEqual({ blocks: 3, blockBytes: 390, objects: 1, objectBytes: version(1, 'q').bytes.length, ...noDrops });
      }));

    it('everything acknowledged is there after the store is reopened', () =>
      withStore(make, async (h) => {
        const bytes = blockBytes('persist', 5000);
        const id = blake2bHex(bytes);
        await h.store.putBlock(id, bytes, lease(T0 + 77, bob));
        await h.store.compareAndPutObject(idAt('70'), undefined, version(4, 'persist'));
        const store = await h.reopen();
        expect(hex((await store.getBlock(id))!.bytes)).toBe(hex(bytes));
        expect(await store.blockMeta(id)).toEqual({ expiresAtMs: T0 + 77, insertedBy: bob, sizeBytes: 5000 });
        expect((await store.getObject(idAt('70')))!.seq).toBe(4);
        expect(await store.bytesUsedBy(bob)).toBe(5000);
        expect(await store.totals()).toMatchObject({ blocks: 1, objects: 1 });
        expect((await store.deleteExpired(T0 + 77)).map((e) => e.id)).toEqual([id]);
      }));

    it('readBlocks hands over the blocks asked for in order, absent ones without bytes, up to bytesMax, as getBlock reads them', () =>
      withStore(make, async ({ store }) => {
        const [a, b, c] = [blockBytes('ra', 40_000), blockBytes('rb', BLOCK_BYTES_MAX), blockBytes('rc', 300)];
        const [ida, idb, idc] = [a, b, c].map((x) => blake2bHex(x));
        const absent = idAt('ee');
        await store.putBlocks([ida, idb, idc].map((id, i) => ({ id: id!, bytes: [a, b, c][i]!, lease: lease(T0) })));
        // Copied inside `use`, as a caller must (the views may be the store's own buffers).
        const read = (ids: string[], max: number) => store.readBlocks(ids, max, (blocks) => blocks.map((x) => ({ id: x.id, bytes: x.bytes && hex(x.bytes) })));
        expect(await read([ida!, absent, idb!, idc!], 10 * BLOCK_BYTES_MAX)).toEqual([
          { id: ida, bytes: hex(a) },
          { id: absent, bytes: undefined },
          { id: idb, bytes: hex(b) },
          { id: idc, bytes: hex(c) },
        ]);
        // It stops before the first block that would pass bytesMax, even if a later one would fit.
        expect(await read([ida!, idb!, idc!], 40_000 + BLOCK_BYTES_MAX - 1)).toEqual([{ id: ida, bytes: hex(a) }]);
        expect(await read([idb!, ida!], BLOCK_BYTES_MAX)).toEqual([{ id: idb, bytes: hex(b) }]);
        expect(await read([], BLOCK_BYTES_MAX)).toEqual([]);
        // Reading again afterwards (the store may reuse its buffers) still gives the right bytes.
        expect(hex((await store.getBlock(idb!))!.bytes)).toBe(hex(b));
        expect(await read([idc!, idb!], 2 * BLOCK_BYTES_MAX)).toEqual([
          { id: idc, bytes: hex(c) },
          { id: idb, bytes: hex(b) },
        ]);
        expect(await store.readBlocks([idb!], BLOCK_BYTES_MAX, (blocks) => blocks.length)).toBe(1);
      }));

    it('holds a full-size block', () =>
      withStore(make, async ({ store }) => {
        const bytes = Buffer.alloc(BLOCK_BYTES_MAX, 7);
        const id = blake2bHex(bytes);
        await store.putBlock(id, bytes, lease(T0));
        expect((await store.getBlock(id))!.bytes.length).toBe(BLOCK_BYTES_MAX);
      }));

    it('refuses programmer errors: malformed ids, oversized blocks, use after close', () =>
      withStore(make, async (h) => {
        const { store } = h;
        await expect(store.putBlock('ABC', new Uint8Array(1), lease(T0))).rejects.toThrow(/64 lowercase hex/);
        await expect(store.putBlock(idAt('01'), new Uint8Array(1), lease(T0, 'me'))).rejects.toThrow(/insertedBy/);
        await expect(store.putBlock(idAt('01'), new Uint8Array(BLOCK_BYTES_MAX + 1), lease(T0))).rejects.toThrow(/exceeds/);
        await expect(store.scanBlocks({ lo: 'zz', hi: idAt('00') })).rejects.toThrow(/range.lo/);
        await expect(store.scanBlocks({ lo: idAt('10'), hi: idAt('20') }, { afterId: idAt('30') })).rejects.toThrow(/not in the scanned range/);
        await store.close();
        await expect(store.hasBlock(idAt('01'))).rejects.toMatchObject({ code: 'STORE_CLOSED' });
      }));

    dropsCompliance(make);
  });
}

const carol = blake2bHex('user carol');
const entryBytes = (label: string, size = 200) => blockBytes(`entry ${label}`, size);
const from = (sender: string, receivedAtMs = T0) => ({ sender, receivedAtMs });
const zeros = '0'.repeat(64);

/** Inbox drops (DESIGN 5): entries per drop written by many senders, tombstones for entries taken. */
function dropsCompliance(make: () => Promise<StoreHarness>): void {
  describe('inbox drops', () => {
    it('stores an entry exactly as given with its sender and time; a second put keeps the first', () =>
      withStore(make, async ({ store }) => {
        const drop = idAt('d0');
        const entry = idAt('e1');
        const bytes = entryBytes('first', 300);
        expect(await store.getDropEntry(drop, entry)).toBeUndefined();
        expect(await store.putDropEntry(drop, entry, bytes, from(alice, T0 + 5))).toEqual({ created: true, tombstoned: false });
        const got = await store.getDropEntry(drop, entry);
        expect({ ...got!, bytes: hex(got!.bytes) }).toEqual({ entryId: entry, bytes: hex(bytes), sender: alice, receivedAtMs: T0 + 5, sizeBytes: 300 });

        // Replicas and retries put the same entry again: nothing changes, not even for other bytes or sender.
        expect(await store.putDropEntry(drop, entry, entryBytes('other', 20), from(bob, T0 + 9))).toEqual({ created: false, tombstoned: false });
        const again = await store.getDropEntry(drop, entry);
        expect({ ...again!, bytes: hex(again!.bytes) }).toEqual({ entryId: entry, bytes: hex(bytes), sender: alice, receivedAtMs: T0 + 5, sizeBytes: 300 });
        expect(await store.countDrop(drop)).toBe(1);
        expect(await store.countDrop(drop, { sender: alice })).toBe(1);
        expect(await store.countDrop(drop, { sender: bob })).toBe(0);
        expect(await store.totals()).toEqual({ blocks: 0, blockBytes: 0, objects: 0, objectBytes: 0, dropEntries: 1, dropBytes: 300 });
      }));

    it('keeps a copy of an entry, and an empty entry is an entry', () =>
      withStore(make, async ({ store }) => {
        const drop = idAt('d1');
        const bytes = entryBytes('copy');
        const original = hex(bytes);
        await store.putDropEntry(drop, idAt('e1'), bytes, from(alice));
        bytes[0]! ^= 0xff;
        (await store.getDropEntry(drop, idAt('e1')))!.bytes[1]! ^= 0xff;
        (await store.listDrop(drop))[0]!.bytes[2]! ^= 0xff;
        expect(hex((await store.getDropEntry(drop, idAt('e1')))!.bytes)).toBe(original);
        await store.putDropEntry(drop, idAt('e2'), new Uint8Array(0), from(alice));
        expect((await store.getDropEntry(drop, idAt('e2')))!.sizeBytes).toBe(0);
        expect(await store.countDrop(drop)).toBe(2);
      }));

    it('taking an entry removes it and leaves a tombstone that refuses it again, even one never stored here', () =>
      withStore(make, async ({ store }) => {
        const drop = idAt('d2');
        const taken = idAt('e1');
        await store.putDropEntry(drop, taken, entryBytes('taken'), from(alice));
        expect(await store.hasTombstone(drop, taken)).toBe(false);
        expect(await store.deleteDropEntry(drop, taken, { tombstoneUntilMs: T0 + 1000 })).toBe(true);
        expect(await store.getDropEntry(drop, taken)).toBeUndefined();
        expect(await store.hasTombstone(drop, taken)).toBe(true);
        // A replica that missed the receipt pushes it back through repair: refused.
        expect(await store.putDropEntry(drop, taken, entryBytes('taken'), from(alice))).toEqual({ created: false, tombstoned: true });
        expect(await store.getDropEntry(drop, taken)).toBeUndefined();
        expect(await store.deleteDropEntry(drop, taken, { tombstoneUntilMs: T0 + 1000 })).toBe(false);

        // The receipt reached this replica before the entry did.
        const early = idAt('e2');
        expect(await store.deleteDropEntry(drop, early, { tombstoneUntilMs: T0 + 1000 })).toBe(false);
        expect(await store.hasTombstone(drop, early)).toBe(true);
        expect(await store.putDropEntry(drop, early, entryBytes('early'), from(bob))).toEqual({ created: false, tombstoned: true });

        // Tombstones belong to one drop: the same entry id in another drop is a different entry.
        expect(await store.hasTombstone(idAt('d3'), taken)).toBe(false);
        expect(await store.putDropEntry(idAt('d3'), taken, entryBytes('elsewhere'), from(alice))).toEqual({ created: true, tombstoned: false });
        expect(await store.countDrop(drop)).toBe(0);
        expect(await store.countDrop(drop, { sender: alice })).toBe(0);
        expect(await store.listDrop(drop)).toEqual([]);
        expect(await store.totals()).toMatchObject({ dropEntries: 1, dropBytes: 200 });
      }));

    it("a receipt's entries go together: each removed or tombstoned as deleteDropEntry would, counts and totals kept", () =>
      withStore(make, async ({ store }) => {
        const drop = idAt('d5');
        for (const p of ['a1', 'a2', 'a3']) await store.putDropEntry(drop, idAt(p), entryBytes(p), from(p === 'a3' ? bob : alice));
        // a1 and a3 stored, e9 never stored here (the receipt came first), a1 twice in one receipt.
        expect(await store.deleteDropEntries(drop, [idAt('a1'), idAt('e9'), idAt('a3'), idAt('a1')], { tombstoneUntilMs: T0 + 50 })).toEqual([true, false, true, false]);
        expect(await store.deleteDropEntries(drop, [], { tombstoneUntilMs: T0 + 50 })).toEqual([]);
        expect((await store.listDrop(drop)).map((e) => e.entryId)).toEqual([idAt('a2')]);
        expect([await store.countDrop(drop), await store.countDrop(drop, { sender: alice }), await store.countDrop(drop, { sender: bob })]).toEqual([1, 1, 0]);
        expect(await store.totals()).toMatchObject({ dropEntries: 1, dropBytes: 200 });
        for (const p of ['a1', 'e9', 'a3']) expect(await store.hasTombstone(drop, idAt(p))).toBe(true);
        expect(await store.putDropEntry(drop, idAt('e9'), entryBytes('e9'), from(alice))).toEqual({ created: false, tombstoned: true });
        expect(await store.deleteExpiredTombstones(T0 + 50)).toHaveLength(3);
        await expect(store.deleteDropEntries(drop, [idAt('a2'), 'not an id'], { tombstoneUntilMs: T0 })).rejects.toThrow();
        expect(await store.countDrop(drop)).toBe(1); // a bad id refuses the whole receipt, before anything is removed
      }));

    it('tombstones only grow, expire oldest first at most limit at a time, and only then may the entry return', () =>
      withStore(make, async ({ store }) => {
        const drop = idAt('d4');
        const ends: [string, number][] = [['a0', T0 + 30], ['b0', T0 + 10], ['c0', T0 + 20], ['d0', T0 + 99], ['e0', T0 + 10]];
        for (const [p, untilMs] of ends) await store.deleteDropEntry(drop, idAt(p), { tombstoneUntilMs: untilMs });
        await store.deleteDropEntry(drop, idAt('a0'), { tombstoneUntilMs: T0 + 1000 }); // a later receipt: extended
        await store.deleteDropEntry(drop, idAt('d0'), { tombstoneUntilMs: T0 + 5 }); // an earlier one: kept at T0 + 99

        const first = await store.deleteExpiredTombstones(T0 + 30, { limit: 2 });
        expect(first).toEqual([
          { dropId: drop, entryId: idAt('b0'), untilMs: T0 + 10 },
          { dropId: drop, entryId: idAt('e0'), untilMs: T0 + 10 },
        ]);
        expect(await store.deleteExpiredTombstones(T0 + 30)).toEqual([{ dropId: drop, entryId: idAt('c0'), untilMs: T0 + 20 }]);
        expect(await store.deleteExpiredTombstones(T0 + 30)).toEqual([]);
        expect(await store.hasTombstone(drop, idAt('b0'))).toBe(false);
        expect(await store.hasTombstone(drop, idAt('a0'))).toBe(true);
        expect(await store.hasTombstone(drop, idAt('d0'))).toBe(true);
        expect(await store.putDropEntry(drop, idAt('b0'), entryBytes('b'), from(alice))).toEqual({ created: true, tombstoned: false });
        expect(await store.putDropEntry(drop, idAt('d0'), entryBytes('d'), from(alice))).toEqual({ created: false, tombstoned: true });
        expect((await store.deleteExpiredTombstones(T0 + 1000)).map((t) => [t.entryId.slice(0, 2), t.untilMs])).toEqual([
          ['d0', T0 + 99],
          ['a0', T0 + 1000],
        ]);
        expect(await store.hasTombstone(drop, idAt('a0'))).toBe(false);
        expect(await store.countDrop(drop)).toBe(1);
      }));

    it('listDrop lists one drop in entry-id order, with bytes and meta, and pages with afterEntryId', () =>
      withStore(make, async ({ store }) => {
        const drop = idAt('50');
        const entries = ['80', '00', 'ff', '3f', '40', 'c1'];
        for (const [i, p] of entries.entries()) await store.putDropEntry(drop, idAt(p), entryBytes(p, 10 + i), from(i % 2 ? bob : alice, T0 + i));
        // Neighbouring drops on either side, with entry ids at the edges: never listed with this one.
        await store.putDropEntry(idAt('4f').replace(/0+$/, (z) => 'f'.repeat(z.length)), 'f'.repeat(64), entryBytes('below'), from(carol));
        await store.putDropEntry(idAt('51'), zeros, entryBytes('above'), from(carol));

        const listed = await store.listDrop(drop);
        expect(listed.map((e) => e.entryId.slice(0, 2))).toEqual(['00', '3f', '40', '80', 'c1', 'ff']);
        expect({ ...listed[0]!, bytes: hex(listed[0]!.bytes) }).toEqual({ entryId: idAt('00'), bytes: hex(entryBytes('00', 11)), sender: bob, receivedAtMs: T0 + 1, sizeBytes: 11 });

        const paged: string[] = [];
        let afterEntryId: string | undefined;
        for (let page = 0; page < 10; page++) {
          const got = await store.listDrop(drop, { limit: 4, ...(afterEntryId ? { afterEntryId } : {}) });
          expect(got.length).toBeLessThanOrEqual(4);
          if (got.length === 0) break;
          paged.push(...got.map((e) => e.entryId.slice(0, 2)));
          afterEntryId = got.at(-1)!.entryId;
        }
        expect(paged).toEqual(['00', '3f', '40', '80', 'c1', 'ff']);
        // afterEntryId need not be a stored entry (it may have been taken since).
        expect((await store.listDrop(drop, { afterEntryId: idAt('41') })).map((e) => e.entryId.slice(0, 2))).toEqual(['80', 'c1', 'ff']);
        expect(await store.listDrop(drop, { afterEntryId: 'f'.repeat(64) })).toEqual([]);
        expect(await store.listDrop(idAt('52'))).toEqual([]);
      }));

    it('listDrop pages hold at most DROP_LIST_ENTRIES_MAX entries', () =>
      withStore(make, async ({ store }) => {
        const drop = idAt('5a');
        const n = DROP_LIST_ENTRIES_MAX + 3;
        for (let i = 0; i < n; i++) await store.putDropEntry(drop, blake2bHex(`many ${i}`), entryBytes(`${i}`, 8), from(alice));
        const first = await store.listDrop(drop, { limit: n });
        expect(first).toHaveLength(DROP_LIST_ENTRIES_MAX);
        expect(await store.listDrop(drop, { afterEntryId: first.at(-1)!.entryId })).toHaveLength(3);
        expect(await store.countDrop(drop)).toBe(n);
      }));

    it('countDrop counts entries per drop and per sender, and follows puts, takes and restarts', () =>
      withStore(make, async (h) => {
        const [d, e] = [idAt('60'), idAt('61')];
        for (let i = 0; i < 3; i++) await h.store.putDropEntry(d, idAt(`a${i}`), entryBytes(`a${i}`), from(alice));
        for (let i = 0; i < 2; i++) await h.store.putDropEntry(d, idAt(`b${i}`), entryBytes(`b${i}`), from(bob));
        await h.store.putDropEntry(e, idAt('b9'), entryBytes('b9'), from(bob));
        await h.store.putDropEntry(d, idAt('a0'), entryBytes('a0'), from(alice)); // a retry: no double count
        expect(await h.store.countDrop(d)).toBe(5);
        expect(await h.store.countDrop(d, { sender: alice })).toBe(3);
        expect(await h.store.countDrop(d, { sender: bob })).toBe(2);
        expect(await h.store.countDrop(e, { sender: bob })).toBe(1);
        expect(await h.store.countDrop(e, { sender: alice })).toBe(0);
        await h.store.deleteDropEntry(d, idAt('a1'), { tombstoneUntilMs: T0 });
        await h.store.deleteDropEntry(d, idAt('ee'), { tombstoneUntilMs: T0 }); // never stored: counts nothing
        const store = await h.reopen();
        expect(await store.countDrop(d)).toBe(4);
        expect(await store.countDrop(d, { sender: alice })).toBe(2);
        expect(await store.countDrop(d, { sender: bob })).toBe(2);
        expect(await store.countDrop(idAt('62'))).toBe(0);
        for (const p of ['a0', 'a2']) await store.deleteDropEntry(d, idAt(p), { tombstoneUntilMs: T0 });
        expect(await store.countDrop(d, { sender: alice })).toBe(0);
        expect(await store.countDrop(d)).toBe(2);
      }));

    it('scanDrops lists drops holding entries in circle order, wrapping past the top, paged by dropId', () =>
      withStore(make, async ({ store }) => {
        const drops = ['00', '10', '3f', '40', '80', 'c0', 'ff'];
        for (const [i, p] of [...drops].reverse().entries()) {
          for (let j = 0; j <= i; j++) await store.putDropEntry(idAt(p), idAt(`e${j}`), entryBytes(`${p}/${j}`), from(j % 2 ? bob : alice));
        }
        // A drop whose only entry was taken holds no entries: not listed (its tombstone stays).
        await store.putDropEntry(idAt('20'), idAt('e0'), entryBytes('gone'), from(alice));
        await store.deleteDropEntry(idAt('20'), idAt('e0'), { tombstoneUntilMs: T0 });
        const list = async (lo: string, hi: string, opts = {}) => (await store.scanDrops({ lo: idAt(lo), hi: idAt(hi) }, opts)).map((d) => d.dropId.slice(0, 2));
        expect(await list('10', '80')).toEqual(['10', '3f', '40']);
        expect(await list('c0', '3f')).toEqual(['c0', 'ff', '00', '10']);
        expect(await list('40', '40')).toEqual(['40', '80', 'c0', 'ff', '00', '10', '3f']);
        expect(await list('41', '7f')).toEqual([]);
        expect(await list('11', '3f')).toEqual([]);
        expect(await store.scanDrops({ lo: idAt('c0'), hi: idAt('00') })).toEqual([
          { dropId: idAt('c0'), entries: 2 },
          { dropId: idAt('ff'), entries: 1 },
        ]);

        const paged: { dropId: string; entries: number }[] = [];
        let afterId: string | undefined;
        for (let page = 0; page < 10; page++) {
          const got = await store.scanDrops({ lo: idAt('c0'), hi: idAt('80') }, { limit: 2, ...(afterId ? { afterId } : {}) });
          expect(got.length).toBeLessThanOrEqual(2);
          if (got.length === 0) break;
          paged.push(...got);
          afterId = got.at(-1)!.dropId;
        }
        expect(paged.map((d) => [d.dropId.slice(0, 2), d.entries])).toEqual([['c0', 2], ['ff', 1], ['00', 7], ['10', 6], ['3f', 5], ['40', 4]]);
        await expect(store.scanDrops({ lo: idAt('10'), hi: idAt('20') }, { afterId: idAt('30') })).rejects.toThrow(/not in the scanned range/);
      }));

    it('dropDigest and rangeDigest summarise drop entries, and change when entries come and go', () =>
      withStore(make, async ({ store }) => {
        const content: [string, string[]][] = [['05', ['e1', 'e2', 'e3']], ['a0', ['e1']], ['f5', ['e7', 'e8']]];
        for (const [d, es] of content) for (const e of es) await store.putDropEntry(idAt(d), idAt(e), entryBytes(`${d}/${e}`), from(alice));
        const b = (id: string) => Buffer.from(id, 'hex');
        expect(await store.dropDigest(idAt('05'))).toEqual({ count: 3, xor: xorHex(['e1', 'e2', 'e3'].map((e) => b(idAt(e)))) });
        expect(await store.dropDigest(idAt('06'))).toEqual({ count: 0, xor: zeros });
        const entryXor = (drops: [string, string[]][]) => xorHex(drops.flatMap(([d, es]) => es.flatMap((e) => [b(idAt(d)), b(idAt(e))])));

        const whole = { lo: idAt('00'), hi: idAt('00') };
        const before = await store.rangeDigest(whole);
        expect(before.drops).toEqual({ count: 6, xor: entryXor(content) });
        expect(before.blocks).toEqual({ count: 0, xor: zeros }); // drops are not blocks
        expect((await store.rangeDigest({ lo: idAt('a0'), hi: idAt('10') })).drops).toEqual({ count: 6, xor: entryXor([content[1]!, content[2]!, content[0]!]) });
        expect((await store.rangeDigest({ lo: idAt('06'), hi: idAt('a0') })).drops).toEqual({ count: 0, xor: zeros });

        await store.deleteDropEntry(idAt('05'), idAt('e2'), { tombstoneUntilMs: T0 });
        expect(await store.dropDigest(idAt('05'))).toEqual({ count: 2, xor: xorHex([b(idAt('e1')), b(idAt('e3'))]) });
        const afterTake = await store.rangeDigest(whole);
        expect(afterTake.drops.count).toBe(5);
        expect(afterTake.drops.xor).not.toBe(before.drops.xor);
        await store.putDropEntry(idAt('05'), idAt('e4'), entryBytes('e4'), from(bob));
        expect((await store.rangeDigest(whole)).drops).toEqual({ count: 6, xor: entryXor([['05', ['e1', 'e3', 'e4']], content[1]!, content[2]!]) });
        // A tombstone alone changes nothing a digest covers.
        await store.deleteDropEntry(idAt('a0'), idAt('ee'), { tombstoneUntilMs: T0 });
        expect((await store.rangeDigest(whole)).drops.count).toBe(6);
      }));

    it('totals count drop entries and their bytes apart from blocks and objects', () =>
      withStore(make, async ({ store }) => {
        await store.putBlock(idAt('71'), blockBytes('t', 100), lease(T0));
        await store.compareAndPutObject(idAt('72'), undefined, version(1, 't'));
        await store.putDropEntry(idAt('73'), idAt('e1'), entryBytes('1', 40), from(alice));
        await store.putDropEntry(idAt('73'), idAt('e2'), entryBytes('2', 60), from(bob));
        await store.putDropEntry(idAt('74'), idAt('e1'), entryBytes('3', 5), from(bob));
        await store.putDropEntry(idAt('74'), idAt('e1'), entryBytes('3 again', 500), from(bob));
        expect(await store.totals()).toEqual({ blocks: 1, blockBytes: 100, objects: 1, objectBytes: version(1, 't').bytes.length, dropEntries: 3, dropBytes: 105 });
        await store.deleteDropEntry(idAt('73'), idAt('e2'), { tombstoneUntilMs: T0 });
        expect(await store.totals()).toMatchObject({ dropEntries: 2, dropBytes: 45 });
        expect(await store.bytesUsedBy(alice)).toBe(100); // drop entries are not charged as blocks
      }));

    it('concurrent puts of one entry create it once; a put racing its take never outlives the tombstone', () =>
      withStore(make, async ({ store }) => {
        const drop = idAt('80');
        const puts = await Promise.all(Array.from({ length: 12 }, (_, i) => store.putDropEntry(drop, idAt('e1'), entryBytes(`w${i}`), from(i % 2 ? alice : bob))));
        expect(puts.filter((r) => r.created)).toHaveLength(1);
        expect(await store.countDrop(drop)).toBe(1);
        for (let round = 0; round < 8; round++) {
          const entry = idAt(`f${round}`);
          const racers = [store.putDropEntry(drop, entry, entryBytes(`r${round}`), from(alice)), store.deleteDropEntry(drop, entry, { tombstoneUntilMs: T0 })];
          await Promise.all(round % 2 ? racers.reverse() : racers);
          expect(await store.getDropEntry(drop, entry)).toBeUndefined();
          expect(await store.hasTombstone(drop, entry)).toBe(true);
        }
        expect(await store.countDrop(drop)).toBe(1);
        expect(await store.totals()).toMatchObject({ dropEntries: 1 });
      }));

    it('acknowledged entries and tombstones are there after the store is reopened', () =>
      withStore(make, async (h) => {
        const drop = idAt('90');
        const bytes = entryBytes('persist', DROP_ENTRY_BYTES_MAX);
        await h.store.putDropEntry(drop, idAt('e1'), bytes, from(carol, T0 + 3));
        await h.store.putDropEntry(drop, idAt('e2'), entryBytes('taken'), from(carol));
        await h.store.deleteDropEntry(drop, idAt('e2'), { tombstoneUntilMs: T0 + 50 });
        await h.store.deleteDropEntry(drop, idAt('e3'), { tombstoneUntilMs: T0 + 60 });
        const store = await h.reopen();
        const got = await store.getDropEntry(drop, idAt('e1'));
        expect(hex(got!.bytes)).toBe(hex(bytes));
        expect(got).toMatchObject({ sender: carol, receivedAtMs: T0 + 3, sizeBytes: DROP_ENTRY_BYTES_MAX });
        expect(await store.putDropEntry(drop, idAt('e2'), entryBytes('taken'), from(carol))).toEqual({ created: false, tombstoned: true });
        expect(await store.hasTombstone(drop, idAt('e3'))).toBe(true);
        expect(await store.countDrop(drop, { sender: carol })).toBe(1);
        expect(await store.totals()).toMatchObject({ dropEntries: 1, dropBytes: DROP_ENTRY_BYTES_MAX });
        expect(await store.scanDrops({ lo: zeros, hi: zeros })).toEqual([{ dropId: drop, entries: 1 }]);
        expect((await store.deleteExpiredTombstones(T0 + 60)).map((t) => t.entryId)).toEqual([idAt('e2'), idAt('e3')]);
      }));

    it('refuses programmer errors: malformed ids, oversized entries, bad times and limits, use after close', () =>
      withStore(make, async ({ store }) => {
        const drop = idAt('a1');
        await expect(store.putDropEntry('D0', idAt('e1'), new Uint8Array(1), from(alice))).rejects.toThrow(/dropId/);
        await expect(store.putDropEntry(drop, idAt('E1').toUpperCase(), new Uint8Array(1), from(alice))).rejects.toThrow(/entryId/);
        await expect(store.putDropEntry(drop, idAt('e1'), new Uint8Array(1), from('alice'))).rejects.toThrow(/sender/);
        await expect(store.putDropEntry(drop, idAt('e1'), new Uint8Array(1), from(alice, -1))).rejects.toThrow(/receivedAtMs/);
        await expect(store.putDropEntry(drop, idAt('e1'), new Uint8Array(DROP_ENTRY_BYTES_MAX + 1), from(alice))).rejects.toThrow(/exceeds/);
        await expect(store.deleteDropEntry(drop, idAt('e1'), { tombstoneUntilMs: 1.5 })).rejects.toThrow(/tombstoneUntilMs/);
        await expect(store.listDrop(drop, { limit: 0 })).rejects.toThrow(/limit/);
        await expect(store.listDrop(drop, { afterEntryId: 'x' })).rejects.toThrow(/afterEntryId/);
        await expect(store.countDrop(drop, { sender: 'bob' })).rejects.toThrow(/sender/);
        await expect(store.scanDrops({ lo: idAt('00'), hi: 'zz' })).rejects.toThrow(/range.hi/);
        expect(await store.totals()).toMatchObject(noDrops);
        await store.close();
        for (const call of [
          () => store.putDropEntry(drop, idAt('e1'), new Uint8Array(1), from(alice)),
          () => store.getDropEntry(drop, idAt('e1')),
          () => store.listDrop(drop),
          () => store.countDrop(drop),
          () => store.deleteDropEntry(drop, idAt('e1'), { tombstoneUntilMs: T0 }),
          () => store.hasTombstone(drop, idAt('e1')),
          () => store.deleteExpiredTombstones(T0),
          () => store.scanDrops({ lo: zeros, hi: zeros }),
          () => store.dropDigest(drop),
        ])
          await expect(call()).rejects.toMatchObject({ code: 'STORE_CLOSED' });
      }));
  });
}
