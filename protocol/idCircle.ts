// Ids on the circle of 2^256 by their top bits, as doubles: close enough to rank or place ids without
// bigints. Shared by the overlay (ranking nodes, exactly near a tie: overlay/id.ts) and storage
// (naming a log so that its head lands near a node: storage/log/logPlacement.ts).

/** An id's top `bits` bits (a multiple of 4, at most 52: exact in a double) as a number. */
export const topBitsOf = (id: string, bits: number): number => parseInt(id.slice(0, bits / 4), 16);

/** How far apart two top-bits numbers are on the circle of `ring` (2^bits), either way round. */
export function circleGap(a: number, b: number, ring: number): number {
  const d = a - b < 0 ? a - b + ring : a - b;
  return d > ring / 2 ? ring - d : d;
}
