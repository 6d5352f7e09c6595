// The SMTP session machine on its own, with stub effects and a manual clock: the protocol states
// from greeting to closed, AUTH penalties, envelope rules, throttling of bad commands, shutdown,
// and invariants checked after every transition (every callback answered exactly once).
import { beforeEach, describe, expect, it } from 'vitest';
import type { AuthResult, RecipientCheck } from '../../../mail/smtp/portOutcomes';
import type { DeliveryReport, SmtpReply } from '../../../mail/smtp/replies';
import type { GatewayMode } from '../../../mail/smtp/envelope';
import type { FromPolicy } from '../../../mail/smtp/senderAlignment';
import type { RateDecision } from '../../../mail/smtp/senderRate';
import {
  smtpSessionMachineWith,
  type SmtpSessionEffects,
  type Answer,
  type DeliveryInput,
  type ReceivedMessage,
  type SmtpSessionContext,
  type SmtpSessionEvent,
  type SmtpSessionLimits,
} from '../../../machines/smtpSession.machine';
import { smtpSessionRunner } from '../../../actors/mail/smtpSessionRunner';
import { type Implementation, sessionUnderTest } from '../sessionUnderTest';
import { smtpMachineValueOf } from '../../../machines/smtpSession.step';
import { ManualClock } from '../imap/manualClock';
import { nextTurn } from '../turns';

const callbackEvents = new Set(['CONNECTED', 'TLS_ESTABLISHED', 'AUTH', 'MAIL_FROM', 'RCPT_TO', 'DATA']);
const alice = { user: 'alice@rice.example', sendAs: ['alice@rice.example', 'a.smith@rice.example'] };

interface Script {
  auth?: (username: string) => AuthResult;
  recipient?: (address: string) => RecipientCheck;
  received?: () => ReceivedMessage | Promise<ReceivedMessage>;
  deliver?: (input: DeliveryInput) => DeliveryReport | Promise<DeliveryReport>;
  rate?: (user: string) => RateDecision;
}

function checkInvariants(value: unknown, context: SmtpSessionContext): void {
  const state = JSON.stringify(value);
  expect(context.failedAuths).toBeLessThanOrEqual(context.limits.failedAuthsMax);
  expect(context.badCommands).toBeLessThanOrEqual(context.limits.badCommandsMax);
  if (state.includes('rcptTo') || state.includes('"data"') || state.includes('delivering')) expect(context.recipients.length).toBeGreaterThan(0);
  if (state.includes('mailFrom') || state.includes('rcptTo')) expect(context.mailFrom).toBeDefined();
  if (state.includes('"authenticated"')) expect(context.identity).toBeDefined();
  if (state.includes('penalised')) expect([535, 454]).toContain(context.heldReply?.code);
  if (context.mode === 'inbound') expect(context.recipients.every((r) => r.route === 'post')).toBe(true);
}

/** Which implementation the harness runs: the XState machine, or its step function as the session actor runs it. */
let implementation: Implementation = 'machine';

