// u64 big-endian fields for the store's own records (expiry, sizes, sequence numbers, counters).
// Values are JavaScript safe integers; keys built with these sort numerically in LMDB.

const TWO_POW_32 = 2 ** 32;

export function writeUint64(out: Buffer, offset: number, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`expected a uint up to 2^53 - 1, got ${value}`);
  out.writeUInt32BE(Math.floor(value / TWO_POW_32), offset);
  out.writeUInt32BE(value % TWO_POW_32, offset + 4);
}

export const readUint64 = (bytes: Buffer, offset: number): number => bytes.readUInt32BE(offset) * TWO_POW_32 + bytes.readUInt32BE(offset + 4);
