// A minimal IMAP client for measuring servers: one TCP socket with TCP_NODELAY, commands written in
// one piece (LITERAL+ when the server offers it, else a synchronising literal and its "+"), and the
// reply of a command is every response unit up to its tagged line. While a command runs, the
// socket's bytes are only cut into units (lines and the literals they announce); nothing is parsed
// until the tagged line has arrived and the command's time is taken, so a large FETCH costs the
// measurement a scan for line ends, not a parse. `parseUnit` turns a unit into values afterwards.
//
//   const c = await RawImapClient.connect({ host, port });
//   expectOk(await c.command(`LOGIN ${quote(user)} ${quote(password)}`), 'LOGIN');
//   const r = await c.command('FETCH 1:* (FLAGS)');      // r.ms: write to tagged line
//   const messages = fetchResponses(r);                   // [{ seq, items: { FLAGS: [...] } }]
import net from 'node:net';
import type { Endpoint } from './target';

/** One response: a line, or a line with literals, each literal following the line part that announced it. */
export interface ResponseUnit {
  /** Line parts: parts[i] ends with `{n}` and literals[i] holds its n bytes; the last part ends the unit. */
  readonly parts: Buffer[];
  readonly literals: Buffer[];
}

export type ImapStatus = 'OK' | 'NO' | 'BAD';

export interface ImapReply {
  readonly tag: string;
  readonly status: ImapStatus;
  /** The response code in brackets, without them (`APPENDUID 1 5`), or ''. */
  readonly code: string;
  readonly text: string;
  /** Untagged responses received since the previous reply (or the connection's start) up to this one. */
  readonly untagged: ResponseUnit[];
  /** Milliseconds from writing the command to receiving its tagged line. */
  readonly ms: number;
}

/** A parsed value: atom or quoted string, literal bytes, NIL, or a parenthesised (or bracketed) list. */
export type ImapValue = string | Buffer | null | ImapValue[];

export class ImapProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImapProtocolError';
  }
}

const CR = 0x0d;
const LF = 0x0a;
const CLOSE_BRACE = 0x7d;
const DEFAULT_TIMEOUT_MS = 120_000;

/** An IMAP quoted string. */
export function quote(text: string): string {
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** Byte length of the literal a line part announces (`... {123}` or `{123+}` before CRLF), or -1. */
function announcedLiteral(line: Buffer, end: number): number {
  // `end` is the index of LF; the part is line[0..end] with CR at end-1.
  let i = end - 2;
  if (i < 0 || line[i] !== CLOSE_BRACE) return -1;
  i--;
  if (line[i] === 0x2b) i--; // '+'
  let digits = 0;
  let value = 0;
  let scale = 1;
  while (i >= 0 && line[i]! >= 0x30 && line[i]! <= 0x39) {
    value += (line[i]! - 0x30) * scale;
    scale *= 10;
    digits++;
    i--;
  }
  if (digits === 0 || i < 0 || line[i] !== 0x7b) return -1; // '{'
  return value;
}

/** Cuts the server's byte stream into response units. */
export class UnitReader {
  private buffer: Buffer = Buffer.alloc(0);
  private parts: Buffer[] = [];
  private literals: Buffer[] = [];
  private literalLeft = -1;

  push(chunk: Buffer, emit: (unit: ResponseUnit) => void): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    let offset = 0;
    for (;;) {
      if (this.literalLeft >= 0) {
        if (this.buffer.length - offset < this.literalLeft) break;
        this.literals.push(this.buffer.subarray(offset, offset + this.literalLeft));
        offset += this.literalLeft;
        this.literalLeft = -1;
        continue;
      }
      const lf = this.buffer.indexOf(LF, offset);
      if (lf < 0) break;
      const part = this.buffer.subarray(offset, lf + 1);
      offset = lf + 1;
      this.parts.push(part);
      const literal = announcedLiteral(part, part.length - 1);
      if (literal >= 0) {
        this.literalLeft = literal;
        continue;
      }
      emit({ parts: this.parts, literals: this.literals });
      this.parts = [];
      this.literals = [];
    }
    // Keep only the unread rest; the units emitted hold subarrays of the old buffer.
    this.buffer = offset === this.buffer.length ? Buffer.alloc(0) : Buffer.from(this.buffer.subarray(offset));
  }
}

/** The first line part of a unit as text, without CRLF. */
export function unitLine(unit: ResponseUnit): string {
  const first = unit.parts[0]!;
  return first.toString('latin1', 0, first.length - (first[first.length - 2] === CR ? 2 : 1));
}

