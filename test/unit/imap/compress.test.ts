// COMPRESS=DEFLATE (RFC 4978) transcripts: the OK in clear, then raw DEFLATE both ways with a sync
// flush per reply, refusals that leave the connection in plaintext, pipelining across the switch,
// a second session's changes arriving compressed, and corrupt input closing the connection.
import zlib from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { ImapHarness, message } from './harness';

/** The client's end of a compressed connection: deflates what it sends, inflates what the server wrote. */
class DeflateClient {
  private readonly deflate = zlib.createDeflateRaw();
  private readonly inflate = zlib.createInflateRaw();
  private chunksRead: number;
  private mark = 0;
  text = '';
  inflateError: Error | undefined;

  constructor(
    private readonly harness: ImapHarness,
    /** Index of the first server chunk after the COMPRESS OK. */
    firstChunk: number,
  ) {
    this.chunksRead = firstChunk;
    this.inflate.on('data', (data: Buffer) => (this.text += data.toString('utf8')));
    this.inflate.on('error', (error) => (this.inflateError = error));
  }

  /** Client bytes compressed and flushed, as they would go on the wire. */
  async compress(text: string): Promise<Buffer> {
    const out: Buffer[] = [];
    const collect = (data: Buffer): number => out.push(data);
    this.deflate.on('data', collect);
    this.deflate.write(Buffer.from(text, 'utf8'));
    await new Promise<void>((resolve) => this.deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve()));
    this.deflate.off('data', collect);
    return Buffer.concat(out);
  }

  /** Inflates everything the server wrote since the last pull. */
  async pull(): Promise<void> {
    const chunks = this.harness.socket.chunksOut;
    for (; this.chunksRead < chunks.length; this.chunksRead++) this.inflate.write(chunks[this.chunksRead]!);
    await new Promise<void>((resolve) => this.inflate.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve()));
  }

  async waitFor(pattern: RegExp): Promise<string> {
    for (let i = 0; i < 2_000; i++) {
      await this.pull();
      const text = this.text.slice(this.mark);
      if (pattern.test(text)) {
        this.mark = this.text.length;
        return text;
      }
      await this.harness.settle(1);
    }
    throw new Error(`server never wrote ${pattern} compressed; it wrote:\n${this.text.slice(this.mark)}`);
  }

  async command(line: string): Promise<string> {
    const tag = line.split(' ')[0]!;
    this.harness.send(await this.compress(`${line}\r\n`));
    return this.waitFor(new RegExp(`(^|\\r\\n)${tag} (OK|NO|BAD)[^\\r\\n]*\\r\\n`));
  }
}

async function startCompression(h: ImapHarness, tag = 'Z1'): Promise<DeflateClient> {
  const reply = await h.command(`${tag} COMPRESS DEFLATE`);
  expect(reply.tagged).toBe(`${tag} OK DEFLATE active`);
  return new DeflateClient(h, h.socket.chunksOut.length);
}

let harnesses: ImapHarness[] = [];
afterEach(async () => {
  for (const h of harnesses) await h.close();
  harnesses = [];
});

async function loggedIn(options: Parameters<typeof ImapHarness.loggedIn>[0] = {}): Promise<ImapHarness> {
  const h = await ImapHarness.loggedIn(options);
  harnesses.push(h);
  return h;
}

