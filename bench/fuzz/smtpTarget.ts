// Fuzz target: the SMTP session machine, as sessions run it (its step function, machines/smtpSession.step.ts,
// on the session runner), fed with generated command lines. An input is one line
// (valid commands, token- and byte-level mutations, random bytes); sessions of up to 40 lines run
// one after another, each with a seeded script for the ports (AUTH ok, refused by the login
// throttle, wrong, unavailable or broken; recipients local, federated, external, unknown or
// uncheckable; messages whose headers are mutated and checked for sender alignment by the real
// code; deliveries that succeed or fail in every documented way), on a simulated clock.
//
// A line becomes what smtp-server would hand the session actor (smtp-server itself is a library:
// this adapter models its dispatch, and is not under test): a callback event (AUTH, MAIL_FROM,
// RCPT_TO, DATA, TLS_ESTABLISHED) or the REPLIED report of a reply smtp-server gave itself.
//
// Documented results: every callback is answered exactly once (accept or refuse) or the session is
// disconnected with 421, within bounded simulated time; every reply has a code in 2xx-5xx, an
// enhanced code of the same class and one line of text. Invariants after every transition (the
// session machine's own): failures and bad commands within their bounds, an envelope only with a
// MAIL FROM the submitter may use, recipients present wherever DATA may run, a 250 after DATA only
// for a delivered message, an added From:/Sender: header that names the submitter.
import { commandNameOf } from '../../actors/mail/smtpConnection';
import { type SmtpSessionRunner, smtpSessionRunner } from '../../actors/mail/smtpSessionRunner';
import { SimClock } from '../../infra/sim/clock';
import type { SimRandom } from '../../infra/sim/random';
import { findBodyStart, parseHeaderFields } from '../../mail/mime/headers';
import { normalizeAddress, senderAllowed, type GatewayMode } from '../../mail/smtp/envelope';
import type { AuthResult, RecipientCheck } from '../../mail/smtp/portOutcomes';
import type { DeliveryReport, SmtpReply } from '../../mail/smtp/replies';
import { checkFromAlignment, fromPolicies, withHeader } from '../../mail/smtp/senderAlignment';
import type { RateDecision } from '../../mail/smtp/senderRate';
import type { SubmissionErrorCode, SubmitterIdentity } from '../../mail/submission';
import { type Answer, type DeliveryInput, type ReceiveInput, type ReceivedMessage, type RecipientCheckInput, type SmtpSessionContext, type SmtpSessionEvent } from '../../machines/smtpSession.machine';
import { smtpMachineValueOf, type SmtpSessionState, smtpThrottled } from '../../machines/smtpSession.step';
import { excerpt, FuzzViolation, type FuzzContext, type FuzzRunner, type FuzzTarget } from './harness';
import { bytesOf, mutateBytes, mutateTokens } from './mutate';

const SESSION_LINES_MAX = 40;
/** Timers fired while waiting for one answer: penalties are a handful of timers. */
const TIMERS_PER_ANSWER_MAX = 20;
const limits = { failedAuthsMax: 3, failedAuthDelayMs: 1_500, badCommandsBeforeDelay: 3, badCommandsMax: 8, badCommandDelayMs: 1_000, refusedRecipientsMax: 10, messageBytesMax: 10_000 };
const alice: SubmitterIdentity = { user: 'alice@rice.example', sendAs: ['alice@rice.example', 'a.smith@rice.example'] };
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

const corpus = [
  'EHLO client.example',
  'HELO client.example',
  `AUTH PLAIN ${b64('\0alice@rice.example\0correct horse')}`,
  `AUTH PLAIN ${b64('alice@rice.example\0alice@rice.example\0pw')}`,
  'AUTH LOGIN',
  b64('alice@rice.example'),
  'AUTH CRAM-MD5',
  'MAIL FROM:<alice@rice.example> BODY=8BITMIME SMTPUTF8',
  'MAIL FROM:<a.smith@rice.example> SIZE=1000',
  'MAIL FROM:<>',
  'MAIL FROM:<ceo@rice.example>',
  'MAIL FROM:<stranger@internet.example>',
  'RCPT TO:<bob@rice.example>',
  'RCPT TO:<Bob@Rice.Example>',
  'RCPT TO:<carol@lip6.example>',
  'RCPT TO:<dave@gmail.example>',
  'RCPT TO:<nobody@rice.example>',
  'DATA',
  'RSET',
  'NOOP',
  'QUIT',
  'STARTTLS',
  'VRFY bob',
  'HELP',
  'GET / HTTP/1.1',
];