interface Pending {
  readonly tag: string;
  readonly startMs: number;
  readonly untagged: ResponseUnit[];
  resolve(reply: ImapReply): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export class RawImapClient {
  private readonly reader = new UnitReader();
  private readonly pending: Pending[] = [];
  /** Literal data waiting for the server's "+", in order, with the tag of its command. */
  private continuations: { tag: string; write: () => void }[] = [];
  /** Untagged responses with no command running: handed to the next reply. */
  private unsolicited: ResponseUnit[] = [];
  private tagCounter = 0;
  private failure: Error | undefined;
  private greetingWaiter: { resolve(line: string): void; reject(e: Error): void } | undefined;
  capabilities = new Set<string>();

  private constructor(
    private readonly socket: net.Socket,
    readonly endpoint: Endpoint,
    private readonly timeoutMs: number,
  ) {
    socket.on('data', (chunk: Buffer) => this.reader.push(chunk, (unit) => this.onUnit(unit)));
    socket.on('error', (error) => this.fail(new ImapProtocolError(`IMAP connection to ${endpoint.host}:${endpoint.port}: ${error.message}`)));
    socket.on('close', () => this.fail(new ImapProtocolError(`IMAP connection to ${endpoint.host}:${endpoint.port} closed`)));
  }

  /** Connects and reads the greeting (which must be `* OK`). */
  static async connect(endpoint: Endpoint, opts: { timeoutMs?: number } = {}): Promise<RawImapClient> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const socket = net.connect({ host: endpoint.host, port: endpoint.port, noDelay: true });
    socket.setNoDelay(true);
    const client = new RawImapClient(socket, endpoint, timeoutMs);
    const greeting = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new ImapProtocolError(`no IMAP greeting from ${endpoint.host}:${endpoint.port} within ${timeoutMs} ms`)), timeoutMs);
      client.greetingWaiter = {
        resolve: (line) => (clearTimeout(timer), resolve(line)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      };
    }).catch((error: Error) => {
      socket.destroy();
      throw error;
    });
    if (!greeting.startsWith('* OK')) {
      socket.destroy();
      throw new ImapProtocolError(`IMAP greeting from ${endpoint.host}:${endpoint.port} is not OK: ${greeting.slice(0, 200)}`);
    }
    client.learnCapabilities(greeting);
    return client;
  }

  /** Reads `[CAPABILITY ...]` from a greeting or a tagged OK (servers send it after LOGIN). */
  private learnCapabilities(line: string): void {
    const match = /\[CAPABILITY ([^\]]*)\]/i.exec(line);
    if (match) this.capabilities = new Set(match[1]!.toUpperCase().split(/\s+/));
  }

  get literalPlus(): boolean {
    return this.capabilities.has('LITERAL+');
  }

  private onUnit(unit: ResponseUnit): void {
    const first = unit.parts[0]!;
    if (this.greetingWaiter) {
      const waiter = this.greetingWaiter;
      this.greetingWaiter = undefined;
      waiter.resolve(unitLine(unit));
      return;
    }
    if (first[0] === 0x2a /* '*' */) {
      const current = this.pending[0];
      if (current) current.untagged.push(unit);
      else this.unsolicited.push(unit);
      return;
    }
    if (first[0] === 0x2b /* '+' */) {
      const next = this.continuations.shift();
      if (next) next.write();
      else this.fail(new ImapProtocolError(`unexpected continuation from ${this.endpoint.host}:${this.endpoint.port}`));
      return;
    }
    const line = unitLine(unit);
    const space = line.indexOf(' ');
    const tag = line.slice(0, space);
    const index = this.pending.findIndex((p) => p.tag === tag);
    if (index < 0) return this.fail(new ImapProtocolError(`reply with unknown tag: ${line.slice(0, 200)}`));
    const [done] = this.pending.splice(index, 1) as [Pending];
    this.continuations = this.continuations.filter((c) => c.tag !== tag); // refused before all its literals went
    const ms = performance.now() - done.startMs;
    clearTimeout(done.timer);
    const match = /^(\S+) (OK|NO|BAD)(?: \[([^\]]*)\])? ?(.*)$/i.exec(line);
    if (!match) return done.reject(new ImapProtocolError(`malformed tagged reply: ${line.slice(0, 200)}`));
    const status = match[2]!.toUpperCase() as ImapStatus;
    if (status === 'OK') this.learnCapabilities(line);
    done.resolve({ tag, status, code: match[3] ?? '', text: match[4] ?? '', untagged: done.untagged, ms });
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.greetingWaiter?.reject(error);
    this.greetingWaiter = undefined;
    for (const p of this.pending.splice(0)) {
      clearTimeout(p.timer);
      p.reject(error);
    }
    this.socket.destroy();
  }

  /**
   * Sends one command (without its tag; a literal, when given, goes last) and resolves with its
   * reply. Commands may be pipelined: call again before the previous one is answered.
   */
  command(text: string, literal?: Buffer): Promise<ImapReply> {
    return this.commandWithLiterals(literal ? [text, literal, ''] : [text]);
  }

  /**
   * A command with any number of literals: text, literal, text, literal, ..., text (MULTIAPPEND).
   * With LITERAL+ it goes out in one write; otherwise each literal waits for the server's "+".
   */
  commandWithLiterals(parts: readonly (string | Buffer)[]): Promise<ImapReply> {
    if (this.failure) return Promise.reject(this.failure);
    const tag = `b${(++this.tagCounter).toString(36)}`;
    const untagged = this.unsolicited;
    this.unsolicited = [];
    const first = String(parts[0]);
    return new Promise<ImapReply>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new ImapProtocolError(`${first.slice(0, 40)}: no reply from ${this.endpoint.host}:${this.endpoint.port} within ${this.timeoutMs} ms`)), this.timeoutMs);
      const startMs = performance.now();
      this.pending.push({ tag, startMs, untagged, resolve, reject, timer });
      // Pieces to write: each ends where a synchronising literal must wait for "+".
      const pieces: Buffer[][] = [[Buffer.from(`${tag} `, 'latin1')]];
      for (let i = 0; i < parts.length; i++) {
        const part = parts[i]!;
        if (typeof part === 'string') {
          const next = parts[i + 1];
          const marker = Buffer.isBuffer(next) ? `${part ? ' ' : ''}{${next.length}${this.literalPlus ? '+' : ''}}` : '';
          pieces.at(-1)!.push(Buffer.from(`${part}${marker}\r\n`, 'latin1')); // text parts alternate with literals: each ends a line
          if (Buffer.isBuffer(next) && !this.literalPlus) pieces.push([]);
        } else {
          pieces.at(-1)!.push(part);
        }
      }
      this.socket.write(Buffer.concat(pieces[0]!));
      for (const piece of pieces.slice(1)) this.continuations.push({ tag, write: () => this.socket.write(Buffer.concat(piece)) });
    });
  }

  /** Closes the socket without a word (after the server's BYE). */
  destroy(): void {
    this.fail(new ImapProtocolError('closed'));
  }

  /** LOGOUT if the connection is up; the socket is closed either way. */
  async close(): Promise<void> {
    if (!this.failure) await this.command('LOGOUT').catch(() => undefined);
    this.failure ??= new ImapProtocolError('closed');
    this.socket.destroy();
  }
}

