// Ids on the circle of 2^256: lowercase hex strings in memory (64 chars), numeric where it matters.
import { circleGap, topBitsOf } from '../protocol/idCircle';
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
  const keyTop = topOf(key);
  return ranksBefore({ id: a, rough: roughDistance(keyTop, a) }, { id: b, rough: roughDistance(keyTop, b) }, key);
}

/** `closer`, worked out on the whole ids (bigints). */
function closerExactly(a: string, b: string, key: string): boolean {
  const da = distance(a, key);
  const db = distance(b, key);
  return da < db || (da === db && a < b);
}

export function closest(candidates: Iterable<string>, key: string): string | undefined {
  const keyTop = topOf(key);
  let best: Ranked | undefined;
  for (const id of candidates) {
    const r: Ranked = { id, rough: roughDistance(keyTop, id) };
    if (best === undefined || ranksBefore(r, best, key)) best = r;
  }
  return best?.id;
}

/** An id's top 52 bits: exact in a double. */
const TOP_BITS = 52;
const TOP_RING = 2 ** TOP_BITS;

const topCache = new Map<string, number>();

/** The top 52 bits of a full-length id as a number; NaN for anything else (compared exactly instead). */
function topOf(id: string): number {
  let top = topCache.get(id);
  if (top === undefined) {
    top = id.length === ID_HEX_CHARS ? topBitsOf(id, TOP_BITS) : NaN;
    if (topCache.size >= BIG_CACHE_MAX) topCache.clear();
    topCache.set(id, top);
  }
  return top;
}

/**
 * An id with its distance to the key on the circle of 2^52 (both cut to their top 52 bits): within one
 * unit of the exact distance / 2^204, so two of them whose rough distances differ by more than one are
 * ordered by those alone, and only nearer ones are compared exactly. Routing and placement rank ids
 * millions of times; bigints made that most of a large ring's CPU.
 */
interface Ranked {
  readonly id: string;
  readonly rough: number;
}

const roughDistance = (keyTop: number, id: string): number => circleGap(keyTop, topOf(id), TOP_RING);

/** Does `a` come before `b` in the order of `closer`? (NaN, an id not full length, is compared exactly.) */
function ranksBefore(a: Ranked, b: Ranked, key: string): boolean {
  return Math.abs(a.rough - b.rough) > 1 ? a.rough < b.rough : closerExactly(a.id, b.id, key);
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
 * The k ids closest to key, closest first (ties as in `closer`). Repair places every key a node holds
 * and a membership change judges thousands of points of the circle: candidates are ranked by their
 * rough distances (see Ranked), and only the k best are kept, in order.
 */
export function kClosest(candidates: Iterable<string>, key: string, k: number): string[] {
  const keyTop = topOf(key);
  const best: Ranked[] = [];
  for (const id of new Set(candidates)) {
    const r: Ranked = { id, rough: roughDistance(keyTop, id) };
    if (best.length >= k && (k <= 0 || !ranksBefore(r, best[best.length - 1]!, key))) continue;
    let at = best.length;
    while (at > 0 && ranksBefore(r, best[at - 1]!, key)) at--;
    best.splice(at, 0, r);
    if (best.length > k) best.pop();
  }
  return best.map((r) => r.id);
}

export const shortId = (id: string): string => id.slice(0, 8);