const dictionary = ['<', '>', '<>', ':', 'FROM:', 'TO:', '@', '"', '\\', 'BODY=8BITMIME', 'SMTPUTF8', 'SIZE=99999999999', 'AUTH=<>', '=', 'PLAIN', 'LOGIN', 'a'.repeat(600), 'é', '\u0000', '\t', ' ', '..', 'MAIL', 'RCPT', 'DATA'];
const specials = ['\r', '\n', '\0', '\xff', '<', '>', ':', '@', ' ', '\t', '"'].map(bytesOf);

const headerCorpus = [
  'From: alice@rice.example',
  'From: Alice <ALICE@RICE.EXAMPLE>',
  'From: The CEO <ceo@rice.example>',
  'From: alice@rice.example, bob@rice.example',
  'From: friends: alice@rice.example, a.smith@rice.example;',
  'From: undisclosed:;',
  'From: "alice@rice.example" <ceo@rice.example>',
  'Sender: bob@rice.example',
  'Sender: <a.smith@rice.example>',
  'FROM :\r\n <alice@rice.example>',
  'To: bob@rice.example',
  'Subject: hello',
  'Subject: =?utf-8?q?caf=C3=A9?=',
  'Received: from x by y; Tue, 14 Nov 2023 22:13:20 +0000',
  'Content-Type: text/plain; charset=utf-8',
];
const headerSpecials = ['\r\n', '\n', '\r', '\r\n ', '\r\n\r\n', ':', '<', '>', ',', ';', '"', '(', ')', '@', '\\', '\0', '=?', '?='].map(bytesOf);

type Callback = 'CONNECTED' | 'TLS_ESTABLISHED' | 'AUTH' | 'MAIL_FROM' | 'RCPT_TO' | 'DATA';
const callbacks = new Set<string>(['CONNECTED', 'TLS_ESTABLISHED', 'AUTH', 'MAIL_FROM', 'RCPT_TO', 'DATA']);
const submitFailures: SubmissionErrorCode[] = ['UNKNOWN_USER', 'SENDER_BLOCKED', 'INBOX_FULL', 'OVER_QUOTA', 'TOO_BIG', 'UNAVAILABLE', 'INTERNAL', 'WRONG_PASSWORD'];

function checkReply(reply: SmtpReply, where: string): void {
  if (!Number.isInteger(reply.code) || reply.code < 200 || reply.code > 599) throw new FuzzViolation(`${where}: reply code ${reply.code}`);
  if (!/^[245]\.\d{1,3}\.\d{1,3}$/.test(reply.enhanced) || reply.enhanced[0] !== String(reply.code)[0]) throw new FuzzViolation(`${where}: enhanced code ${reply.enhanced} with ${reply.code}`);
  if (reply.text.length === 0 || /[\r\n]/.test(reply.text)) throw new FuzzViolation(`${where}: reply text ${JSON.stringify(reply.text.slice(0, 80))} is empty or spans lines`);
}

