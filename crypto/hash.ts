// BLAKE2b-256 everywhere an id is derived (node ids, ring ids, block ids, user ids).
import { ID_BYTES } from '../protocol/limits';
import { native, toBuffer } from './sodium';

/** BLAKE2b-256 of the concatenation of parts, optionally keyed. Synchronous: ids are on hot paths. */
export function blake2b(parts: Uint8Array | string | (Uint8Array | string)[], key?: Uint8Array): Uint8Array {
  const list = Array.isArray(parts) ? parts : [parts];
  const out = Buffer.alloc(ID_BYTES);
  const state = Buffer.alloc(native.crypto_generichash_STATEBYTES);
  native.crypto_generichash_init(state, key ? toBuffer(key) : null, ID_BYTES);
  for (const p of list) native.crypto_generichash_update(state, typeof p === 'string' ? Buffer.from(p, 'utf8') : toBuffer(p));
  native.crypto_generichash_final(state, out);
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
