// The SMTP session machine as a pure step function: (state, event, now) -> (next state, effects).
// Same states (the protocol and conduct regions of `open`, then closing and closed), transitions,
// guards, context and effects as smtpSession.machine.ts, which stays the definition the visualizer
// shows; test/unit/smtp/sessionStep.test.ts drives both with the same seeded event sequences and
// requires the same state, context and effects after every event, and the machine's own tests run
// against both. The session actor (actors/mail/smtpSession.ts) runs this one: a message is seven
// events (MAIL, its rate check, RCPT, its check, DATA, the message read, the delivery), and through the
// XState interpreter they were 8-11% of the gateway node's CPU under load (issue 11).
//
// The caller performs the effects in order, after taking the new state: the machine's named actions
// (`answer`, `disconnect`, and the work `authenticate`, `checkSendRate`, `checkRecipient`,
// `receiveMessage`, `deliver`, answered by `<name>.done` / `<name>.error` events as machines/work.ts
// does), and startTimer / cancelTimer (the machine's `after` delays; when one fires, TIMER with its name).
// A session in `closed` (the machine's final state) takes no more events.
import { senderAllowed } from '../mail/smtp/envelope';
import type { AuthResult, RecipientCheck } from '../mail/smtp/portOutcomes';
import { deliveryReply, replies, type DeliveryReport, type SmtpReply } from '../mail/smtp/replies';
import {
  type Answer,
  authFailure,
  badSequence,
  deliveryInputOf,
  type DeliveryInput,
  fromRefusal,
  headerFor,
  initialSmtpContext,
  isBadCommand,
  isTransactionReset,
  noTransaction,
  type ReceivedMessage,
  type ReceiveInput,
  recipientCheckInputOf,
  recipientDecisionOf,
  type RecipientCheckInput,
  recipientRefusal,
  rateRefusal,
  type SmtpSessionContext,
  type SmtpSessionEvent,
  type SmtpSessionInput,
  withRecipient,
} from './smtpSession.machine';

export type SmtpProtocolState =
  | 'greeting'
  | 'ready'
  | 'authenticating.checking'
  | 'authenticating.penalised'
  | 'authenticated'
  | 'senderCheck'
  | 'mailFrom'
  | 'recipientCheck'
  | 'afterRecipient'
  | 'rcptTo'
  | 'data'
  | 'delivering'
  | 'idle';
export type SmtpConductState = 'calm' | 'throttled';

export interface SmtpSessionState {
  readonly value: 'open' | 'closing' | 'closed';
  /** The protocol region's leaf, while open. */
  readonly protocol: SmtpProtocolState;
  /** The conduct region's state, while open. */
  readonly conduct: SmtpConductState;
  readonly context: SmtpSessionContext;
}

export type SmtpSessionTimer = 'authPenalty' | 'badCommandPenalty';

export type SmtpSessionEffect =
  | { readonly type: 'answer'; readonly answer: Answer }
  | { readonly type: 'disconnect'; readonly reply: SmtpReply }
  | { readonly type: 'authenticate'; readonly input: { readonly username: string } }
  | { readonly type: 'checkSendRate'; readonly input: { readonly user: string } }
  | { readonly type: 'checkRecipient'; readonly input: RecipientCheckInput }
  | { readonly type: 'receiveMessage'; readonly input: ReceiveInput }
  | { readonly type: 'deliver'; readonly input: DeliveryInput }
  | { readonly type: 'startTimer'; readonly timer: SmtpSessionTimer; readonly delayMs: number }
  | { readonly type: 'cancelTimer'; readonly timer: SmtpSessionTimer };

export type SmtpSessionStepEvent = SmtpSessionEvent | { readonly type: 'TIMER'; readonly timer: SmtpSessionTimer };

export interface SmtpSessionStep {
  readonly state: SmtpSessionState;
  readonly effects: readonly SmtpSessionEffect[];
}

