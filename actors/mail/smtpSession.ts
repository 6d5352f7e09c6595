// One SMTP session: the session machine bound to one smtp-server connection. smtp-server's
// callbacks become machine events; the machine's `answer` effect resolves the callback that is
// waiting (smtp-server handles one command at a time, so there is at most one); its invoked work
// runs here against the MailSubmission port, the smarthost and the DATA stream. The machine runs as
// its step function (machines/smtpSession.step.ts, by SmtpSessionRunner), the same states as
// machines/smtpSession.machine.ts without the interpreter's cost per event (issue 11).
import type { SMTPServerAuthenticationResponse, SMTPServerDataStream } from 'smtp-server';
import type { Clock, Log } from '../../infra/ports';
import { normalizeAddress, type GatewayMode } from '../../mail/smtp/envelope';
import { authResultOf, type AuthResult, type RecipientCheck } from '../../mail/smtp/portOutcomes';
import type { MessageBudget } from '../../mail/smtp/messageBudget';
import type { SmtpReply } from '../../mail/smtp/replies';
import { checkFromAlignment, withHeader, type FromPolicy } from '../../mail/smtp/senderAlignment';
import type { SenderRate } from '../../mail/smtp/senderRate';
import type { MailSubmission } from '../../mail/submission';
import type { MailCommandObserver } from './mailMetrics';
import {
  replyMatters,
  type Answer,
  type SmtpSessionEvent,
  type DeliveryInput,
  type ReceiveInput,
  type RecipientCheckInput,
  type ReceivedMessage,
  type SmtpSessionLimits,
} from '../../machines/smtpSession.machine';
import { smtpThrottled } from '../../machines/smtpSession.step';
import type { SmtpConnectionHooks, SmtpGatewayConnection } from './smtpConnection';
import { type SmtpSessionRunner, smtpSessionRunner } from './smtpSessionRunner';
import { smtpLoginOutcome, type LoginGuard } from './loginGuard';
import { withDeadline } from './smtpDeadline';
import { deliverMessage } from './smtpDelivery';
import type { SmarthostRelay } from './smtpRelay';

export interface SmtpSessionDeps {
  readonly mode: GatewayMode;
  readonly submission: MailSubmission;
  readonly relay: SmarthostRelay | undefined;
  readonly clock: Clock;
  readonly log: Log;
  readonly serverName: string;
  readonly limits: SmtpSessionLimits;
  /** Shared by all sessions of the listener. */
  readonly budget: MessageBudget;
  readonly lookupTimeoutMs: number;
  readonly submitTimeoutMs: number;
  /** The node's login throttle, shared with IMAP; absent on the inbound MX (no AUTH there). */
  readonly loginGuard?: LoginGuard;
  /** The node's per-sender submission rate; absent: no rate (the inbound MX). */
  readonly senderRate?: SenderRate;
  /** A From: that is not the submitter's: refused (default) or sent with a Sender: header. */
  readonly fromPolicy?: FromPolicy;
  /** Told of every command answered (metrics). */
  readonly observer?: MailCommandObserver;
}

/** The SMTP command each awaited event answers, as /metrics names it. */
const COMMAND_OF_EVENT: Record<string, string> = { CONNECTED: 'CONNECT', TLS_ESTABLISHED: 'STARTTLS', AUTH: 'AUTH', MAIL_FROM: 'MAIL', RCPT_TO: 'RCPT', DATA: 'DATA' };
/** What smtp-server answers when a command is accepted without a reply of ours. */
const ACCEPT_CODE: Record<string, number> = { CONNECT: 220, STARTTLS: 220, AUTH: 235 };

/** A waiting smtp-server callback, in the two ways the machine can resolve it. */
interface PendingCallback {
  readonly accept: (answer: Extract<Answer, { kind: 'accept' }>) => void;
  readonly refuse: (reply: SmtpReply) => void;
}

type ErrorCallback = (err?: Error | null) => void;

