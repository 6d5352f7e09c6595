// The Received header: RFC 5321 4.4 shape, RFC 3848/6531 protocol names, client text made safe,
// and the message's own bytes left untouched behind it.
import { describe, expect, it } from 'vitest';
import { addressLiteral, lineEndingOf, prependHeader, receivedHeader, rfc5322Date, withProtocol } from '../../../mail/smtp/receivedHeader';

const base = {
  helo: 'laptop.example',
  clientAddress: '192.0.2.7',
  serverName: 'node1.rice.example',
  protocol: 'ESMTPSA',
  id: 'q9tbdfvkv11c0hut',
  recipients: ['bob@rice.example'],
  receivedAtMs: Date.UTC(2023, 10, 14, 22, 13, 20),
};

describe('Received header', () => {
  it('names the client, this node, the protocol, the id, the single recipient and the date', () => {
    expect(receivedHeader(base)).toBe(
      'Received: from laptop.example ([192.0.2.7])\r\n' +
        '\tby node1.rice.example (ePOST) with ESMTPSA id q9tbdfvkv11c0hut\r\n' +
        '\tfor <bob@rice.example>;\r\n' +
        '\tTue, 14 Nov 2023 22:13:20 +0000',
    );
  });

  it('does not list several recipients (that would reveal Bcc)', () => {
    const header = receivedHeader({ ...base, recipients: ['bob@rice.example', 'secret@rice.example'] });
    expect(header).not.toContain('for <');
    expect(header).not.toContain('secret');
  });

  it('client text cannot break out of the header or its comment', () => {
    const header = receivedHeader({ ...base, helo: 'evil)\r\nX-Injected: yes (', clientHostname: 'a\nb' });
    expect(header.split('\r\n').every((line, i) => i === 0 || line.startsWith('\t'))).toBe(true);
    expect(header).not.toMatch(/\r\nX-Injected/);
    expect(header.match(/\(/g)?.length).toBe(header.match(/\)/g)?.length);
    expect(receivedHeader({ ...base, helo: 'x'.repeat(5000) }).length).toBeLessThan(600);
    expect(receivedHeader({ ...base, helo: '' })).toContain('from unknown (');
  });

  it('a UTF-8 recipient is written as is only in an SMTPUTF8 message, and never with controls', () => {
    const recipients = ['josé@rice.example'];
    expect(receivedHeader({ ...base, recipients, utf8: true })).toContain('for <josé@rice.example>;');
    expect(receivedHeader({ ...base, recipients })).toContain('for <jos?@rice.example>;');
    expect(receivedHeader({ ...base, recipients: ['a\u202eb\u0085c@x'], utf8: true })).toContain('for <a?b?c@x>;');
  });

  it('IPv6 and IPv4-mapped peers are written as address literals', () => {
    expect(addressLiteral('2001:db8::1')).toBe('[IPv6:2001:db8::1]');
    expect(addressLiteral('::ffff:192.0.2.1')).toBe('[192.0.2.1]');
  });

  it('protocol names follow RFC 3848 and RFC 6531', () => {
    expect(withProtocol({ ehlo: false, smtpUtf8: false, tls: false, authenticated: false })).toBe('SMTP');
    expect(withProtocol({ ehlo: true, smtpUtf8: false, tls: false, authenticated: false })).toBe('ESMTP');
    expect(withProtocol({ ehlo: true, smtpUtf8: false, tls: true, authenticated: true })).toBe('ESMTPSA');
    expect(withProtocol({ ehlo: true, smtpUtf8: true, tls: false, authenticated: true })).toBe('UTF8SMTPA');
  });

  it('dates are RFC 5322 in UTC', () => {
    expect(rfc5322Date(Date.UTC(2024, 1, 29, 3, 4, 5))).toBe('Thu, 29 Feb 2024 03:04:05 +0000');
  });
});

describe('prependHeader', () => {
  it('keeps every byte of the message, 8-bit included, after the header', () => {
    const raw = Buffer.concat([Buffer.from('Subject: caf\xc3\xa9\r\n\r\nbody \xff\x00\r\n.\r\n', 'latin1')]);
    const out = Buffer.from(prependHeader(raw, 'Received: x'));
    expect(out.subarray(0, 13).toString()).toBe('Received: x\r\n');
    expect(out.subarray(13).equals(raw)).toBe(true);
  });

  it('matches a bare-LF message’s line ending', () => {
    const raw = Buffer.from('Subject: x\n\nbody\n');
    expect(lineEndingOf(raw)).toBe('\n');
    expect(Buffer.from(prependHeader(raw, 'Received: x')).toString()).toBe('Received: x\nSubject: x\n\nbody\n');
    expect(lineEndingOf(Buffer.from(''))).toBe('\r\n');
  });
});
