// Cuts the client's byte stream into command frames: the command's line segments with the literals
// between them. It decides literal sizes before buffering (so an oversized literal is refused or
// skipped, never stored), and asks for "+" continuations for synchronising literals.
//
// Pull-based: write() hands it bytes, next() cuts the next event out of them. A reader that has
// enough commands queued stops calling next() (and stops reading its socket); the bytes not cut
// yet wait here, so a client pipelining thousands of commands is slowed down, never dropped.
import { imapLimits } from './limits';

/** One complete client line group: lines[i] ends with a literal marker whose data is literals[i]. */
export interface CommandFrame {
  readonly lines: readonly Buffer[];
  readonly literals: readonly Buffer[];
}

export type FramerEvent =
  | { readonly kind: 'frame'; readonly frame: CommandFrame }
  /** A synchronising literal of acceptable size was announced: send "+" now. */
  | { readonly kind: 'literalContinue' }
  /** A literal was refused (too big, or too many); the command is dropped. */
  | { readonly kind: 'literalRejected'; readonly tag: string | undefined; readonly forAppend: boolean; readonly reason: string }
  /** The line exceeded the bound; the stream cannot be resynchronised safely. */
  | { readonly kind: 'lineTooLong'; readonly tag: string | undefined };

const literalMarker = /~?\{(\d{1,20})(\+?)\}$/;
const tagPattern = /^([^\s(){%*"\\\]+]+)/;
const lf = 0x0a;
const noBytes = Buffer.alloc(0);
const cr = 0x0d;

export interface FramerLimits {
  readonly commandLineBytesMax: number;
  readonly argumentLiteralBytesMax: number;
  readonly appendMessageBytesMax: number;
  readonly literalsPerCommandMax: number;
}

export function tagOfLine(line: Buffer): string | undefined {
  const match = tagPattern.exec(line.subarray(0, 128).toString('latin1'));
  return match?.[1];
}

function isAppendLine(line: Buffer): boolean {
  return /^\S+ APPEND /i.test(line.subarray(0, 64).toString('latin1'));
}

function isCompressLine(line: Buffer): boolean {
  return /^[^ ]+ COMPRESS( |$)/i.test(line.subarray(0, 64).toString('latin1'));
}

export class CommandFramer {
  private lineChunks: Buffer[] = [];
  private lineBytes = 0;
  private frameLineBytes = 0;
  private lines: Buffer[] = [];
  private literals: Buffer[] = [];
  private literalChunks: Buffer[] = [];
  private literalRemaining = 0;
  /** Reading literal data (stored, or skipped when `discarding`). */
  private inLiteral = false;
  /** The current command was refused; its remaining bytes are read and dropped. */
  private discarding = false;
  private broken = false;
  /** Bytes written and not cut yet: `input` from `inputOffset` on. */
  private input: Buffer = noBytes;
  private inputOffset = 0;
  /** Events cut and not taken yet (a step yields at most two). */
  private ready: FramerEvent[] = [];
  /**
   * A COMPRESS command was cut: what follows it may be deflate data (RFC 4978 3), so nothing more
   * is cut until the reader knows the outcome: release() (refused) or takeRemaining() (accepted).
   */
  private holdingFrame: CommandFrame | undefined;

  constructor(private readonly limits: FramerLimits = imapLimits) {}

  /** Forgets everything buffered: after STARTTLS, plaintext sent ahead must not be executed. */
  reset(): void {
    this.lineChunks = [];
    this.lineBytes = 0;
    this.resetFrame();
    this.broken = false;
    this.input = noBytes;
    this.inputOffset = 0;
    this.ready = [];
    this.holdingFrame = undefined;
  }

  /** The COMPRESS frame the framer stopped after, until release() or takeRemaining(). */
  get heldBy(): CommandFrame | undefined {
    return this.holdingFrame;
  }

  /** The COMPRESS command was refused: the bytes after it are plaintext commands after all. */
  release(): void {
    this.holdingFrame = undefined;
  }

  /** The COMPRESS command was accepted: hands back the bytes after it (deflate data) and starts afresh. */
  takeRemaining(): Buffer {
    const rest = Buffer.from(this.input.subarray(this.inputOffset));
    this.reset();
    return rest;
  }

  /** Client bytes not cut into events yet (bounded by what the reader lets in before it pauses). */
  get pendingBytes(): number {
    return this.input.length - this.inputOffset;
  }

  /** Takes client bytes; next() cuts them into events. */
  write(data: Buffer): void {
    if (this.pendingBytes === 0) this.input = data;
    else this.input = Buffer.concat([this.input.subarray(this.inputOffset), data]);
    this.inputOffset = 0;
  }

  /** The next event in the bytes written so far, or undefined when they hold no complete one. */
  next(): FramerEvent | undefined {
    while (this.ready.length === 0 && this.inputOffset < this.input.length && !this.broken && !this.holdingFrame) this.step();
    if (this.inputOffset >= this.input.length && this.input.length > 0) {
      this.input = noBytes;
      this.inputOffset = 0;
    }
    return this.ready.shift();
  }

  /** write() and every event that follows. */
  push(data: Buffer): FramerEvent[] {
    this.write(data);
    const events: FramerEvent[] = [];
    for (let event = this.next(); event; event = this.next()) events.push(event);
    return events;
  }

  /** Consumes one literal piece or one line (complete or not) of the input. */
  private step(): void {
    const data = this.input;
    const offset = this.inputOffset;
    if (this.inLiteral) {
      const take = Math.min(this.literalRemaining, data.length - offset);
      if (!this.discarding) this.literalChunks.push(data.subarray(offset, offset + take));
      this.inputOffset += take;
      this.literalRemaining -= take;
      if (this.literalRemaining === 0) this.finishLiteral();
      return;
    }
    const newline = data.indexOf(lf, offset);
    const end = newline < 0 ? data.length : newline;
    const piece = data.subarray(offset, end);
    this.lineBytes += piece.length;
    if (this.frameLineBytes + this.lineBytes > this.limits.commandLineBytesMax) {
      const head = this.lines[0] ?? Buffer.concat([...this.lineChunks, piece]);
      this.ready.push({ kind: 'lineTooLong', tag: tagOfLine(head) });
      this.broken = true;
      this.inputOffset = data.length;
      return;
    }
    // Copy a partial line: it waits for more input and must not keep the whole chunk alive.
    this.lineChunks.push(newline < 0 ? Buffer.from(piece) : piece);
    this.inputOffset = newline < 0 ? data.length : newline + 1;
    if (newline >= 0) this.finishLine(this.ready);
  }

  private finishLine(events: FramerEvent[]): void {
    let line = this.lineChunks.length === 1 ? this.lineChunks[0]! : Buffer.concat(this.lineChunks);
    if (line.length > 0 && line[line.length - 1] === cr) line = line.subarray(0, line.length - 1);
    this.lineChunks = [];
    this.frameLineBytes += this.lineBytes;
    this.lineBytes = 0;
    // Copy: the line may be a view into a large socket chunk that should not stay alive.
    this.lines.push(Buffer.from(line));
    const marker = literalMarker.exec(line.subarray(Math.max(0, line.length - 26)).toString('latin1'));
    if (!marker) {
      if (!this.discarding) {
        const frame: CommandFrame = { lines: this.lines, literals: this.literals };
        events.push({ kind: 'frame', frame });
        if (this.lines.length === 1 && isCompressLine(line)) this.holdingFrame = frame;
      }
      this.resetFrame();
      return;
    }
    const sizeBytes = Number(marker[1]);
    const nonSynchronising = marker[2] === '+';
    const first = this.lines[0]!;
    const forAppend = isAppendLine(first);
    const limitBytes = forAppend ? this.limits.appendMessageBytesMax : this.limits.argumentLiteralBytesMax;
    let refusal: string | undefined;
    if (this.literals.length >= this.limits.literalsPerCommandMax) {
      refusal = `a command may carry at most ${this.limits.literalsPerCommandMax} literals`;
    } else if (sizeBytes > limitBytes) {
      refusal = forAppend
        ? `message of ${sizeBytes} bytes is larger than the limit of ${limitBytes} bytes`
        : `literal of ${sizeBytes} bytes is larger than the limit of ${limitBytes} bytes for this argument`;
    }
    if (refusal && !this.discarding) {
      events.push({ kind: 'literalRejected', tag: tagOfLine(first), forAppend, reason: refusal });
      this.discarding = true;
    }
    if (this.discarding && !nonSynchronising) {
      // The client waits for "+" that will not come; it already has its tagged answer.
      this.resetFrame();
      return;
    }
    if (!nonSynchronising) events.push({ kind: 'literalContinue' });
    this.inLiteral = true;
    this.literalRemaining = sizeBytes;
    if (sizeBytes === 0) this.finishLiteral();
  }

  private finishLiteral(): void {
    this.inLiteral = false;
    if (!this.discarding) {
      this.literals.push(this.literalChunks.length === 1 ? Buffer.from(this.literalChunks[0]!) : Buffer.concat(this.literalChunks));
    }
    this.literalChunks = [];
  }

  private resetFrame(): void {
    this.lines = [];
    this.literals = [];
    this.literalChunks = [];
    this.literalRemaining = 0;
    this.inLiteral = false;
    this.discarding = false;
    this.frameLineBytes = 0;
  }
}
