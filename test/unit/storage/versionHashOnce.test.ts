// Issue 11: a log head is hashed once per side of a put, not once per use. The writer needs the new
// head's version hash for its insert authorisation, its rollback mark and the next head's `prev`; a
// replica for the insert authorisation, the stored stamp and, at the next put, the `prev` check. Each
// BLAKE2b pass also copied the head's signed bytes. A version that is a view of its own bytes is hashed
// once; a copy without bytes of its own is hashed (and encoded) afresh every time.
import { beforeEach, describe, expect, it, vi } from 'vitest';

const passes = vi.hoisted(() => ({ count: 0 }));
vi.mock('../../../crypto/hash', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../crypto/hash')>();
  return {
    ...real,
    blake2b: (...args: Parameters<typeof real.blake2b>) => {
      passes.count++;
      return real.blake2b(...args);
    },
  };
});

const { signingKeyPairFromSeed } = await import('../../../crypto/sign');
const { MemoryStore } = await import('../../../infra/store/memory');
const { parseSignedObject } = await import('../../../protocol/objects');
const { applyObjectPut, StoredObjectMemo } = await import('../../../storage/replicaStore');
const { checkSignedObject, signObjectVersion, versionHash } = await import('../../../storage/signedObject');
const { encodeSignedObject } = await import('../../../storage/signedObjectCodec');

const owner = await signingKeyPairFromSeed(new Uint8Array(32).fill(9));
const name = 'log:inbox';

describe('version hashes', () => {
  beforeEach(() => {
    passes.count = 0;
  });

  it('a version read from its bytes is hashed once, however often its hash is asked', async () => {
    const v1 = await signObjectVersion({ keys: owner, name, payload: Buffer.alloc(2000, 1) });
    const read = parseSignedObject(Uint8Array.from(encodeSignedObject(v1)));
    passes.count = 0;
    const first = versionHash(read);
    for (let i = 0; i < 5; i++) expect(versionHash(read).equals(first)).toBe(true);
    expect(passes.count).toBe(1);
    // Each caller gets its own copy: changing one changes nothing for the next.
    versionHash(read).fill(0);
    expect(versionHash(read).equals(first)).toBe(true);
  });

  it('a copy with its own fields (no bytes) is hashed each time, and to the same hash', async () => {
    const v1 = await signObjectVersion({ keys: owner, name, payload: Buffer.from('head') });
    const copy = { ...v1 };
    passes.count = 0;
    expect(versionHash(copy).equals(versionHash(v1))).toBe(true);
    versionHash(copy);
    expect(passes.count).toBe(3); // copy twice, v1 once
  });

  it('the writer hashes each head it signs once: the next head names it without hashing it again', async () => {
    const v1 = await signObjectVersion({ keys: owner, name, payload: Buffer.alloc(2000, 1) });
    versionHash(v1); // the writer's insert authorisation and rollback mark
    passes.count = 0;
    const v2 = await signObjectVersion({ keys: owner, name, payload: Buffer.alloc(2000, 2), previous: v1 });
    expect(Buffer.from(v2.prev).equals(versionHash(v1))).toBe(true);
    expect(passes.count).toBe(0);
    expect(checkSignedObject(v2).ok).toBe(true);
  });

  it("a replica's successive puts of one head hash each arriving version once", async () => {
    const store = new MemoryStore();
    const memo = new StoredObjectMemo(1 << 20);
    let previous: Awaited<ReturnType<typeof signObjectVersion>> | undefined;
    const counts: number[] = [];
    for (let seq = 1; seq <= 4; seq++) {
      const signed = await signObjectVersion({ keys: owner, name, payload: Buffer.alloc(3000, seq), ...(previous ? { previous } : {}) });
      previous = signed;
      // As it arrives at a replica: read from the frame's bytes.
      const arriving = parseSignedObject(Uint8Array.from(encodeSignedObject(signed)));
      passes.count = 0;
      versionHash(arriving); // the insert authorisation's check
      const decision = await applyObjectPut(store, arriving, seq - 1, memo);
      expect(decision.accept).toBe(true);
      counts.push(passes.count);
    }
    // The stamp stored and the next put's `prev` check reuse the hash the authorisation computed.
    expect(counts).toEqual([1, 1, 1, 1]);
  });
});
