// Fetching a log's sealed blocks (entries, snapshot pieces) and verifying them on the way: the bytes
// must hash to the id the head names (the storage port verifies too; a reader trusts no port), and
// open under the log key with the associated data of their place. A block that fails is LOG_CORRUPT,
// naming the block and the log; a block no replica has stays BLOCK_MISSING (an availability problem).
import { matchesBlockId } from '../../crypto/convergent';
import { openWithKey } from '../../crypto/secretbox';
import { ErrorCodes, logError, PostError } from '../../protocol/errors';
import type { StorageApi } from '../api';
import type { LogAddress } from './logAddress';

export async function fetchLogBlock(storage: StorageApi, address: LogAddress, id: string, what: string, associatedData: Uint8Array): Promise<Buffer> {
  const where = `${what} ${id.slice(0, 16)} of log ${address.name}`;
  let bytes: Uint8Array;
  try {
    bytes = await storage.getBlock(id);
  } catch (e) {
    if (e instanceof PostError && e.code === ErrorCodes.BLOCK_CORRUPT) throw logError('LOG_CORRUPT', address.name, `${where} is corrupt on every replica: ${e.message}`);
    throw e;
  }
  if (!matchesBlockId(Buffer.from(id, 'hex'), bytes)) throw logError('LOG_CORRUPT', address.name, `${where} does not hash to its id: refused`);
  const plain = openWithKey(address.key, bytes, associatedData);
  if (!plain) throw logError('LOG_CORRUPT', address.name, `${where} does not open under the log key (altered, or not this log's block)`);
  return plain;
}
