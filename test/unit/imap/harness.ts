// Transcript harness: one IMAP connection (the real connection actor, session machine, dispatcher
// and memory backend) over an in-memory socket and a manual clock. Tests write client lines such
// as "A1 LOGIN alice secret" and read what the server answered.
import { Duplex } from 'node:stream';
import { ImapConnection } from '../../../actors/mail/imapConnection';
import type { MailAuthenticator } from '../../../mail/backend';
import type { ImapServerSettings } from '../../../mail/imap/capabilities';
import { MessageCache } from '../../../mail/imap/messageCache';
import { MemoryMailStore } from '../../../mail/memory/backend';
import type { ImapSessionLimits } from '../../../machines/imapSession.machine';
import { ManualClock } from './manualClock';
import { memoryLog } from './testLog';

/** The server end of a connection; what the server writes is collected. */
class FakeSocket extends Duplex {
  text = '';
  bytesOut = 0;
  /** What the server wrote, as bytes (the text view garbles compressed output). */
  readonly chunksOut: Buffer[] = [];
  constructor() {
    super({ allowHalfOpen: false });
    this.on('finish', () => this.destroy());
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.text += chunk.toString('utf8');
    this.bytesOut += chunk.length;
    this.chunksOut.push(chunk);
    callback();
  }
  override _read(): void {}
}

export interface Reply {
  /** Everything the server wrote for this command, including the tagged line. */
  readonly text: string;
  readonly lines: readonly string[];
  /** The tagged line, e.g. "A1 OK LOGIN completed". */
  readonly tagged: string;
}

export interface HarnessOptions {
  readonly store?: MemoryMailStore;
  /** Another backend than `store`'s (the log-backed mailbox); appendMessage still goes to `store`. */
  readonly authenticator?: MailAuthenticator;
  readonly settings?: Partial<ImapServerSettings>;
  readonly limits?: Partial<ImapSessionLimits>;
  readonly clock?: ManualClock;
  readonly cache?: MessageCache;
  /**
   * How to wait for output once a few thousand event-loop turns did not bring it: a backend doing real
   * I/O or crypto (the log-backed mailbox, in integration tests) waits `rounds` more times on `idle`.
   * Unit tests leave it out and never wait on the clock.
   */
  readonly patience?: { readonly rounds: number; readonly idle: () => Promise<void> };
}

const settleRoundsMax = 5_000;

export function newStore(): MemoryMailStore {
  const store = new MemoryMailStore({ uidValidityStart: 1000 });
  store.addUser('alice', 'secret');
  store.addUser('bob', 'hunter2');
  return store;
}

export class ImapHarness {
  readonly store: MemoryMailStore;
  readonly clock: ManualClock;
  /** Shared by every session of a server; pass it to a second harness to share it. */
  readonly cache: MessageCache;
  readonly socket = new FakeSocket();
  readonly connection: ImapConnection;
  readonly log = memoryLog();
  private mark = 0;
  private readonly patience: { readonly rounds: number; readonly idle: () => Promise<void> } | undefined;

  constructor(options: HarnessOptions = {}) {
    this.store = options.store ?? newStore();
    this.clock = options.clock ?? new ManualClock();
    this.cache = options.cache ?? new MessageCache();
    this.patience = options.patience;
    this.connection = new ImapConnection({
      socket: this.socket,
      tlsActive: false,
      settings: { serverName: 'ePOST-test', tlsAvailable: false, requireTls: false, appendLimitBytes: 64 * 1024 * 1024, ...options.settings },
      authenticator: options.authenticator ?? this.store.authenticator,
      cache: this.cache,
      clock: this.clock,
      log: this.log,
      // Transcripts send several bad commands on purpose; throttling has its own tests.
      limits: { badCommandsBeforeDelay: 50, badCommandsMax: 100, ...options.limits },
    });
    this.connection.start();
  }

