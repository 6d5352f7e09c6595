// What an owner refreshes (DESIGN 3: owners refresh what they still reference; nothing referenced is
// ever collected): the live blocks of its logs and every block of the content its logs reference.
import { openConvergent } from '../crypto/convergent';
import type { StorageApi } from './api';
import { type BlockRef, decodeManifest } from './blocks';

/** Every block id of a piece of content: the root, and for a manifest every block below it. */
export async function contentBlockIds(storage: StorageApi, ref: BlockRef): Promise<string[]> {
  if (ref.kind === 'chunk') return [ref.id];
  const opened = openConvergent(Buffer.from(ref.id, 'hex'), ref.key, await storage.getBlock(ref.id));
  if (!opened.ok) throw new Error(opened.message);
  const manifest = decodeManifest(opened.plaintext, ref.id);
  if (!manifest.ok) throw new Error(manifest.message);
  const ids = [ref.id];
  for (const child of manifest.value.entries) ids.push(...(await contentBlockIds(storage, child)));
  return ids;
}
