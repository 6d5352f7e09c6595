// One IMAP connection: the session machine bound to a byte stream. It supplies the machine's effects
// (writing responses with backpressure, running frames through the dispatcher, STARTTLS, closing),
// and feeds it the parser's events one at a time: once pipelinedCommandsHighWater commands wait in
// the machine's queue it stops taking events and pauses the socket, and it goes on when the queue
// is down to half. A client pipelining thousands of commands is slowed, never dropped. The machine
// runs as its step function (machines/imapSession.step.ts, by ImapSessionRunner), the same states as
// machines/imapSession.machine.ts without the interpreter's cost per command (issue 11).
import type { Duplex } from 'node:stream';
import type { Clock, Log } from '../../infra/ports';
import type { MailAuthenticator } from '../../mail/backend';
import { capabilityList, type ImapServerSettings } from '../../mail/imap/capabilities';
import { type CommandOutcome, runFrame } from '../../mail/imap/dispatcher';
import { encodeContinuation, encodeStatus } from '../../mail/imap/encoder';
import { imapLimits } from '../../mail/imap/limits';
import type { MessageCache } from '../../mail/imap/messageCache';
import { ImapParser } from '../../mail/imap/parser';
import { ImapSession, type ResponseOutput } from '../../mail/imap/session';
import type { ImapSessionEffects, ImapSessionLimits, RunFrameInput } from '../../machines/imapSession.machine';
import { type ImapSessionRunner, imapSessionRunner } from './imapSessionRunner';
import { DeflateStream } from './deflateStream';
import type { MailCommandObserver } from './mailMetrics';

export interface ImapConnectionOptions {
  readonly socket: Duplex;
  readonly tlsActive: boolean;
  /** Wraps the plaintext socket in TLS; present when a certificate is configured. */
  readonly upgradeToTls?: (socket: Duplex) => Promise<Duplex>;
  readonly settings: ImapServerSettings;
  readonly authenticator: MailAuthenticator;
  readonly cache: MessageCache;
  readonly clock: Clock;
  readonly log: Log;
  readonly limits?: Partial<ImapSessionLimits>;
  readonly observer?: MailCommandObserver;
}

export class ImapConnection {
  /** The session's state machine (machines/imapSession.step.ts), run here; its effects are this connection's. */
  readonly runner: ImapSessionRunner;
  readonly session: ImapSession;
  /** Resolves when the socket is closed and the session released. */
  readonly closed: Promise<void>;
  private socket: Duplex;
  private readonly parser: ImapParser;
  private paused = false;
  private pumpScheduled = false;
  private notificationScheduled = false;
  /** Response bytes not written to the socket yet, sent together (write()). */
  private outbox: Buffer[] = [];
  private outboxBytes = 0;
  private flushScheduled: ReturnType<typeof setImmediate> | undefined;
  private ended = false;
  private resolveClosed!: () => void;
  private readonly log: Log;

  constructor(private readonly options: ImapConnectionOptions) {
    this.socket = options.socket;
    this.log = options.log;
    // The framer refuses APPEND literals over this server's APPENDLIMIT before reading them.
    this.parser = new ImapParser({ ...imapLimits, appendMessageBytesMax: options.settings.appendLimitBytes });
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    const output: ResponseOutput = { write: (chunks) => this.write(chunks) };
    this.session = new ImapSession(
      {
        settings: options.settings,
        authenticator: options.authenticator,
        cache: options.cache,
        clock: options.clock,
        log: options.log,
        output,
        onMailboxChange: () => {
          this.runner.send({ type: 'MAILBOX_CHANGED' });
        },
        // Told from inside the backend's feed, maybe mid-operation (a CREATE that makes several
        // folders): the machine hears of it once that operation's synchronous part is over, so the
        // push neither re-enters the backend nor reports half an operation.
        onNotification: () => {
          if (this.notificationScheduled) return;
          this.notificationScheduled = true;
          queueMicrotask(() => {
            this.notificationScheduled = false;
            this.runner.send({ type: 'NOTIFICATION_PENDING' });
          });
        },
      },
      options.tlsActive,
    );
    this.runner = imapSessionRunner({
      effects: this.effects(),
      clock: options.clock,
      input: { limits: options.limits ?? {} },
      onStep: (state) => {
        // Not from inside the session's own step: pump() needs the queue it sees to be current.
        if (this.paused && !this.pumpScheduled && state.context.queue.length < imapLimits.pipelinedCommandsHighWater / 2) {
          this.pumpScheduled = true;
          queueMicrotask(() => {
            this.pumpScheduled = false;
            this.pump();
          });
        }
      },
      onCrash: (error) => {
        this.log.error('imap.session.crashed', { error: String((error as Error)?.stack ?? error) });
        this.destroy();
      },
    });
  }