/** The session as the machine starts it: open, greeting and calm. */
export function startSmtpSession(input: SmtpSessionInput): SmtpSessionStep {
  return { state: { value: 'open', protocol: 'greeting', conduct: 'calm', context: initialSmtpContext(input) }, effects: [] };
}

/** One event: the next state and the effects to perform, in order. */
export function stepSmtpSession(state: SmtpSessionState, event: SmtpSessionStepEvent): SmtpSessionStep {
  if (state.value === 'closed') return { state, effects: [] };
  const run = new Run(state);
  run.handle(event);
  run.settle();
  return run.result();
}

/** The machine's state value (XState's shape): { open: { protocol: ..., conduct: ... } }, 'closing' or 'closed'. */
export function smtpMachineValueOf(state: SmtpSessionState): unknown {
  if (state.value !== 'open') return state.value;
  const [outer, inner] = state.protocol.split('.');
  return { open: { protocol: inner ? { [outer!]: inner } : outer, conduct: state.conduct } };
}

/** The conduct region is throttled: the client's next command waits for the penalty to end. */
export function smtpThrottled(state: SmtpSessionState): boolean {
  return state.value === 'open' && state.conduct === 'throttled';
}

const accept = (extra: Omit<Extract<Answer, { kind: 'accept' }>, 'kind'> = {}): Answer => ({ kind: 'accept', ...extra });
const refusal = (reply: SmtpReply): Answer => ({ kind: 'refuse', reply });

type Ev<T extends SmtpSessionStepEvent['type']> = Extract<SmtpSessionStepEvent, { type: T }>;

/** One step in the making: the state so far, the effects so far. */
class Run {
  private value: SmtpSessionState['value'];
  private protocol: SmtpProtocolState;
  private conduct: SmtpConductState;
  private context: SmtpSessionContext;
  private readonly effects: SmtpSessionEffect[] = [];

  constructor(state: SmtpSessionState) {
    this.value = state.value;
    this.protocol = state.protocol;
    this.conduct = state.conduct;
    this.context = state.context;
  }

  result(): SmtpSessionStep {
    return { state: { value: this.value, protocol: this.protocol, conduct: this.conduct, context: this.context }, effects: this.effects };
  }

  private set(patch: Partial<SmtpSessionContext>): void {
    this.context = { ...this.context, ...patch };
  }

  private answer(answer: Answer): void {
    this.effects.push({ type: 'answer', answer });
  }

  private refuse(reply: SmtpReply): void {
    this.answer(refusal(reply));
  }

  private disconnect(reply: SmtpReply): void {
    this.effects.push({ type: 'disconnect', reply });
  }

  private clearTransaction(): void {
    this.set({ ...noTransaction });
  }

  /** The command refused and the transaction dropped: back to idle. */
  private refuseTransaction(reply: SmtpReply): void {
    this.goProtocol('idle', () => {
      this.refuse(reply);
      this.clearTransaction();
    });
  }

  /** A transition inside the protocol region: its leaf left, the actions, the new leaf entered (`event` for its entry). */
  private goProtocol(target: SmtpProtocolState, actions?: () => void, event?: SmtpSessionStepEvent): void {
    this.exitProtocol();
    actions?.();
    this.enterProtocol(target, event);
  }

  private exitProtocol(): void {
    if (this.protocol === 'authenticating.penalised') this.effects.push({ type: 'cancelTimer', timer: 'authPenalty' });
  }

  private exitConduct(): void {
    if (this.conduct === 'throttled') this.effects.push({ type: 'cancelTimer', timer: 'badCommandPenalty' });
  }

