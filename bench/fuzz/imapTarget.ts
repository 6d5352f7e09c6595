// Fuzz target: the IMAP command reader, from client bytes to checked arguments. An input is a byte
// stream (valid commands, token- and byte-level mutations of them, pathological shapes, random
// bytes) cut into socket-sized chunks and fed to a fresh framer; every frame goes through the
// tokenizer, the command registry, the argument schema and the argument parsers the handlers call
// (FETCH items and modifiers, SEARCH programs and RETURN options, SORT criteria, THREAD algorithms,
// STATUS items, SASL responses).
//
// Documented results are the ones the dispatcher turns into replies: ImapSyntaxError, ArgumentError
// and CommandFailure (BAD/NO). Any other error would reach the client as NO [SERVERBUG]: a finding.
// Invariants: a frame never holds more than the framer's limits allow, and the framer keeps no more
// than the bytes it was given.
import type { SimRandom } from '../../infra/sim/random';
import { CommandFailure } from '../../mail/imap/command';
import { parseFetchItems, parseFetchModifiers } from '../../mail/imap/fetch/fetchItems';
import { CommandFramer, type CommandFrame, type FramerEvent, type FramerLimits } from '../../mail/imap/framer';
import { frameText, ImapSyntaxError, parseCommand, type ImapToken } from '../../mail/imap/parser';
import { findCommand } from '../../mail/imap/registry';
import { decodeSaslBase64, startSasl } from '../../mail/imap/sasl';
import { applySchema, ArgumentError } from '../../mail/imap/schema';
import { parseCharsetAndCriteria } from '../../mail/imap/commands/sort';
import { parseStatusItems } from '../../mail/imap/commands/status';
import { parseSearchProgram } from '../../mail/imap/search/searchProgram';
import { parseReturnOptions } from '../../mail/imap/search/searchReturn';
import { parseSortCriteria } from '../../mail/imap/sort/sortOrder';
import { excerpt, FuzzViolation, type FuzzContext, type FuzzRunner, type FuzzTarget } from './harness';
import { bytesOf, chunked, mutateBytes, mutateTokens } from './mutate';

/** Small limits, so that generated inputs reach every bound. */
const limits: FramerLimits = { commandLineBytesMax: 2048, argumentLiteralBytesMax: 512, appendMessageBytesMax: 4096, literalsPerCommandMax: 6 };
const INPUT_BYTES_MAX = 8192;

const corpus = [
  'A1 CAPABILITY',
  'A2 LOGIN alice "secret pass"',
  'A3 LOGIN {5}\r\nalice {6}\r\nsecret',
  'A4 LOGIN {5+}\r\nalice ~{6+}\r\nsecret',
  'A5 AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==',
  'A6 AUTHENTICATE LOGIN',
  'YWxpY2U=',
  'A7 SELECT INBOX',
  'A8 EXAMINE "Entw&APw-rfe" (CONDSTORE)',
  'A9 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541 (1:5 3:7)))',
  'A10 FETCH 1:* (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE UID)',
  'A11 UID FETCH 1:4,7,9:* (UID BODY.PEEK[HEADER.FIELDS (From To Subject Date)] BODY[1.2.MIME]<0.100>) (CHANGEDSINCE 12345 VANISHED)',
  'A12 FETCH 2 (BODY[] BODY[TEXT] BODY[HEADER.FIELDS.NOT (Received)] RFC822 RFC822.HEADER RFC822.TEXT BODY MODSEQ)',
  'A13 FETCH 1 ALL',
  'A14 UID SEARCH CHARSET UTF-8 OR (FROM "alice" SUBJECT {5}\r\nhello) NOT (SEEN DELETED) SINCE 1-Feb-2024 LARGER 100 UID 1:*',
  'A15 SEARCH ALL ANSWERED BCC x BEFORE 1-Jan-2020 BODY y CC z DRAFT FLAGGED HEADER X-Spam yes KEYWORD $Junk NEW OLD ON 2-Mar-2021 RECENT SENTBEFORE 1-Jan-2020 SENTON 1-Jan-2020 SENTSINCE 1-Jan-2020 SMALLER 9 TEXT t TO u UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNKEYWORD k UNSEEN',
  'A16 SEARCH MODSEQ "/flags/\\\\draft" all 620162338',
  'A17 STORE 1:3 +FLAGS.SILENT (\\Seen \\Flagged $Label1)',
  'A18 UID STORE 5 (UNCHANGEDSINCE 12) FLAGS ()',
  'A19 APPEND Drafts (\\Draft) "14-Jul-2023 02:44:25 -0700" {22+}\r\nSubject: hi\r\n\r\nhello\r\n',
  'A20 APPEND INBOX UTF8 (~{5+}\r\nhello)',
  'A21 LIST "" "*"',
  'A22 LIST (SPECIAL-USE) "" % RETURN (CHILDREN SUBSCRIBED)',
  'A23 STATUS INBOX (MESSAGES RECENT UNSEEN UIDNEXT UIDVALIDITY HIGHESTMODSEQ APPENDLIMIT)',
  'A24 CREATE "a/b/c/"',
  'A25 RENAME "a" "b"',
  'A26 DELETE x',
  'A27 SUBSCRIBE "Sent"',
  'A28 UNSUBSCRIBE Sent',
  'A29 LSUB "" *',
  'A30 XLIST "" *',
  'A31 COPY 1:* Trash',
  'A32 UID MOVE 3:5 Archive',
  'A33 UID EXPUNGE 1:5',
  'A34 EXPUNGE',
  'A35 CLOSE',
  'A36 UNSELECT',
  'A37 CHECK',
  'A38 NOOP',
  'A39 IDLE',
  'DONE',
  'A40 ENABLE QRESYNC UTF8=ACCEPT CONDSTORE',
  'A41 ID ("name" "mbsync" "version" NIL)',
  'A42 NAMESPACE',
  'A43 STARTTLS',
  'A44 LOGOUT',
  'A45 SELECT "Entwürfe/日本語"',
  'A46 UID SORT (REVERSE ARRIVAL SUBJECT) UTF-8 ALL',
  'A47 SORT RETURN (MIN MAX COUNT) (DATE REVERSE FROM) UTF-8 UNSEEN',
  'A48 UID THREAD REFERENCES UTF-8 SINCE 1-Jan-2024',
  'A49 THREAD ORDEREDSUBJECT US-ASCII ALL',
  'A50 SEARCH RETURN (ALL SAVE) OR FROM a TO b',
  'A51 UID SEARCH RETURN () $',
  'A52 GETQUOTAROOT INBOX',
  'A53 APPEND INBOX CATENATE (URL "/INBOX;UIDVALIDITY=1/;UID=1" TEXT {5+}\r\nhello)',
];

