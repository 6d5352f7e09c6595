// What an owner refreshes (DESIGN 3: owners refresh what they still reference; nothing referenced is
// ever collected): the live blocks of its logs and every block of the content its logs reference.
import { openConvergent } from '../crypto/convergent';
import type { StorageApi } from './api';
import { type BlockRef, decodeManifest, layoutOf } from './blocks';

/**
 * Every block id of a piece of content: the root, and for a manifest every block below it; for a
 * message stored by parts (a 'mail' reference), its layout block and every block of every part.
 */
export async function contentBlockIds(storage: StorageApi, ref: BlockRef): Promise<string[]> {
  if (ref.kind === 'chunk') return [ref.id];
  const opened = openConvergent(Buffer.from(ref.id, 'hex'), ref.key, await storage.getBlock(ref.id));
  if (!opened.ok) throw new Error(opened.message);
  const children = ref.kind === 'mail' ? partsOf(ref, opened.plaintext) : manifestEntries(ref, opened.plaintext);
  const ids = [ref.id];
  for (const child of children) ids.push(...(await contentBlockIds(storage, child)));
  return ids;
}

function manifestEntries(ref: BlockRef, plaintext: Uint8Array): readonly BlockRef[] {
  const manifest = decodeManifest(plaintext, ref.id);
  if (!manifest.ok) throw new Error(manifest.message);
  return manifest.value.entries;
}

function partsOf(ref: BlockRef, plaintext: Uint8Array): BlockRef[] {
  const layout = layoutOf(ref, plaintext);
  if (!layout.ok) throw new Error(layout.message);
  return layout.value.segments.flatMap((s) => ('part' in s ? [s.part] : []));
}
