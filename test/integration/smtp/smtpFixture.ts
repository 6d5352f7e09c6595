// Shared pieces for the SMTP integration tests: the gateway over the in-memory MailSubmission
// (TCP, 127.0.0.1, port 0), a capturing smarthost (a plain smtp-server), a line-level SMTP
// client with bounded waits, and a self-signed certificate made by openssl in a temp dir.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { startSmtpServer, type SmtpServer, type SmtpServerOptions } from '../../../actors/mail/smtpServer';
import { wallClock } from '../../../infra/clock';
import { MemorySubmission } from '../../../mail/memory/submission';
import { memoryLog } from '../../unit/imap/testLog';

export interface RunningGateway {
  readonly server: SmtpServer;
  readonly submission: MemorySubmission;
  readonly log: ReturnType<typeof memoryLog>;
}

export const users = {
  alice: { address: 'alice@rice.example', password: 'correct horse' },
  bob: { address: 'bob@rice.example', password: 'battery staple' },
  jose: { address: 'josé@rice.example', password: 'olé olé' },
  carol: { address: 'carol@lip6.example', password: 'x' },
} as const;

export function memorySubmission(): MemorySubmission {
  const submission = new MemorySubmission({ localDomains: ['rice.example'], federatedDomains: ['lip6.example'], gatewayIdentity: 'mx@rice.example' });
  submission.addUser(users.alice.address, users.alice.password, { sendAs: ['a.smith@rice.example'] });
  submission.addUser(users.bob.address, users.bob.password);
  submission.addUser(users.jose.address, users.jose.password);
  submission.addUser(users.carol.address, users.carol.password);
  return submission;
}

export async function startGateway(options: Partial<SmtpServerOptions> = {}): Promise<RunningGateway> {
  const submission = memorySubmission();
  const log = memoryLog();
  const server = await startSmtpServer({ submission, clock: wallClock, log, port: 0, serverName: 'node1.rice.example', ...options });
  return { server, submission, log };
}

export interface CapturedMessage {
  readonly mailFrom: string;
  readonly rcptTo: readonly string[];
  readonly raw: Buffer;
  readonly bodyType: string | undefined;
}

export interface Smarthost {
  readonly port: number;
  readonly messages: CapturedMessage[];
  /** Makes the smarthost refuse DATA with this reply (or accept again with undefined). */
  refuseData(reply: { code: number; message: string } | undefined): void;
  close(): Promise<void>;
}

/** A second smtp-server that records what it receives; optionally demands AUTH. */
export async function startSmarthost(options: { auth?: { user: string; pass: string } } = {}): Promise<Smarthost> {
  const messages: CapturedMessage[] = [];
  let refusal: { code: number; message: string } | undefined;
  const server = new SMTPServer({
    logger: false,
    disabledCommands: ['STARTTLS'],
    authOptional: !options.auth,
    allowInsecureAuth: true,
    disableReverseLookup: true,
    onAuth: (auth, _session, cb) =>
      auth.username === options.auth?.user && auth.password === options.auth?.pass ? cb(null, { user: auth.username }) : cb(new Error('bad credentials')),
    onData: (stream, session, cb) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (refusal) return cb(Object.assign(new Error(refusal.message), { responseCode: refusal.code }));
        messages.push({
          mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          rcptTo: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
          bodyType: session.envelope.bodyType,
        });
        cb();
      });
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.server.address() as net.AddressInfo).port;
  return {
    port,
    messages,
    refuseData: (reply) => (refusal = reply),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const connection of server.connections) connection.close();
      }),
  };
}

/** A port nobody listens on (bound, then released). */
export async function deadPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** A self-signed certificate made with openssl in `dir`. */
export function selfSignedCertificate(dir: string): { key: string; cert: string } {
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost'],
    { stdio: 'ignore', timeout: 30_000 },
  );
  return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
}

export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export interface SmtpReplyLines {
  readonly code: number;
  readonly lines: readonly string[];
  /** The last line without its code, e.g. `5.7.1 Relay denied: ...`. */
  readonly text: string;
}

/** A line-level SMTP client: every wait is bounded. */
export class RawSmtpClient {
  private buffer = '';
  private readonly replies: SmtpReplyLines[] = [];
  private waiter: (() => void) | undefined;
  private pendingLines: string[] = [];
  readonly closed: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (data: string) => this.onData(data));
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    void this.closed.then(() => this.waiter?.());
  }

  /** `localAddress`: another loopback address (127.0.0.2, ...) to look like another client. */
  static async connect(port: number, timeoutMs = 5_000, localAddress?: string): Promise<{ client: RawSmtpClient; greeting: SmtpReplyLines }> {
    const socket = net.connect({ port, host: '127.0.0.1', ...(localAddress ? { localAddress } : {}) });
    const client = new RawSmtpClient(socket);
    const greeting = await client.reply(timeoutMs);
    return { client, greeting };
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  async command(line: string, timeoutMs = 5_000): Promise<SmtpReplyLines> {
    this.write(`${line}\r\n`);
    return this.reply(timeoutMs);
  }

  /** The next complete reply; rejects on timeout or when the connection closed first. */
  async reply(timeoutMs = 5_000): Promise<SmtpReplyLines> {
    const started = Date.now();
    while (this.replies.length === 0) {
      if (this.socket.destroyed || this.socket.readableEnded) throw new Error('connection closed while waiting for a reply');
      const left = timeoutMs - (Date.now() - started);
      if (left <= 0) throw new Error(`no reply within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = undefined;
    }
    return this.replies.shift()!;
  }

  /** Resolves true if the server closes the connection within the time. */
  async closesWithin(timeoutMs: number): Promise<boolean> {
    return Promise.race([this.closed.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs))]);
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(data: string): void {
    this.buffer += data;
    let index: number;
    while ((index = this.buffer.indexOf('\r\n')) >= 0) {
      const line = this.buffer.slice(0, index);
      this.buffer = this.buffer.slice(index + 2);
      this.pendingLines.push(line);
      if (/^\d{3} /.test(line) || /^\d{3}$/.test(line)) {
        const lines = this.pendingLines;
        this.pendingLines = [];
        this.replies.push({ code: Number(line.slice(0, 3)), lines, text: line.slice(4) });
      }
    }
    this.waiter?.();
  }
}

/** AUTH PLAIN initial response for a user. */
export function plainToken(user: string, pass: string): string {
  return Buffer.from(`\0${user}\0${pass}`, 'utf8').toString('base64');
}

/** Resolves when `check` holds, polling; rejects after `timeoutMs`. */
export async function eventually(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