  /** What the session's effects do on this connection. */
  private effects(): ImapSessionEffects {
    return {
      sendGreeting: () => {
        const caps = capabilityList(this.options.settings, this.session.tlsActive, false).join(' ');
        void this.write([encodeStatus(undefined, 'OK', `${this.options.settings.serverName} IMAP4rev1 ready`, `CAPABILITY ${caps}`)]);
      },
      sendStatus: (params) => void this.write([encodeStatus(params.tag, params.kind, params.text, params.code)]),
      sendLiteralContinuation: () => void this.write([encodeContinuation('Ready for literal data')]),
      discardInput: () => this.parser.reset(),
      closeConnection: () => this.end(),
      endSession: () => {
        this.session.release().catch((error: unknown) => this.log.warn('imap.session.release_failed', { error: String(error) }));
      },
      runFrame: (input) => this.runFrame(input),
      flushUpdates: () => this.session.pushIdle(),
      pushNotifications: () => this.session.pushUnsolicited(),
      upgradeTls: () => this.upgrade(),
      startCompression: () => this.startCompression(),
    };
  }

  private async runFrame(input: RunFrameInput): Promise<CommandOutcome> {
    const { options } = this;
    const started = performance.now();
    const outcome = await runFrame(this.session, input.frame, input.mode);
    // The framer stopped after this COMPRESS line; refused, what follows is plaintext after all.
    if (this.parser.heldBy === input.frame && outcome.kind !== 'compress') {
      this.parser.release();
      queueMicrotask(() => this.pump());
    }
    if (outcome.kind === 'reply' && outcome.command) options.observer?.imap(outcome.command, outcome.status, performance.now() - started);
    if (outcome.kind === 'startTls' || outcome.kind === 'compress') {
      options.observer?.imap(outcome.kind === 'compress' ? 'COMPRESS' : 'STARTTLS', 'OK', performance.now() - started);
    }
    return outcome;
  }

  start(): void {
    this.bind(this.socket);
    this.runner.start();
  }

  /** Server shutdown: BYE (with `text`, when the server says why) and close. */
  shutdown(text?: string): void {
    if (this.runner.status === 'active') this.runner.send({ type: 'SHUTDOWN', ...(text ? { text } : {}) });
    else this.end();
  }

  private readonly onData = (data: Buffer): void => {
    if (this.ended) return;
    this.parser.write(data);
    this.pump();
  };

  /**
   * Hands parsed events to the machine while its queue is below the high-water mark; above it the
   * socket pauses, and the rest of what was read waits in the parser. Resumes reading once the
   * parser has nothing left to give.
   */
  private pump(): void {
    for (;;) {
      // The session may end in the middle of what was read (BYE); the rest is dropped.
      if (this.ended || this.runner.status !== 'active') return;
      if (this.runner.state!.context.queue.length >= imapLimits.pipelinedCommandsHighWater) {
        if (!this.paused) {
          this.paused = true;
          this.socket.pause();
        }
        return;
      }
      const event = this.parser.next();
      if (!event) {
        if (this.paused) {
          this.paused = false;
          this.socket.resume();
        }
        return;
      }
      switch (event.kind) {
        case 'frame':
          this.runner.send({ type: 'FRAME', frame: event.frame });
          break;
        case 'literalContinue':
          this.runner.send({ type: 'LITERAL_CONTINUE' });
          break;
        case 'literalRejected':
          this.runner.send({ type: 'LITERAL_REJECTED', tag: event.tag, forAppend: event.forAppend, reason: event.reason });
          break;
        case 'lineTooLong':
          this.runner.send({ type: 'LINE_TOO_LONG', tag: event.tag });
          break;
      }
    }
  }

