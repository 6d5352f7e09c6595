// Nodemailer as the mail client against the real listener over TCP: AUTH PLAIN and LOGIN, several
// recipients, 8BITMIME and SMTPUTF8 content, several messages per connection, SIZE, STARTTLS with
// a self-signed certificate, and the stored bytes (Received header + exactly what was sent).
import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import { RawSmtpClient, plainToken, selfSignedCertificate, startGateway, tempDir, users, type RunningGateway } from './smtpFixture';

let running: RunningGateway | undefined;
const transports: { close(): void }[] = [];
afterEach(async () => {
  for (const t of transports.splice(0)) t.close();
  await running?.server.close();
  running = undefined;
});

function client(port: number, extra: Record<string, unknown> = {}) {
  const t = nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    auth: { user: users.alice.address, pass: users.alice.password },
    connectionTimeout: 5_000,
    greetingTimeout: 5_000,
    socketTimeout: 10_000,
    ...extra,
  });
  transports.push(t);
  return t;
}

/** A message whose bytes the test controls exactly (nodemailer sends `raw` as is). */
const rawMessage = (subject: string, body: string, extraHeaders = ''): Buffer =>
  Buffer.from(
    `From: Alice <alice@rice.example>\r\nTo: bob@rice.example, carol@lip6.example\r\nSubject: ${subject}\r\n` +
      `Message-ID: <${subject.replace(/\W/g, '')}@rice.example>\r\n${extraHeaders}MIME-Version: 1.0\r\n` +
      `Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${body}\r\n`,
    'utf8',
  );

/** The stored bytes split into our Received header and the rest. */
function split(raw: Uint8Array): { received: string; rest: Buffer } {
  const text = Buffer.from(raw);
  const end = text.indexOf('\r\n', text.indexOf('+0000')) + 2;
  return { received: text.subarray(0, end).toString('utf8'), rest: text.subarray(end) };
}

