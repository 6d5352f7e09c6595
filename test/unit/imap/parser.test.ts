// Parser: bytes to frames (literals, continuations, bounds) and frames to commands (tokens).
import { describe, expect, it } from 'vitest';
import { CommandFramer, type FramerEvent } from '../../../mail/imap/framer';
import { ImapSyntaxError, parseCommand, type ImapToken } from '../../../mail/imap/parser';

const limits = { commandLineBytesMax: 200, argumentLiteralBytesMax: 50, appendMessageBytesMax: 1000, literalsPerCommandMax: 3 };

function feed(...chunks: string[]): FramerEvent[] {
  const framer = new CommandFramer(limits);
  return chunks.flatMap((chunk) => framer.push(Buffer.from(chunk, 'latin1')));
}

function parse(line: string, literals: string[] = []) {
  const events = feed(line);
  const frame = events.find((e) => e.kind === 'frame');
  if (!frame || frame.kind !== 'frame') throw new Error(`no frame from ${JSON.stringify(line)}: ${JSON.stringify(events)}`);
  expect(frame.frame.literals.map((l) => l.toString())).toEqual(literals);
  return parseCommand(frame.frame);
}

function text(token: ImapToken | undefined): string {
  if (!token) return '<none>';
  if (token.kind === 'atom') return token.value;
  if (token.kind === 'string') return token.value.toString();
  return `(${token.items.map(text).join(' ')})`;
}

describe('framer', () => {
  it('splits pipelined commands arriving in one chunk, and one command split over chunks', () => {
    const events = feed('A1 NOOP\r\nA2 CAPA', 'BILITY\r\n');
    expect(events.map((e) => e.kind)).toEqual(['frame', 'frame']);
  });

  it('cuts one event at a time on demand; bytes not cut yet wait in the framer', () => {
    const framer = new CommandFramer(limits);
    const batch = 'A1 NOOP\r\nA2 LOGIN {5}\r\nalice x\r\nA3 NOOP\r\nA4 NO';
    framer.write(Buffer.from(batch));
    expect(framer.next()).toMatchObject({ kind: 'frame' });
    expect(framer.pendingBytes).toBe(batch.length - 'A1 NOOP\r\n'.length);
    expect(framer.next()).toEqual({ kind: 'literalContinue' });
    expect(framer.next()).toMatchObject({ kind: 'frame' });
    expect(framer.next()).toMatchObject({ kind: 'frame' });
    expect(framer.next()).toBeUndefined();
    expect(framer.pendingBytes).toBe(0);
    framer.write(Buffer.from('OP\r\n'));
    const last = framer.next();
    expect(last?.kind === 'frame' && last.frame.lines[0]!.toString()).toBe('A4 NOOP');
  });

  it('asks for a continuation on a synchronising literal and not on a non-synchronising one', () => {
    const sync = feed('A1 LOGIN {5}\r\n', 'alice secret\r\n');
    expect(sync.map((e) => e.kind)).toEqual(['literalContinue', 'frame']);
    const nonSync = feed('A1 LOGIN {5+}\r\nalice secret\r\n');
    expect(nonSync.map((e) => e.kind)).toEqual(['frame']);
  });

  it('reassembles a literal split across many chunks, CRLF inside it included', () => {
    const framer = new CommandFramer(limits);
    const events = ['A1 APPEND INBOX {12}\r\n', 'ab\r\n', 'cd', '\r\nefgh', '\r\n'].flatMap((c) => framer.push(Buffer.from(c)));
    const frame = events.find((e) => e.kind === 'frame');
    expect(frame?.kind === 'frame' && frame.frame.literals[0]!.toString()).toBe('ab\r\ncd\r\nefgh');
  });

  it('refuses an oversized synchronising literal before the client sends it', () => {
    const events = feed('A1 LOGIN {51}\r\n', 'A2 NOOP\r\n');
    expect(events[0]).toMatchObject({ kind: 'literalRejected', tag: 'A1', forAppend: false });
    expect(events[1]?.kind).toBe('frame');
  });

  it('skips an oversized non-synchronising literal and resynchronises on the next command', () => {
    const big = 'x'.repeat(60);
    const events = feed(`A1 LOGIN {60+}\r\n${big} pw\r\nA2 NOOP\r\n`);
    expect(events.map((e) => e.kind)).toEqual(['literalRejected', 'frame']);
    const frame = events[1];
    expect(frame?.kind === 'frame' && frame.frame.lines[0]!.toString()).toBe('A2 NOOP');
  });

  it('gives APPEND its own, larger literal limit (APPENDLIMIT)', () => {
    expect(feed('A1 APPEND INBOX {900}\r\n')[0]?.kind).toBe('literalContinue');
    expect(feed('A1 APPEND INBOX {1001}\r\n')[0]).toMatchObject({ kind: 'literalRejected', forAppend: true });
  });

  it('limits the number of literals in one command', () => {
    const events = feed('A1 X {1+}\r\na {1+}\r\nb {1+}\r\nc {1+}\r\nd\r\n');
    expect(events.map((e) => e.kind)).toEqual(['literalRejected']);
  });

  it('reports a line longer than the bound (the stream cannot be trusted after it)', () => {
    const events = feed(`A1 LOGIN ${'a'.repeat(300)}\r\n`);
    expect(events).toEqual([{ kind: 'lineTooLong', tag: 'A1' }]);
  });

  it('accepts bare LF line endings', () => {
    expect(feed('A1 NOOP\n').map((e) => e.kind)).toEqual(['frame']);
  });

  it('stops after a COMPRESS line until told: released, the rest is commands; taken, the rest is handed back', () => {
    const framer = new CommandFramer(limits);
    framer.write(Buffer.from('A1 COMPRESS DEFLATE\r\nA2 NOOP\r\n'));
    const first = framer.next();
    expect(first).toMatchObject({ kind: 'frame' });
    expect(framer.heldBy).toBe(first?.kind === 'frame' ? first.frame : undefined);
    expect(framer.next()).toBeUndefined();
    framer.write(Buffer.from('A3 NOOP\r\n'));
    expect(framer.next()).toBeUndefined();
    framer.release();
    expect([framer.next(), framer.next()].map((e) => e?.kind)).toEqual(['frame', 'frame']);

    framer.write(Buffer.from('B1 compress deflate\r\n\x00\xff deflate bytes', 'latin1'));
    expect(framer.next()).toMatchObject({ kind: 'frame' });
    expect(framer.takeRemaining()).toEqual(Buffer.from('\x00\xff deflate bytes', 'latin1'));
    expect(framer.heldBy).toBeUndefined();
    // Only a COMPRESS command holds: an APPEND whose literal says COMPRESS does not.
    expect(feed('C1 APPEND INBOX {21+}\r\nC2 COMPRESS DEFLATE\r\n\r\nC3 NOOP\r\n').map((e) => e.kind)).toEqual(['frame', 'frame']);
  });
});

