// The SMTP session machine: one per connection, fed by smtp-server's callbacks through the session
// actor (actors/mail/smtpSession.ts). Two regions run side by side while the connection is open:
//
//   protocol: greeting → ready ─AUTH→ authenticating ─ok→ authenticated ─MAIL→ senderCheck →
//             mailFrom ─RCPT→ recipientCheck → rcptTo ─DATA→ data → delivering → (ready | authenticated)
//             (inbound gateway: ready ─MAIL→ mailFrom directly; RSET/HELO/EHLO go back to idle)
//   conduct:  calm ⇄ throttled   (bad commands: counted, then delayed, then 421)
//
// and then closing (421 sent, waiting for the socket) and closed (final).
//
// Pure: the machine decides; the actor supplies the effects (`answer` resolves the smtp-server
// callback that is waiting, `disconnect` replies 421 and closes) and the invoked work
// (authenticate, checkSendRate, checkRecipient, receiveMessage, deliver). Timers run on the actor's clock.
//
// An authenticated submitter is held to its own addresses twice: MAIL FROM (553 otherwise) and the
// message's From:/Sender: header (refused 550 5.7.1, or a Sender: header added, as the operator's
// fromPolicy says; a missing From: is added), and to a per-sender rate (one token per transaction
// at MAIL FROM, 450 4.7.1 past it). The inbound MX has no submitter and none of these checks.
//
// Ordering duties:
// - Every smtp-server callback that reaches the machine is answered exactly once (states that
//   cannot take an event answer 503), or the connection is closed with 421.
// - 250 after DATA only after `deliver` reported storage confirmed and every external recipient
//   relayed (mail/smtp/replies.ts deliveryReply); an oversized or incomplete message is never
//   delivered.
// - A failed AUTH is answered only after its penalty delay; at the limit the reply is 421.
// - Shutdown waits for the command in progress (a DATA being delivered included), then 421.
import { and, assign, setup } from 'xstate';
import { workEffect } from './work';
import { addRecipient, decideRecipient, recipientsByRoute, senderAllowed, type AcceptedRecipient, type GatewayMode } from '../mail/smtp/envelope';
import { smtpLimits } from '../mail/smtp/limits';
import type { AuthResult, RecipientCheck } from '../mail/smtp/portOutcomes';
import { deliveryReply, replies, type DeliveryReport, type SmtpReply } from '../mail/smtp/replies';
import { headerToAdd, type AddedHeader, type FromAlignment, type FromPolicy } from '../mail/smtp/senderAlignment';
import type { RateDecision } from '../mail/smtp/senderRate';
import type { SubmitterIdentity } from '../mail/submission';

export interface SmtpSessionLimits {
  readonly badCommandsBeforeDelay: number;
  readonly badCommandsMax: number;
  readonly badCommandDelayMs: number;
  readonly failedAuthsMax: number;
  readonly failedAuthDelayMs: number;
  readonly refusedRecipientsMax: number;
  readonly messageBytesMax: number;
}

/** MAIL FROM as the client gave it, held while the sending rate is checked. */
export interface MailFromParams {
  readonly address: string;
  readonly eightBitMime: boolean;
  readonly smtpUtf8: boolean;
}

export interface SmtpSessionContext {
  readonly mode: GatewayMode;
  readonly limits: SmtpSessionLimits;
  readonly fromPolicy: FromPolicy;
  readonly identity: SubmitterIdentity | undefined;
  readonly pendingSender: MailFromParams | undefined;
  /** The header the message gets: From: when it had none, Sender: under add-sender when From: is not the user's. */
  readonly addHeader: AddedHeader | undefined;
  readonly mailFrom: string | undefined;
  readonly eightBitMime: boolean;
  readonly smtpUtf8: boolean;
  readonly recipients: readonly AcceptedRecipient[];
  /** The RCPT TO being checked, normalised and as written. */
  readonly pendingRecipient: string | undefined;
  readonly pendingOriginal: string | undefined;
  readonly badCommands: number;
  readonly failedAuths: number;
  readonly refusedRecipients: number;
  /** The AUTH failure reply held back while its penalty runs. */
  readonly heldReply: SmtpReply | undefined;
  readonly authDelayMs: number;
  readonly shuttingDown: boolean;
  readonly messagesDelivered: number;
}

