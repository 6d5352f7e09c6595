// Sender alignment (From:/Sender: must be the submitter's own) and the per-sender token bucket.
import { describe, expect, it } from 'vitest';
import { replies } from '../../../mail/smtp/replies';
import { checkFromAlignment, headerToAdd, withHeader } from '../../../mail/smtp/senderAlignment';
import { SenderRate } from '../../../mail/smtp/senderRate';
import { ManualClock } from '../imap/manualClock';

const alice = { user: 'alice@rice.example', sendAs: ['alice@rice.example', 'a.smith@rice.example'] };
const msg = (header: string, body = 'hello\r\n'): Buffer => Buffer.from(`${header}\r\n\r\n${body}`, 'utf8');

describe('sender alignment', () => {
  it('accepts the user’s own addresses, in any case, with display names, comments and folding', () => {
    for (const from of [
      'From: alice@rice.example',
      'From: Alice <ALICE@Rice.Example>',
      'From: "Smith, A." <a.smith@rice.example> (work)',
      'FROM:\r\n\t<alice@rice.example>',
      'From: alice@rice.example\r\nSender: a.smith@rice.example',
      'From: friends: alice@rice.example, a.smith@rice.example;',
    ])
      expect(checkFromAlignment(msg(`${from}\r\nSubject: x`), alice), from).toEqual({ kind: 'aligned' });
  });

  it('names what is not the user’s: another address, a second author, a foreign Sender:', () => {
    expect(checkFromAlignment(msg('From: CEO <ceo@rice.example>'), alice)).toEqual({ kind: 'foreign', foreign: ['ceo@rice.example'] });
    expect(checkFromAlignment(msg('From: "alice@rice.example" <ceo@rice.example>'), alice)).toEqual({ kind: 'foreign', foreign: ['ceo@rice.example'] });
    expect(checkFromAlignment(msg('From: alice@rice.example, bob@rice.example'), alice)).toEqual({ kind: 'foreign', foreign: ['bob@rice.example'] });
    expect(checkFromAlignment(msg('From: alice@rice.example\r\nFrom: bob@rice.example'), alice)).toEqual({ kind: 'foreign', foreign: ['bob@rice.example'] });
    expect(checkFromAlignment(msg('From: alice@rice.example\r\nSender: bob@rice.example'), alice)).toEqual({ kind: 'foreign', foreign: ['bob@rice.example'] });
    expect(checkFromAlignment(msg('From: alice@rice.example.evil.example'), alice)).toEqual({ kind: 'foreign', foreign: ['alice@rice.example.evil.example'] });
  });

  it('the refusal is one reply line even when the From: hides a CR (found by fuzzing)', () => {
    const alignment = checkFromAlignment(Buffer.from('From: The CEO <ceo@rice.example>\r.example>\r\n\r\nbody'), alice);
    expect(alignment.kind).toBe('foreign');
    const reply = replies.fromNotAligned(alignment.kind === 'foreign' ? alignment.foreign : [], alice.user);
    expect(reply.text).not.toMatch(/[\r\n]/);
    expect(replies.fromNotAligned(Array.from({ length: 50 }, (_, i) => `x${i}@${'y'.repeat(500)}`), alice.user).text.length).toBeLessThan(1_000);
  });

  it('a message without a From: address is missing one (the submission adds the user’s)', () => {
    expect(checkFromAlignment(msg('Subject: no from'), alice)).toEqual({ kind: 'missing' });
    expect(checkFromAlignment(msg('From: undisclosed:;'), alice)).toEqual({ kind: 'missing' });
    expect(checkFromAlignment(Buffer.from('no header at all'), alice)).toEqual({ kind: 'missing' });
  });

  it('only the top-level header counts: a From: in the body or an attached message does not', () => {
    expect(checkFromAlignment(msg('Subject: x', 'From: alice@rice.example\r\n'), alice)).toEqual({ kind: 'missing' });
    expect(checkFromAlignment(msg('From: alice@rice.example', 'From: ceo@rice.example\r\n'), alice)).toEqual({ kind: 'aligned' });
  });

  it('adds Sender: only for a foreign From: under add-sender, and From: whenever it is missing', () => {
    const user = 'alice@rice.example';
    expect(headerToAdd({ kind: 'aligned' }, 'add-sender', user)).toBeUndefined();
    expect(headerToAdd({ kind: 'foreign', foreign: ['x@y'] }, 'refuse', user)).toBeUndefined();
    expect(headerToAdd({ kind: 'foreign', foreign: ['x@y'] }, 'add-sender', user)).toEqual({ name: 'Sender', address: user });
    expect(headerToAdd({ kind: 'missing' }, 'refuse', user)).toEqual({ name: 'From', address: user });
  });

  it('withHeader puts the user in Sender: (or From:) first in the header, replacing earlier ones, every other byte kept', () => {
    const sender = { name: 'Sender', address: 'alice@rice.example' } as const;
    const from = { name: 'From', address: 'alice@rice.example' } as const;
    const raw = msg('From: ceo@rice.example\r\nSender: bob@rice.example\r\nSubject: x\r\nsender:\r\n  carol@rice.example');
    expect(Buffer.from(withHeader(raw, sender)).toString()).toBe('Sender: <alice@rice.example>\r\nFrom: ceo@rice.example\r\nSubject: x\r\n\r\nhello\r\n');
    expect(Buffer.from(withHeader(Buffer.from('From: x@y\n\nbare LF\n'), sender)).toString()).toBe('Sender: <alice@rice.example>\nFrom: x@y\n\nbare LF\n');
    expect(Buffer.from(withHeader(msg('From: undisclosed:;\r\nSubject: x'), from)).toString()).toBe('From: <alice@rice.example>\r\nSubject: x\r\n\r\nhello\r\n');
    // Found by fuzzing: an emptied last line, a stray CR, no blank line at all.
    for (const odd of ['From: undis\\clo;ed:', 'Subject: s\r\nFrom: ', 'From: fr\niends: a\rb;\r\n\r', '\r\nbody only', 'Subject: no end']) {
      const added = withHeader(Buffer.from(odd, 'latin1'), from);
      const header = Buffer.from(added).toString('latin1').split(/\r?\n/)[0];
      expect(header, odd).toBe('From: <alice@rice.example>');
    }
  });

  it('an added From: cannot be extended by a leading continuation line (found by fuzzing)', () => {
    const raw = Buffer.from(' , ceo@rice.example\r\n\t more\r\nSubject: x\r\n\r\nbody\r\n');
    expect(checkFromAlignment(raw, alice)).toEqual({ kind: 'missing' });
    const added = withHeader(raw, { name: 'From', address: alice.user });
    expect(Buffer.from(added).toString()).toBe('From: <alice@rice.example>\r\nSubject: x\r\n\r\nbody\r\n');
    expect(checkFromAlignment(added, alice)).toEqual({ kind: 'aligned' });
  });
});

