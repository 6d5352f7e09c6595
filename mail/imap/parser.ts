// Turns client bytes into IMAP commands: the framer cuts frames (literals included), the tokenizer
// here turns one frame into tag, command name and argument tokens. Syntax errors are values
// (ImapSyntaxError), answered with BAD; nothing a client sends throws anything else.
import { isUtf8 } from 'node:buffer';
import { CommandFramer, type CommandFrame, type FramerEvent, type FramerLimits } from './framer';
import { imapLimits } from './limits';

export type ImapToken =
  | {
      readonly kind: 'atom';
      readonly value: string;
      /** BODY[...] / BODY.PEEK[...]: the tokens between the brackets. */
      readonly section?: readonly ImapToken[];
      /** <offset.length> after a section. */
      readonly partial?: { readonly offset: number; readonly length?: number };
      /** The atom's bytes are not UTF-8 (`value` has U+FFFD in their place): names refuse it. */
      readonly invalidUtf8?: true;
    }
  | { readonly kind: 'string'; readonly value: Buffer; readonly literal: boolean; readonly literal8: boolean }
  | { readonly kind: 'list'; readonly items: readonly ImapToken[] };

export interface ParsedCommand {
  readonly tag: string;
  /** Upper-case command name; UID commands are "UID FETCH" etc. */
  readonly name: string;
  readonly args: readonly ImapToken[];
}

export class ImapSyntaxError extends Error {
  constructor(
    readonly tag: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'ImapSyntaxError';
  }
}

const sp = 0x20;
const sectionAtoms = new Set(['BODY', 'BODY.PEEK', 'BINARY', 'BINARY.PEEK', 'BINARY.SIZE']);
// atom-specials minus the ones IMAP lets through in flags, patterns and sequence sets.
const atomStop = new Set([0x20, 0x28, 0x29, 0x7b, 0x22, 0x0d, 0x0a]);

class FrameCursor {
  private lineIndex = 0;
  private pos = 0;
  constructor(
    private readonly frame: CommandFrame,
    private readonly tag: string | undefined,
  ) {}

  fail(message: string): never {
    throw new ImapSyntaxError(this.tag, message);
  }

  private get line(): Buffer {
    return this.frame.lines[this.lineIndex]!;
  }

  atEnd(): boolean {
    return this.pos >= this.line.length && this.lineIndex >= this.frame.lines.length - 1;
  }

  peek(): number {
    return this.pos < this.line.length ? this.line[this.pos]! : -1;
  }

  skipSpaces(): number {
    let count = 0;
    while (this.peek() === sp) {
      this.pos++;
      count++;
    }
    return count;
  }

  readToken(depth: number, insideSection: boolean): ImapToken {
    const ch = this.peek();
    if (ch === 0x28) return this.readList(depth + 1, insideSection);
    if (ch === 0x22) return this.readQuoted();
    if (ch === 0x7b || (ch === 0x7e && this.line[this.pos + 1] === 0x7b)) return this.readLiteral();
    if (ch < 0) this.fail('missing argument');
    return this.readAtom(depth, insideSection);
  }

  private readList(depth: number, insideSection: boolean): ImapToken {
    if (depth > imapLimits.listNestingDepthMax) this.fail('lists nested too deeply');
    this.pos++; // (
    const items: ImapToken[] = [];
    for (;;) {
      this.skipSpaces();
      const ch = this.peek();
      if (ch === 0x29) {
        this.pos++;
        return { kind: 'list', items };
      }
      if (ch < 0 && this.atEnd()) this.fail('unterminated list: missing ")"');
      items.push(this.readToken(depth, insideSection));
    }
  }

  private readQuoted(): ImapToken {
    this.pos++; // "
    const bytes: number[] = [];
    const line = this.line;
    while (this.pos < line.length) {
      const ch = line[this.pos++]!;
      if (ch === 0x22) return { kind: 'string', value: Buffer.from(bytes), literal: false, literal8: false };
      if (ch === 0x5c) {
        const next = line[this.pos++];
        if (next !== 0x22 && next !== 0x5c) this.fail('quoted string may escape only \\ and "');
        bytes.push(next);
        continue;
      }
      if (ch === 0) this.fail('quoted string contains a NUL byte');
      bytes.push(ch);
    }
    return this.fail('unterminated quoted string');
  }

  private readLiteral(): ImapToken {
    const rest = this.line.subarray(this.pos).toString('latin1');
    const match = /^(~?)\{(\d{1,20})\+?\}$/.exec(rest);
    if (!match) this.fail('literal marker must end the line');
    const literal = this.frame.literals[this.lineIndex];
    if (!literal || literal.length !== Number(match[2])) this.fail('literal data missing');
    this.lineIndex++;
    this.pos = 0;
    return { kind: 'string', value: literal, literal: true, literal8: match[1] === '~' };
  }

