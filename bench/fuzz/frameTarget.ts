// Fuzz target: the wire frame decoder (protocol/frame.ts decodeFrame and every registered body codec).
// The corpus is real traffic: a small ring on the deterministic simulator joins, stores a block,
// and has one user send another short messages, and every payload it publishes is kept (a few per
// frame kind). An input is one of them mutated at the msgpack level (a value in the decoded tree
// replaced by one of another type or an extreme of its own, a field dropped or added, the kind
// swapped for another registered one, the version changed, deep nesting), at the byte level (flips,
// truncation, msgpack headers announcing huge lengths), or random bytes.
//
// Documented results: { ok: true, frame } or { ok: false, reason: string }; decodeFrame must never
// throw. Invariants: an accepted body encodes again with its kind's codec, and that encoding decodes
// to a body that encodes to the same bytes (the validation and the encoding agree).
import { Decoder, Encoder } from '@msgpack/msgpack';
import type { SimRandom } from '../../infra/sim/random';
import * as apps from '../../protocol/apps';
import * as control from '../../protocol/control';
import { decodeFrame, type FrameKind } from '../../protocol/frame';
import * as gateway from '../../protocol/gateway';
import * as inspect from '../../protocol/inspect';
import * as notify from '../../protocol/notify';
import * as overlay from '../../protocol/overlay';
import * as storage from '../../protocol/storage';
import { FRAME_BYTES_MAX, PROTOCOL_VERSION } from '../../protocol/limits';
import { SimCluster } from '../../scenarios/sim/cluster';
import { excerpt, FuzzViolation, type FuzzRunner, type FuzzTarget } from './harness';
import { mutateBytes } from './mutate';

/** Captured frames kept per kind: enough variety, a small corpus. */
const CORPUS_PER_KIND = 12;
const INPUT_BYTES_MAX = 64 * 1024;

function isFrameKind(value: unknown): value is FrameKind<unknown> {
  const v = value as Partial<FrameKind<unknown>> | null;
  return typeof v === 'object' && v !== null && typeof v.kind === 'string' && typeof v.encode === 'function' && typeof v.decode === 'function' && typeof v.codec === 'object';
}

/** Every frame kind the protocol modules define, by name. */
export function registeredKinds(): Map<string, FrameKind<unknown>> {
  const kinds = new Map<string, FrameKind<unknown>>();
  for (const module of [apps, control, gateway, inspect, notify, overlay, storage] as Record<string, unknown>[])
    for (const value of Object.values(module)) if (isFrameKind(value)) kinds.set(value.kind, value);
  return kinds;
}

/** Payloads a small simulated ring publishes while it joins, stores and notifies, a few per kind. */
export async function captureFrames(seed: string): Promise<Uint8Array[]> {
  const cluster = await SimCluster.create({ seed: `${seed}/frames` });
  const byKind = new Map<string, Uint8Array[]>();
  const network = cluster.network;
  const send = network.send.bind(network);
  network.send = (from, subject, data, reply, isRequest) => {
    const decoded = decodeFrame(data);
    const kind = decoded.ok ? decoded.frame.kind : '(undecodable)';
    const kept = byKind.get(kind) ?? [];
    if (kept.length < CORPUS_PER_KIND) kept.push(Uint8Array.from(data));
    byKind.set(kind, kept);
    send(from, subject, data, reply, isRequest);
  };
  try {
    await cluster.addNodes(5, 50);
    await cluster.runUntil(() => cluster.allReady(), 60_000);
    const nodes = cluster.live();
    const alice = await cluster.addUser('alice@sim.example', 'a-secret', nodes[0]!);
    await cluster.addUser('bob@sim.example', 'b-secret', nodes[3]!);
    await cluster.settle(alice.store(Buffer.from('a block of fuzz corpus')));
    for (let i = 0; i < 3; i++) await cluster.settle(alice.sendMessage(['bob@sim.example'], `hello ${i}`));
    await cluster.runFor(5_000);
  } finally {
    await cluster.stop();
  }
  return [...byKind.entries()].filter(([kind]) => kind !== '(undecodable)').flatMap(([, frames]) => frames);
}

const encoder = new Encoder({ ignoreUndefined: true });
/** Lenient: the corpus frames are ours; mutations are applied to what this gives. */
const looseDecoder = new Decoder();

const specials = [
  [0x91], [0x93, 0x01], [0xc0], [0xc2], [0xc3], [0xcc, 0xff], [0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], [0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0],
  [0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0], [0xdc, 0xff, 0xff], [0xdd, 0xff, 0xff, 0xff, 0xff], [0xde, 0xff, 0xff], [0xdf, 0x7f, 0xff, 0xff, 0xff],
  [0xc4, 0xff], [0xc6, 0x7f, 0xff, 0xff, 0xff], [0xdb, 0x7f, 0xff, 0xff, 0xff], [0xd9, 0x20], [0xc7, 0x01, 0x05, 0x00], [0xd4, 0xff, 0x00],
  [0x80], [0x90], [0xa0], [0xff], [0xe0],
].map((b) => Uint8Array.from(b));