/** How a waiting smtp-server callback is resolved. */
export type Answer =
  | { readonly kind: 'accept'; readonly user?: string; readonly reply?: SmtpReply }
  | { readonly kind: 'refuse'; readonly reply: SmtpReply };

/** What `deliver` needs: the accepted envelope. */
export interface DeliveryInput {
  readonly identity: SubmitterIdentity | undefined;
  readonly mailFrom: string;
  readonly postRecipients: readonly string[];
  readonly externalRecipients: readonly string[];
  readonly eightBitMime: boolean;
  readonly smtpUtf8: boolean;
  /** Put this header on the message (its earlier fields of that name removed). */
  readonly addHeader?: AddedHeader;
}

export interface RecipientCheckInput {
  readonly address: string;
  readonly mailFrom: string;
  readonly submitter: string | undefined;
}

export interface ReceivedMessage {
  readonly sizeOctets: number;
  readonly oversized: boolean;
  /** Dropped while receiving: the listener's in-memory budget was used up. */
  readonly overBudget: boolean;
  /** Whether From:/Sender: are the submitter's own; absent when there is no submitter (inbound). */
  readonly fromAlignment?: FromAlignment;
}

/** What receiveMessage needs: whose From: to check (none on the inbound MX). */
export interface ReceiveInput {
  readonly identity: SubmitterIdentity | undefined;
}

export type SmtpSessionEvent =
  | { readonly type: 'CONNECTED' }
  | { readonly type: 'TLS_ESTABLISHED' }
  /** smtp-server replied `code` to a command named `command` (names only; never arguments). */
  | { readonly type: 'REPLIED'; readonly command: string; readonly code: number }
  | { readonly type: 'AUTH'; readonly username: string }
  | { readonly type: 'MAIL_FROM'; readonly address: string; readonly eightBitMime: boolean; readonly smtpUtf8: boolean }
  /** `address` normalised; `original` as the client wrote it (relayed recipients keep their case). */
  | { readonly type: 'RCPT_TO'; readonly address: string; readonly original: string }
  | { readonly type: 'DATA' }
  | { readonly type: 'CLOSED' }
  | { readonly type: 'SHUTDOWN' }
  // The work an effect started (authenticate, checkSendRate, ...) finished or failed.
  | { readonly type: 'authenticate.done'; readonly output: AuthResult }
  | { readonly type: 'checkSendRate.done'; readonly output: RateDecision }
  | { readonly type: 'checkRecipient.done'; readonly output: RecipientCheck }
  | { readonly type: 'receiveMessage.done'; readonly output: ReceivedMessage }
  | { readonly type: 'deliver.done'; readonly output: DeliveryReport }
  | { readonly type: `${SmtpWork}.error`; readonly error: unknown };

/**
 * The work the machine starts as effects and hears back about as `<name>.done` / `<name>.error`
 * (not as invoked child actors: one per command cost more CPU than the command). smtp-server asks one
 * command at a time, so at most one is out, and it is always the one the current state started.
 */
export type SmtpWork = 'authenticate' | 'checkSendRate' | 'checkRecipient' | 'receiveMessage' | 'deliver';

/** The session's effects: the machine's named actions, its work included, as a session performs them. */
export interface SmtpSessionEffects {
  answer(answer: Answer): void;
  disconnect(reply: SmtpReply): void;
  authenticate(input: { username: string }): Promise<AuthResult>;
  checkSendRate(input: { user: string }): Promise<RateDecision>;
  checkRecipient(input: RecipientCheckInput): Promise<RecipientCheck>;
  receiveMessage(input: ReceiveInput): Promise<ReceivedMessage>;
  deliver(input: DeliveryInput): Promise<DeliveryReport>;
}

