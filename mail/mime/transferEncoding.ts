// Content-Transfer-Encoding decoding, for searching text inside encoded parts.

export function decodeBase64(bytes: Uint8Array): Buffer {
  return Buffer.from(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1'), 'base64');
}

export function decodeQuotedPrintable(bytes: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(bytes.length);
  let length = 0;
  const hex = (b: number): number =>
    b >= 0x30 && b <= 0x39 ? b - 0x30 : b >= 0x41 && b <= 0x46 ? b - 0x37 : b >= 0x61 && b <= 0x66 ? b - 0x57 : -1;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b !== 0x3d) {
      out[length++] = b;
      continue;
    }
    // Soft line break: "=" at end of line.
    if (bytes[i + 1] === 0x0d && bytes[i + 2] === 0x0a) {
      i += 2;
      continue;
    }
    if (bytes[i + 1] === 0x0a) {
      i += 1;
      continue;
    }
    const high = hex(bytes[i + 1] ?? -1);
    const low = hex(bytes[i + 2] ?? -1);
    if (high >= 0 && low >= 0) {
      out[length++] = high * 16 + low;
      i += 2;
    } else out[length++] = b;
  }
  return out.subarray(0, length);
}

export function decodeTransfer(bytes: Uint8Array, encoding: string): Uint8Array {
  const name = encoding.toLowerCase();
  if (name === 'base64') return decodeBase64(bytes);
  if (name === 'quoted-printable') return decodeQuotedPrintable(bytes);
  return bytes;
}