  private enterProtocol(target: SmtpProtocolState, event: SmtpSessionStepEvent | undefined): void {
    this.protocol = target;
    const ctx = this.context;
    switch (target) {
      case 'authenticating.checking':
        return void this.effects.push({ type: 'authenticate', input: { username: (event as Ev<'AUTH'>).username } });
      case 'authenticating.penalised':
        return void this.effects.push({ type: 'startTimer', timer: 'authPenalty', delayMs: ctx.authDelayMs });
      case 'senderCheck':
        return void this.effects.push({ type: 'checkSendRate', input: { user: ctx.identity!.user } });
      case 'recipientCheck':
        return void this.effects.push({ type: 'checkRecipient', input: recipientCheckInputOf(ctx) });
      case 'data':
        return void this.effects.push({ type: 'receiveMessage', input: { identity: ctx.identity } });
      case 'delivering':
        return void this.effects.push({ type: 'deliver', input: deliveryInputOf(ctx) });
    }
  }

  private enterConduct(target: SmtpConductState): void {
    this.conduct = target;
    if (target === 'throttled') this.effects.push({ type: 'startTimer', timer: 'badCommandPenalty', delayMs: this.context.limits.badCommandDelayMs });
  }

  /** A transition out of `open` (to closing or closed): every state of both regions left, then the actions. */
  private leaveOpen(target: 'closing' | 'closed', actions?: () => void): void {
    if (this.value === 'open') {
      // XState leaves states in reverse document order: the conduct region first.
      this.exitConduct();
      this.exitProtocol();
    }
    actions?.();
    this.value = target;
  }

  handle(event: SmtpSessionStepEvent): void {
    if (event.type === 'CLOSED') return this.leaveOpen('closed');
    if (this.value === 'closing') return this.handleClosing(event);
    if (this.handleProtocol(event)) return;
    if (this.handleConduct(event)) return;
    this.handleOpen(event);
  }

  private handleClosing(event: SmtpSessionStepEvent): void {
    switch (event.type) {
      case 'AUTH':
      case 'MAIL_FROM':
      case 'RCPT_TO':
      case 'DATA':
      case 'CONNECTED':
      case 'TLS_ESTABLISHED':
        return this.refuse(replies.closing());
    }
  }

  /** The protocol region's transition for the event, if it has an enabled one (taken; true). */
  private handleProtocol(event: SmtpSessionStepEvent): boolean {
    const ctx = this.context;
    if (event.type === 'REPLIED') {
      // mailFrom and rcptTo go back to idle; the protocol region itself, from any other state, only clears.
      if (!isTransactionReset(event.command, event.code)) return false;
      if (this.protocol === 'mailFrom' || this.protocol === 'rcptTo') this.goProtocol('idle', () => this.clearTransaction());
      else this.clearTransaction();
      return true;
    }
    switch (`${this.protocol} ${event.type}`) {
      case 'greeting CONNECTED':
        if (ctx.shuttingDown) this.leaveOpen('closing', () => this.disconnect(replies.shuttingDown()));
        else this.goProtocol('ready', () => this.answer(accept()));
        return true;
      case 'ready AUTH':
        this.goProtocol('authenticating.checking', undefined, event);
        return true;
      case 'ready MAIL_FROM':
        if (ctx.mode === 'inbound')
          this.goProtocol('mailFrom', () => {
            this.takeSender(event as Ev<'MAIL_FROM'>);
            this.startTransaction();
            this.answer(accept());
          });
        else this.refuse(replies.authRequired());
        return true;
      case 'authenticated MAIL_FROM': {
        const e = event as Ev<'MAIL_FROM'>;
        if (ctx.identity !== undefined && senderAllowed(ctx.identity, e.address)) this.goProtocol('senderCheck', () => this.takeSender(e));
        else this.refuse(replies.senderNotAllowed(e.address, ctx.identity?.user ?? ''));
        return true;
      }
      case 'mailFrom RCPT_TO':
      case 'rcptTo RCPT_TO': {
        const e = event as Ev<'RCPT_TO'>;
        this.goProtocol('recipientCheck', () => this.set({ pendingRecipient: e.address, pendingOriginal: e.original }));
        return true;
      }
      case 'rcptTo DATA':
        this.goProtocol('data');
        return true;
      default:
        return this.handleWork(event);
    }
  }

