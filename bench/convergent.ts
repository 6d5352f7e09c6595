// Convergent encryption throughput against raw libsodium, on the same data in the same run:
//   seal         sealConvergent (key derivation + nonce + AEAD + id hash) into a reused output buffer
//   open         openConvergent (id check + nonce + AEAD open) into a reused output buffer
//   seal fresh   sealConvergent allocating a fresh ciphertext per chunk (the default API)
//   open fresh   openConvergent allocating a fresh plaintext per chunk (what readBlocks does)
//   pipeline     writeBlocks with reuseBuffers (chunking, sealing, manifests; no-op puts)
// each against ConvergentBaseline: the same libsodium calls through sodium-native into buffers
// allocated once, i.e. the cheapest way to do the same primitive work. This machine is shared and
// noisy, so ours and raw alternate every few chunks and each side's time is summed: a load spike hits
// both alike. Figures are medians over rounds. Target: seal ratio >= 0.9.
//   npx tsx bench/convergent.ts [--quick] [--json]
import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { openConvergent, type SealedChunk, sealConvergent } from '../crypto/convergent';
import { ConvergentBaseline } from '../crypto/convergentBaseline';
import { blake2b } from '../crypto/hash';
import { BLOCK_CHUNK_BYTES_MAX, BLOCK_TAG_BYTES } from '../protocol/limits';
import { writeBlocks } from '../storage/blocks';
import { type Bench, percentile, round } from './stats';

const MB = 1e6;
/** Chunks per turn before the other side runs: short enough that load changes hit both sides. */
const GROUP_CHUNKS = 8;

/** `count` pseudo-random 1 MiB chunks as views of one buffer. */
function makeData(count: number): { whole: Buffer; chunks: Buffer[] } {
  const whole = Buffer.allocUnsafe(count * BLOCK_CHUNK_BYTES_MAX);
  const chunks = Array.from({ length: count }, (_, i) => {
    const chunk = whole.subarray(i * BLOCK_CHUNK_BYTES_MAX, (i + 1) * BLOCK_CHUNK_BYTES_MAX);
    createHash('shake256', { outputLength: BLOCK_CHUNK_BYTES_MAX }).update(`chunk ${i}`).digest().copy(chunk);
    return chunk;
  });
  return { whole, chunks };
}

const elapsedMs = async (work: () => unknown): Promise<number> => {
  const t = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - t) / 1e6;
};

/** One round: groups of `ours` and `raw` alternate over the data; MB/s of each side. */
async function pairedRound(
  groups: number,
  groupBytes: (g: number) => number,
  ours: (g: number) => unknown,
  raw: (g: number) => unknown,
): Promise<{ ours: number; raw: number }> {
  let oursMs = 0;
  let rawMs = 0;
  let bytes = 0;
  for (let g = 0; g < groups; g++) {
    // Alternate which side goes first, so neither always inherits the other's cache state.
    if (g % 2 === 0) {
      oursMs += await elapsedMs(() => ours(g));
      rawMs += await elapsedMs(() => raw(g));
    } else {
      rawMs += await elapsedMs(() => raw(g));
      oursMs += await elapsedMs(() => ours(g));
    }
    bytes += groupBytes(g);
  }
  return { ours: bytes / MB / (oursMs / 1000), raw: bytes / MB / (rawMs / 1000) };
}

interface Figures {
  oursMBps: number;
  rawMBps: number;
  ratio: number;
}

async function measure(rounds: number, round1: () => Promise<{ ours: number; raw: number }>): Promise<Figures> {
  await round1(); // warm-up
  const ratios: number[] = [];
  const ours: number[] = [];
  const raw: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const x = await round1();
    ours.push(x.ours);
    raw.push(x.raw);
    ratios.push(x.ours / x.raw);
  }
  return { oursMBps: round(percentile(ours, 50), 1), rawMBps: round(percentile(raw, 50), 1), ratio: round(percentile(ratios, 50), 3) };
}

