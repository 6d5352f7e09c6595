// A list cut into consecutive pieces of at most `size` items (the last may be shorter): requests
// bounded in how many ids or puts one frame carries, operations bounded in how many UIDs one takes.

export function chunks<T>(items: readonly T[], size: number): T[][] {
  if (!(size >= 1)) throw new RangeError(`chunk size must be at least 1, got ${size}`);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
