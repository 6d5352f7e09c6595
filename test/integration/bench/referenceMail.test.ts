// The mail benchmark's reference system: Debian's Postfix delivering to Debian's Dovecot, as a
// private instance on loopback ports. One message submitted with nodemailer (AUTH PLAIN) reaches
// the recipient's INBOX over imapflow; after stop() no process of the instance is left and its ports
// are closed. Skipped (with the reason printed) only when the packages cannot be installed here.
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { describe, expect, it } from 'vitest';
import { processesInGroups, startReferenceMail, type Endpoint } from '../../../bench/reference/mailServer';
import { ensureReferencePackages, referenceUnavailable } from '../../../bench/reference/packages';

const DELIVERY_TIMEOUT_MS = 20_000;

async function unavailableReason(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'Postfix and Dovecot need root to start (they drop privileges themselves)';
  return referenceUnavailable(() => ensureReferencePackages());
}

const skipReason = await unavailableReason();
if (skipReason) console.warn(`skipping the reference mail test: ${skipReason}`);

function accepts(endpoint: Endpoint): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(endpoint.port, endpoint.host);
    socket.setTimeout(1000, () => (socket.destroy(), resolve(false)));
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

describe.skipIf(skipReason !== undefined)('reference mail (Postfix + Dovecot)', () => {
  it('reference mail: a message submitted over SMTP AUTH reaches the recipient over IMAP, and stop() leaves no process', async () => {
    const alice = { address: 'alice@bench.example', password: 'alice-secret' };
    const bob = { address: 'bob@bench.example', password: 'bob-secret' };
    const mail = await startReferenceMail({ users: [alice, bob], readyTimeoutMs: 30_000 });
    let stopped = false;
    try {
      expect(mail.smtp.host).toBe('127.0.0.1');
      expect(mail.imap.host).toBe('127.0.0.1');
      const transport = nodemailer.createTransport({
        host: mail.smtp.host,
        port: mail.smtp.port,
        secure: false,
        ignoreTLS: true,
        authMethod: 'PLAIN',
        auth: { user: alice.address, pass: alice.password },
      });
      const messageId = `<reference-test-${process.pid}@bench.example>`;
      const info = await transport.sendMail({ from: alice.address, to: bob.address, subject: 'reference check', text: 'delivered by Postfix to Dovecot\n', messageId });
      transport.close();
      expect(info.accepted).toEqual([bob.address]);

      const client = new ImapFlow({ host: mail.imap.host, port: mail.imap.port, secure: false, auth: { user: bob.address, pass: bob.password }, logger: false });
      await client.connect();
      try {
        const deadline = Date.now() + DELIVERY_TIMEOUT_MS;
        const inboxCount = async () => {
          const status = await client.status('INBOX', { messages: true });
          return status ? (status.messages ?? 0) : 0;
        };
        while ((await inboxCount()) === 0) {
          if (Date.now() > deadline) throw new Error(`the message was not in bob's INBOX within ${DELIVERY_TIMEOUT_MS} ms; see ${mail.logs.postfix}`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        await client.mailboxOpen('INBOX');
        const [message] = await client.fetchAll('1:*', { envelope: true, source: true });
        expect(message?.envelope?.subject).toBe('reference check');
        expect(message?.envelope?.messageId).toBe(messageId);
        expect(message?.source?.toString()).toContain('delivered by Postfix to Dovecot');
      } finally {
        await client.logout().catch(() => client.close());
      }
      const groups = mail.processGroups;
      expect(processesInGroups(groups).length).toBeGreaterThan(2);
      await mail.stop();
      stopped = true;
      expect(processesInGroups(groups)).toEqual([]);
      expect(await accepts(mail.smtp)).toBe(false);
      expect(await accepts(mail.imap)).toBe(false);
      expect(existsSync(mail.logs.postfix)).toBe(false); // its temporary directory is gone too
    } finally {
      if (!stopped) await mail.stop();
    }
  });
});