describe('COMPRESS=DEFLATE (RFC 4978)', () => {
  it('is advertised, answers OK in clear, then both directions are deflated', async () => {
    const h = await loggedIn();
    expect((await h.command('C0 CAPABILITY')).text).toMatch(/ COMPRESS=DEFLATE( |\r\n)/);
    const z = await startCompression(h);
    // What follows the OK on the wire is not readable text: it is deflate output.
    expect(await z.command('C2 NOOP')).toBe('C2 OK NOOP completed\r\n');
    expect(h.output.slice(h.output.indexOf('Z1 OK'))).not.toContain('C2 OK');
    const select = await z.command('C3 SELECT INBOX');
    expect(select).toMatch(/\* 0 EXISTS\r\n/);
    expect(select).toMatch(/C3 OK \[READ-WRITE\]/);
    expect(await z.command('C4 LOGOUT')).toMatch(/\* BYE[^\r]*\r\nC4 OK/);
  });

  it('refuses a second COMPRESS with NO [COMPRESSIONACTIVE], compressed', async () => {
    const h = await loggedIn();
    const z = await startCompression(h);
    expect(await z.command('C2 COMPRESS DEFLATE')).toBe('C2 NO [COMPRESSIONACTIVE] DEFLATE compression is already active on this connection\r\n');
    expect(await z.command('C3 NOOP')).toBe('C3 OK NOOP completed\r\n');
  });

  it('stays in plaintext after a refused COMPRESS, including commands pipelined behind it', async () => {
    const h = new ImapHarness();
    harnesses.push(h);
    expect((await h.command('C1 COMPRESS DEFLATE')).tagged).toBe('C1 BAD COMPRESS needs you to log in first');
    await h.command('L1 LOGIN alice secret', /L1 OK/);
    expect((await h.command('C2 COMPRESS GZIP')).tagged).toBe('C2 BAD COMPRESS GZIP is not supported; use COMPRESS DEFLATE');
    expect((await h.command('C3 COMPRESS')).tagged).toMatch(/^C3 BAD /);
    h.send('C4 COMPRESS LZ4\r\nC5 NOOP\r\n');
    const text = await h.waitFor(/C5 OK[^\r]*\r\n/);
    expect(text).toContain('C4 BAD COMPRESS LZ4 is not supported');
    expect(text).toContain('C5 OK NOOP completed');
  });

  it('reads deflate data pipelined in the same packet as the COMPRESS command', async () => {
    const h = await loggedIn();
    const deflate = zlib.createDeflateRaw();
    const compressed: Buffer[] = [];
    deflate.on('data', (data: Buffer) => compressed.push(data));
    deflate.write('C2 NOOP\r\nC3 LIST "" INBOX\r\n');
    await new Promise<void>((resolve) => deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve()));
    h.send(Buffer.concat([Buffer.from('C1 COMPRESS DEFLATE\r\n'), ...compressed]));
    await h.waitFor(/C1 OK DEFLATE active\r\n/);
    const okEnd = h.output.indexOf('C1 OK DEFLATE active\r\n') + 'C1 OK DEFLATE active\r\n'.length;
    // The server's reply to C1 is the last plaintext; find the chunk it ended in.
    let bytes = 0;
    let first = 0;
    for (; first < h.socket.chunksOut.length && bytes < Buffer.byteLength(h.output.slice(0, okEnd)); first++) bytes += h.socket.chunksOut[first]!.length;
    const z = new DeflateClient(h, first);
    const text = await z.waitFor(/C3 OK[^\r]*\r\n/);
    expect(text).toMatch(/^C2 OK NOOP completed\r\n\* LIST \([^)]*\) "\/" "?INBOX"?\r\nC3 OK LIST completed\r\n$/);
  });

  it('works in the selected state, and another session\'s changes arrive compressed', async () => {
    const h = await loggedIn();
    await h.appendMessage('INBOX', message({ subject: 'one' }));
    expect((await h.command('S1 SELECT INBOX')).text).toMatch(/\* 1 EXISTS/);
    const z = await startCompression(h);
    const other = await loggedIn({ store: h.store, cache: h.cache });
    await other.command('O1 SELECT INBOX');
    await other.command('O2 STORE 1 +FLAGS (\\Flagged)');
    await h.appendMessage('INBOX', message({ subject: 'two' }));
    const noop = await z.command('C2 NOOP');
    expect(noop).toMatch(/\* 2 EXISTS\r\n/);
    expect(noop).toMatch(/\* 1 FETCH \(UID 1 FLAGS \(\\Flagged[^)]*\)\)\r\n/);
    const fetched = await z.command('C3 FETCH 2 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])');
    expect(fetched).toMatch(/Subject: two/);
  });

  it('sends a large FETCH in fewer bytes than its text', async () => {
    const h = await loggedIn();
    const body = 'All work and no play makes Jack a dull boy.\r\n'.repeat(2_000);
    await h.appendMessage('INBOX', message({ subject: 'long', body }));
    await h.command('S1 SELECT INBOX');
    const z = await startCompression(h);
    const before = h.bytesOut;
    const fetched = await z.command('C2 FETCH 1 BODY.PEEK[TEXT]');
    expect(fetched).toContain(body);
    expect(h.bytesOut - before).toBeLessThan(fetched.length / 10);
  });

  it('IDLE and DONE work over the compressed stream', async () => {
    const h = await loggedIn();
    await h.command('S1 SELECT INBOX');
    const z = await startCompression(h);
    h.send(await z.compress('I1 IDLE\r\n'));
    await z.waitFor(/\+ idling\r\n/);
    await h.appendMessage('INBOX', message({ subject: 'while idle' }));
    await z.waitFor(/\* 1 EXISTS\r\n/);
    h.send(await z.compress('DONE\r\n'));
    expect(await z.waitFor(/I1 OK[^\r]*\r\n/)).toMatch(/I1 OK IDLE terminated/);
  });

  it('closes the connection when the client sends data that is not deflate', async () => {
    const h = await loggedIn();
    await startCompression(h);
    h.send(Buffer.from('C2 NOOP this is not deflate data\r\n'));
    await h.waitUntil(() => h.closed, 'the connection to close');
  });
});