  static async loggedIn(options: HarnessOptions = {}, user = 'alice', password = 'secret'): Promise<ImapHarness> {
    const harness = new ImapHarness(options);
    await harness.command(`L0 LOGIN ${user} ${password}`, /^L0 OK/);
    return harness;
  }

  get output(): string {
    return this.socket.text;
  }

  /** Bytes the server has written so far. */
  get bytesOut(): number {
    return this.socket.bytesOut;
  }

  get closed(): boolean {
    return this.socket.destroyed;
  }

  /** Output written since the last command() or take(). */
  take(): string {
    const text = this.output.slice(this.mark);
    this.mark = this.output.length;
    return text;
  }

  send(data: string | Buffer): void {
    this.socket.emit('data', typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
  }

  /** Lets pending promises and immediates run. */
  async settle(rounds = 20): Promise<void> {
    for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
  }

  /** Waits until the output since the mark matches; throws with the transcript if it never does. */
  async waitFor(pattern: RegExp): Promise<string> {
    const rounds = settleRoundsMax + (this.patience?.rounds ?? 0);
    for (let i = 0; i < rounds; i++) {
      const text = this.output.slice(this.mark);
      if (pattern.test(text)) return text;
      if (this.closed && i > 50) break;
      if (i < settleRoundsMax) await new Promise((resolve) => setImmediate(resolve));
      else await this.patience!.idle();
    }
    throw new Error(`server never wrote ${pattern}; it wrote:\n${this.output.slice(this.mark)}`);
  }

  /** Waits until `check` holds (for outputs too large to match with a regular expression). */
  async waitUntil(check: () => boolean, what: string): Promise<void> {
    for (let i = 0; i < settleRoundsMax; i++) {
      if (check()) return;
      await new Promise((resolve) => setImmediate(resolve));
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  /**
   * Sends one command line (CRLF added) and waits for its tagged reply (or `until`).
   * A line with literals can be passed as several parts joined by the caller.
   */
  async command(line: string | Buffer, until?: RegExp): Promise<Reply> {
    const text = typeof line === 'string' ? line : line.toString('latin1');
    const tag = text.split(' ')[0]!;
    // Output is written at the end of a turn (ImapConnection batches a turn's writes): let what earlier
    // events produced land before marking where this command's output starts.
    await this.settle(1);
    this.mark = this.output.length;
    this.send(typeof line === 'string' ? `${line}\r\n` : Buffer.concat([line, Buffer.from('\r\n')]));
    const pattern = until ?? new RegExp(`(^|\\r\\n)${tag.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} (OK|NO|BAD)[^\\r\\n]*\\r\\n`);
    const reply = await this.waitFor(pattern);
    this.mark = this.output.length;
    const lines = reply.split('\r\n').filter((l) => l.length > 0);
    const tagged = lines.find((l) => l.startsWith(`${tag} `)) ?? lines[lines.length - 1] ?? '';
    return { text: reply, lines, tagged };
  }

  async appendMessage(folder: string, raw: string, flags: readonly string[] = [], internalDateMs = 1_700_000_000_000): Promise<number> {
    const result = await this.store.deliver('alice', folder, raw, flags, internalDateMs);
    return result.uid;
  }

  async close(): Promise<void> {
    if (!this.closed) this.connection.forceClose();
    await this.connection.closed;
  }
}

/** A small RFC 5322 message. */
export function message(options: { from?: string; to?: string; subject?: string; body?: string; date?: string; extraHeaders?: string } = {}): string {
  return [
    `From: ${options.from ?? 'Bob Example <bob@example.org>'}`,
    `To: ${options.to ?? 'alice@example.org'}`,
    `Subject: ${options.subject ?? 'Hello'}`,
    `Date: ${options.date ?? 'Tue, 14 Nov 2023 10:00:00 +0000'}`,
    `Message-ID: <${(options.subject ?? 'hello').replace(/\W/g, '')}@example.org>`,
    ...(options.extraHeaders ? [options.extraHeaders] : []),
    '',
    options.body ?? 'Hello Alice.',
    '',
  ].join('\r\n');
}
