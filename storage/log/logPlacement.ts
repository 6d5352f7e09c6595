// Placing a log near a node (issue 11): DESIGN 3 keeps every object on the k nodes closest to its id,
// and a log head's id derives from its owner and its name, so a writer that picks the name picks the
// neighbourhood. Pure: ids in, ids out; by the ids' top 48 bits, so that a candidate costs a hash and a
// parse, not a bigint.
import { circleGap, topBitsOf } from '../../protocol/idCircle';

/** The top 48 bits of the id circle: fine enough to place near a node. */
const TOP_BITS = 48;
const TOP = 2 ** TOP_BITS;

/** How far apart two ids are on the circle, either way round, by their top 48 bits. */
const gap48 = (a: string, b: string): number => circleGap(topBitsOf(a, TOP_BITS), topBitsOf(b, TOP_BITS), TOP);

const nearGap = (bits: number): number => {
  if (!(bits >= 1 && bits <= TOP_BITS - 8)) throw new RangeError(`placement bits must be 1..${TOP_BITS - 8}, got ${bits}`);
  return 2 ** (TOP_BITS - bits);
};

/** Is `id` within 2^-bits of the circle from `anchor`, either way round (bits at most 40)? */
export const isNear = (id: string, anchor: string, bits: number): boolean => gap48(id, anchor) < nearGap(bits);

/**
 * The first of `candidate(0)`, `candidate(1)`, ... whose id is within 2^-bits of `anchor` (its k closest
 * nodes are then the anchor's own neighbourhood, whatever the ring's membership); after `triesMax`
 * candidates, the nearest of those tried. Deterministic when `candidate` is.
 */
export function firstNear<T extends { readonly id: string }>(anchor: string, candidate: (i: number) => T, bits: number, triesMax: number): T {
  if (!/^[0-9a-f]{12}/.test(anchor)) throw new RangeError(`cannot place near "${anchor.slice(0, 16)}": not an id (lowercase hex)`);
  const within = nearGap(bits);
  let nearest: { c: T; gap: number } | undefined;
  for (let i = 0; i < triesMax; i++) {
    const c = candidate(i);
    const gap = gap48(c.id, anchor);
    if (gap < within) return c;
    if (!nearest || gap < nearest.gap) nearest = { c, gap };
  }
  if (!nearest) throw new RangeError('no candidate tried');
  return nearest.c;
}
