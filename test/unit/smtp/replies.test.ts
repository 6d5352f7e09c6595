// Error mapping: storage failures and relay outcomes to the one reply after DATA. A 250 only when
// everything was delivered; otherwise 4xx or 5xx that says what was and was not delivered.
import { describe, expect, it } from 'vitest';
import { deliveryReply, formatReply, isTemporary, replies, submitFailureReply, type DeliveryReport } from '../../../mail/smtp/replies';
import type { SubmissionErrorCode } from '../../../mail/submission';

const delivered = (relay: Extract<DeliveryReport, { kind: 'delivered' }>['relay'], notified = ['bob@rice.example']): DeliveryReport => ({
  kind: 'delivered',
  messageRef: 'f8fa3b145b365de8aaaa',
  notified,
  relay,
});

describe('replies after DATA', () => {
  it('250 when storage confirmed and nothing needed relaying, or everything was relayed', () => {
    expect(formatReply(deliveryReply(delivered({ kind: 'none' })))).toBe(
      '250 2.0.0 Message accepted: stored as f8fa3b145b365de8, 1 POST recipient(s) notified, 0 relayed',
    );
    expect(deliveryReply(delivered({ kind: 'relayed', recipients: ['dave@gmail.example'] })).code).toBe(250);
  });

  it('POST delivered but relay down: 451 naming who got it, who did not, and that a retry is safe', () => {
    const r = deliveryReply(
      delivered({ kind: 'failed', temporary: true, enhanced: '4.4.1', reason: 'the smarthost is unreachable', relayed: [], failed: ['dave@gmail.example'] }),
    );
    expect(r.code).toBe(451);
    expect(r.enhanced).toBe('4.4.1');
    expect(r.text).toBe(
      'Delivered to POST recipient(s) <bob@rice.example>, but relaying to <dave@gmail.example> failed (the smarthost is unreachable); sending again is safe: POST recipients will not get a second copy',
    );
  });

  it('only external recipients and the relay failed: nothing was delivered', () => {
    const r = deliveryReply(
      delivered({ kind: 'failed', temporary: true, enhanced: '4.4.2', reason: 'timed out', relayed: [], failed: ['dave@gmail.example'] }, []),
    );
    expect(formatReply(r)).toBe('451 4.4.2 Relaying to <dave@gmail.example> failed (timed out); nothing was delivered; try again later');
  });

  it('a permanent refusal by the smarthost is 5xx; partial acceptance warns against resending to those served', () => {
    const r = deliveryReply(
      delivered({ kind: 'failed', temporary: false, enhanced: '5.1.1', reason: 'no such user', relayed: ['erin@gmail.example'], failed: ['dave@gmail.example'] }),
    );
    expect(r.code).toBe(554);
    expect(r.enhanced).toBe('5.1.1');
    expect(r.text).toContain('relayed to <erin@gmail.example>');
    expect(r.text).toContain('do not send again to the recipients already served');
  });

  it('an enhanced code of the wrong class is never sent', () => {
    const r = deliveryReply(delivered({ kind: 'failed', temporary: true, enhanced: '5.7.1', reason: 'x', relayed: [], failed: ['d@g.example'] }));
    expect(r.enhanced.startsWith('4.')).toBe(true);
  });
});

describe('storage failures', () => {
  const cases: [SubmissionErrorCode | 'TIMEOUT', string][] = [
    ['UNKNOWN_USER', '550 5.1.1'],
    ['SENDER_BLOCKED', '550 5.7.1'],
    ['INBOX_FULL', '452 4.2.2'],
    ['OVER_QUOTA', '552 5.2.2'],
    ['TOO_BIG', '552 5.3.4'],
    ['UNAVAILABLE', '451 4.3.0'],
    ['TIMEOUT', '451 4.3.0'],
    ['INTERNAL', '451 4.3.0'],
    ['WRONG_PASSWORD', '451 4.3.0'],
  ];
  it.each(cases)('%s → %s', (code, expected) => {
    const r = submitFailureReply({ code, message: 'detail', recipients: ['bob@rice.example'] });
    expect(`${r.code} ${r.enhanced}`).toBe(expected);
    expect(r.enhanced[0]).toBe(String(r.code)[0]);
    if (code !== 'TIMEOUT') expect(r.text).toMatch(/nothing was delivered/);
  });

  it('recipient-level failures name the recipient; the timeout says a retry is safe', () => {
    expect(submitFailureReply({ code: 'INBOX_FULL', message: 'x', recipients: ['bob@rice.example'] }).text).toContain('<bob@rice.example>');
    expect(submitFailureReply({ code: 'TIMEOUT', message: 'x', recipients: [] }).text).toContain('sending again is safe');
  });
});

describe('every composed reply', () => {
  it('has an enhanced code of its own class and one line of text', () => {
    const all = [
      replies.authFailed(),
      replies.authUnavailable(),
      replies.tooManyAuthFailures(),
      replies.tooManyBadCommands(),
      replies.tooManyRefusedRecipients(),
      replies.authRequired(),
      replies.startTlsRequired(),
      replies.shuttingDown(),
      replies.closing(),
      replies.senderNotAllowed('x@y', 'alice@rice.example'),
      replies.unknownUser('x@y'),
      replies.senderBlocked('x@y'),
      replies.inboxFull('x@y'),
      replies.relayDenied('x@y'),
      replies.noSmarthost('x@y'),
      replies.relayDown('x@y', 'h:25', 'refused'),
      replies.recipientCheckUnavailable('x@y'),
      replies.messageTooBig(10),
      replies.messageIncomplete(),
      replies.insufficientStorage(),
      replies.internalError(),
    ];
    for (const r of all) {
      expect(r.enhanced).toMatch(/^[245]\.\d{1,3}\.\d{1,3}$/);
      expect(r.enhanced[0]).toBe(String(r.code)[0]);
      expect(r.text).not.toMatch(/[\r\n]/);
    }
    expect(isTemporary(replies.authUnavailable())).toBe(true);
    expect(formatReply(replies.authFailed())).toBe('535 5.7.8 Authentication credentials invalid: check the user name and password');
  });
});
