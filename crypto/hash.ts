// BLAKE2b-256 everywhere an id is derived (node ids, ring ids, block ids, user ids).
import { ID_BYTES } from '../protocol/limits';
import { native, toBuffer } from './sodium';

const inputOf = (p: Uint8Array | string): Buffer => (typeof p === 'string' ? Buffer.from(p, 'utf8') : toBuffer(p));

/**
 * BLAKE2b-256 of the concatenation of parts, optionally keyed. Synchronous: ids are on hot paths (block
 * ids, object ids, version hashes). One native call per hash: the streaming init/update/final with a
 * zeroed state buffer of our own cost about twice as much for a short input (issue 11).
 */
export function blake2b(parts: Uint8Array | string | (Uint8Array | string)[], key?: Uint8Array): Uint8Array {
  const inputs = Array.isArray(parts) ? parts.map(inputOf) : [inputOf(parts)];
  const out = Buffer.alloc(ID_BYTES);
  if (key) native.crypto_generichash_batch(out, inputs, toBuffer(key));
  else native.crypto_generichash_batch(out, inputs);
  return out;
}

export const blake2bHex = (parts: Uint8Array | string | (Uint8Array | string)[], key?: Uint8Array): string =>
  Buffer.from(blake2b(parts, key)).toString('hex');

/** A node's id: BLAKE2b-256 of its Ed25519 signing public key. */
export const nodeIdOf = (signingPublicKey: Uint8Array): string => blake2bHex(signingPublicKey);

/** An organisation's ring id: BLAKE2b-256("ring" || domain). */
export const ringIdOf = (domain: string): string => blake2bHex(['ring', domain.toLowerCase()]);

/** A user's id: BLAKE2b-256("user" || address), address in lower case. */
export const userIdOf = (address: string): string => blake2bHex(['user', address.toLowerCase()]);
