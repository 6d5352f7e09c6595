// An authenticated submitter over TCP may not put someone else in From: (refused 550 5.7.1, or sent
// with a Sender: naming the user, as the operator chose), and may not flood: past the per-sender
// rate MAIL FROM gets 450 4.7.1. The inbound MX (Internet mail, no AUTH) is not held to either.
import { afterEach, describe, expect, it } from 'vitest';
import { SenderRate } from '../../../mail/smtp/senderRate';
import { wallClock } from '../../../infra/clock';
import { RawSmtpClient, plainToken, startGateway, users, type RunningGateway } from './smtpFixture';

let running: RunningGateway | undefined;
const clients: RawSmtpClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await running?.server.close();
  running = undefined;
});

async function loggedIn(port: number): Promise<RawSmtpClient> {
  const { client } = await RawSmtpClient.connect(port);
  clients.push(client);
  await client.command('EHLO client.example');
  expect((await client.command(`AUTH PLAIN ${plainToken(users.alice.address, users.alice.password)}`)).code).toBe(235);
  return client;
}

/** One transaction from alice to bob with this header; the final reply as "code text". */
async function send(c: RawSmtpClient, header: string): Promise<string> {
  expect((await c.command(`MAIL FROM:<${users.alice.address}>`)).code).toBe(250);
  expect((await c.command(`RCPT TO:<${users.bob.address}>`)).code).toBe(250);
  expect((await c.command('DATA')).code).toBe(354);
  c.write(`${header}\r\nTo: bob@rice.example\r\nSubject: hi\r\n\r\nHello Bob.\r\n.\r\n`);
  const reply = await c.reply(10_000);
  return `${reply.code} ${reply.text}`;
}

describe('sender alignment on the submission port', () => {
  it('refuses From: ceo@... from alice with 550 5.7.1 and a sentence; her own addresses go through', async () => {
    running = await startGateway();
    const c = await loggedIn(running.server.port);
    expect(await send(c, 'From: The CEO <ceo@rice.example>')).toBe(
      "550 5.7.1 The message's From:/Sender: <ceo@rice.example> is not an address you may send as (logged in as alice@rice.example); put your own address in From:; nothing was delivered",
    );
    expect(running.submission.accepted).toHaveLength(0);
    expect(await send(c, 'From: Alice <Alice@RICE.example>')).toMatch(/^250 /);
    expect(await send(c, 'From: A. Smith <a.smith@rice.example>')).toMatch(/^250 /);
    // No From: at all: the submission adds hers (RFC 6409 8.1).
    expect(await send(c, 'Subject: no From at all')).toMatch(/^250 /);
    expect(running.submission.accepted).toHaveLength(3);
    expect(Buffer.from(running.submission.accepted[2]!.raw).toString()).toMatch(/\r\nFrom: <alice@rice\.example>\r\nSubject: no From at all\r\n/);
  });

  it('with the add-sender policy, a foreign From: is delivered with Sender: <alice@...>', async () => {
    running = await startGateway({ fromPolicy: 'add-sender' });
    const c = await loggedIn(running.server.port);
    expect(await send(c, 'From: The CEO <ceo@rice.example>\r\nSender: ceo@rice.example')).toMatch(/^250 /);
    const raw = Buffer.from(running.submission.accepted[0]!.raw).toString();
    const header = raw.slice(0, raw.indexOf('\r\n\r\n'));
    expect(header).toMatch(/^Received: [^]*\r\nSender: <alice@rice\.example>\r\nFrom: The CEO <ceo@rice\.example>\r\nTo: bob@rice\.example\r\nSubject: hi$/);
  });

  it('past the per-sender rate MAIL FROM gets 450 4.7.1 with the wait, on any connection of that user', async () => {
    running = await startGateway({ senderRate: new SenderRate(wallClock, { burstMessages: 3, messagesPerMinute: 1 }) });
    const first = await loggedIn(running.server.port);
    for (let i = 0; i < 3; i++) expect(await send(first, 'From: alice@rice.example')).toMatch(/^250 /);
    const second = await loggedIn(running.server.port);
    const refused = await second.command(`MAIL FROM:<${users.alice.address}>`);
    expect(`${refused.code} ${refused.text}`).toMatch(/^450 4\.7\.1 alice@rice\.example has sent too many messages: at most 3 at once, then 1 a minute; try again in (59|60) s$/);
    // Another user is not held up.
    const { client: bob } = await RawSmtpClient.connect(running.server.port);
    clients.push(bob);
    await bob.command('EHLO bob.example');
    expect((await bob.command(`AUTH PLAIN ${plainToken(users.bob.address, users.bob.password)}`)).code).toBe(235);
    expect((await bob.command(`MAIL FROM:<${users.bob.address}>`)).code).toBe(250);
    expect(running.submission.accepted).toHaveLength(3);
  });

  it('the inbound MX takes Internet mail with any From:, at any rate', async () => {
    running = await startGateway({ mode: 'inbound', senderRate: new SenderRate(wallClock, { burstMessages: 1, messagesPerMinute: 1 }) });
    const { client } = await RawSmtpClient.connect(running.server.port);
    clients.push(client);
    await client.command('EHLO mta.internet.example');
    for (let i = 0; i < 3; i++) {
      expect((await client.command('MAIL FROM:<ceo@rice.example>')).code).toBe(250);
      expect((await client.command(`RCPT TO:<${users.bob.address}>`)).code).toBe(250);
      expect((await client.command('DATA')).code).toBe(354);
      client.write('From: The CEO <ceo@rice.example>\r\nSubject: outside\r\n\r\nHi.\r\n.\r\n');
      expect((await client.reply()).code).toBe(250);
    }
  });
});