  /** The answer of the work the protocol state started (or its penalty's end), if it is that state's. */
  private handleWork(event: SmtpSessionStepEvent): boolean {
    switch (`${this.protocol} ${event.type}`) {
      case 'authenticating.checking authenticate.done':
        this.authenticated((event as Ev<'authenticate.done'>).output);
        return true;
      case 'authenticating.checking authenticate.error':
        this.goProtocol('idle', () => this.refuse(replies.authUnavailable()));
        return true;
      case 'authenticating.penalised TIMER':
        if ((event as Ev<'TIMER'>).timer !== 'authPenalty') return false;
        this.goProtocol('idle', () => {
          this.answer(refusal(this.context.heldReply!));
          this.set({ heldReply: undefined });
        });
        return true;
      case 'senderCheck checkSendRate.done': {
        const decision = (event as Ev<'checkSendRate.done'>).output;
        if (decision.ok)
          this.goProtocol('mailFrom', () => {
            this.startTransaction();
            this.answer(accept());
          });
        else this.refuseTransaction(rateRefusal(this.context, decision));
        return true;
      }
      case 'senderCheck checkSendRate.error':
        this.refuseTransaction(replies.internalError());
        return true;
      case 'recipientCheck checkRecipient.done':
        this.recipientChecked((event as Ev<'checkRecipient.done'>).output);
        return true;
      case 'recipientCheck checkRecipient.error':
        this.goProtocol('afterRecipient', () => this.refuse(replies.recipientCheckUnavailable(this.context.pendingRecipient!)));
        return true;
      case 'data receiveMessage.done':
        this.received((event as Ev<'receiveMessage.done'>).output);
        return true;
      case 'data receiveMessage.error':
        this.refuseTransaction(replies.messageIncomplete());
        return true;
      case 'delivering deliver.done':
        this.deliveredReport((event as Ev<'deliver.done'>).output);
        return true;
      case 'delivering deliver.error':
        this.refuseTransaction(replies.internalError());
        return true;
      default:
        return false;
    }
  }

  private authenticated(result: AuthResult): void {
    const ctx = this.context;
    if (result.kind === 'ok')
      return this.goProtocol('authenticated', () => {
        this.set({ identity: result.identity });
        this.answer(accept({ user: this.context.identity!.user }));
      });
    if (result.kind === 'unavailable') return this.goProtocol('idle', () => this.refuse(replies.authUnavailable()));
    if (ctx.failedAuths + 1 >= ctx.limits.failedAuthsMax)
      return this.leaveOpen('closing', () => {
        this.set({ failedAuths: this.context.failedAuths + 1 });
        this.disconnect(replies.tooManyAuthFailures());
      });
    // A wrong password, or an attempt the node's login throttle refused: answered after the penalty.
    this.goProtocol('authenticating.penalised', () => this.set(authFailure(this.context, result)));
  }

  private recipientChecked(check: RecipientCheck): void {
    const ctx = this.context;
    if (check.kind === 'unavailable') return this.goProtocol('afterRecipient', () => this.refuse(replies.recipientCheckUnavailable(ctx.pendingRecipient!)));
    if (recipientDecisionOf(ctx, check)?.accept === true)
      return this.goProtocol('rcptTo', () => {
        this.set({ recipients: withRecipient(this.context, check) });
        this.answer(accept());
      });
    if (ctx.refusedRecipients + 1 >= ctx.limits.refusedRecipientsMax) return this.leaveOpen('closing', () => this.disconnect(replies.tooManyRefusedRecipients()));
    this.goProtocol('afterRecipient', () => {
      this.set({ refusedRecipients: this.context.refusedRecipients + 1 });
      this.refuse(recipientRefusal(this.context, check));
    });
  }