describe('command tokens', () => {
  it('reads tag, name and astring arguments: atoms, quoted strings with escapes, literals', () => {
    const command = parse('a.1 LOGIN "al\\"ice" {6}\r\nse cr\\\r\n', ['se cr\\']);
    expect(command.tag).toBe('a.1');
    expect(command.name).toBe('LOGIN');
    expect(command.args.map(text)).toEqual(['al"ice', 'se cr\\']);
  });

  it('names UID commands "UID <name>"', () => {
    expect(parse('A1 uid fetch 1:* FLAGS\r\n').name).toBe('UID FETCH');
  });

  it('reads nested lists and flags', () => {
    const command = parse('A1 STORE 1 +FLAGS (\\Seen $Label (x))\r\n');
    expect(command.args.map(text)).toEqual(['1', '+FLAGS', '(\\Seen $Label (x))']);
  });

  it('reads BODY[section]<partial> as one atom with a section and a partial range', () => {
    const command = parse('A1 FETCH 1 (BODY.PEEK[1.2.HEADER.FIELDS (From "To")]<10.20> BODY[]<0> RFC822)\r\n');
    const items = (command.args[1] as { items: readonly ImapToken[] }).items;
    expect(items[0]).toMatchObject({ kind: 'atom', value: 'BODY.PEEK', partial: { offset: 10, length: 20 } });
    expect((items[0] as { section: readonly ImapToken[] }).section.map(text)).toEqual(['1.2.HEADER.FIELDS', '(From To)']);
    expect(items[1]).toMatchObject({ kind: 'atom', value: 'BODY', section: [], partial: { offset: 0 } });
    expect(items[2]).toMatchObject({ kind: 'atom', value: 'RFC822' });
  });

  it('keeps "[" inside ordinary atoms (mailbox names like [Gmail]/Sent)', () => {
    expect(parse('A1 SELECT [Gmail]/Sent\r\n').args.map(text)).toEqual(['[Gmail]/Sent']);
  });

  it('reads literal8 (~{n}) for APPEND UTF8', () => {
    const command = parse('A1 APPEND INBOX UTF8 (~{3+}\r\nabc)\r\n', ['abc']);
    const list = command.args[2] as { items: readonly ImapToken[] };
    expect(list.items[0]).toMatchObject({ kind: 'string', literal: true, literal8: true });
  });

  it.each([
    ['A1 LOGIN "unterminated\r\n', 'unterminated quoted string'],
    ['A1 FETCH 1 (FLAGS\r\n', 'unterminated list'],
    ['A1 LOGIN "a\\x"\r\n', 'may escape only'],
    ['A1 FETCH 1 BODY[HEADER\r\n', 'unterminated section'],
    ['A1 FETCH 1 BODY[]<a>\r\n', 'malformed partial'],
    ['A1\r\n', 'missing command name'],
    ['A1 NOOP  \r\n', ''],
  ])('rejects %j with a syntax error naming the tag', (line, message) => {
    const frame = feed(line).find((e) => e.kind === 'frame');
    if (!frame || frame.kind !== 'frame') throw new Error('no frame');
    if (message === '') {
      expect(() => parseCommand(frame.frame)).not.toThrow();
      return;
    }
    let error: unknown;
    try {
      parseCommand(frame.frame);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ImapSyntaxError);
    expect((error as ImapSyntaxError).tag).toBe('A1');
    expect((error as Error).message).toContain(message);
  });

  it('rejects lines without a tag', () => {
    const frame = feed('(garbage\r\n').find((e) => e.kind === 'frame');
    expect(() => frame?.kind === 'frame' && parseCommand(frame.frame)).toThrow(ImapSyntaxError);
  });

  it('never throws anything but a syntax error on random bytes', () => {
    let seed = 42;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const alphabet = 'A1 ()[]{}<>"\\*%:,.+~0123456789BODYFETCHxyz\r\n\x00\xff';
    for (let round = 0; round < 2000; round++) {
      const length = Math.floor(random() * 60);
      let input = '';
      for (let i = 0; i < length; i++) input += alphabet[Math.floor(random() * alphabet.length)];
      const framer = new CommandFramer(limits);
      for (const event of framer.push(Buffer.from(`${input}\r\n`, 'latin1'))) {
        if (event.kind !== 'frame') continue;
        try {
          parseCommand(event.frame);
        } catch (error) {
          expect(error).toBeInstanceOf(ImapSyntaxError);
        }
      }
    }
  });
});