describe('nodemailer → SMTP submission', () => {
  it('AUTH PLAIN, three POST recipients, 8-bit body: 250 and one notification each, bytes kept', async () => {
    running = await startGateway();
    const raw = rawMessage('Réunion', 'Grüße aus Köln — ça va? 日本語');
    const info = await client(running.server.port, { authMethod: 'PLAIN' }).sendMail({
      envelope: { from: users.alice.address, to: [users.bob.address, users.carol.address, users.alice.address], use8BitMime: true },
      raw,
    });
    expect(info.response).toMatch(/^250 2\.0\.0 Message accepted: stored as [0-9a-f]{16}, 3 POST recipient\(s\) notified, 0 relayed$/);
    expect(info.accepted).toHaveLength(3);
    for (const rcpt of [users.bob.address, users.carol.address, users.alice.address]) expect(running.submission.inbox(rcpt)).toHaveLength(1);
    const stored = running.submission.accepted[0]!;
    const { received, rest } = split(stored.raw);
    expect(rest.equals(raw)).toBe(true);
    expect(received).toMatch(/^Received: from \S+ \(\[127\.0\.0\.1\]\)\r\n\tby node1\.rice\.example \(ePOST\) with ESMTPA id \S+;\r\n\t\w{3}, \d+ \w{3} \d{4} [\d:]{8} \+0000\r\n$/);
    expect(stored.envelope).toMatchObject({ authenticated: true, submitter: users.alice.address, mailFrom: users.alice.address, eightBitMime: true });
  });

  it('AUTH LOGIN works the same', async () => {
    running = await startGateway();
    const info = await client(running.server.port, { authMethod: 'LOGIN' }).sendMail({
      from: users.alice.address,
      to: users.bob.address,
      subject: 'login',
      text: 'via AUTH LOGIN',
    });
    expect(info.response).toMatch(/^250 /);
    expect(running.submission.inbox(users.bob.address)).toHaveLength(1);
  });

  it('SMTPUTF8: an internationalised sender and recipient; Received says UTF8SMTPA', async () => {
    running = await startGateway();
    const info = await client(running.server.port, { auth: { user: users.jose.address, pass: users.jose.password } }).sendMail({
      from: users.jose.address,
      to: [users.alice.address, users.jose.address],
      subject: 'Olé',
      text: 'ñandú',
    });
    expect(info.response).toMatch(/^250 /);
    const stored = running.submission.accepted[0]!;
    expect(stored.envelope.smtpUtf8).toBe(true);
    expect(stored.envelope.mailFrom).toBe('josé@rice.example');
    expect(split(stored.raw).received).toContain('with UTF8SMTPA id');
    expect(running.submission.inbox(users.jose.address)).toHaveLength(1);
  });

  it('several messages over one connection (pooled client)', async () => {
    running = await startGateway();
    const pooled = client(running.server.port, { pool: true, maxConnections: 1, maxMessages: 10 });
    for (let i = 0; i < 3; i++) {
      const info = await pooled.sendMail({ from: users.alice.address, to: users.bob.address, subject: `n${i}`, text: `message ${i}` });
      expect(info.response).toMatch(/^250 /);
    }
    expect(running.submission.inbox(users.bob.address)).toHaveLength(3);
    const sessions = new Set(running.submission.accepted.map((m) => m.envelope.sessionId));
    expect(sessions.size).toBe(1);
  });

  it('wrong password, unknown user: 535 5.7.8; directory unreachable: 454 4.7.0', async () => {
    running = await startGateway({ sessionLimits: { failedAuthDelayMs: 10 } });
    const port = running.server.port;
    const send = (auth: { user: string; pass: string }) =>
      client(port, { auth })
        .sendMail({ from: auth.user, to: users.bob.address, text: 'x' })
        .then(() => 'sent', (e: Error & { response?: string }) => e.response ?? e.message);
    expect(await send({ user: users.alice.address, pass: 'wrong' })).toMatch(/^535 5\.7\.8 /);
    expect(await send({ user: 'nobody@rice.example', pass: 'x' })).toMatch(/^535 5\.7\.8 /);
    running.submission.setAvailable(false);
    expect(await send({ user: users.alice.address, pass: users.alice.password })).toMatch(/^454 4\.7\.0 /);
    expect(running.submission.accepted).toHaveLength(0);
  });

  it('MAIL FROM someone else’s address: 553 5.7.1, nothing stored', async () => {
    running = await startGateway();
    const error = await client(running.server.port)
      .sendMail({ envelope: { from: 'ceo@rice.example', to: [users.bob.address] }, raw: rawMessage('spoof', 'x') })
      .catch((e: Error & { response?: string }) => e);
    expect((error as { response?: string }).response).toMatch(/^553 5\.7\.1 <ceo@rice\.example> is not an address you may send as/);
    expect(running.submission.accepted).toHaveLength(0);
  });

  it('a message over SIZE: 552 5.3.4 and nothing stored; the connection goes on', async () => {
    running = await startGateway({ messageBytesMax: 10_000 });
    const transport = client(running.server.port, { pool: true, maxConnections: 1 });
    const error = await transport
      .sendMail({ envelope: { from: users.alice.address, to: [users.bob.address] }, raw: rawMessage('big', 'x'.repeat(20_000)) })
      .catch((e: Error & { response?: string }) => e);
    expect((error as { response?: string }).response).toMatch(/^552 5\.3\.4 /);
    expect(running.submission.accepted).toHaveLength(0);
    expect(running.submission.inbox(users.bob.address)).toHaveLength(0);
    const info = await transport.sendMail({ envelope: { from: users.alice.address, to: [users.bob.address] }, raw: rawMessage('small', 'ok') });
    expect(info.response).toMatch(/^250 /);
  });

  it('SIZE is announced; a declared size over it is refused at MAIL FROM', async () => {
    running = await startGateway({ messageBytesMax: 10_000 });
    const { client: c } = await RawSmtpClient.connect(running.server.port);
    const ehlo = await c.command('EHLO client.example');
    expect(ehlo.lines.map((l) => l.slice(4))).toEqual(expect.arrayContaining(['PIPELINING', '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES', 'SIZE 10000', 'AUTH PLAIN LOGIN']));
    expect((await c.command(`AUTH PLAIN ${plainToken(users.alice.address, users.alice.password)}`)).code).toBe(235);
    const mail = await c.command('MAIL FROM:<alice@rice.example> SIZE=20000');
    expect(mail.code).toBe(552);
    expect(mail.text).toMatch(/^5\.3\.4 /);
    c.destroy();
  });

  it('STARTTLS with a self-signed certificate; AUTH refused before TLS when required', async () => {
    const dir = tempDir('smtp-tls-');
    try {
      running = await startGateway({ tls: selfSignedCertificate(dir.path), requireTlsForAuth: true });
      const { client: plain } = await RawSmtpClient.connect(running.server.port);
      const ehlo = await plain.command('EHLO client.example');
      expect(ehlo.lines.some((l) => l.endsWith('STARTTLS'))).toBe(true);
      const early = await plain.command(`AUTH PLAIN ${plainToken(users.alice.address, users.alice.password)}`);
      expect(`${early.code} ${early.text}`).toMatch(/^530 5\.7\.0 Must issue a STARTTLS command first/);
      plain.destroy();

      const info = await client(running.server.port, { requireTLS: true, tls: { rejectUnauthorized: false } }).sendMail({
        from: users.alice.address,
        to: users.bob.address,
        subject: 'over TLS',
        text: 'secret',
      });
      expect(info.response).toMatch(/^250 /);
      const stored = running.submission.accepted[0]!;
      expect(stored.envelope.client.tls).toBe(true);
      expect(split(stored.raw).received).toContain('with ESMTPSA id');
    } finally {
      dir.remove();
    }
  });
});