function harness(mode: GatewayMode, script: Script = {}, limits: Partial<SmtpSessionLimits> = {}, fromPolicy?: FromPolicy) {
  const clock = new ManualClock();
  const answers: Answer[] = [];
  const disconnects: SmtpReply[] = [];
  const deliveries: DeliveryInput[] = [];
  let waiting = 0;
  const fx: SmtpSessionEffects = {
    answer: (answer) => {
      expect(waiting).toBe(1);
      waiting = 0;
      answers.push(answer);
    },
    disconnect: (reply) => {
      waiting = 0;
      disconnects.push(reply);
    },
    authenticate: async (input) => (script.auth ? script.auth(input.username) : ({ kind: 'ok', identity: alice } as const)),
    checkSendRate: async (input) => (script.rate ? script.rate(input.user) : ({ ok: true } as const)),
    checkRecipient: async (input) => (script.recipient ? script.recipient(input.address) : ({ kind: 'classified', cls: { kind: 'post', local: true }, relay: { kind: 'up' } } as const)),
    receiveMessage: async () => (script.received ? script.received() : { sizeOctets: 100, oversized: false, overBudget: false }),
    deliver: async (input) => {
      deliveries.push(input);
      return script.deliver ? script.deliver(input) : { kind: 'delivered', messageRef: 'ref0123456789abcdef', notified: input.postRecipients, relay: { kind: 'none' } };
    },
  };
  const input = { mode, ...(fromPolicy ? { fromPolicy } : {}), limits: { failedAuthsMax: 3, failedAuthDelayMs: 100, badCommandsBeforeDelay: 1, badCommandsMax: 4, badCommandDelayMs: 50, refusedRecipientsMax: 3, messageBytesMax: 1000, ...limits } };
  const session = sessionUnderTest(implementation, {
    machineWith: smtpSessionMachineWith,
    runner: smtpSessionRunner,
    valueOf: smtpMachineValueOf,
    effects: fx,
    clock,
    input,
    check: checkInvariants,
  });
  /** The stub effects resolve at once: one turn runs their continuations and the transitions they cause. */
  const settle = nextTurn;
  const h = {
    clock,
    status: () => session.status(),
    context: () => session.context(),
    answers,
    disconnects,
    deliveries,
    settle,
    /** Sends an event as smtp-server's callback would, and waits for the invoked work. */
    async send(event: SmtpSessionEvent) {
      if (callbackEvents.has(event.type)) {
        expect(waiting).toBe(0);
        waiting = 1;
      }
      session.send(event);
      await settle();
    },
    get waiting() {
      return waiting;
    },
    state: () => JSON.stringify(session.value()),
    protocol: () => (session.value() as { open?: { protocol: unknown } }).open?.protocol,
    last: () => answers.at(-1),
    async login() {
      await h.send({ type: 'CONNECTED' });
      await h.send({ type: 'AUTH', username: 'alice@rice.example' });
    },
    async transaction(recipients: string[]) {
      await h.send({ type: 'MAIL_FROM', address: 'alice@rice.example', eightBitMime: true, smtpUtf8: false });
      for (const address of recipients) await h.send({ type: 'RCPT_TO', address, original: address });
    },
  };
  return h;
}

const external = (relay: RecipientCheck extends infer R ? (R extends { relay: infer X } ? X : never) : never): RecipientCheck => ({
  kind: 'classified',
  cls: { kind: 'external' },
  relay,
});

