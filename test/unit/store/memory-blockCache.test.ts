// The in-memory host block cache passes the block cache contract.
import { MemoryBlockCache } from '../../../infra/store/blockCache';
import { blockCacheCompliance } from '../../compliance/blockCache';

blockCacheCompliance(
  'memory',
  async (bytesMax) => {
    const cache = new MemoryBlockCache(bytesMax);
    return { cache, reopen: async () => cache, cleanup: () => cache.close() };
  },
  false,
);