/** An Error smtp-server turns into exactly this reply line. */
function replyError(reply: SmtpReply): Error & { responseCode: number } {
  return Object.assign(new Error(`${reply.enhanced} ${reply.text}`), { responseCode: reply.code });
}

const simple = (cb: ErrorCallback): PendingCallback => ({ accept: () => cb(), refuse: (reply) => cb(replyError(reply)) });

export class SmtpSession implements SmtpConnectionHooks {
  /** The session's state machine (machines/smtpSession.step.ts), run here; its effects are this session's. */
  private readonly runner: SmtpSessionRunner;
  /** Resolves when the connection is gone and the machine stopped. */
  readonly closed: Promise<void>;
  private pending: PendingCallback | undefined;
  private pendingSince: { command: string; atMs: number } | undefined;
  private password: string | undefined;
  private dataStream: SMTPServerDataStream | undefined;
  private message: Uint8Array | undefined;
  /** Bytes of the message in hand, taken from the listener's budget. */
  private heldBytes = 0;
  private heldCommand: (() => void) | undefined;
  private resolveClosed!: () => void;
  private readonly log: Log;

  constructor(
    private readonly connection: SmtpGatewayConnection,
    private readonly deps: SmtpSessionDeps,
  ) {
    this.log = deps.log.child({ session: connection.id });
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.runner = smtpSessionRunner({
      clock: deps.clock,
      input: { mode: deps.mode, limits: deps.limits, ...(deps.fromPolicy ? { fromPolicy: deps.fromPolicy } : {}) },
      effects: {
        answer: (answer) => this.answer(answer),
        disconnect: (reply) => this.disconnect(reply),
        authenticate: (input) => this.authenticate(input.username),
        checkSendRate: async (input) => this.deps.senderRate?.take(input.user) ?? { ok: true },
        checkRecipient: (input) => this.checkRecipient(input),
        receiveMessage: (input) => this.receiveMessage(input),
        deliver: (input) => this.deliver(input),
      },
      onStep: (state) => {
        if (this.heldCommand && !smtpThrottled(state)) this.releaseCommand();
        if (state.value === 'closed') this.resolveClosed();
      },
      onCrash: (error) => {
        // A bug in the machine: the connection goes, the process stays.
        this.log.error('smtp.session.crashed', { error: String((error as Error)?.stack ?? error) });
        this.pending?.refuse({ code: 421, enhanced: '4.3.0', text: 'Internal error; closing the connection' });
        this.pending = undefined;
        this.connection.close();
        this.resolveClosed();
      },
    });
    connection.hooks = this;
    this.runner.start();
  }

  // ---- smtp-server callbacks --------------------------------------------------------------------

  connected(cb: ErrorCallback): void {
    this.await(simple(cb), { type: 'CONNECTED' });
  }

  secured(cb: ErrorCallback): void {
    this.await(simple(cb), { type: 'TLS_ESTABLISHED' });
  }

  auth(username: string, password: string, cb: (err: Error | null | undefined, response?: SMTPServerAuthenticationResponse) => void): void {
    this.password = password;
    this.await(
      { accept: (answer) => cb(null, { user: answer.user }), refuse: (reply) => cb(replyError(reply)) },
      { type: 'AUTH', username },
    );
  }

  mailFrom(address: string, eightBitMime: boolean, smtpUtf8: boolean, cb: ErrorCallback): void {
    this.await(simple(cb), { type: 'MAIL_FROM', address: normalizeAddress(address), eightBitMime, smtpUtf8 });
  }

  rcptTo(address: string, cb: ErrorCallback): void {
    this.await(simple(cb), { type: 'RCPT_TO', address: normalizeAddress(address), original: address });
  }

  data(stream: SMTPServerDataStream, cb: (err?: Error | null, message?: string) => void): void {
    this.dataStream = stream;
    this.dropMessage();
    this.await(
      { accept: (answer) => cb(null, answer.reply ? `${answer.reply.enhanced} ${answer.reply.text}` : undefined), refuse: (reply) => cb(replyError(reply)) },
      { type: 'DATA' },
    );
  }