export interface SmtpSessionInput {
  readonly mode: GatewayMode;
  readonly limits?: Partial<SmtpSessionLimits>;
  /** A From: that is not the submitter's: refused (default) or sent with a Sender: header. */
  readonly fromPolicy?: FromPolicy;
}

export const defaultLimits: SmtpSessionLimits = {
  badCommandsBeforeDelay: smtpLimits.badCommandsBeforeDelay,
  badCommandsMax: smtpLimits.badCommandsMax,
  badCommandDelayMs: smtpLimits.badCommandDelayMs,
  failedAuthsMax: smtpLimits.failedAuthsMax,
  failedAuthDelayMs: smtpLimits.failedAuthDelayMs,
  refusedRecipientsMax: smtpLimits.refusedRecipientsMax,
  messageBytesMax: smtpLimits.messageBytesMax,
};

/** Syntax and sequence errors (RFC 5321 4.2.2 and 4.2.4): what a confused or hostile client earns. */
const badCommandCodes = new Set([500, 501, 502, 503, 504, 555]);
/** Commands after whose 250 smtp-server has dropped the mail transaction (RFC 5321 4.1.1.1, 4.1.1.5). */
const transactionResets = new Set(['RSET', 'HELO', 'EHLO']);

export function isBadCommand(code: number): boolean {
  return badCommandCodes.has(code);
}

export function isTransactionReset(command: string, code: number): boolean {
  return code === 250 && transactionResets.has(command);
}

/**
 * Whether a reply smtp-server sent matters to the machine (a bad command, or a transaction reset):
 * the session actor sends REPLIED only for those, so a 250 to MAIL, RCPT or DATA costs no event.
 * The guards below decide the same way; nothing reacts to any other reply.
 */
export function replyMatters(command: string, code: number): boolean {
  return isBadCommand(code) || isTransactionReset(command, code);
}

/** The context of a session between transactions. */
export const noTransaction = {
  pendingSender: undefined,
  addHeader: undefined,
  mailFrom: undefined,
  recipients: [] as readonly AcceptedRecipient[],
  pendingRecipient: undefined,
  pendingOriginal: undefined,
  eightBitMime: false,
  smtpUtf8: false,
} as const;

export function initialSmtpContext(input: SmtpSessionInput): SmtpSessionContext {
  return {
    mode: input.mode,
    limits: { ...defaultLimits, ...input.limits },
    fromPolicy: input.fromPolicy ?? 'refuse',
    identity: undefined,
    pendingSender: undefined,
    addHeader: undefined,
    mailFrom: undefined,
    eightBitMime: false,
    smtpUtf8: false,
    recipients: [],
    pendingRecipient: undefined,
    pendingOriginal: undefined,
    badCommands: 0,
    failedAuths: 0,
    refusedRecipients: 0,
    heldReply: undefined,
    authDelayMs: 0,
    shuttingDown: false,
    messagesDelivered: 0,
  };
}

// What the machine's assignments and effect parameters compute, shared with its step function
// (machines/smtpSession.step.ts), which runs this machine's states on the hot path.

/** A failed AUTH: counted, its reply held back for failedAuthDelayMs times the failures so far. */
export function authFailure(context: SmtpSessionContext, result: AuthResult): Partial<SmtpSessionContext> {
  return {
    failedAuths: context.failedAuths + 1,
    heldReply: result.kind === 'refused' ? replies.loginRefused(result.text) : replies.authFailed(),
    authDelayMs: context.limits.failedAuthDelayMs * (context.failedAuths + 1),
  };
}

export function rateRefusal(context: SmtpSessionContext, decision: RateDecision): SmtpReply {
  const limited = decision as Extract<RateDecision, { ok: false }>;
  return replies.sendingRateExceeded(context.identity!.user, limited.burstMessages, limited.messagesPerMinute, limited.retryAfterMs);
}

