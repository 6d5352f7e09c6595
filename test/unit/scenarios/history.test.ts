// A scenario's history: every mail's subject is its own, since the checkers find mail by subject (a
// soak that ran home-node-down seven times read its seven rounds' mails as one mail delivered 7 times).
import { describe, expect, test } from 'vitest';
import { exactlyOnce, noLostMail } from '../../../scenarios/checkers';
import { History } from '../../../scenarios/history';

describe('scenario history', () => {
  test('a subject used twice is a scenario bug, refused at once', () => {
    const h = new History(() => 0, 'run1');
    h.mail('a@x', 'b@x', 'hello');
    expect(() => h.mail('a@x', 'b@x', 'hello')).toThrow(/used before/);
  });

  test('nextId tells rounds apart, and exactlyOnce judges each round by its own subject', () => {
    const h = new History(() => 0, 'run1');
    const subjects = [1, 2].map(() => {
      const op = h.mail('a@x', 'b@x', `round ${h.nextId}`);
      h.complete(op, 'ok');
      h.fault('between rounds');
      return op.subject;
    });
    expect(new Set(subjects).size).toBe(2);
    const inboxes = new Map([['b@x', new Map(subjects.map((s) => [s, 1]))]]);
    expect(exactlyOnce(h, inboxes).ok).toBe(true);
    expect(exactlyOnce(h, new Map([['b@x', new Map([[subjects[0]!, 2]])]])).ok).toBe(false);
  });

  test('missing mail names the INBOXes the final reads could not read, and why', () => {
    const h = new History(() => 0, 'run1');
    const op = h.mail('a@x', 'b@x', 'hello');
    h.complete(op, 'ok');
    expect(noLostMail(h, new Map([['b@x', new Map([['hello', 1]])]])).ok).toBe(true);
    const lost = noLostMail(h, new Map([['b@x', new Map()]]), [], new Map([['b@x', 'attempt 1 after 30000 ms: Socket timeout']]));
    expect(lost.ok).toBe(false);
    expect(lost.detail).toMatch(/1 acknowledged mails missing \(1 to b@x\), e\.g\. .*no notification pending in any drop; INBOX unreadable: b@x \(attempt 1 after 30000 ms: Socket timeout\)$/);
  });

  test('failures are summed per sender, the heaviest first, each with the first error of each outcome', () => {
    const h = new History(() => 0, 'run1');
    const send = (from: string, outcome: 'ok' | 'failed' | 'unknown', error?: string) => h.complete(h.mail(from, 'z@x', `m ${h.nextId}`), outcome, error);
    send('a@x', 'ok');
    send('b@x', 'failed', '550 no such user');
    send('b@x', 'unknown', 'timeout');
    send('c@x', 'failed', 'ECONNREFUSED');
    send('b@x', 'failed', 'later');
    expect(h.failuresBySender()).toEqual([
      { from: 'b@x', failed: 2, unknown: 1, firstFailed: '550 no such user', firstUnknown: 'timeout' },
      { from: 'c@x', failed: 1, unknown: 0, firstFailed: 'ECONNREFUSED' },
    ]);
    expect(h.failuresBySender(1)).toHaveLength(1);
  });
});
