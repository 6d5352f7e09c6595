// The greeting: the inbound gateway (port 25) keeps smtp-server's pause for early talkers, a spam
// defence; submission greets at once, since every client must log in before it can do anything
// (the pause cost each new submission connection 100 ms: a tenth of a second per message sent).
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from './smtpFixture';

let running: RunningGateway | undefined;
afterEach(async () => {
  await running?.server.close();
  running = undefined;
});

/** Connects and sends EHLO at once, before any greeting: what the server answered, up to `replies` replies. */
async function talkFirst(port: number, replies: number): Promise<string[]> {
  const socket = net.connect({ port, host: '127.0.0.1' });
  socket.setEncoding('latin1');
  socket.on('error', () => undefined);
  socket.once('connect', () => socket.write('EHLO early.example\r\n'));
  let text = '';
  const codes: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${JSON.stringify(text)} within 5 s`)), 5_000);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    socket.on('data', (data: string) => {
      text += data;
      for (const line of text.split('\r\n')) if (/^\d{3} /.test(line) && !codes.includes(line)) codes.push(line);
      if (codes.length >= replies) done();
    });
    socket.on('close', done);
  });
  socket.destroy();
  return codes;
}

describe('SMTP greeting', () => {
  it('inbound: a client that talks before the greeting is turned away', async () => {
    running = await startGateway({ mode: 'inbound' });
    const replies = await talkFirst(running.server.port, 2);
    expect(replies.some((r) => /^421 .*talk too soon/i.test(r))).toBe(true);
  });

  it('submission: greeted at once, and an EHLO sent before the greeting is answered after it', async () => {
    running = await startGateway({ mode: 'submission' });
    const replies = await talkFirst(running.server.port, 2);
    expect(replies[0]).toMatch(/^220 /);
    expect(replies[1]).toMatch(/^250 /);
  });
});
