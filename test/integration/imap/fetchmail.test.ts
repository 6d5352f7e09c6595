// Debian's fetchmail on the IMAP server over the memory store, once over plaintext and once after
// STARTTLS (the scenario: clients/fetchmail.ts; on a lab of node processes: lab/imapClients.test.ts).
// Skipped, with the reason printed, when fetchmail is missing.
import { afterEach, describe, it } from 'vitest';
import { startMemoryTarget, type MemoryTarget } from './clientTarget';
import { fetchmailFetchesAndDeletes, fetchmailMissing } from './clients/fetchmail';
import { selfSignedCertificate } from './serverFixture';

if (fetchmailMissing) console.warn(`skipping fetchmail integration test: ${fetchmailMissing}`);

let memory: MemoryTarget | undefined;
afterEach(async () => {
  await memory?.close();
  memory = undefined;
});

describe.skipIf(fetchmailMissing !== undefined)('fetchmail', () => {
  const certificate = fetchmailMissing ? undefined : selfSignedCertificate();
  for (const tls of certificate ? [false, true] : [false]) {
    it(`fetches INBOX into a file and deletes the messages on the server${tls ? ' (after STARTTLS)' : ''}`, async () => {
      memory = await startMemoryTarget(tls && certificate ? { tls: certificate, requireTls: true } : {});
      await fetchmailFetchesAndDeletes(memory.target, tls);
    });
  }
});
