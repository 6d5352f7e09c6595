// NOTIFY (RFC 5465) over real TCP on 127.0.0.1: a client that asked NOTIFY and then sends nothing
// hears what another connection of the same user does, as whole untagged responses.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, startTestServer, type RunningServer } from './serverFixture';

let running: RunningServer | undefined;
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await running?.server.close();
  running = undefined;
});

async function client(port: number): Promise<{ socket: net.Socket; text: () => string; take: () => string }> {
  const socket = net.connect(port, '127.0.0.1');
  sockets.push(socket);
  let received = '';
  let mark = 0;
  socket.on('data', (data) => (received += data.toString('latin1')));
  socket.on('error', () => undefined);
  await eventually(() => received.includes('\r\n'), 5_000, 'the greeting');
  return {
    socket,
    text: () => received.slice(mark),
    take: () => {
      const text = received.slice(mark);
      mark = received.length;
      return text;
    },
  };
}

describe('NOTIFY over TCP', () => {
  it("a silent client hears another connection's APPEND, CREATE and new mail in its selected mailbox", async () => {
    running = await startTestServer();
    const a = await client(running.server.port);
    a.socket.write('a1 LOGIN alice@lab.example "correct horse"\r\na2 SELECT INBOX\r\n');
    a.socket.write('a3 NOTIFY SET STATUS (selected (MessageNew (UID) MessageExpunge)) (personal (MessageNew MessageExpunge MailboxName))\r\n');
    await eventually(() => a.text().includes('a3 OK'), 5_000, 'NOTIFY SET');
    expect(a.take()).toMatch(/\* STATUS "Sent" \(MESSAGES 0 UIDNEXT 1 UIDVALIDITY \d+ UNSEEN 0\)\r\n(.|\r\n)*a3 OK NOTIFY completed\r\n$/);

    const b = await client(running.server.port);
    b.socket.write('b1 LOGIN alice@lab.example "correct horse"\r\nb2 CREATE Projects\r\nb3 APPEND Sent {11+}\r\nhello there\r\nb4 APPEND INBOX {6+}\r\nhello!\r\n');
    await eventually(() => b.text().includes('b4 OK'), 5_000, "B's commands");
    await eventually(() => a.text().includes('FETCH'), 5_000, 'the notifications');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(a.take().split('\r\n').filter(Boolean)).toEqual([
      '* LIST (\\HasNoChildren) "/" "Projects"',
      expect.stringMatching(/^\* STATUS "Sent" \(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+ UNSEEN 1\)$/),
      '* 1 EXISTS',
      '* 1 RECENT',
      '* 1 FETCH (UID 1)',
    ]);
    a.socket.write('a4 NOTIFY NONE\r\n');
    await eventually(() => a.text().includes('a4 OK'), 5_000, 'NOTIFY NONE');
    a.take();
    b.socket.write('b5 CREATE Quiet\r\n');
    await eventually(() => b.text().includes('b5 OK'), 5_000, 'the CREATE');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(a.take()).toBe('');
    expect(running.log.lines.filter((l) => l.level === 'error')).toEqual([]);
  });
});
