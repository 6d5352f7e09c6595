// Debian's mutt threading a 3,000-message INBOX on the IMAP server over the memory store (the
// scenario: clients/mutt.ts; on a lab of node processes: lab/imapClients.test.ts). Skipped, with the
// reason printed, when mutt or script is missing.
import { afterEach, describe, it } from 'vitest';
import { startMemoryTarget, type MemoryTarget } from './clientTarget';
import { muttMissing, muttThreadsAndArchives } from './clients/mutt';

if (muttMissing) console.warn(`skipping mutt integration test: ${muttMissing}`);

let memory: MemoryTarget | undefined;
afterEach(async () => {
  await memory?.close();
  memory = undefined;
});

const messageCount = 3_000;

describe.skipIf(muttMissing !== undefined)('mutt', () => {
  it(`threads a ${messageCount}-message INBOX, then saves one thread to Archive`, async () => {
    memory = await startMemoryTarget();
    await muttThreadsAndArchives(memory.target, messageCount);
  });
});