  private readAtom(depth: number, insideSection: boolean): ImapToken {
    const line = this.line;
    const start = this.pos;
    while (this.pos < line.length) {
      const ch = line[this.pos]!;
      if (atomStop.has(ch) || ch < 0x20 || ch === 0x7f) break;
      if (insideSection && ch === 0x5d) break; // ]
      if (ch === 0x5b) {
        const name = line.subarray(start, this.pos).toString('latin1').toUpperCase();
        if (sectionAtoms.has(name)) return this.readSectionAtom(name, depth);
      }
      this.pos++;
    }
    if (this.pos === start) this.fail(`unexpected character "${String.fromCharCode(line[start] ?? 0x3f)}"`);
    const bytes = line.subarray(start, this.pos);
    return { kind: 'atom', value: bytes.toString('utf8'), ...(isUtf8(bytes) ? {} : { invalidUtf8: true as const }) };
  }

  private readSectionAtom(name: string, depth: number): ImapToken {
    this.pos++; // [
    const section: ImapToken[] = [];
    for (;;) {
      this.skipSpaces();
      const ch = this.peek();
      if (ch === 0x5d) {
        this.pos++;
        break;
      }
      if (ch < 0) this.fail('unterminated section: missing "]"');
      section.push(this.readToken(depth, true));
    }
    if (this.peek() !== 0x3c) return { kind: 'atom', value: name, section };
    const rest = this.line.subarray(this.pos).toString('latin1');
    const match = /^<(\d{1,10})(?:\.(\d{1,10}))?>/.exec(rest);
    if (!match) this.fail('malformed partial range: expected <offset> or <offset.length>');
    this.pos += match[0].length;
    const offset = Number(match[1]);
    const partial = match[2] === undefined ? { offset } : { offset, length: Number(match[2]) };
    return { kind: 'atom', value: name, section, partial };
  }
}

function readWord(cursor: FrameCursor, what: string, tag: string | undefined): string {
  const token = cursor.readToken(0, false);
  if (token.kind !== 'atom' || token.section) throw new ImapSyntaxError(tag, `${what} must be an atom`);
  return token.value;
}

/** Parses one frame into a command. Throws ImapSyntaxError (with the tag when one was readable). */
export function parseCommand(frame: CommandFrame): ParsedCommand {
  const first = frame.lines[0] ?? Buffer.alloc(0);
  const tagMatch = /^([^\s(){%*"\\\]+]+)( |$)/.exec(first.subarray(0, 128).toString('latin1'));
  const tag = tagMatch?.[1];
  if (!tag || !/^[\x21-\x7e]+$/.test(tag)) throw new ImapSyntaxError(undefined, 'command must start with a tag');
  const cursor = new FrameCursor(frame, tag);
  readWord(cursor, 'tag', tag);
  if (cursor.skipSpaces() === 0 || cursor.atEnd()) throw new ImapSyntaxError(tag, 'missing command name');
  let name = readWord(cursor, 'command name', tag).toUpperCase();
  if (name === 'UID') {
    if (cursor.skipSpaces() === 0 || cursor.atEnd()) throw new ImapSyntaxError(tag, 'UID must be followed by a command');
    name = `UID ${readWord(cursor, 'command name', tag).toUpperCase()}`;
  }
  const args: ImapToken[] = [];
  for (;;) {
    const spaces = cursor.skipSpaces();
    if (cursor.atEnd()) break;
    if (spaces === 0) throw new ImapSyntaxError(tag, 'arguments must be separated by a space');
    args.push(cursor.readToken(0, false));
  }
  return { tag, name, args };
}

/** The text of a frame that is a single plain line (SASL responses, IDLE's DONE). */
export function frameText(frame: CommandFrame): string | undefined {
  return frame.literals.length === 0 ? frame.lines[0]!.toString('latin1') : undefined;
}

export type { CommandFrame, FramerEvent };

/** Incremental command reader: bytes in, framer events out, pulled one at a time. */
export class ImapParser {
  private readonly framer: CommandFramer;
  constructor(limits?: FramerLimits) {
    this.framer = new CommandFramer(limits);
  }
  write(data: Buffer): void {
    this.framer.write(data);
  }
  next(): FramerEvent | undefined {
    return this.framer.next();
  }
  reset(): void {
    this.framer.reset();
  }
  /** Set while the reader waits for a COMPRESS command's outcome (framer.ts). */
  get heldBy(): CommandFrame | undefined {
    return this.framer.heldBy;
  }
  release(): void {
    this.framer.release();
  }
  takeRemaining(): Buffer {
    return this.framer.takeRemaining();
  }
}
