// Fixtures for log tests: an owner (signing keys + log keys) without the cost of a keystore, writer
// dependencies over a given storage, and cheap message inserts.
import { signingKeyPairFromSeed } from '../../../crypto/sign';
import { deriveLogKey } from '../../../crypto/userKeys';
import { SimRandom } from '../../../infra/sim/random';
import type { StorageApi } from '../../../storage/api';
import { encodeBlockRef } from '../../../storage/blocks';
import { insertOp } from '../../../storage/folders/folderLogs';
import type { FolderOp } from '../../../storage/folders/folderOps';
import { HeadMarks } from '../../../storage/log/headMarks';
import type { LogOwner } from '../../../storage/log/logAddress';
import type { LogDeps } from '../../../storage/log/logWriter';
import { decodeBlockRef } from '../../../storage/blocks';

export async function testOwner(seed: number): Promise<LogOwner> {
  const signing = await signingKeyPairFromSeed(new Uint8Array(32).fill(seed));
  const master = new Uint8Array(32).fill(seed + 100);
  return { signing, logKey: (name) => deriveLogKey(master, name) };
}

export function depsFor(storage: StorageApi, owner: LogOwner, seed: string, extra: Partial<LogDeps> = {}): LogDeps {
  return { storage, signing: owner.signing, random: new SimRandom(seed), marks: new HeadMarks(), ...extra };
}

/** A syntactically valid content reference numbered `i` (no content behind it: logs never read it). */
export function refFor(i: number) {
  const r = decodeBlockRef(encodeBlockRef({ id: i.toString(16).padStart(64, '0'), key: new Uint8Array(32).fill(i & 0xff), kind: 'chunk', sizeBytes: 100 + (i % 1000) }));
  if (!r.ok) throw new Error(r.message);
  return r.value;
}

export const insertFor = (i: number, key = `k:${i}`, flags: string[] = []): FolderOp =>
  insertOp({ ref: refFor(i), sizeOctets: 100 + (i % 1000), flags, internalDateMs: 1_700_000_000_000 + i, key });