  /** The socket is gone. */
  connectionClosed(): void {
    this.heldCommand = undefined;
    this.dataStream = undefined;
    this.password = undefined;
    // A delivery still running keeps its bytes until it finishes (see deliver).
    const state = this.runner.state!;
    if (!(state.value === 'open' && state.protocol === 'delivering')) this.dropMessage();
    this.runner.send({ type: 'CLOSED' });
    this.resolveClosed();
  }

  /** Server shutdown: finish the command in progress, then 421. */
  shutdown(): void {
    this.runner.send({ type: 'SHUTDOWN' });
  }

  /** Shutdown grace period over: cut the connection. */
  forceClose(): void {
    this.connection._socket.destroy();
  }

  // ---- SmtpConnectionHooks ---------------------------------------------------------------------

  admit(_command: string, proceed: () => void): void {
    if (smtpThrottled(this.runner.state!)) this.heldCommand = proceed;
    else proceed();
  }

  replied(command: string, code: number): void {
    if (!replyMatters(command, code)) return;
    this.runner.send({ type: 'REPLIED', command, code });
  }

  // ---- effects ---------------------------------------------------------------------------------

  private await(callback: PendingCallback, event: SmtpSessionEvent): void {
    if (this.runner.status !== 'active') {
      callback.refuse({ code: 421, enhanced: '4.3.0', text: 'Session closed' });
      return;
    }
    if (this.pending) this.log.error('smtp.session.overlapping_callbacks', { event: event.type });
    this.pending = callback;
    this.pendingSince = { command: COMMAND_OF_EVENT[event.type] ?? event.type, atMs: performance.now() };
    this.runner.send(event);
  }

  private observe(code: number): void {
    const since = this.pendingSince;
    this.pendingSince = undefined;
    if (since) this.deps.observer?.smtp(since.command, code, performance.now() - since.atMs);
  }

  private answer(answer: Answer): void {
    const pending = this.pending;
    this.pending = undefined;
    if (!pending) {
      this.log.error('smtp.session.answer_without_callback', { kind: answer.kind });
      return;
    }
    this.observe(answer.kind === 'accept' ? (answer.reply?.code ?? ACCEPT_CODE[this.pendingSince?.command ?? ''] ?? 250) : answer.reply.code);
    if (answer.kind === 'accept') pending.accept(answer);
    else pending.refuse(answer.reply);
  }

  private disconnect(reply: SmtpReply): void {
    this.log.info('smtp.session.disconnect', { code: reply.code, reason: reply.text });
    const pending = this.pending;
    this.pending = undefined;
    // smtp-server closes the connection after any 421 it sends.
    if (pending) pending.refuse(reply);
    else this.connection.send(reply.code, `${reply.enhanced} ${reply.text}`);
  }

  private releaseCommand(): void {
    const proceed = this.heldCommand;
    this.heldCommand = undefined;
    proceed?.();
  }

  // ---- invoked work ----------------------------------------------------------------------------

  private async authenticate(username: string): Promise<AuthResult> {
    const password = this.password ?? '';
    this.password = undefined;
    const check = () => withDeadline(this.deps.clock, this.deps.submission.authenticate(username, password), this.deps.lookupTimeoutMs, 'authenticate');
    const guard = this.deps.loginGuard;
    try {
      const identity = guard ? await guard.attempt('smtp', this.connection.remoteAddress, username, check, smtpLoginOutcome) : await check();
      this.log.info('smtp.auth.ok', { user: identity.user });
      return { kind: 'ok', identity };
    } catch (error) {
      const result = authResultOf(error);
      this.log.info('smtp.auth.failed', { result: result.kind, reason: String((error as Error)?.message ?? error) });
      return result;
    }
  }

