// The inbound gateway (the organisation's MX): mail from the Internet without AUTH, for local POST
// users only; everyone else is relay denied; the message reaches storage marked unauthenticated
// with the client's IP and HELO; the same SIZE limit holds.
import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import { RawSmtpClient, plainToken, startGateway, users, type RunningGateway } from './smtpFixture';

let running: RunningGateway | undefined;
afterEach(async () => {
  await running?.server.close();
  running = undefined;
});

describe('inbound gateway', () => {
  it('no AUTH offered; local users accepted, federated, external and unknown refused with the right codes', async () => {
    running = await startGateway({ mode: 'inbound' });
    const { client, greeting } = await RawSmtpClient.connect(running.server.port);
    expect(greeting.text).toContain('ePOST inbound gateway');
    const ehlo = await client.command('EHLO mta.internet.example');
    expect(ehlo.lines.some((l) => l.includes('AUTH'))).toBe(false);
    expect((await client.command(`AUTH PLAIN ${plainToken(users.alice.address, users.alice.password)}`)).code).toBe(500);
    expect((await client.command('MAIL FROM:<stranger@internet.example>')).code).toBe(250);
    const rcpt = async (address: string) => {
      const r = await client.command(`RCPT TO:<${address}>`);
      return `${r.code} ${r.text}`;
    };
    expect(await rcpt(users.bob.address)).toMatch(/^250 2\.1\.5 /);
    expect(await rcpt(users.carol.address)).toMatch(/^550 5\.7\.1 Relay denied: this gateway accepts mail only for users of its own organisation, not <carol@lip6\.example>$/);
    expect(await rcpt('dave@gmail.example')).toMatch(/^550 5\.7\.1 Relay denied/);
    expect(await rcpt('nobody@rice.example')).toMatch(/^550 5\.1\.1 /);
    expect((await client.command('DATA')).code).toBe(354);
    client.write('From: stranger@internet.example\r\nTo: bob@rice.example\r\nSubject: hello from outside\r\n\r\nHi Bob.\r\n.\r\n');
    const done = await client.reply();
    expect(done.code).toBe(250);
    expect((await client.command('QUIT')).code).toBe(221);

    const stored = running.submission.accepted[0]!;
    expect(stored.envelope).toMatchObject({
      authenticated: false,
      mailFrom: 'stranger@internet.example',
      postRecipients: [users.bob.address],
      client: { address: '127.0.0.1', helo: 'mta.internet.example', protocol: 'ESMTP', tls: false },
    });
    expect(stored.envelope.submitter).toBeUndefined();
    expect(running.submission.inbox(users.bob.address)[0]!.storedBy).toBe('mx@rice.example');
    expect(Buffer.from(stored.raw).toString()).toMatch(/^Received: from mta\.internet\.example \(\[127\.0\.0\.1\]\)\r\n\tby node1\.rice\.example \(ePOST\) with ESMTP id /);
  });

  it('bounces (null sender) are accepted for local users', async () => {
    running = await startGateway({ mode: 'inbound' });
    const { client } = await RawSmtpClient.connect(running.server.port);
    await client.command('EHLO mta.internet.example');
    expect((await client.command('MAIL FROM:<>')).code).toBe(250);
    expect((await client.command(`RCPT TO:<${users.bob.address}>`)).code).toBe(250);
    expect((await client.command('DATA')).code).toBe(354);
    client.write('Subject: Undeliverable\r\n\r\nBounce.\r\n.\r\n');
    expect((await client.reply()).code).toBe(250);
    expect(running.submission.accepted[0]!.envelope.mailFrom).toBe('');
    client.destroy();
  });

  it('nodemailer without credentials delivers to a local user; relaying through it fails', async () => {
    running = await startGateway({ mode: 'inbound', messageBytesMax: 5_000 });
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: running.server.port, connectionTimeout: 5_000, socketTimeout: 10_000 });
    try {
      const info = await transport.sendMail({ from: 'someone@internet.example', to: users.alice.address, subject: 'hi', text: 'from the internet' });
      expect(info.response).toMatch(/^250 /);
      const relay = await transport.sendMail({ from: 'someone@internet.example', to: 'victim@gmail.example', text: 'spam' }).catch((e: Error & { response?: string }) => e);
      expect((relay as { response?: string }).response).toMatch(/^550 5\.7\.1 Relay denied/);
      const big = await transport
        .sendMail({ from: 'someone@internet.example', to: users.alice.address, text: 'x'.repeat(10_000) })
        .catch((e: Error & { response?: string }) => e);
      expect((big as { response?: string }).response).toMatch(/^552 5\.3\.4 /);
      expect(running.submission.inbox(users.alice.address)).toHaveLength(1);
    } finally {
      transport.close();
    }
  });
});
