// Relaying non-POST recipients through a smarthost (a second smtp-server capturing what it gets):
// the bytes arrive exactly as stored; a dead smarthost is refused at RCPT (451 per recipient);
// a relay failing after DATA says who was served and who was not, and the retry serves nobody
// twice; no smarthost at all is 550 5.7.1 at RCPT.
import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import type { SmarthostOptions } from '../../../actors/mail/smtpRelay';
import { deadPort, startGateway, startSmarthost, users, type RunningGateway, type Smarthost } from './smtpFixture';

let running: RunningGateway | undefined;
let smarthost: Smarthost | undefined;
const transports: { close(): void }[] = [];
afterEach(async () => {
  for (const t of transports.splice(0)) t.close();
  await running?.server.close();
  await smarthost?.close();
  running = undefined;
  smarthost = undefined;
});

function client(port: number) {
  const t = nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    auth: { user: users.alice.address, pass: users.alice.password },
    connectionTimeout: 5_000,
    greetingTimeout: 5_000,
    socketTimeout: 15_000,
  });
  transports.push(t);
  return t;
}

const raw = Buffer.from(
  'From: alice@rice.example\r\nTo: bob@rice.example, dave@gmail.example, erin@other.example\r\nSubject: mixed\r\n' +
    'Message-ID: <mixed-1@rice.example>\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n' +
    'Straße.\r\n.leading dot line\r\n',
  'utf8',
);
const mixed = { from: users.alice.address, to: [users.bob.address, 'dave@gmail.example', 'erin@other.example'], use8BitMime: true };
// A foreign local part may be case-sensitive: the smarthost gets it as written.
const mixedCase = { ...mixed, to: [users.bob.address, 'Dave.Jones@gmail.example', 'erin@other.example'] };
const failure = (e: unknown) => e as Error & { response?: string; rejected?: string[] };

async function gatewayWith(relay: Partial<SmarthostOptions> & { port: number }): Promise<RunningGateway> {
  return startGateway({ smarthost: { host: '127.0.0.1', ...relay } });
}

