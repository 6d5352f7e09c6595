// imapflow (a real IMAP client library) against the TCP server over the memory backend: login,
// list, append, fetch (envelope, bodyStructure, source), search, flags, IDLE, MOVE, expunge,
// STARTTLS, and COMPRESS=DEFLATE (on its own and after STARTTLS).
import { ImapFlow } from 'imapflow';
import { afterEach, describe, expect, it } from 'vitest';
import { multipartMessage } from '../../unit/imap/fixtures';
import { eventually, selfSignedCertificate, startTestServer, type RunningServer } from './serverFixture';

let running: RunningServer | undefined;
let client: ImapFlow | undefined;

afterEach(async () => {
  await client?.logout().catch(() => client?.close());
  client = undefined;
  await running?.server.close();
  running = undefined;
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
    running = await startTestServer();
    client = connect(running.server.port);
    await client.connect();

    const folders = await client.list();
    const specialUse = Object.fromEntries(folders.filter((f) => f.specialUse).map((f) => [f.specialUse, f.path]));
    expect(specialUse).toEqual({ '\\Inbox': 'INBOX', '\\Sent': 'Sent', '\\Drafts': 'Drafts', '\\Trash': 'Trash', '\\Junk': 'Junk', '\\Archive': 'Archive' });
    expect(folders.map((f) => f.path)).toContain('INBOX');

    const appended = await client.append('INBOX', multipartMessage, ['\\Seen'], new Date('2023-11-15T07:30:00Z'));
    expect(appended).toMatchObject({ destination: 'INBOX', uid: 1 });
    await client.append('INBOX', 'From: carol@example.org\r\nSubject: Second\r\n\r\nPlain body\r\n');

    const lock = await client.getMailboxLock('INBOX');
    try {
      const message = await client.fetchOne('1', { envelope: true, bodyStructure: true, source: true, flags: true, internalDate: true, uid: true });
      if (!message) throw new Error('message 1 missing');
      expect(message.envelope?.subject).toBe('Rapport final and more');
      expect(message.envelope?.from?.[0]).toMatchObject({ name: 'André', address: 'andre@example.org' });
      expect(message.envelope?.to?.map((a) => a.address)).toEqual(expect.arrayContaining(['alice@example.org', 'bob@example.org', 'carol@example.org']));
      expect(message.bodyStructure?.type).toBe('multipart/mixed');
      expect(message.bodyStructure?.childNodes?.map((c) => c.type)).toEqual(['multipart/alternative', 'message/rfc822', 'application/octet-stream']);
      expect(message.bodyStructure?.childNodes?.[2]?.dispositionParameters).toMatchObject({ filename: 'data.bin' });
      expect(message.source?.toString()).toBe(multipartMessage);
      expect(message.flags?.has('\\Seen')).toBe(true);
      expect(new Date(message.internalDate!).toISOString()).toBe('2023-11-15T07:30:00.000Z');

      const { content } = await client.download('1', '1.1');
      const chunks: Buffer[] = [];
      for await (const chunk of content!) chunks.push(chunk as Buffer);
      expect(Buffer.concat(chunks).toString()).toBe('Café plain with searchable zebra');

      expect(await client.search({ seen: false })).toEqual([2]);
      expect(await client.search({ body: 'zebra' })).toEqual([1]);
      expect(await client.search({ from: 'carol' }, { uid: true })).toEqual([2]);

      await client.messageFlagsAdd('2', ['\\Flagged', '$Important']);
      const flagged = await client.fetchOne('2', { flags: true });
      expect(flagged && [...(flagged.flags ?? [])].filter((f) => f !== '\\Recent').sort()).toEqual(['$Important', '\\Flagged']);
      await client.messageFlagsRemove('2', ['$Important']);

      const moved = await client.messageMove('1', 'Archive');
      expect(moved && moved.uidMap?.get(1)).toBe(1);
      expect(client.mailbox && client.mailbox.exists).toBe(1);

      await client.messageDelete('1');
      expect(client.mailbox && client.mailbox.exists).toBe(0);
    } finally {
      lock.release();
    }
    const status = await client.status('Archive', { messages: true, uidNext: true, unseen: true });
    expect(status).toMatchObject({ messages: 1, uidNext: 2, unseen: 0 });
    await client.mailboxCreate(['Projects', 'Été']);
    expect((await client.list()).map((f) => f.path)).toContain('Projects/Été');
  });

  it('uses ESEARCH, BINARY and QUOTA when the server advertises them', async () => {
    running = await startTestServer();
    running.store.addUser('quota@lab.example', 'pw', { quotaBytes: 1024 * 1024 });
    client = connect(running.server.port, { auth: { user: 'quota@lab.example', pass: 'pw' } });
    await client.connect();
    expect([...client.capabilities.keys()]).toEqual(expect.arrayContaining(['ESEARCH', 'BINARY', 'QUOTA', 'SORT', 'THREAD=REFERENCES']));
    await client.append('INBOX', multipartMessage);
    await client.append('INBOX', 'From: carol@example.org\r\nSubject: Second\r\n\r\nPlain body\r\n', ['\\Flagged']);
    const lock = await client.getMailboxLock('INBOX');
    try {
      const esearch = await client.search({ all: true }, { uid: true, returnOptions: ['MIN', 'MAX', 'COUNT', 'ALL'] });
      expect(esearch).toMatchObject({ min: 1, max: 2, count: 2, all: '1:2' });
      expect(await client.search({ flagged: true }, { returnOptions: ['COUNT'] })).toMatchObject({ count: 1 });
      // BINARY: the server undoes base64 and quoted-printable.
      const fetched = await client.fetchOne('1', { bodyParts: ['3', '1.1'] }, { binary: true });
      if (!fetched) throw new Error('message 1 missing');
      expect([...fetched.bodyParts!.get('3')!]).toEqual([0, 1, 2, 3]);
      expect(fetched.bodyParts!.get('1.1')!.toString('utf8')).toBe('Café plain with searchable zebra');
      const { content } = await client.download('1', '3', { binary: true });
      const chunks: Buffer[] = [];
      for await (const chunk of content!) chunks.push(chunk as Buffer);
      expect([...Buffer.concat(chunks)]).toEqual([0, 1, 2, 3]);
    } finally {
      lock.release();
    }
    const quota = await client.getQuota('INBOX');
    expect(quota).toMatchObject({ path: 'INBOX', storage: { limit: 1024 * 1024 } });
    expect((quota as { storage: { usage: number } }).storage.usage).toBeGreaterThan(0);
  });

  it('is told about a new message while IDLE', async () => {
    running = await startTestServer();
    client = connect(running.server.port);
    await client.connect();
    await client.mailboxOpen('INBOX');
    const seen: number[] = [];
    client.on('exists', (data: { count: number }) => seen.push(data.count));
    const idle = client.idle();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    await running.store.deliver('alice@lab.example', 'INBOX', 'From: x@example.org\r\nSubject: pushed\r\n\r\nhi\r\n');
    await eventually(() => seen.includes(1), 5_000, 'the EXISTS notification');
    expect(Date.now() - started).toBeLessThan(1_000);
    await client.noop();
    await idle;
  });

  it('refuses a wrong password', async () => {
    running = await startTestServer({ sessionLimits: { failedLoginDelayMs: 10 } });
    const bad = connect(running.server.port, { auth: { user: 'alice@lab.example', pass: 'wrong' } });
    await expect(bad.connect()).rejects.toThrow();
    bad.close();
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