function checkContext(value: unknown, context: SmtpSessionContext): void {
  const state = JSON.stringify(value);
  if (context.failedAuths > context.limits.failedAuthsMax) throw new FuzzViolation(`${context.failedAuths} failed AUTHs counted (max ${context.limits.failedAuthsMax})`);
  if (context.badCommands > context.limits.badCommandsMax) throw new FuzzViolation(`${context.badCommands} bad commands counted`);
  if ((state.includes('rcptTo') || state.includes('"data"') || state.includes('delivering')) && context.recipients.length === 0) throw new FuzzViolation(`${state} without recipients`);
  if ((state.includes('mailFrom') || state.includes('rcptTo')) && context.mailFrom === undefined) throw new FuzzViolation(`${state} without MAIL FROM`);
  if (state.includes('"authenticated"') && !context.identity) throw new FuzzViolation('authenticated without an identity');
  if (context.mode === 'submission' && context.mailFrom !== undefined && (!context.identity || !senderAllowed(context.identity, context.mailFrom)))
    throw new FuzzViolation(`envelope from <${context.mailFrom}> that the submitter may not use`);
  if (context.mode === 'inbound' && context.recipients.some((r) => r.route !== 'post')) throw new FuzzViolation('the MX took a recipient to relay');
}

/** One session: the machine, its scripted ports and what is waiting for an answer. */
class Session {
  readonly clock = new SimClock();
  readonly runner: SmtpSessionRunner;
  readonly mode: GatewayMode;
  waiting: Callback | undefined;
  lines = 0;
  ended = false;
  private authLogin: 'username' | 'password' | undefined;
  private message: Buffer | undefined;
  private lastDelivered = false;
  private violation: FuzzViolation | undefined;

  constructor(
    private readonly random: SimRandom,
    private readonly context: FuzzContext,
  ) {
    this.mode = random.chance(0.8) ? 'submission' : 'inbound';
    this.runner = smtpSessionRunner({
      clock: this.clock,
      input: { mode: this.mode, limits, fromPolicy: random.pick(fromPolicies) },
      effects: {
        answer: (answer) => this.onAnswer(answer),
        disconnect: (reply) => this.onDisconnect(reply),
        authenticate: async () => this.authenticate(),
        checkSendRate: async () => this.checkSendRate(),
        checkRecipient: async (input) => this.checkRecipient(input),
        receiveMessage: async (input) => this.receive(input),
        deliver: async (input) => this.deliver(input),
      },
      onStep: (state) => {
        try {
          checkContext(smtpMachineValueOf(state), state.context);
        } catch (error) {
          this.violation ??= error as FuzzViolation;
        }
      },
      onCrash: (error) => {
        this.violation ??= new FuzzViolation(`the session machine failed: ${String((error as Error)?.message ?? error)}`);
      },
    });
    this.runner.start();
  }

  private get state(): SmtpSessionState {
    return this.runner.state!;
  }

  /** Sends a callback event and waits (bounded, on the simulated clock) for its answer. */
  async send(event: SmtpSessionEvent): Promise<void> {
    await this.passGate();
    const isCallback = callbacks.has(event.type);
    if (isCallback) {
      if (this.waiting) throw new FuzzViolation(`${event.type} while ${this.waiting} is unanswered`);
      this.waiting = event.type as Callback;
    }
    if (this.runner.status !== 'active') {
      // The session actor answers 421 itself when the machine is gone (actors/mail/smtpSession.ts).
      this.waiting = undefined;
      this.ended = true;
      return;
    }
    this.runner.send(event);
    await this.settle();
    for (let timers = 0; this.waiting && timers < TIMERS_PER_ANSWER_MAX; timers++) {
      if (!(await this.clock.step())) break;
      await this.settle();
    }
    if (this.violation) throw this.violation;
    if (this.waiting) throw new FuzzViolation(`${this.waiting} never answered (state ${JSON.stringify(smtpMachineValueOf(this.state))})`);
    if (this.runner.status !== 'active' || this.state.value === 'closing') this.ended = true;
  }

  /** The connection's gate: while the session is throttled, the next command waits for the penalty. */
  private async passGate(): Promise<void> {
    for (let timers = 0; this.runner.status === 'active' && smtpThrottled(this.state); timers++) {
      if (timers >= TIMERS_PER_ANSWER_MAX || !(await this.clock.step())) throw new FuzzViolation('the throttle never lets the next command through');
    }
  }

  /** Lets every invoked promise settle (all microtasks run before an immediate). */
  private settle(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
  }

  /** Effects run inside the machine's transition: a violation is kept for send() to throw, never thrown here. */
  private check(test: () => void): void {
    try {
      test();
    } catch (error) {
      this.violation ??= error instanceof FuzzViolation ? error : new FuzzViolation(String(error));
    }
  }

