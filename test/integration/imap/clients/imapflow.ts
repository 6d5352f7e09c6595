// imapflow (a real IMAP client library) against a target: a whole session (list, append, fetch
// envelope, bodyStructure and source, search, flags, MOVE, expunge, create); ESEARCH, BINARY and QUOTA
// over COMPRESS=DEFLATE, each shown in the server's own replies (the raw transcript) and the server's
// count of COMPRESS OK, not only in what imapflow made of them; IDLE; a wrong password refused.
import { ImapFlow } from 'imapflow';
import { expect } from 'vitest';
import { multipartMessage } from '../../../unit/imap/fixtures';
import { eventually } from '../serverFixture';
import type { ClientTarget } from '../clientTarget';

type ImapFlowOptions = ConstructorParameters<typeof ImapFlow>[0];

export function connect(target: ClientTarget, extra: Partial<ImapFlowOptions> = {}): ImapFlow {
  return new ImapFlow({
    host: target.host,
    port: target.port,
    secure: false,
    auth: { user: target.user.address, pass: target.user.password },
    logger: false,
    disableAutoIdle: true,
    ...extra,
  });
}

async function using<T>(client: ImapFlow, body: (client: ImapFlow) => Promise<T>): Promise<T> {
  await client.connect();
  try {
    return await body(client);
  } finally {
    await client.logout().catch(() => client.close());
  }
}

/** Logs in, lists special folders, appends, fetches, searches, flags, moves and expunges; the user must be new. */
export async function imapflowSession(target: ClientTarget): Promise<void> {
  await using(connect(target), async (client) => {
    const folders = await client.list();
    const specialUse = Object.fromEntries(folders.filter((f) => f.specialUse).map((f) => [f.specialUse, f.path]));
    expect(specialUse).toEqual({ '\\Inbox': 'INBOX', '\\Sent': 'Sent', '\\Drafts': 'Drafts', '\\Trash': 'Trash', '\\Junk': 'Junk', '\\Archive': 'Archive' });

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
  expect(await target.errors()).toEqual([]);
}

/**
 * ESEARCH, BINARY and QUOTA after COMPRESS=DEFLATE; the user's INBOX must be empty. What the server
 * sent is read from imapflow's raw trace (after inflating), so a server that fell back to plain
 * SEARCH or BODY[] answers, or never compressed, fails here even where imapflow would cope.
 */
export async function imapflowExtensions(target: ClientTarget): Promise<void> {
  const compressedBefore = await target.commandCount('COMPRESS', 'OK');
  const reads: { text: string; compress: boolean }[] = [];
  const writes: { text: string; compress: boolean }[] = [];
  const trace = (entry: { msg?: string; data?: string; compress?: boolean }): void => {
    const record = { text: Buffer.from(entry.data ?? '', 'base64').toString('latin1'), compress: entry.compress === true };
    if (entry.msg === 'read from socket') reads.push(record);
    if (entry.msg === 'write to socket') writes.push(record);
  };
  const quiet = (): void => undefined;
  const client = connect(target, { disableCompression: false, logRaw: true, logger: { trace, debug: quiet, info: quiet, warn: quiet, error: quiet } });
  await using(client, async () => {
    expect([...client.capabilities.keys()]).toEqual(expect.arrayContaining(['ESEARCH', 'BINARY', 'QUOTA', 'COMPRESS=DEFLATE', 'SORT', 'THREAD=REFERENCES']));
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
    expect(quota).toMatchObject({ path: 'INBOX', ...(target.quotaBytes === undefined ? {} : { storage: { limit: target.quotaBytes } }) });
    expect((quota as { storage: { usage: number } }).storage.usage).toBeGreaterThan(0);
  });
  // The server's side of it: it answered COMPRESS, ESEARCH and BINARY as such.
  expect(await target.commandCount('COMPRESS', 'OK')).toBe(compressedBefore + 1);
  const transcript = reads.map((r) => r.text).join('');
  const uidEsearch = /\r\n\* ESEARCH \(TAG "[^"]+"\) UID ([^\r]*)\r\n/.exec(transcript)?.[1];
  expect(uidEsearch?.split(/ (?=[A-Z])/).sort()).toEqual(['ALL 1:2', 'COUNT 2', 'MAX 2', 'MIN 1']);
  expect(transcript).toMatch(/\r\n\* ESEARCH \(TAG "[^"]+"\) COUNT 1\r\n/);
  expect(transcript).toMatch(/BINARY\[3\] ~?\{4\}\r\n\x00\x01\x02\x03/);
  // Everything after the COMPRESS command went both ways deflated.
  const compressCommand = writes.findIndex((w) => /^\S+ COMPRESS DEFLATE\r\n$/.test(w.text));
  expect(compressCommand).toBeGreaterThan(-1);
  const afterWrites = writes.slice(compressCommand + 1);
  expect(afterWrites.length).toBeGreaterThan(5);
  expect(afterWrites.every((w) => w.compress)).toBe(true);
  expect(reads.filter((r) => r.compress).length).toBeGreaterThan(5);
  expect(await target.errors()).toEqual([]);
}

/** IDLE in INBOX sees a message appended by another session; resolves with the ms it took. The INBOX must be empty. */
export async function imapflowIdle(target: ClientTarget): Promise<number> {
  return using(connect(target), async (client) => {
    await client.mailboxOpen('INBOX');
    const seen: number[] = [];
    client.on('exists', (data: { count: number }) => seen.push(data.count));
    const idle = client.idle();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    await target.fill('INBOX', 1, () => ({ raw: 'From: x@example.org\r\nSubject: pushed\r\n\r\nhi\r\n' }));
    await eventually(() => seen.includes(1), 10_000, 'the EXISTS notification');
    const ms = Date.now() - started;
    await client.noop();
    await idle;
    return ms;
  });
}

/** A wrong password is refused (once: the login throttle leaves one failure alone). */
export async function imapflowRefusesWrongPassword(target: ClientTarget): Promise<void> {
  const bad = connect(target, { auth: { user: target.user.address, pass: `${target.user.password}-wrong` } });
  await expect(bad.connect()).rejects.toThrow();
  bad.close();
}
