// The smarthost: where mail for non-POST recipients goes (nodemailer's SMTP transport). It also
// answers "can external recipients be taken right now?" at RCPT time from a short-lived cache of
// the last check or relay, so a dead smarthost refuses external recipients early (451 per
// recipient) instead of after DATA, when the POST recipients may already have been served.
import nodemailer from 'nodemailer';
import type { Clock, Log } from '../../infra/ports';
import type { RelayAvailability } from '../../mail/smtp/envelope';
import { smtpLimits } from '../../mail/smtp/limits';
import type { RelayOutcome } from '../../mail/smtp/replies';
import { DeadlineExceeded, withDeadline } from './smtpDeadline';

export interface SmarthostOptions {
  readonly host: string;
  readonly port: number;
  /** TLS from the first byte (port 465). */
  readonly secure?: boolean;
  /** Refuse to relay unless STARTTLS succeeds. */
  readonly requireTls?: boolean;
  readonly auth?: { readonly user: string; readonly pass: string };
  /** Extra TLS options, e.g. a private CA, or rejectUnauthorized: false for a lab smarthost. */
  readonly tls?: { readonly ca?: string | Buffer; readonly rejectUnauthorized?: boolean; readonly servername?: string };
  /** The name this node gives in EHLO. */
  readonly clientName?: string;
}

export interface RelayEnvelope {
  readonly mailFrom: string;
  readonly recipients: readonly string[];
  readonly eightBitMime: boolean;
}

type RelayLimits = Pick<
  typeof smtpLimits,
  'relayConnectTimeoutMs' | 'relayGreetingTimeoutMs' | 'relaySocketTimeoutMs' | 'relayTotalTimeoutMs' | 'relayHealthyCacheMs' | 'relayDownCacheMs'
>;

interface SmtpFailure extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
  rejected?: string[];
  rejectedErrors?: SmtpFailure[];
}

const enhancedIn = (text: string | undefined): string | undefined => /\b([245]\.\d{1,3}\.\d{1,3})\b/.exec(text ?? '')?.[1];

export class SmarthostRelay {
  readonly label: string;
  private readonly transport: ReturnType<typeof nodemailer.createTransport>;
  private known: { availability: RelayAvailability; untilMs: number } | undefined;
  private checking: Promise<RelayAvailability> | undefined;

  constructor(
    options: SmarthostOptions,
    private readonly clock: Clock,
    private readonly log: Log,
    private readonly limits: RelayLimits = smtpLimits,
  ) {
    this.label = `${options.host}:${options.port}`;
    this.transport = nodemailer.createTransport({
      host: options.host,
      port: options.port,
      secure: options.secure ?? false,
      requireTLS: options.requireTls ?? false,
      ...(options.auth ? { auth: { user: options.auth.user, pass: options.auth.pass } } : {}),
      ...(options.tls ? { tls: { ...options.tls } } : {}),
      ...(options.clientName ? { name: options.clientName } : {}),
      connectionTimeout: limits.relayConnectTimeoutMs,
      greetingTimeout: limits.relayGreetingTimeoutMs,
      socketTimeout: limits.relaySocketTimeoutMs,
      logger: false,
    });
  }

  /** Whether external recipients can be accepted now (cached; at most one check in flight). */
  async availability(): Promise<RelayAvailability> {
    if (this.known && this.clock.now() < this.known.untilMs) return this.known.availability;
    this.checking ??= this.check().finally(() => (this.checking = undefined));
    return this.checking;
  }

  /** Sends the bytes as they are to the smarthost; never rejects. */
  async relay(envelope: RelayEnvelope, raw: Uint8Array): Promise<RelayOutcome> {
    const send = this.transport.sendMail({
      envelope: { from: envelope.mailFrom, to: [...envelope.recipients], use8BitMime: envelope.eightBitMime, size: raw.byteLength },
      raw: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength),
    });
    try {
      const info = await withDeadline(this.clock, send, this.limits.relayTotalTimeoutMs, `relay through ${this.label}`);
      this.remember({ kind: 'up' });
      const rejected = (info.rejected ?? []).map(String);
      if (rejected.length === 0) return { kind: 'relayed', recipients: envelope.recipients };
      const errors = (info as { rejectedErrors?: SmtpFailure[] }).rejectedErrors ?? [];
      return this.refusedRecipients(envelope.recipients.filter((r) => !rejected.includes(r)), rejected, errors);
    } catch (error) {
      return this.failure(envelope.recipients, error as SmtpFailure);
    }
  }

  close(): void {
    this.transport.close();
  }

  private async check(): Promise<RelayAvailability> {
    try {
      await withDeadline(this.clock, this.transport.verify(), this.limits.relayTotalTimeoutMs, `check of ${this.label}`);
      return this.remember({ kind: 'up' });
    } catch (error) {
      const reason = describe(error as SmtpFailure);
      this.log.warn('smtp.relay.unavailable', { smarthost: this.label, reason });
      return this.remember({ kind: 'down', smarthost: this.label, reason });
    }
  }

  private remember(availability: RelayAvailability): RelayAvailability {
    const ttl = availability.kind === 'up' ? this.limits.relayHealthyCacheMs : this.limits.relayDownCacheMs;
    this.known = { availability, untilMs: this.clock.now() + ttl };
    return availability;
  }

  private refusedRecipients(relayed: readonly string[], failed: readonly string[], errors: readonly SmtpFailure[]): RelayOutcome {
    // Temporary if the smarthost deferred any of them: a retry may get them through.
    const temporary = errors.length === 0 || errors.some((e) => (e.responseCode ?? 400) < 500);
    const first = errors[0];
    return {
      kind: 'failed',
      temporary,
      enhanced: enhancedIn(first?.response) ?? (temporary ? '4.0.0' : '5.1.0'),
      reason: `the smarthost ${this.label} refused them: ${first ? describe(first) : 'no reason given'}`,
      relayed,
      failed,
    };
  }

  private failure(recipients: readonly string[], error: SmtpFailure): RelayOutcome {
    if (error.code === 'EENVELOPE' && error.rejected && error.rejected.length > 0) {
      const rejected = error.rejected.map(String);
      return this.refusedRecipients(recipients.filter((r) => !rejected.includes(r)), rejected, error.rejectedErrors ?? [error]);
    }
    const reply = error.responseCode;
    if (reply === undefined) {
      // No SMTP answer at all: unreachable, TLS failure, dropped connection or our deadline.
      this.remember({ kind: 'down', smarthost: this.label, reason: describe(error) });
      this.log.warn('smtp.relay.failed', { smarthost: this.label, code: error.code, reason: describe(error) });
      const timedOut = error instanceof DeadlineExceeded || error.code === 'ETIMEDOUT';
      return { kind: 'failed', temporary: true, enhanced: timedOut ? '4.4.2' : '4.4.1', reason: `the smarthost ${this.label} is unreachable: ${describe(error)}`, relayed: [], failed: recipients };
    }
    const temporary = reply < 500;
    return {
      kind: 'failed',
      temporary,
      enhanced: enhancedIn(error.response) ?? (temporary ? '4.0.0' : '5.0.0'),
      reason: `the smarthost ${this.label} answered: ${describe(error)}`,
      relayed: [],
      failed: recipients,
    };
  }
}

/** One line, without CR/LF (it goes into an SMTP reply). */
function describe(error: SmtpFailure): string {
  const text = error.response ?? error.message ?? String(error);
  return text.replace(/[\r\n]+/g, ' ').slice(0, 200);
}