  onAnswer(answer: Answer): void {
    const callback = this.waiting;
    this.waiting = undefined;
    this.check(() => {
      if (!callback) throw new FuzzViolation(`answered ${answer.kind} with no callback waiting`);
      if (answer.kind === 'refuse') checkReply(answer.reply, `${callback} refused`);
      if (answer.kind === 'accept' && answer.reply) checkReply(answer.reply, `${callback} accepted`);
      if (callback === 'DATA' && answer.kind === 'accept' && !this.lastDelivered) throw new FuzzViolation('DATA accepted for a message that was not delivered');
    });
    this.context.count(`${callback} ${answer.kind === 'accept' ? (answer.reply?.code ?? 'ok') : answer.reply.code}`);
  }

  onDisconnect(reply: SmtpReply): void {
    this.waiting = undefined;
    this.check(() => {
      checkReply(reply, 'disconnect');
      if (reply.code !== 421) throw new FuzzViolation(`disconnected with ${reply.code}, not 421`);
    });
    this.context.count(`disconnect ${reply.enhanced}`);
  }

  // ---- the ports, scripted from the session's random stream -------------------------------------

  async authenticate(): Promise<AuthResult> {
    const roll = this.random.float();
    if (roll < 0.45) return { kind: 'ok', identity: alice };
    if (roll < 0.75) return { kind: 'badCredentials' };
    if (roll < 0.85) return { kind: 'refused', text: 'Too many failed logins for this account; wait 8 s before trying again' };
    if (roll < 0.95) return { kind: 'unavailable' };
    throw new Error('directory exploded');
  }

  async checkSendRate(): Promise<RateDecision> {
    return this.random.chance(0.9) ? { ok: true } : { ok: false, retryAfterMs: this.random.int(60_000), burstMessages: 60, messagesPerMinute: 20 };
  }

  async checkRecipient(input: RecipientCheckInput): Promise<RecipientCheck> {
    if (this.random.chance(0.03)) throw new Error('lookup failed');
    if (this.random.chance(0.05)) return { kind: 'unavailable' };
    const domain = input.address.split('@')[1] ?? '';
    const relay = this.random.pick([{ kind: 'up' }, { kind: 'unconfigured' }, { kind: 'down', smarthost: 'relay:25', reason: 'refused' }] as const);
    if (input.address.startsWith('nobody')) return { kind: 'classified', cls: { kind: 'refused', refusal: this.random.pick(['UNKNOWN_USER', 'SENDER_BLOCKED', 'INBOX_FULL'] as const) }, relay };
    if (domain === 'rice.example') return { kind: 'classified', cls: { kind: 'post', local: true }, relay };
    if (domain === 'lip6.example') return { kind: 'classified', cls: { kind: 'post', local: false }, relay };
    return { kind: 'classified', cls: { kind: 'external' }, relay };
  }

  async receive(input: ReceiveInput): Promise<ReceivedMessage> {
    if (this.random.chance(0.03)) throw new Error('connection closed before the end of DATA');
    const headers = Array.from({ length: this.random.int(6) }, () => this.random.pick(headerCorpus)).join('\r\n');
    let raw: Buffer = Buffer.from(`${headers}\r\n\r\nbody\r\n`, 'utf8');
    if (this.random.chance(0.4)) raw = mutateBytes(this.random, raw, { maxBytes: 4096, specials: headerSpecials });
    const oversized = this.random.chance(0.05);
    const overBudget = !oversized && this.random.chance(0.03);
    this.message = oversized || overBudget ? undefined : raw;
    const fromAlignment = this.message && input.identity ? checkFromAlignment(this.message, input.identity) : undefined;
    return { sizeOctets: raw.length, oversized, overBudget, ...(fromAlignment ? { fromAlignment } : {}) };
  }

