// The TCP listener itself: port 0, raw sockets sending garbage or vanishing mid-literal, the
// connection limit, shutdown while a client sits in IDLE, and thousands of pipelined commands in
// one write (read back-pressured, every one answered).
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, startTestServer, type RunningServer } from './serverFixture';

let running: RunningServer | undefined;
afterEach(async () => {
  await running?.server.close();
  running = undefined;
});

/** A raw client: collects everything the server says. */
async function rawClient(port: number): Promise<{ socket: net.Socket; text: () => string; closed: () => boolean }> {
  const socket = net.connect(port, '127.0.0.1');
  let received = '';
  let isClosed = false;
  socket.on('data', (data) => (received += data.toString('latin1')));
  socket.on('close', () => (isClosed = true));
  socket.on('error', () => undefined);
  await eventually(() => received.includes('\r\n'), 5_000, 'the greeting');
  return { socket, text: () => received, closed: () => isClosed };
}

describe('IMAP TCP listener', () => {
  it('binds port 0 and reports the port it got', async () => {
    running = await startTestServer();
    expect(running.server.port).toBeGreaterThan(0);
    const client = await rawClient(running.server.port);
    expect(client.text()).toMatch(/^\* OK \[CAPABILITY IMAP4rev1 /);
    client.socket.destroy();
  });

  it('survives garbage and clients that vanish mid-literal, and keeps serving others', async () => {
    running = await startTestServer();
    for (let i = 0; i < 5; i++) {
      const client = await rawClient(running.server.port);
      client.socket.write(Buffer.from([0, 255, 13, 10, 40, 41, 123, 57, 125, 13, 10]));
      client.socket.write('a1 APPEND INBOX {100000+}\r\npartial data');
      client.socket.destroy();
    }
    const good = await rawClient(running.server.port);
    good.socket.write('a1 LOGIN alice@lab.example "correct horse"\r\na2 LOGOUT\r\n');
    await eventually(() => good.text().includes('a2 OK'), 5_000, 'the logout');
    await eventually(() => good.closed(), 5_000, 'the server to close the socket');
    await eventually(() => running!.server.connectionCount === 0, 5_000, 'all sessions to end');
    expect(running.log.lines.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('refuses connections beyond the limit with BYE', async () => {
    running = await startTestServer({ connectionsMax: 1 });
    const first = await rawClient(running.server.port);
    const second = await rawClient(running.server.port);
    expect(second.text()).toBe('* BYE Too many connections; try again later\r\n');
    first.socket.destroy();
  });

  it('close() ends an IDLE session with BYE within the grace period', async () => {
    running = await startTestServer();
    const client = await rawClient(running.server.port);
    client.socket.write('a1 LOGIN alice@lab.example "correct horse"\r\na2 SELECT INBOX\r\na3 IDLE\r\n');
    await eventually(() => client.text().includes('+ idling'), 5_000, 'IDLE to start');
    const started = Date.now();
    await running.server.close();
    running = undefined;
    expect(client.text()).toContain('* BYE Server shutting down');
    await eventually(() => client.closed(), 5_000, 'the socket to close');
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('5,000 commands pipelined in one write are all answered, in order (reading pauses instead of BYE)', async () => {
    running = await startTestServer();
    for (let i = 1; i <= 3; i++) await running.store.deliver('alice@lab.example', 'INBOX', `From: a@example.org\r\nSubject: m${i}\r\n\r\nbody ${i}\r\n`);
    const client = await rawClient(running.server.port);
    client.socket.write('a1 LOGIN alice@lab.example "correct horse"\r\na2 SELECT INBOX\r\n');
    await eventually(() => client.text().includes('a2 OK'), 5_000, 'SELECT');
    const count = 5_000;
    const batch = Array.from({ length: count }, (_, i) => (i % 2 === 0 ? `p${i} NOOP\r\n` : `p${i} UID FETCH 1:* (FLAGS)\r\n`)).join('');
    const before = client.text().length;
    client.socket.write(batch);
    await eventually(() => client.text().includes(`p${count - 1} OK`) || client.closed(), 30_000, 'the last pipelined command to be answered');
    const replies = client
      .text()
      .slice(before)
      .split('\r\n')
      .filter((line) => /^p\d+ /.test(line));
    expect(client.text()).not.toContain('BYE');
    expect(replies).toHaveLength(count);
    expect(replies.every((line, i) => line.startsWith(`p${i} OK `))).toBe(true);
    expect(running.log.lines.filter((l) => l.level === 'error')).toEqual([]);
    client.socket.destroy();
  });
});
