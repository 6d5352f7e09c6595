// The LMDB adapter passes the LocalStore contract on a real database in a temp directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LmdbStore } from '../../../infra/store/lmdb';
import { storeCompliance } from '../../compliance/store';

storeCompliance('lmdb', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'post-lmdb-'));
  let current = LmdbStore.open(dir);
  return {
    get store() {
      return current;
    },
    async reopen() {
      await current.close();
      current = LmdbStore.open(dir);
      return current;
    },
    async cleanup() {
      await current.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
