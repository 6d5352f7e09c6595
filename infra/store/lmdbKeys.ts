// Raw big-endian keys for the LMDB adapter (lmdb.ts, lmdbDrops.ts): LMDB orders keys bytewise, and a
// key that is a prefix of another sorts first, so a 32-byte id sorts before every longer key it starts.
import type { LinearRange } from './range';
import { writeUint64 } from './uint64';

export const key = (id: string): Buffer => Buffer.from(id, 'hex');

/** Two ids (or more) side by side: dropId | entryId, dropId | sender. */
export const pairKey = (...ids: string[]): Buffer => Buffer.from(ids.join(''), 'hex');

export function uint64(value: number): Buffer {
  const out = Buffer.alloc(8);
  writeUint64(out, 0, value);
  return out;
}

/** An exclusive end above every key that starts with `prefix` (and below any greater prefix). */
export const prefixEnd = (prefix: Buffer): Buffer => Buffer.concat([prefix, Buffer.alloc(65, 0xff)]);

/** lmdb-js range bounds for a linear piece (end is exclusive by default). */
export function bounds(p: LinearRange): { start?: Buffer; end?: Buffer; exclusiveStart?: boolean } {
  return {
    ...(p.from !== undefined ? { start: key(p.from) } : {}),
    ...(p.after !== undefined ? { start: key(p.after), exclusiveStart: true } : {}),
    ...(p.to !== undefined ? { end: key(p.to) } : {}),
  };
}
