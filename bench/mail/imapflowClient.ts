// imapflow sessions for the phases that measure what a real mail client library does (e2e, imap).
import { ImapFlow } from 'imapflow';
import type { Endpoint, MailUser } from './target';

const IMAP_TIMEOUTS = { connectionTimeout: 30_000, greetingTimeout: 30_000, socketTimeout: 120_000 };
// imapflow turns COMPRESS=DEFLATE on wherever it is offered: ePOST offers it, the reference Dovecot
// (no zlib plugin) does not. Off for both, so the two are measured doing the same work.
const SAME_WIRE = { disableCompression: true };

export async function imapClient(target: { name: string; imap: Endpoint }, user: MailUser, extra: { disableAutoIdle?: boolean } = {}): Promise<ImapFlow> {
  const client = new ImapFlow({ host: target.imap.host, port: target.imap.port, secure: false, auth: { user: user.address, pass: user.password }, logger: false, ...IMAP_TIMEOUTS, ...SAME_WIRE, ...extra });
  client.on('error', () => {}); // a broken connection fails the command in flight, which is reported
  try {
    await client.connect();
  } catch (error) {
    throw new Error(`${target.name}: IMAP login of ${user.address} at ${target.imap.host}:${target.imap.port} failed: ${(error as Error).message}`);
  }
  return client;
}

export async function closeClient(client: ImapFlow): Promise<void> {
  await client.logout().catch(() => client.close());
}