export const frameFuzzTarget: FuzzTarget = {
  name: 'frame',
  summary: 'wire frame decoder: msgpack, version and kind checks, every body codec',
  async prepare(base: SimRandom): Promise<FuzzRunner> {
    let random = base;
    const kinds = registeredKinds();
    const kindNames = [...kinds.keys()];
    const corpus = await captureFrames(base.seed);
    if (corpus.length === 0) throw new Error('the simulated ring published no frames to start from');
    const trees = corpus.map((bytes) => looseDecoder.decode(bytes));
    let last: Uint8Array = new Uint8Array(0);

    const randomValue = (depth: number): unknown => {
      switch (random.int(depth > 3 ? 9 : 12)) {
        case 0: return null;
        case 1: return random.chance(0.5);
        case 2: return random.pick([0, 1, -1, 255, 256, 2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53 + 2, -(2 ** 53), 1.5, NaN, Infinity, -Infinity, Number.MAX_VALUE]);
        case 3: return random.int(1_000_000);
        case 4: return random.pick(['', 'x', 'ok', 'a'.repeat(5000), '\u0000', '\ud800', '00'.repeat(32), 'ff'.repeat(31), 'é'.repeat(3000), '__proto__', 'constructor']);
        case 5: return random.bytes(random.pick([0, 1, 31, 32, 33, 64, 65, 200]));
        case 6: return random.bytes(random.int(4096));
        case 7: return random.pick(kindNames);
        case 8: return BigInt(random.pick([0, 1, -1])) * 2n ** 64n + 1n;
        case 9: {
          // Long lists hold small values only: an input stays within INPUT_BYTES_MAX-ish sizes.
          const length = random.pick([0, 1, 3, 100, 5000]);
          return Array.from({ length }, () => (length > 3 || depth > 1 ? random.int(300) : randomValue(depth + 1)));
        }
        case 10: {
          const map: Record<string, unknown> = {};
          for (let i = random.int(5); i > 0; i--) map[random.pick(['type', 'kind', 'from', 'id', 'ok', 'code', 'x', 'constructor', 'toString', 'valueOf', 'hasOwnProperty'])] = randomValue(depth + 1);
          return map;
        }
        default: {
          let nested: unknown = random.int(10);
          for (let i = random.int(2000); i > 0; i--) nested = [nested];
          return nested;
        }
      }
    };

    /** Replaces, drops or adds one value somewhere in the tree (mutates `tree`). */
    const mutateTree = (tree: unknown, depth = 0): unknown => {
      if (depth > 0 && random.chance(0.3)) return randomValue(depth);
      if (Array.isArray(tree) && tree.length > 0) {
        const at = random.int(tree.length);
        if (random.chance(0.1)) tree.splice(at, 1);
        else if (random.chance(0.1)) tree.splice(at, 0, randomValue(depth + 1));
        else tree[at] = mutateTree(tree[at], depth + 1);
        return tree;
      }
      if (tree !== null && typeof tree === 'object' && !(tree instanceof Uint8Array)) {
        const record = tree as Record<string, unknown>;
        const keys = Object.keys(record);
        if (keys.length === 0 || random.chance(0.15)) record[random.pick(['extra', 'type', 'from', 'sig', 'constructor'])] = randomValue(depth + 1);
        else {
          const key = random.pick(keys);
          if (random.chance(0.15)) delete record[key];
          else record[key] = mutateTree(record[key], depth + 1);
        }
        return tree;
      }
      if (tree instanceof Uint8Array && tree.length > 0 && random.chance(0.5)) {
        const copy = Uint8Array.from(tree);
        copy[random.int(copy.length)] ^= 1 << random.int(8);
        return random.chance(0.3) ? copy.subarray(0, random.int(copy.length)) : copy;
      }
      return randomValue(depth);
    };

    const structural = (): Uint8Array => {
      const tree = structuredClone(random.pick(trees)) as unknown[];
      switch (random.int(6)) {
        case 0:
          tree[1] = random.pick(kindNames); // another kind's body under this kind
          break;
        case 1:
          tree[0] = random.pick([0, PROTOCOL_VERSION + 1, -1, '1', null, 1.0000001]);
          break;
        case 2:
          tree.push(randomValue(0));
          break;
        default:
          for (let i = 1 + random.int(3); i > 0; i--) mutateTree(tree[2], 1);
      }
      try {
        return encoder.encode(tree);
      } catch {
        // Some generated values (a lone surrogate inside a key, ...) cannot be encoded: send bytes instead.
        return random.bytes(random.int(256));
      }
    };

    const generate = (): Uint8Array => {
      const roll = random.float();
      if (roll < 0.05) return random.bytes(random.int(512));
      if (roll < 0.55) return structural();
      const base = random.pick(corpus);
      return mutateBytes(random, base, { maxBytes: INPUT_BYTES_MAX, specials, donors: corpus });
    };

    return {
      replayable: true,
      run(index, context) {
        random = base.fork(String(index));
        const bytes = generate();
        last = bytes;
        if (bytes.length > FRAME_BYTES_MAX) return context.count('too large');
        const result = decodeFrame(bytes);
        if (!result.ok) {
          if (typeof result.reason !== 'string' || result.reason.length === 0) throw new FuzzViolation('refused without a reason');
          return context.count('refused');
        }
        const kind = kinds.get(result.frame.kind);
        if (!kind) throw new FuzzViolation(`accepted unregistered kind ${result.frame.kind}`);
        const again = kind.encode(result.frame.body);
        const second = kind.decode(again);
        if (!second.ok) throw new FuzzViolation(`${kind.kind}: an accepted body does not decode after encoding: ${second.reason}`);
        if (Buffer.compare(Buffer.from(kind.encode(second.body)), Buffer.from(again)) !== 0) throw new FuzzViolation(`${kind.kind}: decode and encode disagree`);
        context.count(`accepted ${kind.kind}`);
      },
      describeLast: () => excerpt(Buffer.from(last).toString('hex'), 400),
    };
  },
};