describe.each(['machine', 'step'] as const)('smtpSession %s: submission', (which) => {
  beforeEach(() => {
    implementation = which;
  });

  it('goes greeting → ready → authenticating → authenticated → mailFrom → rcptTo → data → delivering → authenticated', async () => {
    let release!: () => void;
    const h = harness('submission', {
      deliver: (input) =>
        new Promise((resolve) => {
          release = () => resolve({ kind: 'delivered', messageRef: 'abc', notified: input.postRecipients, relay: { kind: 'none' } });
        }),
    });
    expect(h.protocol()).toBe('greeting');
    await h.send({ type: 'CONNECTED' });
    expect(h.protocol()).toBe('ready');
    await h.send({ type: 'AUTH', username: 'alice@rice.example' });
    expect(h.protocol()).toBe('authenticated');
    expect(h.last()).toEqual({ kind: 'accept', user: 'alice@rice.example' });
    await h.send({ type: 'MAIL_FROM', address: 'a.smith@rice.example', eightBitMime: true, smtpUtf8: true });
    expect(h.protocol()).toBe('mailFrom');
    await h.send({ type: 'RCPT_TO', address: 'bob@rice.example', original: 'bob@rice.example' });
    await h.send({ type: 'RCPT_TO', address: 'carol@lip6.example', original: 'carol@lip6.example' });
    expect(h.protocol()).toBe('rcptTo');
    await h.send({ type: 'DATA' });
    expect(h.protocol()).toBe('delivering');
    expect(h.waiting).toBe(1);
    release();
    await h.settle();
    expect(h.protocol()).toBe('authenticated');
    expect(h.last()).toMatchObject({ kind: 'accept', reply: { code: 250, enhanced: '2.0.0' } });
    expect(h.deliveries[0]).toEqual({
      identity: alice,
      mailFrom: 'a.smith@rice.example',
      postRecipients: ['bob@rice.example', 'carol@lip6.example'],
      externalRecipients: [],
      eightBitMime: true,
      smtpUtf8: true,
    });
    expect(h.context().mailFrom).toBeUndefined();
    await h.send({ type: 'CLOSED' });
    expect(h.status()).toBe('done');
  });

  it('a second message on the same connection starts from a clean envelope', async () => {
    const h = harness('submission');
    await h.login();
    await h.transaction(['bob@rice.example']);
    await h.send({ type: 'DATA' });
    await h.transaction(['carol@lip6.example']);
    await h.send({ type: 'DATA' });
    expect(h.deliveries.map((d) => d.postRecipients)).toEqual([['bob@rice.example'], ['carol@lip6.example']]);
    expect(h.context().messagesDelivered).toBe(2);
  });

  it('MAIL FROM must be one of the user’s own addresses (553 5.7.1), never the null sender', async () => {
    const h = harness('submission');
    await h.login();
    await h.send({ type: 'MAIL_FROM', address: 'ceo@rice.example', eightBitMime: false, smtpUtf8: false });
    expect(h.last()).toMatchObject({ kind: 'refuse', reply: { code: 553, enhanced: '5.7.1' } });
    expect(h.protocol()).toBe('authenticated');
    await h.send({ type: 'MAIL_FROM', address: '', eightBitMime: false, smtpUtf8: false });
    expect(h.last()).toMatchObject({ kind: 'refuse', reply: { code: 553 } });
  });

  it('MAIL before AUTH is refused with 530 on the submission port', async () => {
    const h = harness('submission');
    await h.send({ type: 'CONNECTED' });
    await h.send({ type: 'MAIL_FROM', address: 'alice@rice.example', eightBitMime: false, smtpUtf8: false });
    expect(h.last()).toMatchObject({ kind: 'refuse', reply: { code: 530, enhanced: '5.7.0' } });
  });

  it('a failed AUTH is answered 535 5.7.8 only after a growing delay; at the limit 421 and closing', async () => {
    const h = harness('submission', { auth: () => ({ kind: 'badCredentials' }) });
    await h.send({ type: 'CONNECTED' });
    await h.send({ type: 'AUTH', username: 'alice@rice.example' });
    expect(h.state()).toContain('penalised');
    expect(h.answers).toHaveLength(1);
    h.clock.advance(99);
    expect(h.answers).toHaveLength(1);
    h.clock.advance(1);
    expect(h.last()).toMatchObject({ kind: 'refuse', reply: { code: 535, enhanced: '5.7.8' } });
    expect(h.protocol()).toBe('ready');
    await h.send({ type: 'AUTH', username: 'alice@rice.example' });
    h.clock.advance(199);
    expect(h.answers).toHaveLength(2);
    h.clock.advance(1);
    expect(h.answers).toHaveLength(3);
    await h.send({ type: 'AUTH', username: 'alice@rice.example' });
    expect(h.disconnects).toEqual([expect.objectContaining({ code: 421, enhanced: '4.7.0' })]);
    expect(h.state()).toBe('"closing"');
  });

  it('AUTH with the directory unreachable is 454 4.7.0, not counted as a failure', async () => {
    const h = harness('submission', { auth: () => ({ kind: 'unavailable' }) });
    await h.send({ type: 'CONNECTED' });
    for (let i = 0; i < 5; i++) await h.send({ type: 'AUTH', username: 'alice@rice.example' });
    expect(h.answers.slice(1).map((a) => (a.kind === 'refuse' ? `${a.reply.code} ${a.reply.enhanced}` : 'ok'))).toEqual(Array(5).fill('454 4.7.0'));
    expect(h.context().failedAuths).toBe(0);
  });

  it('RCPT: POST accepted, external by smarthost state, refused ones with their own codes', async () => {
    const checks: Record<string, RecipientCheck> = {
      'bob@rice.example': { kind: 'classified', cls: { kind: 'post', local: true }, relay: { kind: 'up' } },
      'dave@gmail.example': external({ kind: 'up' }),
      'erin@gmail.example': external({ kind: 'down', smarthost: 'relay:25', reason: 'ECONNREFUSED' }),
      'frank@gmail.example': external({ kind: 'unconfigured' }),
      'nobody@rice.example': { kind: 'classified', cls: { kind: 'refused', refusal: 'UNKNOWN_USER' }, relay: { kind: 'up' } },
      'later@rice.example': { kind: 'unavailable' },
    };
    const h = harness('submission', { recipient: (a) => checks[a]! }, { refusedRecipientsMax: 10 });
    await h.login();
    await h.transaction(['nobody@rice.example']);
    expect(h.protocol()).toBe('mailFrom');
    const codes = [];
    for (const address of Object.keys(checks)) {
      await h.send({ type: 'RCPT_TO', address, original: address });
      const a = h.last()!;
      codes.push(a.kind === 'accept' ? 250 : `${a.reply.code} ${a.reply.enhanced}`);
    }
    expect(codes).toEqual([250, 250, '451 4.4.1', '550 5.7.1', '550 5.1.1', '451 4.4.3']);
    expect(h.protocol()).toBe('rcptTo');
    expect(h.context().recipients).toEqual([
      { address: 'bob@rice.example', original: 'bob@rice.example', route: 'post' },
      { address: 'dave@gmail.example', original: 'dave@gmail.example', route: 'external' },
    ]);
  });

  it('too many refused recipients close the connection (address harvesting)', async () => {
    const h = harness('submission', { recipient: () => ({ kind: 'classified', cls: { kind: 'refused', refusal: 'UNKNOWN_USER' }, relay: { kind: 'up' } }) });
    await h.login();
    await h.transaction(['a@rice.example', 'b@rice.example', 'c@rice.example']);
    expect(h.disconnects).toEqual([expect.objectContaining({ code: 421 })]);
    expect(h.state()).toBe('"closing"');
    // Whatever smtp-server still hands over while the socket closes is answered, not left waiting.
    await h.send({ type: 'RCPT_TO', address: 'd@rice.example', original: 'd@rice.example' });
    expect(h.last()).toMatchObject({ kind: 'refuse', reply: { code: 421 } });
  });

  it('an oversized message is refused 552 5.3.4 and never delivered', async () => {
    const h = harness('submission', { received: () => ({ sizeOctets: 5000, oversized: true, overBudget: false }) });
    await h.login();
    await h.transaction(['bob@rice.example']);
    await h.send({ type: 'DATA' });
    expect(h.last()).toMatchObject({ kind: 'refuse', reply: { code: 552, enhanced: '5.3.4' } });
    expect(h.deliveries).toHaveLength(0);
    expect(h.protocol()).toBe('authenticated');
  });

  it('a message dropped for the listener’s memory budget is refused 452 4.3.1, never delivered', async () => {
    const h = harness('submission', { received: () => ({ sizeOctets: 500, oversized: false, overBudget: true }) });
    await h.login();
    await h.transaction(['bob@rice.example']);
    await h.send({ type: 'DATA' });
    expect(h.last()).toMatchObject({ kind: 'refuse', reply: { code: 452, enhanced: '4.3.1' } });
    expect(h.deliveries).toHaveLength(0);
  });

  it('a From: that is not the user’s is refused 550 5.7.1 by default, and never delivered', async () => {
    const h = harness('submission', { received: () => ({ sizeOctets: 100, oversized: false, overBudget: false, fromAlignment: { kind: 'foreign', foreign: ['ceo@rice.example'] } }) });
    await h.login();
    await h.transaction(['bob@rice.example']);
    await h.send({ type: 'DATA' });
    expect(h.last()).toMatchObject({ kind: 'refuse', reply: { code: 550, enhanced: '5.7.1' } });
    expect((h.last() as { reply: SmtpReply }).reply.text).toBe(
      "The message's From:/Sender: <ceo@rice.example> is not an address you may send as (logged in as alice@rice.example); put your own address in From:; nothing was delivered",
    );
    expect(h.deliveries).toHaveLength(0);
    expect(h.protocol()).toBe('authenticated');
  });

  it('with fromPolicy add-sender, a foreign From: goes out with the user in Sender:; an aligned one as it is', async () => {
    let alignment: ReceivedMessage['fromAlignment'] = { kind: 'foreign', foreign: ['ceo@rice.example'] };
    const h = harness('submission', { received: () => ({ sizeOctets: 100, oversized: false, overBudget: false, fromAlignment: alignment }) }, {}, 'add-sender');
    await h.login();
    await h.transaction(['bob@rice.example']);
    await h.send({ type: 'DATA' });
    expect(h.last()).toMatchObject({ kind: 'accept', reply: { code: 250 } });
    alignment = { kind: 'aligned' };
    await h.transaction(['bob@rice.example']);
    await h.send({ type: 'DATA' });
    expect(h.deliveries.map((d) => d.addHeader)).toEqual([{ name: 'Sender', address: 'alice@rice.example' }, undefined]);
  });

  it('a message without a From: address is delivered with the user’s, under either policy', async () => {
    for (const policy of ['refuse', 'add-sender'] as const) {
      const h = harness('submission', { received: () => ({ sizeOctets: 100, oversized: false, overBudget: false, fromAlignment: { kind: 'missing' } }) }, {}, policy);
      await h.login();
      await h.transaction(['bob@rice.example']);
      await h.send({ type: 'DATA' });
      expect(h.last()).toMatchObject({ kind: 'accept', reply: { code: 250 } });
      expect(h.deliveries[0]!.addHeader).toEqual({ name: 'From', address: 'alice@rice.example' });
    }
  });

  it('past the sending rate, MAIL FROM is answered 450 4.7.1 with the wait; the session goes on', async () => {
    let limited = true;
    const h = harness('submission', { rate: () => (limited ? { ok: false, retryAfterMs: 2_500, burstMessages: 60, messagesPerMinute: 20 } : { ok: true }) });
    await h.login();
    await h.send({ type: 'MAIL_FROM', address: 'alice@rice.example', eightBitMime: false, smtpUtf8: false });
    expect(h.last()).toEqual({
      kind: 'refuse',
      reply: { code: 450, enhanced: '4.7.1', text: 'alice@rice.example has sent too many messages: at most 60 at once, then 20 a minute; try again in 3 s' },
    });
    expect(h.protocol()).toBe('authenticated');
    expect(h.context().mailFrom).toBeUndefined();
    limited = false;
    await h.send({ type: 'MAIL_FROM', address: 'alice@rice.example', eightBitMime: false, smtpUtf8: false });
    expect(h.protocol()).toBe('mailFrom');
  });

  it('a message cut off mid-DATA is never delivered', async () => {
    const h = harness('submission', { received: () => Promise.reject(new Error('connection closed')) });
    await h.login();
    await h.transaction(['bob@rice.example']);
    await h.send({ type: 'DATA' });
    expect(h.deliveries).toHaveLength(0);
    expect(h.last()).toMatchObject({ kind: 'refuse', reply: { code: 451 } });
  });

  it('a failed delivery is a 4xx/5xx with the precise reason, not a 250', async () => {
    const h = harness('submission', {
      deliver: (input) => ({
        kind: 'delivered',
        messageRef: 'abc',
        notified: input.postRecipients,
        relay: { kind: 'failed', temporary: true, enhanced: '4.4.1', reason: 'unreachable', relayed: [], failed: input.externalRecipients },
      }),
      recipient: (a) => (a.endsWith('gmail.example') ? external({ kind: 'up' }) : { kind: 'classified', cls: { kind: 'post', local: true }, relay: { kind: 'up' } }),
    });
    await h.login();
    await h.transaction(['bob@rice.example', 'dave@gmail.example']);
    await h.send({ type: 'DATA' });
    const a = h.last()!;
    expect(a.kind).toBe('refuse');
    if (a.kind === 'refuse') {
      expect(a.reply.code).toBe(451);
      expect(a.reply.text).toContain('Delivered to POST recipient(s) <bob@rice.example>');
      expect(a.reply.text).toContain('<dave@gmail.example>');
    }
  });

  it('RSET (a 250 to RSET, HELO or EHLO) drops the transaction', async () => {
    const h = harness('submission');
    await h.login();
    await h.transaction(['bob@rice.example']);
    await h.send({ type: 'REPLIED', command: 'RSET', code: 250 });
    expect(h.protocol()).toBe('authenticated');
    expect(h.context().recipients).toEqual([]);
    await h.transaction(['carol@lip6.example']);
    await h.send({ type: 'REPLIED', command: 'EHLO', code: 501 });
    expect(h.protocol()).toBe('rcptTo');
  });

  it('STARTTLS forgets the authentication (RFC 3207 4.2)', async () => {
    const h = harness('submission');
    await h.login();
    await h.send({ type: 'TLS_ESTABLISHED' });
    expect(h.protocol()).toBe('ready');
    expect(h.context().identity).toBeUndefined();
  });

  it('bad commands: counted, then each delays the next command, then 421', async () => {
    const h = harness('submission');
    await h.send({ type: 'CONNECTED' });
    await h.send({ type: 'REPLIED', command: 'UNKNOWN', code: 500 });
    expect(h.state()).toContain('calm');
    await h.send({ type: 'REPLIED', command: 'MAIL', code: 501 });
    expect(h.state()).toContain('throttled');
    h.clock.advance(50);
    expect(h.state()).toContain('calm');
    await h.send({ type: 'REPLIED', command: 'NOOP', code: 250 });
    await h.send({ type: 'REPLIED', command: 'AUTH', code: 504 });
    expect(h.state()).toContain('throttled');
    await h.send({ type: 'REPLIED', command: 'UNKNOWN', code: 500 });
    expect(h.disconnects).toEqual([expect.objectContaining({ code: 421, enhanced: '4.7.0' })]);
    expect(h.state()).toBe('"closing"');
  });

  it('shutdown: an idle session gets 421 at once', async () => {
    const h = harness('submission');
    await h.login();
    await h.send({ type: 'SHUTDOWN' });
    expect(h.disconnects).toEqual([expect.objectContaining({ code: 421, enhanced: '4.3.2' })]);
  });

  it('shutdown: a delivery in progress finishes and is answered before the 421', async () => {
    let release!: () => void;
    const h = harness('submission', {
      deliver: (input) => new Promise((resolve) => (release = () => resolve({ kind: 'delivered', messageRef: 'abc', notified: input.postRecipients, relay: { kind: 'none' } }))),
    });
    await h.login();
    await h.transaction(['bob@rice.example']);
    await h.send({ type: 'DATA' });
    await h.send({ type: 'SHUTDOWN' });
    expect(h.disconnects).toHaveLength(0);
    release();
    await h.settle();
    expect(h.last()).toMatchObject({ kind: 'accept', reply: { code: 250 } });
    expect(h.disconnects).toEqual([expect.objectContaining({ code: 421 })]);
    expect(h.state()).toBe('"closing"');
  });

  it('callbacks in the wrong state are answered 503, never left waiting', async () => {
    const h = harness('submission');
    await h.send({ type: 'CONNECTED' });
    await h.send({ type: 'DATA' });
    expect(h.last()).toMatchObject({ kind: 'refuse', reply: { code: 503 } });
    await h.send({ type: 'RCPT_TO', address: 'bob@rice.example', original: 'bob@rice.example' });
    expect(h.last()).toMatchObject({ kind: 'refuse', reply: { code: 503 } });
  });
});