export function recipientCheckInputOf(context: SmtpSessionContext): RecipientCheckInput {
  return { address: context.pendingRecipient!, mailFrom: context.mailFrom ?? '', submitter: context.identity?.user };
}

/** The transaction's recipients with the one just accepted. */
export function withRecipient(context: SmtpSessionContext, check: RecipientCheck): readonly AcceptedRecipient[] {
  const decision = recipientDecisionOf(context, check) as Extract<ReturnType<typeof decideRecipient>, { accept: true }>;
  return addRecipient(context.recipients, { address: context.pendingRecipient!, original: context.pendingOriginal ?? context.pendingRecipient!, route: decision.route });
}

export function recipientRefusal(context: SmtpSessionContext, check: RecipientCheck): SmtpReply {
  return (recipientDecisionOf(context, check) as Extract<ReturnType<typeof decideRecipient>, { accept: false }>).reply;
}

export function fromRefusal(context: SmtpSessionContext, received: ReceivedMessage): SmtpReply {
  const alignment = received.fromAlignment as Extract<FromAlignment, { kind: 'foreign' }>;
  return replies.fromNotAligned(alignment.foreign, context.identity!.user);
}

/** The header the message gets (From: when it had none, Sender: under add-sender). */
export function headerFor(context: SmtpSessionContext, received: ReceivedMessage): AddedHeader | undefined {
  const alignment = received.fromAlignment;
  return alignment && context.identity ? headerToAdd(alignment, context.fromPolicy, context.identity.user) : undefined;
}

export function deliveryInputOf(context: SmtpSessionContext): DeliveryInput {
  return {
    identity: context.identity,
    mailFrom: context.mailFrom ?? '',
    postRecipients: recipientsByRoute(context.recipients, 'post'),
    // Relayed as written: only POST addresses are case-insensitive.
    externalRecipients: recipientsByRoute(context.recipients, 'external', 'original'),
    eightBitMime: context.eightBitMime,
    smtpUtf8: context.smtpUtf8,
    ...(context.addHeader ? { addHeader: context.addHeader } : {}),
  };
}

export const badSequence = (): SmtpReply => ({ code: 503, enhanced: '5.5.1', text: 'Bad sequence of commands' });

const notProvided = (name: string) => () => {
  throw new Error(`smtpSession machine: effect ${name} was not provided`);
};

type Ev<T extends SmtpSessionEvent['type']> = Extract<SmtpSessionEvent, { type: T }>;
const output = <T>(event: unknown): T => (event as { output: T }).output;

