// The in-memory StorageApi keeps the ring's semantics: hash-checked blocks, convergent data, signed
// objects through the replica's acceptance rule, and injected faults.
import { describe, expect, it } from 'vitest';
import { signingKeyPairFromSeed } from '../../../crypto/sign';
import { MemoryStorage } from '../../../storage/memory/storage';
import { signObjectVersion } from '../../../storage/signedObject';

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  return p.then(
    () => undefined,
    (e: { code?: string }) => e.code,
  );
}

describe('memory storage', () => {
  it('data is convergent: the same bytes give the same reference, and read back verified', async () => {
    const storage = new MemoryStorage();
    const a = await storage.putData(Buffer.from('hello'));
    const b = await storage.putData(Buffer.from('hello'));
    expect(a).toEqual(b);
    expect((await storage.getData(a)).toString()).toBe('hello');
    const big = Buffer.alloc(3 * 1024 * 1024 + 5, 7);
    const ref = await storage.putData(big);
    expect(ref.kind).toBe('manifest');
    expect((await storage.getData(ref)).equals(big)).toBe(true);
  });

  it('blocks are stored by hash; a corrupt block is BLOCK_CORRUPT, a missing one BLOCK_MISSING', async () => {
    const storage = new MemoryStorage();
    const id = await storage.putBlock(new Uint8Array([1, 2, 3]));
    expect(Array.from(await storage.getBlock(id))).toEqual([1, 2, 3]);
    storage.corruptBlock(id);
    expect(await codeOf(storage.getBlock(id))).toBe('BLOCK_CORRUPT');
    expect(await codeOf(storage.getBlock('00'.repeat(32)))).toBe('BLOCK_MISSING');
  });

  it('objects: compare-and-swap, and the current version on a mismatch', async () => {
    const storage = new MemoryStorage();
    const keys = await signingKeyPairFromSeed(new Uint8Array(32).fill(3));
    const v1 = await signObjectVersion({ keys, name: 'x', payload: new Uint8Array([1]) });
    const v2 = await signObjectVersion({ keys, name: 'x', payload: new Uint8Array([2]), previous: v1 });
    const v2b = await signObjectVersion({ keys, name: 'x', payload: new Uint8Array([3]), previous: v1 });
    expect(await storage.putObject(v1, 0)).toEqual({ ok: true });
    expect(await storage.putObject(v2, 1)).toEqual({ ok: true });
    const r = await storage.putObject(v2b, 1);
    expect(r).toMatchObject({ ok: false, code: 'CAS_MISMATCH', current: { seq: 2 } });
    expect((await storage.getObject(v1.objectId))!.payload).toEqual(new Uint8Array([2]));
  });

  it('fault injection: the next N calls fail, then calls succeed; unavailable fails everything', async () => {
    const storage = new MemoryStorage();
    storage.failNext(2);
    expect(await codeOf(storage.putBlock(new Uint8Array([1])))).toBe('UNAVAILABLE');
    expect(await codeOf(storage.getObject('00'.repeat(32)))).toBe('UNAVAILABLE');
    expect(await storage.getObject('00'.repeat(32))).toBeUndefined();
    storage.unavailable = true;
    expect(await codeOf(storage.putData(Buffer.from('x')))).toBe('UNAVAILABLE');
    expect(storage.calls.getObject).toBe(2);
  });
});
