// Debian's offlineimap3 with COMPRESS=DEFLATE on the IMAP server over the memory store (the scenario:
// clients/offlineimap.ts; on a lab of node processes: lab/imapClients.test.ts). Skipped, with the
// reason printed, when offlineimap is missing.
import { afterEach, describe, it } from 'vitest';
import { startMemoryTarget, type MemoryTarget } from './clientTarget';
import { offlineimapMissing, offlineimapRoundTrip } from './clients/offlineimap';

if (offlineimapMissing) console.warn(`skipping offlineimap integration test: ${offlineimapMissing}`);

let memory: MemoryTarget | undefined;
afterEach(async () => {
  await memory?.close();
  memory = undefined;
});

describe.skipIf(offlineimapMissing !== undefined)('offlineimap', () => {
  it('syncs every folder to a Maildir over a compressed connection, and local changes back', async () => {
    memory = await startMemoryTarget();
    await offlineimapRoundTrip(memory.target);
  });
});