/** Throws unless the reply is OK, naming the command and the server's words. */
export function expectOk(reply: ImapReply, what: string): ImapReply {
  if (reply.status !== 'OK') throw new ImapProtocolError(`${what}: ${reply.status}${reply.code ? ` [${reply.code}]` : ''} ${reply.text}`.slice(0, 300));
  return reply;
}

// ---------------------------------------------------------------------------------------------
// Parsing, after the fact.

class ValueParser {
  private pos = 0;
  private part = 0;
  private text: string;

  constructor(private readonly unit: ResponseUnit) {
    this.text = unit.parts[0]!.toString('latin1');
  }

  /** Every value of the unit, in order (the leading `*` or tag is the first). */
  all(): ImapValue[] {
    const values: ImapValue[] = [];
    for (;;) {
      this.skipSpaces();
      if (this.atEnd()) return values;
      values.push(this.value());
    }
  }

  private atEnd(): boolean {
    return this.pos >= this.text.length || this.text[this.pos] === '\r' || this.text[this.pos] === '\n';
  }

  private skipSpaces(): void {
    while (this.text[this.pos] === ' ') this.pos++;
  }

  private value(): ImapValue {
    const c = this.text[this.pos];
    if (c === '(' || c === '[') {
      const close = c === '(' ? ')' : ']';
      this.pos++;
      const items: ImapValue[] = [];
      for (;;) {
        this.skipSpaces();
        if (this.text[this.pos] === close) {
          this.pos++;
          return items;
        }
        if (this.atEnd()) throw new ImapProtocolError(`unclosed list in ${this.text.slice(0, 120)}`);
        items.push(this.value());
      }
    }
    if (c === '"') {
      let out = '';
      this.pos++;
      for (;;) {
        const ch = this.text[this.pos++];
        if (ch === undefined) throw new ImapProtocolError('unterminated quoted string');
        if (ch === '"') return out;
        out += ch === '\\' ? this.text[this.pos++] : ch;
      }
    }
    if (c === '{') {
      const close = this.text.indexOf('}', this.pos);
      const literal = this.unit.literals[this.part];
      if (close < 0 || !literal) throw new ImapProtocolError(`literal without data in ${this.text.slice(0, 120)}`);
      this.part++;
      this.text = this.unit.parts[this.part]!.toString('latin1');
      this.pos = 0;
      return literal;
    }
    // An atom; `BODY[...]` and `BODY[]<0>` keep their section (and partial) as part of the atom.
    const start = this.pos;
    while (this.pos < this.text.length) {
      const ch = this.text[this.pos]!;
      if (ch === ' ' || ch === '(' || ch === ')' || ch === '\r' || ch === '\n' || ch === ']') break;
      if (ch === '[') {
        const end = this.text.indexOf(']', this.pos);
        this.pos = end < 0 ? this.text.length : end + 1;
        continue;
      }
      this.pos++;
    }
    if (this.pos === start) throw new ImapProtocolError(`unexpected '${this.text[this.pos]}' in ${this.text.slice(0, 120)}`);
    const atom = this.text.slice(start, this.pos);
    return atom === 'NIL' ? null : atom;
  }
}