describe('relay through the smarthost', () => {
  it('POST recipients are notified and external ones relayed; the smarthost gets exactly the stored bytes', async () => {
    smarthost = await startSmarthost();
    running = await gatewayWith({ port: smarthost.port });
    const info = await client(running.server.port).sendMail({ envelope: mixedCase, raw });
    expect(info.response).toMatch(/1 POST recipient\(s\) notified, 2 relayed$/);
    expect(running.submission.inbox(users.bob.address)).toHaveLength(1);
    expect(smarthost.messages).toHaveLength(1);
    const relayed = smarthost.messages[0]!;
    expect(relayed.mailFrom).toBe(users.alice.address);
    expect(relayed.rcptTo).toEqual(['Dave.Jones@gmail.example', 'erin@other.example']);
    expect(relayed.bodyType).toBe('8bitmime');
    expect(relayed.raw.equals(Buffer.from(running.submission.accepted[0]!.raw))).toBe(true);
    expect(relayed.raw.subarray(relayed.raw.length - raw.length).equals(raw)).toBe(true);
  });

  it('a smarthost that wants AUTH gets the configured credentials', async () => {
    smarthost = await startSmarthost({ auth: { user: 'relay-user', pass: 'relay-pass' } });
    running = await gatewayWith({ port: smarthost.port, auth: { user: 'relay-user', pass: 'relay-pass' } });
    const info = await client(running.server.port).sendMail({ envelope: { from: users.alice.address, to: ['dave@gmail.example'] }, raw });
    expect(info.response).toMatch(/^250 /);
    expect(smarthost.messages).toHaveLength(1);
  });

  it('smarthost down: external recipients refused at RCPT with 451 4.4.1, POST recipients still served', async () => {
    running = await gatewayWith({ port: await deadPort() });
    const info = await client(running.server.port).sendMail({ envelope: mixed, raw });
    expect(info.accepted).toEqual([users.bob.address]);
    expect(info.rejected).toEqual(['dave@gmail.example', 'erin@other.example']);
    expect(running.submission.inbox(users.bob.address)).toHaveLength(1);
    const only = await client(running.server.port)
      .sendMail({ envelope: { from: users.alice.address, to: ['dave@gmail.example'] }, raw })
      .catch(failure);
    expect(only).toBeInstanceOf(Error);
    expect((only as ReturnType<typeof failure>).response).toMatch(/^451 4\.4\.1 Cannot relay to <dave@gmail\.example> now: the smarthost 127\.0\.0\.1:\d+ is unreachable/);
    expect(running.submission.accepted).toHaveLength(1);
  });

  it('relay refused after DATA: 451 says the POST recipients got it; the retry serves nobody twice', async () => {
    smarthost = await startSmarthost();
    running = await gatewayWith({ port: smarthost.port });
    smarthost.refuseData({ code: 451, message: '4.3.0 Try again later' });
    const first = await client(running.server.port).sendMail({ envelope: mixed, raw }).catch(failure);
    expect(first).toBeInstanceOf(Error);
    expect((first as ReturnType<typeof failure>).response).toMatch(
      /^451 4\.3\.0 Delivered to POST recipient\(s\) <bob@rice\.example>, but relaying to <dave@gmail\.example>, <erin@other\.example> failed \(.*Try again later.*\); sending again is safe/,
    );
    expect(smarthost.messages).toHaveLength(0);
    expect(running.submission.inbox(users.bob.address)).toHaveLength(1);

    smarthost.refuseData(undefined);
    const retry = await client(running.server.port).sendMail({ envelope: mixed, raw });
    expect(retry.response).toMatch(/^250 /);
    expect(running.submission.inbox(users.bob.address)).toHaveLength(1);
    expect(smarthost.messages).toHaveLength(1);
  });

  it('smarthost gone between RCPT and DATA: 451 4.4.1, nothing reported as sent', async () => {
    smarthost = await startSmarthost();
    running = await gatewayWith({ port: smarthost.port });
    await client(running.server.port).sendMail({ envelope: { from: users.alice.address, to: ['dave@gmail.example'] }, raw });
    await smarthost.close();
    smarthost = undefined;
    // The smarthost was seen alive a moment ago, so RCPT accepts; the relay itself then fails.
    const error = await client(running.server.port)
      .sendMail({ envelope: { from: users.alice.address, to: ['dave@gmail.example'] }, raw })
      .catch(failure);
    expect(error).toBeInstanceOf(Error);
    expect((error as ReturnType<typeof failure>).response).toMatch(/^451 4\.4\.1 Relaying to <dave@gmail\.example> failed \(.*unreachable.*\); nothing was delivered/);
  });

  it('a permanent refusal by the smarthost is a 5xx', async () => {
    smarthost = await startSmarthost();
    running = await gatewayWith({ port: smarthost.port });
    smarthost.refuseData({ code: 554, message: '5.7.1 Rejected as spam' });
    const error = await client(running.server.port)
      .sendMail({ envelope: { from: users.alice.address, to: ['dave@gmail.example'] }, raw })
      .catch(failure);
    expect((error as ReturnType<typeof failure>).response).toMatch(/^554 5\.7\.1 Relaying to <dave@gmail\.example> failed \(.*Rejected as spam.*\); nothing was delivered$/);
  });

  it('no smarthost configured: external recipients are 550 5.7.1 at RCPT', async () => {
    running = await startGateway();
    const error = await client(running.server.port)
      .sendMail({ envelope: { from: users.alice.address, to: ['dave@gmail.example'] }, raw })
      .catch(failure);
    expect((error as ReturnType<typeof failure>).response).toMatch(
      /^550 5\.7\.1 Cannot deliver to <dave@gmail\.example>: it is not a POST address and no smarthost is configured/,
    );
    expect(running.submission.accepted).toHaveLength(0);
  });
});
