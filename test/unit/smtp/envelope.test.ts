// Envelope rules: who may send as whom, where each recipient goes in each gateway mode, and what
// the port's failures mean to the session.
import { describe, expect, it } from 'vitest';
import { commandNameOf } from '../../../actors/mail/smtpConnection';
import { addRecipient, decideRecipient, normalizeAddress, recipientsByRoute, senderAllowed, type RelayAvailability } from '../../../mail/smtp/envelope';
import { authResultOf, submitFailureOf } from '../../../mail/smtp/portOutcomes';
import { formatReply } from '../../../mail/smtp/replies';
import { SubmissionError, type RecipientClass } from '../../../mail/submission';

const alice = { user: 'alice@rice.example', sendAs: ['alice@rice.example', 'alice.smith@rice.example'] };
const up: RelayAvailability = { kind: 'up' };
const down: RelayAvailability = { kind: 'down', smarthost: 'mx.isp.example:25', reason: 'connect ECONNREFUSED' };
const none: RelayAvailability = { kind: 'unconfigured' };
const local: RecipientClass = { kind: 'post', local: true };
const federated: RecipientClass = { kind: 'post', local: false };
const external: RecipientClass = { kind: 'external' };

const outcome = (d: ReturnType<typeof decideRecipient>): string => (d.accept ? `accept ${d.route}` : formatReply(d.reply).slice(0, 9));

describe('envelope: MAIL FROM', () => {
  it('the user may send as any of their addresses, in any case', () => {
    expect(senderAllowed(alice, 'alice@rice.example')).toBe(true);
    expect(senderAllowed(alice, 'Alice.Smith@RICE.example')).toBe(true);
  });

  it('someone else’s address, a lookalike or the null sender is refused', () => {
    expect(senderAllowed(alice, 'bob@rice.example')).toBe(false);
    expect(senderAllowed(alice, 'alice@rice.example.evil')).toBe(false);
    expect(senderAllowed(alice, '')).toBe(false);
  });

  it('addresses are compared lowercased and trimmed', () => {
    expect(normalizeAddress('  Bob@Rice.Example ')).toBe('bob@rice.example');
  });
});

describe('envelope: RCPT TO on the submission port', () => {
  it('POST recipients (local or federated) go to POST whatever the relay does', () => {
    for (const relay of [up, down, none]) {
      expect(outcome(decideRecipient('submission', 'bob@rice.example', local, relay))).toBe('accept post');
      expect(outcome(decideRecipient('submission', 'carol@lip6.example', federated, relay))).toBe('accept post');
    }
  });

  it('external recipients: accepted with a live smarthost, 451 4.4.1 when it is down, 550 5.7.1 without one', () => {
    expect(outcome(decideRecipient('submission', 'dave@gmail.example', external, up))).toBe('accept external');
    const downReply = decideRecipient('submission', 'dave@gmail.example', external, down);
    expect(outcome(downReply)).toBe('451 4.4.1');
    expect(!downReply.accept && downReply.reply.text).toContain('mx.isp.example:25');
    const noneReply = decideRecipient('submission', 'dave@gmail.example', external, none);
    expect(outcome(noneReply)).toBe('550 5.7.1');
    expect(!noneReply.accept && noneReply.reply.text).toMatch(/no smarthost is configured/);
  });

  it('refusals keep their own codes', () => {
    const refused = (refusal: 'UNKNOWN_USER' | 'SENDER_BLOCKED' | 'INBOX_FULL') =>
      outcome(decideRecipient('submission', 'x@rice.example', { kind: 'refused', refusal }, up));
    expect(refused('UNKNOWN_USER')).toBe('550 5.1.1');
    expect(refused('SENDER_BLOCKED')).toBe('550 5.7.1');
    expect(refused('INBOX_FULL')).toBe('452 4.2.2');
  });
});

describe('envelope: RCPT TO on the inbound gateway', () => {
  it('only local POST users are accepted; federated and external recipients are relay denied', () => {
    expect(outcome(decideRecipient('inbound', 'bob@rice.example', local, none))).toBe('accept post');
    const federatedReply = decideRecipient('inbound', 'carol@lip6.example', federated, up);
    expect(outcome(federatedReply)).toBe('550 5.7.1');
    expect(!federatedReply.accept && federatedReply.reply.text).toMatch(/^Relay denied/);
    expect(outcome(decideRecipient('inbound', 'dave@gmail.example', external, up))).toBe('550 5.7.1');
    expect(outcome(decideRecipient('inbound', 'nobody@rice.example', { kind: 'refused', refusal: 'UNKNOWN_USER' }, up))).toBe('550 5.1.1');
  });
});

describe('envelope: recipient list', () => {
  it('a repeated RCPT TO is kept once; recipients split by route', () => {
    let list = addRecipient([], { address: 'bob@rice.example', original: 'Bob@Rice.example', route: 'post' });
    list = addRecipient(list, { address: 'dave@gmail.example', original: 'Dave@gmail.example', route: 'external' });
    list = addRecipient(list, { address: 'bob@rice.example', original: 'bob@rice.example', route: 'post' });
    expect(list).toHaveLength(2);
    expect(recipientsByRoute(list, 'post')).toEqual(['bob@rice.example']);
    expect(recipientsByRoute(list, 'external')).toEqual(['dave@gmail.example']);
    // The smarthost gets a foreign address as the client wrote it.
    expect(recipientsByRoute(list, 'external', 'original')).toEqual(['Dave@gmail.example']);
  });
});

describe('port outcomes', () => {
  it('wrong password and unknown user look the same (535); anything else is temporary (454)', () => {
    expect(authResultOf(new SubmissionError('WRONG_PASSWORD', 'x'))).toEqual({ kind: 'badCredentials' });
    expect(authResultOf(new SubmissionError('UNKNOWN_USER', 'x'))).toEqual({ kind: 'badCredentials' });
    expect(authResultOf(new SubmissionError('UNAVAILABLE', 'x'))).toEqual({ kind: 'unavailable' });
    expect(authResultOf(new TypeError('bug'))).toEqual({ kind: 'unavailable' });
  });

  it('a submit failure keeps its code and recipients; a non-port error is INTERNAL', () => {
    expect(submitFailureOf(new SubmissionError('INBOX_FULL', 'full', ['bob@rice.example']))).toEqual({
      code: 'INBOX_FULL',
      message: 'full',
      recipients: ['bob@rice.example'],
    });
    expect(submitFailureOf(new Error('boom')).code).toBe('INTERNAL');
  });
});

describe('command names seen by the session machine', () => {
  it('are short upper-case words; anything else is UNKNOWN (arguments never leak)', () => {
    expect(commandNameOf('mail FROM:<a@b>')).toBe('MAIL');
    expect(commandNameOf('EHLO client.example')).toBe('EHLO');
    expect(commandNameOf('\x00\xff garbage')).toBe('UNKNOWN');
    expect(commandNameOf('A'.repeat(40))).toBe('UNKNOWN');
    expect(commandNameOf('')).toBe('UNKNOWN');
  });
});