  async deliver(input: DeliveryInput): Promise<DeliveryReport> {
    this.lastDelivered = false;
    this.check(() => this.checkDelivery(input));
    if (this.random.chance(0.02)) throw new Error('delivery crashed');
    if (this.random.chance(0.15)) return { kind: 'submitFailed', failure: { code: this.random.pick([...submitFailures, 'TIMEOUT'] as const), message: 'scripted', recipients: input.postRecipients.slice(0, 1) } };
    const relay =
      input.externalRecipients.length === 0 || this.random.chance(0.7)
        ? ({ kind: input.externalRecipients.length === 0 ? 'none' : 'relayed', recipients: input.externalRecipients } as const)
        : ({ kind: 'failed', temporary: this.random.chance(0.5), enhanced: this.random.pick(['4.4.1', '5.1.1', '2.0.0', '9.9.9']), reason: 'scripted', relayed: [], failed: input.externalRecipients } as const);
    this.lastDelivered = relay.kind !== 'failed';
    return { kind: 'delivered', messageRef: input.postRecipients.length > 0 ? 'ref0123456789abcdef' : undefined, notified: input.postRecipients, relay: relay.kind === 'none' ? { kind: 'none' } : relay };
  }

  /** What the machine hands to delivery: the envelope it accepted, and the header it adds. */
  private checkDelivery(input: DeliveryInput): void {
    if (!this.message) throw new FuzzViolation('deliver without a received message');
    if (input.postRecipients.length + input.externalRecipients.length === 0) throw new FuzzViolation('deliver without recipients');
    if (this.mode === 'submission' && (!input.identity || !senderAllowed(input.identity, input.mailFrom))) throw new FuzzViolation(`delivering from <${input.mailFrom}>`);
    if (input.addHeader) {
      if (!input.identity || input.addHeader.address !== input.identity.user) throw new FuzzViolation(`added ${input.addHeader.name}: <${input.addHeader.address}> for another user`);
      const rewritten = withHeader(this.message, input.addHeader);
      const name = input.addHeader.name.toLowerCase();
      const fields = parseHeaderFields(rewritten, 0, findBodyStart(rewritten, 0, rewritten.length)).filter((f) => f.name === name);
      if (fields.length !== 1 || normalizeAddress(fields[0]!.value.replace(/^<|>$/g, '')) !== input.identity.user)
        throw new FuzzViolation(`after adding ${input.addHeader.name}: the message has ${fields.length} such fields: ${excerpt(rewritten)} from ${excerpt(this.message!)}`);
    }
  }

  // ---- lines to events, as smtp-server dispatches them ---------------------------------------------

  /** The event smtp-server would hand over for this line (or the reply it gave itself). */
  eventFor(line: string): SmtpSessionEvent {
    const identity = this.state.context.identity;
    if (this.authLogin === 'username') {
      this.authLogin = 'password';
      return { type: 'REPLIED', command: 'AUTH', code: 334 };
    }
    if (this.authLogin === 'password') {
      this.authLogin = undefined;
      return { type: 'AUTH', username: Buffer.from(line, 'base64').toString('utf8') };
    }
    const name = commandNameOf(line);
    const rest = line.slice(name.length).trim();
    switch (name) {
      case 'EHLO':
      case 'HELO':
        return { type: 'REPLIED', command: name, code: rest ? 250 : 501 };
      case 'AUTH': {
        if (this.mode === 'inbound') return { type: 'REPLIED', command: name, code: 500 };
        if (identity) return { type: 'REPLIED', command: name, code: 503 };
        const [mechanism, initial] = rest.split(/\s+/);
        if (mechanism?.toUpperCase() === 'LOGIN' && !initial) {
          this.authLogin = 'username';
          return { type: 'REPLIED', command: name, code: 334 };
        }
        if (mechanism?.toUpperCase() !== 'PLAIN' || !initial) return { type: 'REPLIED', command: name, code: 504 };
        const parts = Buffer.from(initial, 'base64').toString('utf8').split('\0');
        return parts.length === 3 ? { type: 'AUTH', username: parts[1]! } : { type: 'REPLIED', command: name, code: 501 };
      }
      case 'MAIL': {
        const match = /^FROM:\s*<([^<>]*)>(.*)$/i.exec(rest);
        if (!match) return { type: 'REPLIED', command: name, code: 501 };
        return { type: 'MAIL_FROM', address: normalizeAddress(match[1]!), eightBitMime: /BODY=8BITMIME/i.test(match[2]!), smtpUtf8: /SMTPUTF8/i.test(match[2]!) };
      }
      case 'RCPT': {
        const match = /^TO:\s*<([^<>]+)>/i.exec(rest);
        return match ? { type: 'RCPT_TO', address: normalizeAddress(match[1]!), original: match[1]! } : { type: 'REPLIED', command: name, code: 501 };
      }
      case 'DATA':
        return { type: 'DATA' };
      case 'STARTTLS':
        return { type: 'TLS_ESTABLISHED' };
      case 'RSET':
      case 'NOOP':
        return { type: 'REPLIED', command: name, code: 250 };
      case 'QUIT':
        return { type: 'CLOSED' };
      case 'VRFY':
        return { type: 'REPLIED', command: name, code: 252 };
      case 'HELP':
        return { type: 'REPLIED', command: name, code: 214 };
      default:
        return { type: 'REPLIED', command: name, code: 500 };
    }
  }

