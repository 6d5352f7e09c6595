// Mutations shared by the fuzz targets: byte-level (flips, inserts of protocol-special bytes,
// deletions, duplications, splices from other inputs, truncation) and token-level (replace, insert,
// delete or duplicate whitespace-separated tokens from a grammar's dictionary). Seeded: the same
// random stream gives the same mutations.
import type { SimRandom } from '../../infra/sim/random';

export interface ByteMutationOptions {
  /** The result is cut to this many bytes. */
  readonly maxBytes: number;
  /** Byte strings that mean something to the grammar (CRLF, brackets, length headers, ...). */
  readonly specials: readonly Uint8Array[];
  /** Other inputs to splice pieces from. */
  readonly donors?: readonly Uint8Array[];
}

export function mutateBytes(random: SimRandom, input: Uint8Array, options: ByteMutationOptions): Buffer {
  let data = Buffer.from(input);
  const rounds = 1 + random.int(4);
  for (let round = 0; round < rounds; round++) {
    const at = random.int(data.length + 1);
    switch (random.int(9)) {
      case 0: // flip a bit
        if (data.length > 0) data[Math.min(at, data.length - 1)]! ^= 1 << random.int(8);
        break;
      case 1: // any byte
        if (data.length > 0) data[Math.min(at, data.length - 1)] = random.int(256);
        break;
      case 2: // insert a special
        data = Buffer.concat([data.subarray(0, at), random.pick(options.specials), data.subarray(at)]);
        break;
      case 3: // insert random bytes
        data = Buffer.concat([data.subarray(0, at), random.bytes(1 + random.int(16)), data.subarray(at)]);
        break;
      case 4: // delete a range
        data = Buffer.concat([data.subarray(0, at), data.subarray(Math.min(data.length, at + 1 + random.int(16)))]);
        break;
      case 5: {
        // duplicate a range, possibly many times
        const end = Math.min(data.length, at + 1 + random.int(32));
        const piece = data.subarray(at, end);
        const times = random.chance(0.1) ? 1 + random.int(200) : 1 + random.int(3);
        data = Buffer.concat([data.subarray(0, end), ...Array<Buffer>(times).fill(piece), data.subarray(end)]);
        break;
      }
      case 6: // truncate
        data = data.subarray(0, at);
        break;
      case 7: {
        // splice a piece of another input
        const donor = options.donors && options.donors.length > 0 ? random.pick(options.donors) : input;
        const from = random.int(donor.length + 1);
        data = Buffer.concat([data.subarray(0, at), donor.subarray(from, from + random.int(64)), data.subarray(at)]);
        break;
      }
      case 8: // replace a special with another
        data = Buffer.concat([data.subarray(0, at), random.pick(options.specials), data.subarray(Math.min(data.length, at + 1 + random.int(4)))]);
        break;
    }
    if (data.length > options.maxBytes) data = data.subarray(0, options.maxBytes);
  }
  return data;
}

/** Token-level mutation of one text line (tokens split at single spaces). */
export function mutateTokens(random: SimRandom, line: string, dictionary: readonly string[]): string {
  const tokens = line.split(' ');
  const rounds = 1 + random.int(3);
  for (let round = 0; round < rounds; round++) {
    const at = random.int(tokens.length);
    switch (random.int(6)) {
      case 0:
        tokens[at] = random.pick(dictionary);
        break;
      case 1:
        tokens.splice(at, 0, random.pick(dictionary));
        break;
      case 2:
        if (tokens.length > 1) tokens.splice(at, 1);
        break;
      case 3:
        tokens.splice(at, 0, tokens[at]!);
        break;
      case 4: // glue two tokens
        if (at + 1 < tokens.length) tokens.splice(at, 2, `${tokens[at]}${tokens[at + 1]}`);
        break;
      case 5: {
        // a number made extreme
        const extreme = random.pick(['0', '1', '4294967295', '4294967296', '9007199254740993', '99999999999999999999', '-1']);
        tokens[at] = tokens[at]!.replace(/\d+/, extreme);
        break;
      }
    }
  }
  return tokens.join(' ');
}

/** Cuts bytes into 1..maxChunks pieces at random places (how a socket delivers them). */
export function chunked(random: SimRandom, data: Uint8Array, maxChunks: number): Buffer[] {
  const count = 1 + random.int(maxChunks);
  const cuts = Array.from({ length: count - 1 }, () => random.int(data.length + 1)).sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const cut of [...cuts, data.length]) {
    chunks.push(Buffer.from(data.subarray(from, cut)));
    from = cut;
  }
  return chunks;
}

export const bytesOf = (text: string): Uint8Array => Buffer.from(text, 'latin1');