const dictionary = [
  '(', ')', '()', '[', ']', '"', '""', '\\', '{0}', '{1}', '{5}', '{99999999999999999999}', '{3+}', '~{4+}', 'NIL', '*', '1:*', '*:1',
  '0', '4294967296', '<0.4294967295>', '<5>', 'BODY[', 'BODY[]', 'BODY.PEEK[HEADER.FIELDS (A B)]', 'BODY[1.2.3.MIME]', 'BODY[0]',
  'BINARY[1]', 'BINARY.SIZE[1]', '\\Seen', '\\Bogus', '\\Recent', '$kw', 'OR', 'NOT', 'UID', 'CHARSET', 'UTF-8', 'X-UNKNOWN', 'INBOX',
  '&Jjo-', '&AGE-', '&-', 'caf\u00e9', '\u00ff\u00fe', '\u0000', '%', '(((((', ')))))', 'MODSEQ', 'CHANGEDSINCE', 'VANISHED',
  'UNCHANGEDSINCE', '+FLAGS', '-FLAGS', 'FLAGS.SILENT', 'RETURN', '(MIN MAX)', '(SAVE)', 'REVERSE', 'ARRIVAL', 'REFERENCES', 'SPECIAL-USE', 'DONE', '=', 'AGFsaWNlAA==', 'a'.repeat(300),
  '1,2,3', '1:2:3', ',', ':', '"\\"', 'FETCH', 'SEARCH', 'STORE', 'APPEND', 'UTF8', '(~{2+}', '"14-Jul-2023 02:44:25 -0700"',
  '31-Feb-2024', 'HEADER', 'TEXT', 'MIME', 'HEADER.FIELDS', 'ALL', 'FAST', 'FULL', 'ENVELOPE', 'BODYSTRUCTURE',
];

const specials = ['\r\n', '\n', '\r', '\0', '\xff', ' ', '(', ')', '[', ']', '{', '}', '"', '\\', '{4}\r\n', '{2+}\r\n', '~{3+}\r\n', '*', '%', '<', '>'].map(bytesOf);

const documented = [ImapSyntaxError, ArgumentError, CommandFailure];

