// A ring cut in two for log tests: each side's replicas hold their own version of each head.
import type { ObjectPutResult, StorageApi } from '../../../storage/api';
import { MemoryStorage } from '../../../storage/memory/storage';
import { decidePut, distinctVersions, type SignedObject } from '../../../storage/signedObject';

/**
 * One ring cut in two: blocks are shared (content-addressed; after the heal repair carries them
 * anyway), but each side's replicas hold their own version of each head. heal() is repair: every
 * replica takes the newer version (an equal sequence stays as each side has it).
 */
export class Partition {
  readonly storage = new MemoryStorage();
  private readonly heads: [Map<string, SignedObject>, Map<string, SignedObject>] = [new Map(), new Map()];
  private cut = false;

  side(i: 0 | 1): StorageApi {
    const heads = () => (this.cut ? this.heads[i] : this.heads[0]);
    return new Proxy(this.storage, {
      get: (target, prop, receiver) => {
        if (prop === 'putObject') {
          return async (object: SignedObject, replacesSeq: number): Promise<ObjectPutResult> => {
            const stored = heads().get(object.objectId);
            const d = decidePut(stored, object, replacesSeq);
            if (!d.accept) return { ok: false, code: d.code, message: d.message, ...(d.current ? { current: d.current } : {}) };
            heads().set(object.objectId, object);
            return { ok: true };
          };
        }
        if (prop === 'getObject') return async (id: string) => heads().get(id);
        // What a writer reading every replica sees: after the heal, each side's version.
        if (prop === 'getObjectVersions') return async (id: string) => this.versions(id);
        const value = Reflect.get(target, prop, receiver) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  split(): void {
    this.cut = true;
    this.heads[1] = new Map(this.heads[0]);
  }

  heal(): void {
    this.cut = false;
    const [a, b] = this.heads;
    for (const [id, v] of b) {
      const mine = a.get(id);
      if (!mine || v.seq > mine.seq) a.set(id, v);
    }
  }

  /** Every distinct version the two sides' replicas hold, as readers rank them. */
  versions(id: string): SignedObject[] {
    const all = this.cut ? [this.heads[0].get(id)] : [this.heads[0].get(id), this.heads[1].get(id)];
    return distinctVersions(all);
  }

  /** Repair after the heal: each replica takes the other's version when it is newer. */
  repair(): void {
    const [a, b] = this.heads;
    for (const id of new Set([...a.keys(), ...b.keys()])) {
      const [va, vb] = [a.get(id), b.get(id)];
      if (vb && (!va || vb.seq > va.seq)) a.set(id, vb);
      else if (va && (!vb || va.seq > vb.seq)) b.set(id, va);
    }
  }

  /** A replica of side 1 still holding its own version: what a put there would be told (CAS_MISMATCH with it). */
  sideOneVersion(id: string): SignedObject | undefined {
    return this.heads[1].get(id);
  }
}