export async function runConvergentBench(opts: { quick: boolean; log: (line: string) => void }) {
  const { log } = opts;
  const chunkCount = opts.quick ? 64 : 256;
  const rounds = opts.quick ? 3 : 5;
  const secret = blake2b('bench ring convergence secret');
  log(`convergent: ${chunkCount} x 1 MiB chunks (${round((chunkCount * BLOCK_CHUNK_BYTES_MAX) / MB, 1)} MB), ${rounds} rounds, medians, MB/s (10^6 bytes/s)`);
  const { whole, chunks } = makeData(chunkCount);
  const baseline = new ConvergentBaseline(secret);
  const sealed: SealedChunk[] = chunks.map((c) => sealConvergent(secret, c));
  const out = Buffer.allocUnsafe(BLOCK_CHUNK_BYTES_MAX + BLOCK_TAG_BYTES);
  let sink = 0; // every result feeds this, so no work can be optimised away

  const groups = Math.ceil(chunkCount / GROUP_CHUNKS);
  const inGroup = <T>(items: T[], g: number) => items.slice(g * GROUP_CHUNKS, (g + 1) * GROUP_CHUNKS);
  const groupBytes = (g: number) => inGroup(chunks, g).reduce((n, c) => n + c.length, 0);
  const rawSeal = (g: number) => inGroup(chunks, g).forEach((c) => (sink ^= baseline.run(c)));
  const rawOpen = (g: number) => inGroup(sealed, g).forEach((s) => (sink ^= baseline.open(s.key, s.ciphertext)));
  const opened = (s: SealedChunk, into?: Buffer) => {
    const r = openConvergent(s.id, s.key, s.ciphertext, into);
    if (!r.ok) throw new Error(r.message);
    return r.plaintext[0]!;
  };

  const seal = await measure(rounds, () =>
    pairedRound(groups, groupBytes, (g) => inGroup(chunks, g).forEach((c) => (sink ^= sealConvergent(secret, c, out).id[0]!)), rawSeal),
  );
  const open = await measure(rounds, () => pairedRound(groups, groupBytes, (g) => inGroup(sealed, g).forEach((s) => (sink ^= opened(s, out))), rawOpen));
  const sealFresh = await measure(rounds, () =>
    pairedRound(groups, groupBytes, (g) => inGroup(chunks, g).forEach((c) => (sink ^= sealConvergent(secret, c).id[0]!)), rawSeal),
  );
  const openFresh = await measure(rounds, () => pairedRound(groups, groupBytes, (g) => inGroup(sealed, g).forEach((s) => (sink ^= opened(s))), rawOpen));
  // The pipeline over 32-chunk segments (one manifest each), alternating with raw over the same chunks.
  const SEGMENT = 32;
  const segments = Math.ceil(chunkCount / SEGMENT);
  const segmentBytes = (g: number) => Math.min(SEGMENT, chunkCount - g * SEGMENT) * BLOCK_CHUNK_BYTES_MAX;
  const pipeline = await measure(rounds, () =>
    pairedRound(
      segments,
      segmentBytes,
      (g) =>
        writeBlocks(whole.subarray(g * SEGMENT * BLOCK_CHUNK_BYTES_MAX, g * SEGMENT * BLOCK_CHUNK_BYTES_MAX + segmentBytes(g)), {
          convergenceSecret: secret,
          reuseBuffers: true,
          put: async (b) => void (sink ^= b.bytes[0]!),
        }),
      (g) => chunks.slice(g * SEGMENT, (g + 1) * SEGMENT).forEach((c) => (sink ^= baseline.run(c))),
    ),
  );

  const result = { chunkBytes: BLOCK_CHUNK_BYTES_MAX, chunks: chunkCount, rounds, seal, open, sealFresh, openFresh, pipeline, sink: sink & 1 };
  const line = (label: string, f: Figures, note = '') =>
    log(`  ${label.padEnd(11)} ours ${f.oursMBps.toFixed(1).padStart(7)} MB/s   raw libsodium ${f.rawMBps.toFixed(1).padStart(7)} MB/s   ratio ${f.ratio.toFixed(3)}${note}`);
  line('seal', seal, '   (target >= 0.9)');
  line('open', open);
  line('seal fresh', sealFresh, '   (fresh ciphertext per chunk)');
  line('open fresh', openFresh, '   (fresh plaintext per chunk)');
  line('pipeline', pipeline, '   (writeBlocks, reuseBuffers)');
  return result;
}

export const convergentBench: Bench = {
  name: 'convergent',
  summary: 'convergent encryption (seal, open, writeBlocks) vs raw libsodium doing the same primitive work, MB/s',
  run: runConvergentBench,
};

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const json = process.argv.includes('--json');
  const log = json ? (line: string) => console.error(line) : (line: string) => console.log(line);
  const result = await runConvergentBench({ quick: process.argv.includes('--quick'), log });
  if (json) console.log(JSON.stringify(result));
}