describe('per-sender rate', () => {
  it('lets a burst through, then the sustained rate, and says how long to wait', () => {
    const clock = new ManualClock();
    const rate = new SenderRate(clock, { burstMessages: 5, messagesPerMinute: 6, sendersMax: 100 });
    for (let i = 0; i < 5; i++) expect(rate.take('alice@x').ok).toBe(true);
    expect(rate.take('alice@x')).toEqual({ ok: false, retryAfterMs: 10_000, burstMessages: 5, messagesPerMinute: 6 });
    expect(rate.take('bob@x').ok).toBe(true);
    clock.advance(4_000);
    expect(rate.take('alice@x')).toMatchObject({ ok: false, retryAfterMs: 6_000 });
    clock.advance(6_000);
    expect(rate.take('alice@x').ok).toBe(true);
    // Over ten minutes at one attempt a second: the burst plus six a minute, no more.
    let sent = 0;
    for (let s = 0; s < 600; s++, clock.advance(1_000)) if (rate.take('carol@x').ok) sent++;
    expect(sent).toBe(5 + 59);
  });

  it('600 mails in 11 s are not all accepted with the defaults', () => {
    const clock = new ManualClock();
    const rate = new SenderRate(clock);
    let sent = 0;
    for (let i = 0; i < 600; i++, clock.advance(11_000 / 600)) if (rate.take('alice@x').ok) sent++;
    expect(sent).toBeLessThan(70);
  });

  it('keeps at most sendersMax buckets, forgetting full ones first', () => {
    const clock = new ManualClock();
    const rate = new SenderRate(clock, { burstMessages: 2, messagesPerMinute: 60, sendersMax: 10 });
    rate.take('busy@x');
    rate.take('busy@x');
    for (let i = 0; i < 9; i++) rate.take(`user${i}@x`);
    clock.advance(1_000);
    for (let i = 10; i < 100; i++) {
      rate.take(`user${i}@x`);
      expect(rate.size).toBeLessThanOrEqual(10);
    }
    expect(() => new SenderRate(clock, { burstMessages: 0 })).toThrow(/invalid submission rate/);
  });
});