export const smtpSessionMachine = setup({
  types: {
    context: {} as SmtpSessionContext,
    events: {} as SmtpSessionEvent,
    input: {} as SmtpSessionInput,
  },
  actions: {
    // Effects: supplied by the session actor.
    answer: (_: unknown, _params: Answer) => notProvided('answer')(),
    disconnect: (_: unknown, _params: SmtpReply) => notProvided('disconnect')(),
    authenticate: (_: unknown, _params: { username: string }) => notProvided('authenticate')(),
    checkSendRate: (_: unknown, _params: { user: string }) => notProvided('checkSendRate')(),
    checkRecipient: (_: unknown, _params: RecipientCheckInput) => notProvided('checkRecipient')(),
    receiveMessage: (_: unknown, _params: ReceiveInput) => notProvided('receiveMessage')(),
    deliver: (_: unknown, _params: DeliveryInput) => notProvided('deliver')(),
    // Pure bookkeeping.
    clearTransaction: assign(() => ({ ...noTransaction })),
    takeRecipient: assign(({ event }) => {
      const e = event as Ev<'RCPT_TO'>;
      return { pendingRecipient: e.address, pendingOriginal: e.original };
    }),
    clearIdentity: assign({ identity: undefined }),
    startShutdown: assign({ shuttingDown: true }),
    /** A message delivered: counted, the bad-command count forgiven, the transaction cleared (one context copy). */
    countDelivery: assign(({ context }) => ({ ...noTransaction, messagesDelivered: context.messagesDelivered + 1, badCommands: 0 })),
    countBadCommand: assign({ badCommands: ({ context }) => context.badCommands + 1 }),
    takeSender: assign(({ event }) => {
      const e = event as Ev<'MAIL_FROM'>;
      return { pendingSender: { address: e.address, eightBitMime: e.eightBitMime, smtpUtf8: e.smtpUtf8 } };
    }),
    startTransaction: assign(({ context }) => {
      const sender = context.pendingSender!;
      return { pendingSender: undefined, mailFrom: sender.address, eightBitMime: sender.eightBitMime, smtpUtf8: sender.smtpUtf8, recipients: [] as readonly AcceptedRecipient[] };
    }),
  },
  guards: {
    shuttingDown: ({ context }) => context.shuttingDown,
    authenticated: ({ context }) => context.identity !== undefined,
    inbound: ({ context }) => context.mode === 'inbound',
    hasRecipients: ({ context }) => context.recipients.length > 0,
    senderAllowed: ({ context, event }) => context.identity !== undefined && senderAllowed(context.identity, (event as Ev<'MAIL_FROM'>).address),
    transactionReset: ({ event }) => isTransactionReset((event as Ev<'REPLIED'>).command, (event as Ev<'REPLIED'>).code),
    badCommand: ({ event }) => isBadCommand((event as Ev<'REPLIED'>).code),
    badCommandOverLimit: ({ context, event }) => isBadCommand((event as Ev<'REPLIED'>).code) && context.badCommands + 1 >= context.limits.badCommandsMax,
    badCommandOverTolerance: ({ context, event }) => isBadCommand((event as Ev<'REPLIED'>).code) && context.badCommands + 1 > context.limits.badCommandsBeforeDelay,
    authOk: ({ event }) => output<AuthResult>(event).kind === 'ok',
    authUnavailable: ({ event }) => output<AuthResult>(event).kind === 'unavailable',
    authFailuresOverLimit: ({ context }) => context.failedAuths + 1 >= context.limits.failedAuthsMax,
    recipientAccepted: ({ context, event }) => recipientDecisionOf(context, output<RecipientCheck>(event))?.accept === true,
    recipientUnavailable: ({ event }) => output<RecipientCheck>(event).kind === 'unavailable',
    refusalsOverLimit: ({ context }) => context.refusedRecipients + 1 >= context.limits.refusedRecipientsMax,
    sendRateOk: ({ event }) => output<RateDecision>(event).ok,
    fromRefused: ({ context, event }) => context.fromPolicy === 'refuse' && output<ReceivedMessage>(event).fromAlignment?.kind === 'foreign',
    oversized: ({ event }) => output<ReceivedMessage>(event).oversized,
    overBudget: ({ event }) => output<ReceivedMessage>(event).overBudget,
    delivered: ({ event }) => deliveryReply(output<DeliveryReport>(event)).code === 250,
  },
  delays: {
    authPenalty: ({ context }) => context.authDelayMs,
    badCommandPenalty: ({ context }) => context.limits.badCommandDelayMs,
  },
}).createMachine({
  id: 'smtpSession',
  context: ({ input }) => initialSmtpContext(input),
  initial: 'open',
  on: {
    CLOSED: { target: '.closed' },
  },
  states: {
    open: {
      type: 'parallel',
      // Callbacks no state below takes: answered, so smtp-server never waits forever.
      on: {
        AUTH: { actions: refuse(() => badSequence()) },
        MAIL_FROM: { actions: refuse(() => badSequence()) },
        RCPT_TO: { actions: refuse(() => badSequence()) },
        DATA: { actions: refuse(() => badSequence()) },
        CONNECTED: { actions: refuse(() => badSequence()) },
        SHUTDOWN: { actions: 'startShutdown' },
        TLS_ESTABLISHED: { target: '.protocol.ready', actions: ['clearIdentity', 'clearTransaction', accept()] },
      },
      states: {
        protocol: {
          initial: 'greeting',
          states: {
            greeting: {
              on: {
                CONNECTED: [
                  { guard: 'shuttingDown', target: '#smtpSession.closing', actions: disconnect(() => replies.shuttingDown()) },
                  { target: 'ready', actions: accept() },
                ],
              },
            },
            // Not authenticated: the submission port waits for AUTH; the inbound gateway takes MAIL.
            ready: {
              always: { guard: 'shuttingDown', target: '#smtpSession.closing', actions: disconnect(() => replies.shuttingDown()) },
              on: {
                AUTH: { target: 'authenticating' },
                MAIL_FROM: [
                  { guard: 'inbound', target: 'mailFrom', actions: ['takeSender', 'startTransaction', accept()] },
                  { actions: refuse(() => replies.authRequired()) },
                ],
              },
            },
            authenticating: {
              initial: 'checking',
              states: {
                checking: {
                  entry: { type: 'authenticate', params: ({ event }) => ({ username: (event as Ev<'AUTH'>).username }) },
                  on: {
                    'authenticate.done': [
                      {
                        guard: 'authOk',
                        target: '#smtpSession.open.protocol.authenticated',
                        actions: [
                          assign({ identity: ({ event }) => (output<AuthResult>(event) as Extract<AuthResult, { kind: 'ok' }>).identity }),
                          { type: 'answer', params: ({ context }: ParamArgs) => ({ kind: 'accept' as const, user: context.identity!.user }) },
                        ],
                      },
                      { guard: 'authUnavailable', target: '#smtpSession.open.protocol.idle', actions: refuse(() => replies.authUnavailable()) },
                      {
                        guard: 'authFailuresOverLimit',
                        target: '#smtpSession.closing',
                        actions: [assign({ failedAuths: ({ context }) => context.failedAuths + 1 }), disconnect(() => replies.tooManyAuthFailures())],
                      },
                      {
                        // A wrong password, or an attempt the node's login throttle refused: both
                        // count against this connection and are answered after the penalty.
                        target: 'penalised',
                        actions: assign(({ context, event }) => authFailure(context, output<AuthResult>(event))),
                      },
                    ],
                    'authenticate.error': { target: '#smtpSession.open.protocol.idle', actions: refuse(() => replies.authUnavailable()) },
                  },
                },
                penalised: {
                  after: {
                    authPenalty: {
                      target: '#smtpSession.open.protocol.idle',
                      actions: [{ type: 'answer', params: ({ context }: ParamArgs) => ({ kind: 'refuse' as const, reply: context.heldReply! }) }, assign({ heldReply: undefined })],
                    },
                  },
                },
              },
            },
            authenticated: {
              always: { guard: 'shuttingDown', target: '#smtpSession.closing', actions: disconnect(() => replies.shuttingDown()) },
              on: {
                MAIL_FROM: [
                  { guard: 'senderAllowed', target: 'senderCheck', actions: 'takeSender' },
                  {
                    actions: refuse(({ context, event }) => replies.senderNotAllowed((event as Ev<'MAIL_FROM'>).address, context.identity?.user ?? '')),
                  },
                ],
              },
            },
            // The transaction takes a token from the submitter's bucket, or waits for later.
            senderCheck: {
              entry: { type: 'checkSendRate', params: ({ context }) => ({ user: context.identity!.user }) },
              on: {
                'checkSendRate.done': [
                  { guard: 'sendRateOk', target: 'mailFrom', actions: ['startTransaction', accept()] },
                  {
                    target: 'idle',
                    actions: [
                      refuse(({ context, event }) => rateRefusal(context, output<RateDecision>(event))),
                      'clearTransaction',
                    ],
                  },
                ],
                'checkSendRate.error': { target: 'idle', actions: [refuse(() => replies.internalError()), 'clearTransaction'] },
              },
            },
            mailFrom: {
              always: { guard: 'shuttingDown', target: '#smtpSession.closing', actions: disconnect(() => replies.shuttingDown()) },
              on: {
                RCPT_TO: { target: 'recipientCheck', actions: 'takeRecipient' },
                REPLIED: { guard: 'transactionReset', target: 'idle', actions: 'clearTransaction' },
              },
            },
            recipientCheck: {
              entry: { type: 'checkRecipient', params: ({ context }) => recipientCheckInputOf(context) },
              on: {
                'checkRecipient.done': [
                  { guard: 'recipientUnavailable', target: 'afterRecipient', actions: refuse(({ context }) => replies.recipientCheckUnavailable(context.pendingRecipient!)) },
                  {
                    // Accepted: the transaction has a recipient now (no stop in afterRecipient).
                    guard: 'recipientAccepted',
                    target: 'rcptTo',
                    actions: [
                      assign({ recipients: ({ context, event }) => withRecipient(context, output<RecipientCheck>(event)) }),
                      accept(),
                    ],
                  },
                  {
                    guard: 'refusalsOverLimit',
                    target: '#smtpSession.closing',
                    actions: disconnect(() => replies.tooManyRefusedRecipients()),
                  },
                  {
                    target: 'afterRecipient',
                    actions: [
                      assign({ refusedRecipients: ({ context }) => context.refusedRecipients + 1 }),
                      refuse(({ context, event }) => recipientRefusal(context, output<RecipientCheck>(event))),
                    ],
                  },
                ],
                'checkRecipient.error': { target: 'afterRecipient', actions: refuse(({ context }) => replies.recipientCheckUnavailable(context.pendingRecipient!)) },
              },
            },
            afterRecipient: {
              always: [{ guard: 'hasRecipients', target: 'rcptTo' }, { target: 'mailFrom' }],
            },
            rcptTo: {
              always: { guard: 'shuttingDown', target: '#smtpSession.closing', actions: disconnect(() => replies.shuttingDown()) },
              on: {
                RCPT_TO: { target: 'recipientCheck', actions: 'takeRecipient' },
                DATA: { target: 'data' },
                REPLIED: { guard: 'transactionReset', target: 'idle', actions: 'clearTransaction' },
              },
            },
            data: {
              entry: { type: 'receiveMessage', params: ({ context }) => ({ identity: context.identity }) },
              on: {
                'receiveMessage.done': [
                  {
                    guard: 'oversized',
                    target: 'idle',
                    actions: [refuse(({ context }) => replies.messageTooBig(context.limits.messageBytesMax)), 'clearTransaction'],
                  },
                  {
                    guard: 'overBudget',
                    target: 'idle',
                    actions: [refuse(() => replies.insufficientStorage()), 'clearTransaction'],
                  },
                  {
                    guard: 'fromRefused',
                    target: 'idle',
                    actions: [
                      refuse(({ context, event }) => fromRefusal(context, output<ReceivedMessage>(event))),
                      'clearTransaction',
                    ],
                  },
                  {
                    target: 'delivering',
                    actions: assign({ addHeader: ({ context, event }) => headerFor(context, output<ReceivedMessage>(event)) }),
                  },
                ],
                'receiveMessage.error': { target: 'idle', actions: [refuse(() => replies.messageIncomplete()), 'clearTransaction'] },
              },
            },
            delivering: {
              entry: { type: 'deliver', params: ({ context }) => deliveryInputOf(context) },
              on: {
                'deliver.done': [
                  // The common case straight to authenticated, without the stop in idle.
                  { guard: and(['delivered', 'authenticated']), target: 'authenticated', actions: delivered() },
                  { guard: 'delivered', target: 'idle', actions: delivered() },
                  {
                    target: 'idle',
                    actions: [refuse(({ event }) => deliveryReply(output<DeliveryReport>(event))), 'clearTransaction'],
                  },
                ],
                'deliver.error': { target: 'idle', actions: [refuse(() => replies.internalError()), 'clearTransaction'] },
              },
            },
            // Between commands: back to where the session's authentication puts it.
            idle: {
              always: [{ guard: 'authenticated', target: 'authenticated' }, { target: 'ready' }],
            },
          },
          on: {
            REPLIED: { guard: 'transactionReset', actions: 'clearTransaction' },
          },
        },
        conduct: {
          initial: 'calm',
          states: {
            calm: { on: { REPLIED: penalties() } },
            // The gate holds the client's next command until this ends.
            throttled: {
              after: { badCommandPenalty: { target: 'calm' } },
              on: { REPLIED: penalties() },
            },
          },
        },
      },
    },
    // 421 sent (or the connection refused); smtp-server closes the socket.
    closing: {
      on: {
        AUTH: { actions: refuse(() => replies.closing()) },
        MAIL_FROM: { actions: refuse(() => replies.closing()) },
        RCPT_TO: { actions: refuse(() => replies.closing()) },
        DATA: { actions: refuse(() => replies.closing()) },
        CONNECTED: { actions: refuse(() => replies.closing()) },
        TLS_ESTABLISHED: { actions: refuse(() => replies.closing()) },
      },
    },
    closed: { type: 'final' },
  },
});

