// The LocalStore port's contract (infra/store/port.ts), for the LMDB and the in-memory adapter alike.
import { describe, expect, it } from 'vitest';
import { blake2b, blake2bHex } from '../../crypto/hash';
import { BLOCK_BYTES_MAX } from '../../protocol/limits';
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
        expect(await store.totals()).toEqual({ blocks: 1, blockBytes: 300, objects: 0, objectBytes: 0 });
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
        expect(await store.totals()).toEqual({ blocks: 0, blockBytes: 0, objects: 0, objectBytes: 0 });
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
        expect(await store.totals()).toEqual({ blocks: 3, blockBytes: 390, objects: 1, objectBytes: version(1, 'q').bytes.length });
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
  });
}
