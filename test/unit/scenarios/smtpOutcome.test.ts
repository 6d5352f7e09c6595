// How the lab's scenarios record a failed SMTP submission: failed (the mail must never show up, and a
// checker says so if it does) only when nothing can have been accepted; otherwise unknown.
import { describe, expect, test } from 'vitest';
import { smtpFailureOutcome } from '../../../scenarios/env/env';

describe('SMTP submission outcomes in a lab scenario', () => {
  test('refused before the message exists: failed', () => {
    // The sender over its rate: 450 to MAIL FROM (nodemailer: "Mail command failed").
    expect(smtpFailureOutcome({ responseCode: 450, command: 'MAIL FROM', message: 'Mail command failed: 450 4.7.1 user1@lab.example has sent too many messages' })).toBe('failed');
    expect(smtpFailureOutcome({ responseCode: 452, command: 'RCPT TO', message: "Can't send mail - all recipients were rejected: 452 4.2.2 inbox full" })).toBe('failed');
    expect(smtpFailureOutcome({ responseCode: 554, command: 'DATA', message: 'Message failed: 554 5.6.0 malformed' })).toBe('failed');
    expect(smtpFailureOutcome({ code: 'ESOCKET', command: 'CONN', message: 'connect ECONNREFUSED 127.0.0.1:2525' })).toBe('failed');
    expect(smtpFailureOutcome({ code: 'ECONNREFUSED', message: 'refused' })).toBe('failed');
  });

  test('a temporary refusal of the message, a timeout or a lost connection: unknown (the write may have landed)', () => {
    expect(smtpFailureOutcome({ responseCode: 451, command: 'DATA', message: 'Message failed: 451 4.3.0 Storage temporarily unavailable' })).toBe('unknown');
    expect(smtpFailureOutcome({ code: 'ETIMEDOUT', command: 'DATA', message: 'Timeout' })).toBe('unknown');
    expect(smtpFailureOutcome({ code: 'ECONNECTION', message: 'Connection closed unexpectedly' })).toBe('unknown');
    // No reply code: the connection broke during MAIL FROM; nothing says the server refused it.
    expect(smtpFailureOutcome({ code: 'ESOCKET', command: 'MAIL FROM', message: 'read ECONNRESET' })).toBe('unknown');
  });
});
