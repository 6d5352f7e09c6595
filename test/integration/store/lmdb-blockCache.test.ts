// The LMDB host block cache passes the block cache contract on a real database in a temp directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LmdbBlockCache } from '../../../infra/store/lmdbBlockCache';
import { blockCacheCompliance } from '../../compliance/blockCache';

blockCacheCompliance(
  'lmdb',
  async (bytesMax) => {
    const dir = mkdtempSync(join(tmpdir(), 'post-block-cache-'));
    let current = LmdbBlockCache.open(dir, { bytesMax });
    return {
      get cache() {
        return current;
      },
      async reopen() {
        await current.close();
        current = LmdbBlockCache.open(dir, { bytesMax });
        return current;
      },
      async cleanup() {
        await current.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  true,
);