  private async checkRecipient(input: RecipientCheckInput): Promise<RecipientCheck> {
    try {
      const query = { address: input.address, mailFrom: input.mailFrom, ...(input.submitter ? { submitter: input.submitter } : {}) };
      const cls = await withDeadline(this.deps.clock, this.deps.submission.classifyRecipient(query), this.deps.lookupTimeoutMs, 'classifyRecipient');
      // The smarthost matters only for external recipients on the submission port.
      const needsRelay = cls.kind === 'external' && this.deps.mode === 'submission';
      const relay = !needsRelay ? ({ kind: 'up' } as const) : this.deps.relay ? await this.deps.relay.availability() : ({ kind: 'unconfigured' } as const);
      return { kind: 'classified', cls, relay };
    } catch (error) {
      this.log.warn('smtp.recipient.check_failed', { reason: String((error as Error)?.message ?? error) });
      return { kind: 'unavailable' };
    }
  }

  /**
   * Reads DATA, keeping at most messageBytesMax bytes and only while the listener's budget lasts;
   * the rest of an oversized or over-budget message is read and dropped. A submitter's message is
   * checked for sender alignment (From:/Sender: its own).
   */
  private receiveMessage(input: ReceiveInput): Promise<ReceivedMessage> {
    const stream = this.dataStream;
    if (!stream) return Promise.reject(new Error('DATA without a stream'));
    const limit = this.deps.limits.messageBytesMax;
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let ended = false;
      let overBudget = false;
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > limit || overBudget) return this.dropChunks(chunks);
        if (!this.deps.budget.take(chunk.length)) {
          overBudget = true;
          return this.dropChunks(chunks);
        }
        this.heldBytes += chunk.length;
        chunks.push(chunk);
      });
      stream.once('end', () => {
        ended = true;
        const oversized = size > limit || stream.sizeExceeded;
        if (oversized || overBudget) this.dropChunks(chunks);
        else this.message = Buffer.concat(chunks, size);
        if (overBudget) this.log.warn('smtp.data.over_budget', { bytes: size, budgetBytes: this.deps.budget.bytesMax });
        const fromAlignment = this.message && input.identity ? checkFromAlignment(this.message, input.identity) : undefined;
        if (fromAlignment?.kind === 'foreign') this.log.info('smtp.from.not_aligned', { user: input.identity!.user, from: fromAlignment.foreign, policy: this.deps.fromPolicy ?? 'refuse' });
        resolve({ sizeOctets: size, oversized, overBudget, ...(fromAlignment ? { fromAlignment } : {}) });
      });
      stream.once('error', (error) => {
        this.dropChunks(chunks);
        reject(error);
      });
      stream.once('close', () => {
        if (ended) return;
        this.dropChunks(chunks);
        reject(new Error('connection closed before the end of DATA'));
      });
    });
  }

  private dropChunks(chunks: Buffer[]): void {
    chunks.length = 0;
    this.dropMessage();
  }

  /** Forgets the message in hand and gives its bytes back to the listener's budget. */
  private dropMessage(): void {
    this.message = undefined;
    this.deps.budget.release(this.heldBytes);
    this.heldBytes = 0;
  }

  private async deliver(input: DeliveryInput) {
    const message = this.message && input.addHeader ? withHeader(this.message, input.addHeader) : this.message;
    this.dataStream = undefined;
    if (!message) throw new Error('deliver without a received message');
    const session = this.connection.session;
    try {
      return await this.deliverHeld(input, message, session);
    } finally {
      this.dropMessage();
    }
  }

  private deliverHeld(input: DeliveryInput, message: Uint8Array, session: SmtpGatewayConnection['session']) {
    return deliverMessage(
      {
        submission: this.deps.submission,
        relay: this.deps.relay,
        clock: this.deps.clock,
        log: this.deps.log,
        serverName: this.deps.serverName,
        submitTimeoutMs: this.deps.submitTimeoutMs,
      },
      input,
      {
        sessionId: session.id,
        clientAddress: session.remoteAddress,
        helo: session.hostNameAppearsAs || 'unknown',
        ehlo: session.openingCommand === 'EHLO',
        tls: session.secure,
      },
      message,
    );
  }
}
