// Ids on the circle of 2^256: lowercase hex strings in memory (64 chars), numeric where it matters.
import { ID_HEX_CHARS } from '../protocol/limits';

export type NodeId = string;
export type Key = string;

/** The id circle's size (2^256) and half of it, for arithmetic on ids as bigints. */
export const RING = 1n << 256n;
export const HALF = RING >> 1n;

const bigCache = new Map<string, bigint>();
const BIG_CACHE_MAX = 100_000;

export function toBig(id: string): bigint {
  let v = bigCache.get(id);
  if (v === undefined) {
    v = BigInt('0x' + id);
    if (bigCache.size >= BIG_CACHE_MAX) bigCache.clear();
    bigCache.set(id, v);
  }
  return v;
}

export function fromBig(v: bigint): string {
  return (((v % RING) + RING) % RING).toString(16).padStart(ID_HEX_CHARS, '0');
}

/** Clockwise distance from a to b: how far b is ahead of a. */
export function cwDistance(a: string, b: string): bigint {
  const d = toBig(b) - toBig(a);
  return d >= 0n ? d : d + RING;
}

/** Distance on the circle, whichever way is shorter. */
export function distance(a: string, b: string): bigint {
  const d = cwDistance(a, b);
  return d > HALF ? RING - d : d;
}

/**
 * Is `a` numerically closer to `key` than `b`? Ties (a key exactly halfway) go to the lower id, so
 * every node and the test oracle agree on one root.
 */
export function closer(a: string, b: string, key: string): boolean {
  const da = distance(a, key);
  const db = distance(b, key);
  return da < db || (da === db && a < b);
}

export function closest(candidates: Iterable<string>, key: string): string | undefined {
  let best: string | undefined;
  for (const c of candidates) if (best === undefined || closer(c, best, key)) best = c;
  return best;
}

/** Number of leading hex digits a and b share. */
export function sharedPrefixLength(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

/** The i-th hex digit of an id, 0..15. */
export function digit(id: string, i: number): number {
  return parseInt(id[i]!, 16);
}

/**
 * The k ids closest to key, closest first (ties as in `closer`). Each candidate's distance is worked
 * out once: repair places every key a node holds, so this runs millions of times on a large store.
 */
export function kClosest(candidates: Iterable<string>, key: string, k: number): string[] {
  const at = toBig(key);
  const ranked: { id: string; d: bigint }[] = [];
  for (const id of new Set(candidates)) {
    let d = at - toBig(id);
    if (d < 0n) d += RING;
    ranked.push({ id, d: d > HALF ? RING - d : d });
  }
  ranked.sort((a, b) => (a.d < b.d ? -1 : a.d > b.d ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return ranked.slice(0, k).map((r) => r.id);
}

export const shortId = (id: string): string => id.slice(0, 8);