/** The values of one response unit, e.g. ['*', '3', 'FETCH', ['UID', '7', 'FLAGS', ['\\Seen']]]. */
export function parseUnit(unit: ResponseUnit): ImapValue[] {
  return new ValueParser(unit).all();
}

export interface FetchResponse {
  readonly seq: number;
  /** Item names upper-cased: UID, FLAGS, ENVELOPE, BODY[], RFC822.SIZE, ... */
  readonly items: Record<string, ImapValue>;
}

/** Checks that a FETCH 1:* answered `count` messages, in order, each with the items named. */
export function checkFetchAll(reply: ImapReply, count: number, items: readonly string[], what: string): void {
  expectOk(reply, what);
  const fetched = fetchResponses(reply.untagged);
  if (fetched.length !== count) throw new ImapProtocolError(`${what}: ${fetched.length} messages returned, expected ${count}`);
  fetched.forEach((f, i) => {
    if (f.seq !== i + 1) throw new ImapProtocolError(`${what}: message ${i + 1} came as sequence number ${f.seq}`);
    for (const item of items) if (!(item in f.items)) throw new ImapProtocolError(`${what}: message ${f.seq} has no ${item}`);
  });
}

/** Untagged `* n KEYWORD` responses (EXISTS, EXPUNGE, RECENT) with their numbers, in order. */
export function numberedResponses(units: readonly ResponseUnit[], keyword: string): number[] {
  const found: number[] = [];
  const pattern = new RegExp(`^\\* (\\d+) ${keyword}\\b`, 'i');
  for (const unit of units) {
    const match = pattern.exec(unitLine(unit));
    if (match) found.push(Number(match[1]));
  }
  return found;
}

/** `* n FETCH (...)` responses of a reply, parsed. */
export function fetchResponses(units: readonly ResponseUnit[]): FetchResponse[] {
  const found: FetchResponse[] = [];
  for (const unit of units) {
    const first = unit.parts[0]!;
    // "* 123 FETCH (": test cheaply before parsing.
    const head = first.toString('latin1', 0, Math.min(first.length, 24));
    if (!/^\* \d+ FETCH /i.test(head)) continue;
    const values = parseUnit(unit);
    const list = values[3];
    if (!Array.isArray(list)) throw new ImapProtocolError(`FETCH response without a list: ${unitLine(unit).slice(0, 120)}`);
    const items: Record<string, ImapValue> = {};
    for (let i = 0; i + 1 < list.length; i += 2) items[String(list[i]).toUpperCase()] = list[i + 1]!;
    found.push({ seq: Number(values[1]), items });
  }
  return found;
}

/** The untagged responses starting with `* KEYWORD` (CAPABILITY, LIST, STATUS, SEARCH, FLAGS, OK, BYE), parsed. */
export function untaggedNamed(units: readonly ResponseUnit[], keyword: string): ImapValue[][] {
  const prefix = `* ${keyword.toUpperCase()}`;
  const found: ImapValue[][] = [];
  for (const unit of units) {
    const line = unitLine(unit);
    if (line.toUpperCase().startsWith(prefix) && (line.length === prefix.length || line[prefix.length] === ' ')) found.push(parseUnit(unit));
  }
  return found;
}

/** A response code's number (`UIDVALIDITY 5` in `* OK [UIDVALIDITY 5] ...`) among untagged OKs, or undefined. */
export function untaggedCode(units: readonly ResponseUnit[], code: string): number | undefined {
  const pattern = new RegExp(`^\\* OK \\[${code} (\\d+)\\]`, 'i');
  for (const unit of units) {
    const match = pattern.exec(unitLine(unit));
    if (match) return Number(match[1]);
  }
  return undefined;
}

/** UIDs of `* SEARCH n n n` responses. */
export function searchResults(units: readonly ResponseUnit[]): number[] {
  return untaggedNamed(units, 'SEARCH').flatMap((values) => values.slice(2).map(Number));
}

/** Flags of a FETCH's FLAGS item as a sorted list, \Recent left out (it belongs to the session, not the message). */
export function flagsOf(value: ImapValue | undefined): string[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value
    .map(String)
    .filter((f) => f.toLowerCase() !== '\\recent')
    .sort();
}
