// Debian's isync (mbsync) on the IMAP server over the memory store (the scenario: clients/mbsync.ts;
// on a lab of node processes: lab/imapClients.test.ts). Skipped, with the reason printed, when
// mbsync is missing.
import { afterEach, describe, it } from 'vitest';
import { startMemoryTarget, type MemoryTarget } from './clientTarget';
import { mbsyncMissing, mbsyncRoundTrip } from './clients/mbsync';

if (mbsyncMissing) console.warn(`skipping mbsync integration test: ${mbsyncMissing}`);

let memory: MemoryTarget | undefined;
afterEach(async () => {
  await memory?.close();
  memory = undefined;
});

describe.skipIf(mbsyncMissing !== undefined)('mbsync (isync)', () => {
  it('syncs the server to a Maildir and a new Maildir message back to the server', async () => {
    memory = await startMemoryTarget();
    await mbsyncRoundTrip(memory.target);
  });
});