export const imapFuzzTarget: FuzzTarget = {
  name: 'imap',
  summary: 'IMAP framer, tokenizer, registry, argument schema and argument parsers',
  async prepare(base: SimRandom): Promise<FuzzRunner> {
    let random = base;
    const donors = corpus.map((c) => Buffer.from(`${c}\r\n`, 'utf8'));
    let last: Uint8Array = Buffer.alloc(0);
    let framer = new CommandFramer(limits);

    const pathological = (): Buffer => {
      const n = 1 + random.int(limits.commandLineBytesMax);
      switch (random.int(6)) {
        case 0:
          return Buffer.from(`P1 FETCH 1 ${'('.repeat(n)}FLAGS${')'.repeat(n)}\r\n`);
        case 1:
          return Buffer.from(`P2 SEARCH ${'NOT '.repeat(n >> 2)}ALL\r\n`);
        case 2:
          return Buffer.from(`P3 APPEND INBOX {${n * 100}}\r\n${'x'.repeat(random.int(64))}\r\n`);
        case 3:
          return Buffer.from(`P4 LOGIN ${'{1+}\r\na '.repeat(1 + random.int(20))}\r\n`);
        case 4:
          return Buffer.from(`P5 UID FETCH ${Array.from({ length: n >> 3 }, (_, i) => `${i + 1}:${i + 3}`).join(',')} FLAGS\r\n`);
        default:
          return Buffer.from(`P6 SEARCH ${'OR ALL '.repeat(n >> 3)}ALL\r\n`);
      }
    };

    const generate = (): Buffer => {
      const roll = random.float();
      if (roll < 0.05) return Buffer.from(random.bytes(random.int(600)));
      if (roll < 0.1) return pathological();
      const parts: string[] = [];
      for (let i = 1 + random.int(3); i > 0; i--) {
        const command = random.pick(corpus);
        parts.push(`${random.chance(0.5) ? mutateTokens(random, command, dictionary) : command}\r\n`);
      }
      const bytes = Buffer.from(parts.join(''), 'utf8');
      return random.chance(0.35) ? mutateBytes(random, bytes, { maxBytes: INPUT_BYTES_MAX, specials, donors }) : bytes;
    };

    const checkFrame = (frame: CommandFrame): void => {
      const lineBytes = frame.lines.reduce((sum, line) => sum + line.length, 0);
      if (lineBytes > limits.commandLineBytesMax) throw new FuzzViolation(`frame of ${lineBytes} line bytes passed the ${limits.commandLineBytesMax}-byte limit`);
      if (frame.literals.length > limits.literalsPerCommandMax) throw new FuzzViolation(`frame with ${frame.literals.length} literals`);
      for (const literal of frame.literals)
        if (literal.length > limits.appendMessageBytesMax) throw new FuzzViolation(`literal of ${literal.length} bytes passed the APPEND limit`);
      if (frame.literals.length > frame.lines.length) throw new FuzzViolation('more literals than lines');
    };

    const asSaslResponse = (frame: CommandFrame): string => {
      const { exchange, first } = startSasl('t', random.pick(['PLAIN', 'LOGIN']), undefined);
      if (!first) throw new FuzzViolation('SASL start gave nothing');
      const step = exchange.step(decodeSaslBase64(frameText(frame) ?? ''));
      return 'username' in step ? 'sasl credentials' : 'sasl challenge';
    };

    const asCommand = (frame: CommandFrame, utf8: boolean): string => {
      const command = parseCommand(frame);
      const spec = findCommand(command.name);
      if (!spec) return 'unknown command';
      const args = applySchema(spec.schema, command.args, { utf8 }) as Record<string, unknown>;
      if (spec.names.includes('FETCH')) {
        const [items, modifiers] = args.items as ImapToken[];
        if (!items) return 'fetch without items';
        parseFetchItems(items);
        parseFetchModifiers(modifiers?.kind === 'list' ? modifiers.items : undefined);
      } else if (spec.names.includes('SEARCH')) {
        const { rest } = parseReturnOptions(args.criteria as ImapToken[], 'SEARCH');
        parseSearchProgram(rest, utf8);
      } else if (spec.names.includes('SORT')) {
        const { rest } = parseReturnOptions(args.args as ImapToken[], 'SORT');
        parseSortCriteria(rest[0]);
        parseCharsetAndCriteria(rest.slice(1), 'SORT', utf8);
      } else if (spec.names.includes('THREAD')) {
        parseCharsetAndCriteria(args.criteria as ImapToken[], 'THREAD', utf8);
      } else if (spec.names.includes('STATUS')) {
        parseStatusItems(args.items as ImapToken[], 'STATUS');
      } else if (spec.names.includes('AUTHENTICATE') && typeof args.initialResponse === 'string') {
        startSasl(command.tag, String(args.mechanism).toUpperCase() === 'LOGIN' ? 'LOGIN' : 'PLAIN', decodeSaslBase64(args.initialResponse));
      }
      return `${spec.names[0]} arguments valid`;
    };

    const onEvent = (event: FramerEvent, context: FuzzContext): void => {
      if (event.kind !== 'frame') return context.count(event.kind);
      checkFrame(event.frame);
      try {
        context.count(random.chance(0.05) ? asSaslResponse(event.frame) : asCommand(event.frame, random.chance(0.5)));
      } catch (error) {
        if (!documented.some((type) => error instanceof type)) throw error;
        context.count((error as Error).constructor.name);
      }
    };

    return {
      replayable: true,
      run(index, context) {
        random = base.fork(String(index));
        const bytes = generate();
        last = bytes;
        framer = new CommandFramer(limits);
        for (const chunk of chunked(random, bytes, 4)) {
          framer.write(chunk);
          for (let event = framer.next(); event; event = framer.next()) onEvent(event, context);
          if (framer.pendingBytes > bytes.length) throw new FuzzViolation(`framer holds ${framer.pendingBytes} bytes of a ${bytes.length}-byte input`);
        }
      },
      describeLast: () => excerpt(last),
      checkBounds() {
        if (framer.pendingBytes > INPUT_BYTES_MAX + limits.commandLineBytesMax * 8) throw new FuzzViolation(`framer holds ${framer.pendingBytes} bytes`);
      },
    };
  },
};