  private readonly onClose = (): void => {
    this.ended = true;
    this.runner.send({ type: 'CONNECTION_CLOSED' });
    this.session
      .release()
      .catch((error: unknown) => this.log.warn('imap.session.release_failed', { error: String((error as Error)?.message ?? error) }))
      .finally(() => this.resolveClosed());
  };

  private readonly onError = (error: Error): void => {
    this.log.debug('imap.socket.error', { error: error.message });
  };

  private bind(socket: Duplex): void {
    socket.on('data', this.onData);
    socket.on('close', this.onClose);
    socket.on('error', this.onError);
  }

  private unbind(socket: Duplex): void {
    socket.off('data', this.onData);
    socket.off('close', this.onClose);
    socket.off('error', this.onError);
  }

  /**
   * Queues response bytes. They leave in one write when the command's work next yields to I/O (or
   * ends), so a SELECT's untagged lines and tagged reply, or a FETCH's thousand responses, are one
   * write, not one each (the socket has no Nagle delay: each write would be a packet and a system
   * call). When outboxFlushBytes are waiting they leave at once, and the promise resolves once the
   * socket took them (backpressure for a large FETCH); otherwise there is nothing to wait for.
   */
  private write(chunks: readonly Buffer[]): Promise<void> | undefined {
    if (this.ended || this.socket.destroyed || !this.socket.writable) return undefined;
    this.outbox.push(...chunks);
    for (const chunk of chunks) this.outboxBytes += chunk.length;
    if (this.outboxBytes >= imapLimits.outboxFlushBytes) return this.flushOutbox();
    this.flushScheduled ??= setImmediate(() => {
      this.flushScheduled = undefined;
      void this.flushOutbox();
    });
    return undefined;
  }

  private flushOutbox(): Promise<void> {
    const socket = this.socket;
    const chunks = this.outbox;
    this.outbox = [];
    this.outboxBytes = 0;
    if (this.flushScheduled) clearImmediate(this.flushScheduled);
    this.flushScheduled = undefined;
    if (chunks.length === 0 || socket.destroyed || !socket.writable) return Promise.resolve();
    // One write: a stream (TLS, COMPRESS) would otherwise seal or deflate each piece on its own.
    const flowing = socket.write(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    if (flowing) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        socket.off('drain', done);
        socket.off('close', done);
        resolve();
      };
      socket.on('drain', done);
      socket.on('close', done);
    });
  }

  private async upgrade(): Promise<void> {
    const upgradeToTls = this.options.upgradeToTls;
    if (!upgradeToTls) throw new Error('STARTTLS without a TLS configuration');
    const plain = this.socket;
    await this.flushOutbox(); // the reply to STARTTLS leaves in clear, before the handshake
    this.unbind(plain);
    this.parser.reset();
    // What was paused for plaintext pipelining is discarded; the TLS socket reads afresh.
    if (this.paused) {
      this.paused = false;
      plain.resume();
    }
    const secure = await upgradeToTls(plain);
    this.socket = secure;
    this.session.tlsActive = true;
    this.bind(secure);
  }

  /** COMPRESS DEFLATE accepted: the OK leaves in clear, everything after it is deflated both ways. */
  private async startCompression(): Promise<void> {
    const plain = this.socket;
    await this.flushOutbox();
    if (this.ended || plain.destroyed) return; // the client left: onClose has released the session
    this.unbind(plain);
    const head = this.parser.takeRemaining();
    const compressed = new DeflateStream(plain, head);
    this.socket = compressed;
    this.session.compressionActive = true;
    this.bind(compressed);
    if (this.paused) {
      this.paused = false;
      plain.resume();
    }
  }

  private end(): void {
    if (this.ended) return;
    void this.flushOutbox();
    this.ended = true;
    this.socket.end();
    // A peer that never reads would keep the socket half-open; give it a bounded time.
    const timer = this.options.clock.setTimeout(() => this.socket.destroy(), imapLimits.closeFlushMs);
    this.socket.once('close', () => this.options.clock.clearTimeout(timer));
  }

  /** Ends the connection without a goodbye (shutdown grace period over, or the session crashed). */
  forceClose(): void {
    this.destroy();
  }

  private destroy(): void {
    this.ended = true;
    this.socket.destroy();
  }
}