  private received(message: ReceivedMessage): void {
    const ctx = this.context;
    if (message.oversized) return this.refuseTransaction(replies.messageTooBig(ctx.limits.messageBytesMax));
    if (message.overBudget) return this.refuseTransaction(replies.insufficientStorage());
    if (ctx.fromPolicy === 'refuse' && message.fromAlignment?.kind === 'foreign') return this.refuseTransaction(fromRefusal(ctx, message));
    this.goProtocol('delivering', () => this.set({ addHeader: headerFor(this.context, message) }));
  }

  private deliveredReport(report: DeliveryReport): void {
    const reply = deliveryReply(report);
    if (reply.code === 250) {
      // The common case straight to authenticated, without the stop in idle.
      return this.goProtocol(this.context.identity !== undefined ? 'authenticated' : 'idle', () => {
        this.answer(accept({ reply: deliveryReply(report) }));
        this.set({ ...noTransaction, messagesDelivered: this.context.messagesDelivered + 1, badCommands: 0 });
      });
    }
    this.refuseTransaction(deliveryReply(report));
  }

  private takeSender(e: Ev<'MAIL_FROM'>): void {
    this.set({ pendingSender: { address: e.address, eightBitMime: e.eightBitMime, smtpUtf8: e.smtpUtf8 } });
  }

  private startTransaction(): void {
    const sender = this.context.pendingSender!;
    this.set({ pendingSender: undefined, mailFrom: sender.address, eightBitMime: sender.eightBitMime, smtpUtf8: sender.smtpUtf8, recipients: [] });
  }

  /** The conduct region's transition (bad commands: counted, then delayed, then 421), if enabled. */
  private handleConduct(event: SmtpSessionStepEvent): boolean {
    const ctx = this.context;
    if (event.type === 'TIMER' && event.timer === 'badCommandPenalty' && this.conduct === 'throttled') {
      this.exitConduct();
      this.enterConduct('calm');
      return true;
    }
    if (event.type !== 'REPLIED' || !isBadCommand(event.code)) return false;
    const count = () => this.set({ badCommands: this.context.badCommands + 1 });
    if (ctx.badCommands + 1 >= ctx.limits.badCommandsMax)
      this.leaveOpen('closing', () => {
        count();
        this.disconnect(replies.tooManyBadCommands());
      });
    else if (ctx.badCommands + 1 > ctx.limits.badCommandsBeforeDelay) {
      this.exitConduct();
      count();
      this.enterConduct('throttled');
    } else count();
    return true;
  }

  /** What `open` itself takes: callbacks no state below took, shutdown, TLS. */
  private handleOpen(event: SmtpSessionStepEvent): void {
    switch (event.type) {
      case 'AUTH':
      case 'MAIL_FROM':
      case 'RCPT_TO':
      case 'DATA':
      case 'CONNECTED':
        return this.refuse(badSequence());
      case 'SHUTDOWN':
        return this.set({ shuttingDown: true });
      case 'TLS_ESTABLISHED':
        // Both regions are left and entered again: protocol at ready, conduct calm.
        this.exitConduct();
        this.exitProtocol();
        this.set({ identity: undefined });
        this.clearTransaction();
        this.answer(accept());
        this.enterProtocol('ready', event);
        this.enterConduct('calm');
        return;
    }
  }

  /** The eventless transitions (the machine's `always`), until none is enabled. */
  settle(): void {
    for (let rounds = 0; rounds < 8; rounds++) {
      if (this.value !== 'open') return;
      const ctx = this.context;
      switch (this.protocol) {
        case 'ready':
        case 'authenticated':
        case 'mailFrom':
        case 'rcptTo':
          if (!ctx.shuttingDown) return;
          this.leaveOpen('closing', () => this.disconnect(replies.shuttingDown()));
          continue;
        case 'afterRecipient':
          this.goProtocol(ctx.recipients.length > 0 ? 'rcptTo' : 'mailFrom');
          continue;
        case 'idle':
          this.goProtocol(ctx.identity !== undefined ? 'authenticated' : 'ready');
          continue;
        default:
          return;
      }
    }
    throw new Error(`smtp session: eventless transitions did not settle (in ${this.protocol})`);
  }
}

