// NATS user nkeys (Ed25519 keys in NATS's own encoding): a node, a gateway's global-ring connection and
// the operator each authenticate with one. The seed file is the secret (mode 0600, the NATS tools'
// `.nk` format: the seed on one line); the server's configuration holds only the public key.
import { createUser, fromSeed } from '@nats-io/nkeys';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** Writes a new user seed to `path` (unless one is there already) and returns its public key. */
export function ensureUserNkey(path: string): string {
  if (existsSync(path)) return nkeyPublicKey(path);
  const pair = createUser();
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${new TextDecoder().decode(pair.getSeed())}\n`, { mode: 0o600 });
  return pair.getPublicKey();
}

/** The public key (`U...`) of the seed in `path`. */
export function nkeyPublicKey(path: string): string {
  let seed: string;
  try {
    seed = readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw new Error(`cannot read the NATS key ${path}: ${(error as Error).message}`, { cause: error });
  }
  try {
    return fromSeed(new TextEncoder().encode(seed)).getPublicKey();
  } catch (error) {
    throw new Error(`${path} does not hold a NATS nkey seed (${(error as Error).message})`, { cause: error });
  }
}
