// Snapshots: the materialised state of a log at an entry boundary, encoded by the model, split into
// pieces of at most LOG_BLOCK_PLAINTEXT_BYTES_MAX and each sealed with the log key. A piece's associated
// data names the log, the snapshot's position (op count) and the piece's index and count, so pieces
// can be neither reordered nor mixed between snapshots. The head lists the pieces' ids (hashes), so
// the signed head authenticates the whole snapshot.
import { blockIdOf } from '../../crypto/convergent';
import { sealWithKey } from '../../crypto/secretbox';
import type { Random } from '../../infra/ports';
import { logError } from '../../protocol/errors';
import { LOG_BLOCK_PLAINTEXT_BYTES_MAX, LOG_SNAPSHOT_BLOCKS_IN_FLIGHT_MAX, LOG_SNAPSHOT_BLOCKS_MAX } from '../../protocol/limits';
import type { PutOptions, StorageApi } from '../api';
import type { LogAddress } from './logAddress';
import { fetchLogBlock } from './logBlocks';
import { snapshotAd, type SnapshotRef } from './logFormat';

/** Run `task` for 0..count-1 with at most `window` in flight; results in order. */
export async function windowed<T>(count: number, window: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      results[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, count) }, worker));
  return results;
}

export async function writeSnapshot(args: {
  storage: StorageApi;
  address: LogAddress;
  stateBytes: Uint8Array;
  position: { opCount: number; entryCount: number; lastEntry: string | null };
  random: Random;
  putOptions?: PutOptions;
}): Promise<SnapshotRef> {
  const { storage, address, stateBytes, position, random } = args;
  const count = Math.max(1, Math.ceil(stateBytes.length / LOG_BLOCK_PLAINTEXT_BYTES_MAX));
  if (count > LOG_SNAPSHOT_BLOCKS_MAX) {
    throw logError('LOG_TOO_LARGE', address.name, `the state of log ${address.name} (${stateBytes.length} bytes) needs more than ${LOG_SNAPSHOT_BLOCKS_MAX} snapshot blocks`);
  }
  const blocks = await windowed(count, LOG_SNAPSHOT_BLOCKS_IN_FLIGHT_MAX, async (i) => {
    const piece = stateBytes.subarray(i * LOG_BLOCK_PLAINTEXT_BYTES_MAX, (i + 1) * LOG_BLOCK_PLAINTEXT_BYTES_MAX);
    const sealed = sealWithKey(address.key, piece, random, snapshotAd(address, position.opCount, i, count));
    const id = blockIdOf(sealed).toString('hex');
    const stored = await storage.putBlock(sealed, args.putOptions);
    if (stored !== id) throw new Error(`storage stored snapshot block ${id} as ${stored}`);
    return id;
  });
  return { blocks, opCount: position.opCount, entryCount: position.entryCount, lastEntry: position.lastEntry, bytes: stateBytes.length };
}

/** The snapshot's encoded state, every piece verified. */
export async function readSnapshot(storage: StorageApi, address: LogAddress, ref: SnapshotRef): Promise<Buffer> {
  const count = ref.blocks.length;
  const pieces = await windowed(count, LOG_SNAPSHOT_BLOCKS_IN_FLIGHT_MAX, (i) =>
    fetchLogBlock(storage, address, ref.blocks[i]!, `snapshot piece ${i + 1}/${count}`, snapshotAd(address, ref.opCount, i, count)),
  );
  const state = Buffer.concat(pieces);
  if (state.length !== ref.bytes) throw logError('LOG_CORRUPT', address.name, `snapshot of log ${address.name} holds ${state.length} bytes, its head says ${ref.bytes}`);
  return state;
}