/** A bad command is counted; beyond the tolerance the next command waits; at the limit, 421. */
function penalties() {
  return [
    {
      guard: 'badCommandOverLimit' as const,
      target: '#smtpSession.closing',
      actions: ['countBadCommand' as const, disconnect(() => replies.tooManyBadCommands())],
    },
    { guard: 'badCommandOverTolerance' as const, target: '#smtpSession.open.conduct.throttled', reenter: true, actions: 'countBadCommand' as const },
    { guard: 'badCommand' as const, actions: 'countBadCommand' as const },
  ];
}

export function recipientDecisionOf(context: SmtpSessionContext, check: RecipientCheck) {
  if (check.kind !== 'classified') return undefined;
  return decideRecipient(context.mode, context.pendingRecipient ?? '', check.cls, check.relay);
}

/** 250 after DATA: the message is stored (and relayed); the transaction is over. */
function delivered() {
  return [
    { type: 'answer' as const, params: ({ event }: ParamArgs) => ({ kind: 'accept' as const, reply: deliveryReply(output<DeliveryReport>(event)) }) },
    'countDelivery' as const,
  ];
}

function accept() {
  return { type: 'answer' as const, params: { kind: 'accept' as const } };
}

interface ParamArgs {
  readonly context: SmtpSessionContext;
  /** A machine event or an invoked actor's done/error event. */
  readonly event: unknown;
}

function refuse(replyOf: (args: ParamArgs) => SmtpReply) {
  return { type: 'answer' as const, params: (args: ParamArgs) => ({ kind: 'refuse' as const, reply: replyOf(args) }) };
}

function disconnect(replyOf: () => SmtpReply) {
  return { type: 'disconnect' as const, params: () => replyOf() };
}

/** The machine with `effects` provided: what the tests and the sessions bench run it with (sessions run its step function). */
export function smtpSessionMachineWith(effects: SmtpSessionEffects) {
  return smtpSessionMachine.provide({
    actions: {
      answer: (_, answer: Answer) => effects.answer(answer),
      disconnect: (_, reply: SmtpReply) => effects.disconnect(reply),
      authenticate: workEffect('authenticate', (input: { username: string }) => effects.authenticate(input)),
      checkSendRate: workEffect('checkSendRate', (input: { user: string }) => effects.checkSendRate(input)),
      checkRecipient: workEffect('checkRecipient', (input: RecipientCheckInput) => effects.checkRecipient(input)),
      receiveMessage: workEffect('receiveMessage', (input: ReceiveInput) => effects.receiveMessage(input)),
      deliver: workEffect('deliver', (input: DeliveryInput) => effects.deliver(input)),
    },
  });
}