  stop(): void {
    this.runner.send({ type: 'CLOSED' });
  }
}

export const smtpFuzzTarget: FuzzTarget = {
  name: 'smtp',
  summary: 'SMTP session machine (its step function, as sessions run it) fed with generated command lines (scripted ports, simulated clock)',
  async prepare(random: SimRandom): Promise<FuzzRunner> {
    const donors = corpus.map(bytesOf);
    let session: Session | undefined;
    let sessions = 0;
    let last = '';

    /** Half the lines are what a client would send next in the session's state: deep states get reached. */
    const nextValid = (s: Session): string => {
      const protocol = JSON.stringify(smtpMachineValueOf(s.runner.state!));
      if (protocol.includes('ready')) return s.mode === 'inbound' ? random.pick(['MAIL FROM:<stranger@internet.example>', 'MAIL FROM:<>']) : random.pick(corpus.slice(2, 5));
      if (protocol.includes('authenticated')) return random.pick(corpus.slice(7, 10));
      if (protocol.includes('mailFrom')) return random.pick(corpus.slice(12, 17));
      if (protocol.includes('rcptTo')) return random.pick(['DATA', 'DATA', ...corpus.slice(12, 17)]);
      return random.pick(corpus);
    };

    const generate = (s: Session): string => {
      const roll = random.float();
      if (roll < 0.03) return Buffer.from(random.bytes(random.int(80))).toString('latin1');
      if (roll < 0.5) return nextValid(s);
      const line = random.pick(corpus);
      if (roll < 0.7) return mutateTokens(random, line, dictionary);
      if (roll < 0.8) return mutateBytes(random, bytesOf(line), { maxBytes: 1024, specials, donors }).toString('latin1');
      return line;
    };

    return {
      async run(_index, context) {
        if (!session || session.ended || session.lines >= SESSION_LINES_MAX) {
          session?.stop();
          session = new Session(random.fork(`session-${sessions++}`), context);
          await session.send({ type: 'CONNECTED' });
        }
        // smtp-server splits the stream at LF; a line holds no CR or LF of its own.
        const line = generate(session).split(/\r?\n/, 1)[0]!.replace(/\r/g, '');
        last = line;
        session.lines++;
        if (random.chance(0.01)) await session.send({ type: 'SHUTDOWN' });
        await session.send(session.eventFor(line));
        context.count(session.ended ? 'session ended' : 'line handled');
      },
      describeLast: () => `session ${sessions - 1}, line ${excerpt(last)}`,
      checkBounds() {
        const state = session?.runner.state;
        if (state && state.context.recipients.length > SESSION_LINES_MAX) throw new FuzzViolation(`${state.context.recipients.length} recipients held`);
        if (session && session.clock.pending > 10) throw new FuzzViolation(`${session.clock.pending} timers pending in one session`);
      },
      close() {
        session?.stop();
      },
    };
  },
};
