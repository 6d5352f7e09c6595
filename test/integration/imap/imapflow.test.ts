// imapflow (a real IMAP client library) against the TCP server over the memory backend: a whole
// session, ESEARCH/BINARY/QUOTA over COMPRESS, IDLE and a wrong password (the scenarios:
// clients/imapflow.ts, which lab/imapClients.test.ts runs on a lab of node processes too), then what
// needs control of the server: STARTTLS, COMPRESS=DEFLATE after STARTTLS, and close().
import { ImapFlow } from 'imapflow';
import { afterEach, describe, expect, it } from 'vitest';
import { startMemoryTarget, type MemoryTarget } from './clientTarget';
import { imapflowExtensions, imapflowIdle, imapflowRefusesWrongPassword, imapflowSession } from './clients/imapflow';
import { eventually, selfSignedCertificate, startTestServer, type RunningServer } from './serverFixture';

let running: RunningServer | undefined;
let memory: MemoryTarget | undefined;
let client: ImapFlow | undefined;

afterEach(async () => {
  await client?.logout().catch(() => client?.close());
  client = undefined;
  await running?.server.close();
  running = undefined;
  await memory?.close();
  memory = undefined;
});

function connect(port: number, extra: Partial<ConstructorParameters<typeof ImapFlow>[0]> = {}): ImapFlow {
  return new ImapFlow({
    host: '127.0.0.1',
    port,
    secure: false,
    auth: { user: 'alice@lab.example', pass: 'correct horse' },
    logger: false,
    disableAutoIdle: true,
    ...extra,
  });
}

describe('imapflow', () => {
  it('logs in, lists special folders, appends, fetches, searches, flags, moves and expunges', async () => {
    memory = await startMemoryTarget();
    await imapflowSession(memory.target);
  });

  it('uses ESEARCH, BINARY and QUOTA over COMPRESS=DEFLATE, as the server\'s own replies show', async () => {
    memory = await startMemoryTarget({ quotaBytes: 1024 * 1024 });
    await imapflowExtensions(memory.target);
  });

  it('is told about a new message while IDLE', async () => {
    memory = await startMemoryTarget();
    expect(await imapflowIdle(memory.target)).toBeLessThan(1_000);
  });

  it('refuses a wrong password', async () => {
    memory = await startMemoryTarget({ sessionLimits: { failedLoginDelayMs: 10 } });
    await imapflowRefusesWrongPassword(memory.target);
  });

  it('upgrades with STARTTLS when a certificate is configured, and requires it when told to', async () => {
    const certificate = selfSignedCertificate();
    if (!certificate) {
      console.warn('skipping STARTTLS test: openssl is not available to make a certificate');
      return;
    }
    running = await startTestServer({ tls: certificate, requireTls: true });
    client = connect(running.server.port, { tls: { rejectUnauthorized: false }, doSTARTTLS: true });
    await client.connect();
    expect(client.secureConnection).toBe(true);
    expect((await client.list()).length).toBe(6);
  });

  it('compresses with COMPRESS=DEFLATE, alone and after STARTTLS, and everything still works', async () => {
    const certificate = selfSignedCertificate();
    for (const tls of certificate ? [false, true] : [false]) {
      const commands: string[] = [];
      const observer = { imap: (command: string, status: string) => commands.push(`${command} ${status}`), smtp: () => undefined };
      running = await startTestServer({ observer, ...(tls && certificate ? { tls: certificate, requireTls: true } : {}) });
      const writes: { compress: boolean; secure: boolean }[] = [];
      const trace = (entry: { msg?: string; compress?: boolean; secure?: boolean }): void => {
        if (entry.msg === 'write to socket') writes.push({ compress: entry.compress === true, secure: entry.secure === true });
      };
      const quiet = (): void => undefined;
      client = connect(running.server.port, {
        disableCompression: false,
        logRaw: true,
        logger: { trace, debug: quiet, info: quiet, warn: quiet, error: quiet },
        ...(tls ? { tls: { rejectUnauthorized: false }, doSTARTTLS: true } : {}),
      });
      await client.connect();
      expect(commands).toContain('COMPRESS OK');
      const body = 'Compressible line of text, repeated.\r\n'.repeat(5_000);
      await client.append('INBOX', `From: carol@example.org\r\nSubject: Big\r\n\r\n${body}`);
      const lock = await client.getMailboxLock('INBOX');
      try {
        const fetched = await client.fetchOne('1', { source: true, envelope: true });
        expect(fetched && fetched.envelope?.subject).toBe('Big');
        expect(fetched && fetched.source?.toString()).toContain(body);
        expect(await client.search({ body: 'repeated' })).toEqual([1]);
      } finally {
        lock.release();
      }
      // Every command after COMPRESS went out deflated (and over TLS when it was up).
      const afterCompress = writes.slice(writes.findIndex((w) => w.compress));
      expect(afterCompress.length).toBeGreaterThan(3);
      expect(afterCompress.every((w) => w.compress && w.secure === tls)).toBe(true);
      await client.logout();
      client = undefined;
      await running.server.close();
      running = undefined;
    }
  });

  it('close() says BYE to connected clients and stops accepting', async () => {
    running = await startTestServer();
    client = connect(running.server.port);
    await client.connect();
    let closed = false;
    client.on('close', () => {
      closed = true;
    });
    await running.server.close();
    await eventually(() => closed, 5_000, 'the client to see the connection close');
    const late = connect(running.server.port);
    await expect(late.connect()).rejects.toThrow();
    late.close();
    running = undefined;
    client = undefined;
  });
});