describe.each(['machine', 'step'] as const)('smtpSession %s: inbound gateway', (which) => {
  beforeEach(() => {
    implementation = which;
  });

  const checks: Record<string, RecipientCheck> = {
    'bob@rice.example': { kind: 'classified', cls: { kind: 'post', local: true }, relay: { kind: 'up' } },
    'carol@lip6.example': { kind: 'classified', cls: { kind: 'post', local: false }, relay: { kind: 'up' } },
    'dave@gmail.example': external({ kind: 'up' }),
  };

  it('takes MAIL without AUTH, local POST users only; everyone else is relay denied', async () => {
    const h = harness('inbound', { recipient: (a) => checks[a]! });
    await h.send({ type: 'CONNECTED' });
    await h.send({ type: 'MAIL_FROM', address: '', eightBitMime: false, smtpUtf8: false });
    expect(h.protocol()).toBe('mailFrom');
    const codes = [];
    for (const address of Object.keys(checks)) {
      await h.send({ type: 'RCPT_TO', address, original: address });
      const a = h.last()!;
      codes.push(a.kind === 'accept' ? 250 : `${a.reply.code} ${a.reply.enhanced}`);
    }
    expect(codes).toEqual([250, '550 5.7.1', '550 5.7.1']);
    await h.send({ type: 'DATA' });
    expect(h.deliveries[0]).toMatchObject({ identity: undefined, mailFrom: '', postRecipients: ['bob@rice.example'], externalRecipients: [] });
    expect(h.protocol()).toBe('ready');
  });
});
