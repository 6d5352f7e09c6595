// A minimal SMTP submission client for measuring servers: one TCP socket with TCP_NODELAY, EHLO,
// AUTH PLAIN, then MAIL / RCPT / DATA per message (no pipelining, as most clients), each reply read
// to its last line. Cheaper per message than nodemailer, so the clients cost little CPU next to
// the server they measure.
//
//   const s = await RawSmtpSession.open(endpoint, user);
//   await s.send(from, to, raw);      // resolves at the 250 after the data
//   await s.quit();
import net from 'node:net';
import type { Endpoint, MailUser } from './target';

const DEFAULT_TIMEOUT_MS = 120_000;

export class SmtpError extends Error {
  constructor(
    message: string,
    /** The reply code, 0 when the connection failed. */
    readonly code: number,
  ) {
    super(message);
    this.name = 'SmtpError';
  }
}

interface Waiter {
  resolve(reply: { code: number; text: string }): void;
  reject(error: Error): void;
}

export class RawSmtpSession {
  private buffered = '';
  private lines: string[] = [];
  private readonly waiters: Waiter[] = [];
  private failure: Error | undefined;

  private constructor(
    private readonly socket: net.Socket,
    private readonly endpoint: Endpoint,
    private readonly timeoutMs: number,
  ) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', (error) => this.fail(new SmtpError(`SMTP connection to ${endpoint.host}:${endpoint.port}: ${error.message}`, 0)));
    socket.on('close', () => this.fail(new SmtpError(`SMTP connection to ${endpoint.host}:${endpoint.port} closed`, 0)));
  }

  /** Connects, reads the 220 greeting, EHLO, AUTH PLAIN. */
  static async open(endpoint: Endpoint, user: MailUser, opts: { timeoutMs?: number } = {}): Promise<RawSmtpSession> {
    const socket = net.connect({ host: endpoint.host, port: endpoint.port, noDelay: true });
    socket.setNoDelay(true);
    const session = new RawSmtpSession(socket, endpoint, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    try {
      await session.expect(session.reply(), 220, 'greeting');
      await session.expect(session.command('EHLO bench.localhost'), 250, 'EHLO');
      const plain = Buffer.from(`\0${user.address}\0${user.password}`).toString('base64');
      await session.expect(session.command(`AUTH PLAIN ${plain}`), 235, `AUTH of ${user.address}`);
    } catch (error) {
      socket.destroy();
      throw error;
    }
    return session;
  }

  private onData(chunk: string): void {
    this.buffered += chunk;
    for (;;) {
      const lf = this.buffered.indexOf('\n');
      if (lf < 0) return;
      const line = this.buffered.slice(0, lf).replace(/\r$/, '');
      this.buffered = this.buffered.slice(lf + 1);
      this.lines.push(line);
      // "250-..." continues, "250 ..." (or a bare code) ends the reply.
      if (line.length <= 3 || line[3] === ' ') {
        const reply = { code: Number(line.slice(0, 3)), text: this.lines.join('\n') };
        this.lines = [];
        const waiter = this.waiters.shift();
        if (waiter) waiter.resolve(reply);
        else this.fail(new SmtpError(`unexpected SMTP reply: ${line.slice(0, 200)}`, reply.code));
      }
    }
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
    this.socket.destroy();
  }

  private reply(): Promise<{ code: number; text: string }> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new SmtpError(`no SMTP reply from ${this.endpoint.host}:${this.endpoint.port} within ${this.timeoutMs} ms`, 0)), this.timeoutMs);
      this.waiters.push({ resolve: (r) => (clearTimeout(timer), resolve(r)), reject: (e) => (clearTimeout(timer), reject(e)) });
    });
  }

  private command(line: string | Buffer): Promise<{ code: number; text: string }> {
    const reply = this.reply();
    this.socket.write(typeof line === 'string' ? `${line}\r\n` : line);
    return reply;
  }

  private async expect(reply: Promise<{ code: number; text: string }>, code: number, what: string): Promise<void> {
    const r = await reply;
    if (r.code !== code) throw new SmtpError(`${what}: ${r.text.slice(0, 300)}`, r.code);
  }

  /** Submits one message; resolves when the server has accepted it (the 250 after the data). */
  async send(from: string, to: string, raw: Buffer): Promise<void> {
    await this.expect(this.command(`MAIL FROM:<${from}>`), 250, 'MAIL FROM');
    await this.expect(this.command(`RCPT TO:<${to}>`), 250, `RCPT TO ${to}`);
    await this.expect(this.command('DATA'), 354, 'DATA');
    await this.expect(this.command(Buffer.concat([dotStuffed(raw), Buffer.from('.\r\n')])), 250, 'message data');
  }

  /** QUIT and close. */
  async quit(): Promise<void> {
    if (!this.failure) await this.command('QUIT').catch(() => undefined);
    this.failure ??= new SmtpError('closed', 0);
    this.socket.destroy();
  }
}

/** The message with lines starting with '.' doubled (RFC 5321 4.5.2), ending in CRLF. */
function dotStuffed(raw: Buffer): Buffer {
  let text = raw.toString('latin1');
  if (text.startsWith('.') || text.includes('\n.')) text = text.replace(/^\./, '..').replace(/\n\./g, '\n..');
  if (!text.endsWith('\r\n')) text += '\r\n';
  return Buffer.from(text, 'latin1');
}
