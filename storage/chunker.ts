// Fixed-size chunking: data of any size, arriving in pieces of any size, becomes chunks of exactly
// `chunkBytes` (the last one shorter). Boundaries depend only on the byte offset, never on how the
// source happened to be split, which is what makes the same data converge to the same blocks.
// Empty data is one empty chunk, so every piece of data has at least one block.

export type DataSource = Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/**
 * The chunks of `source`, in order. A yielded chunk may be a view of a buffer reused for the next
 * chunk: it is valid until the consumer asks for the next one (the block writer seals it at once).
 * Memory stays at one chunk however large the source.
 */
export async function* chunksOf(source: DataSource, chunkBytes: number): AsyncGenerator<Uint8Array> {
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1) throw new RangeError(`chunk size must be a positive integer, got ${chunkBytes}`);
  if (source instanceof Uint8Array) {
    // A whole buffer: views, no copying.
    if (source.length === 0) yield source;
    for (let at = 0; at < source.length; at += chunkBytes) yield source.subarray(at, Math.min(at + chunkBytes, source.length));
    return;
  }
  const pending = new Uint8Array(chunkBytes);
  let filled = 0;
  let emitted = false;
  for await (const piece of source as AsyncIterable<Uint8Array>) {
    let at = 0;
    while (at < piece.length) {
      if (filled === 0 && piece.length - at >= chunkBytes) {
        // A whole chunk inside this piece: hand out a view instead of copying it.
        yield piece.subarray(at, at + chunkBytes);
        emitted = true;
        at += chunkBytes;
        continue;
      }
      const take = Math.min(chunkBytes - filled, piece.length - at);
      pending.set(piece.subarray(at, at + take), filled);
      filled += take;
      at += take;
      if (filled === chunkBytes) {
        yield pending;
        emitted = true;
        filled = 0;
      }
    }
  }
  if (filled > 0 || !emitted) yield pending.subarray(0, filled);
}
