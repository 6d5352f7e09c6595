// Unsigned 64-bit big-endian fields holding JavaScript safe integers (sizes and sequence numbers).
// Values above 2^53 - 1 cannot be held exactly, so reading one is refused (undefined), not rounded.

const TWO_POW_32 = 2 ** 32;
/** 2^53 = 2^21 * 2^32: a high word at or above this makes the value unsafe. */
const HIGH_WORD_SAFE_LIMIT = 2 ** 21;

export function writeUint64(out: Buffer, offset: number, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`expected a uint up to 2^53 - 1, got ${value}`);
  out.writeUInt32BE(Math.floor(value / TWO_POW_32), offset);
  out.writeUInt32BE(value % TWO_POW_32, offset + 4);
}

export function readUint64(bytes: Buffer, offset: number): number | undefined {
  const high = bytes.readUInt32BE(offset);
  if (high >= HIGH_WORD_SAFE_LIMIT) return undefined;
  return high * TWO_POW_32 + bytes.readUInt32BE(offset + 4);
}
