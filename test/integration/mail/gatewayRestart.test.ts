// A restarted mail gateway (issue 13): the supervisor builds a fresh MailGatewayService; the open IMAP
// session is told `* BYE` why and closed, an open SMTP session gets a 421, and the new gateway listens
// on the same ports, where a client connects again. A node over a real nats-server and LMDB, real TCP.
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freePorts } from '../../../infra/nats/free-ports';
import { type NatsCluster, startNatsServer } from '../../../infra/nats/server';
import { type SoloNode, startSoloNode } from '../fixtures/soloNode';

const WAIT_MS = 10_000;
const dir = mkdtempSync(join(tmpdir(), 'post-gateway-restart-'));
let nats: NatsCluster;
let solo: SoloNode | undefined;

/** A TCP client that collects what the server sends, and when it closed. */
function connect(port: number) {
  const socket = net.connect({ host: '127.0.0.1', port });
  let received = '';
  let closed = false;
  socket.on('data', (d) => (received += d.toString('latin1')));
  socket.on('close', () => (closed = true));
  socket.on('error', () => (closed = true));
  const until = async (check: () => boolean, what: string) => {
    for (const end = Date.now() + WAIT_MS; !check(); ) {
      if (Date.now() > end) throw new Error(`${what} within ${WAIT_MS} ms; received so far: ${JSON.stringify(received)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return {
    socket,
    text: () => received,
    waitFor: (pattern: RegExp) => until(() => pattern.test(received), `no ${pattern}`),
    waitClosed: () => until(() => closed, 'not closed'),
  };
}

describe('mail gateway restart', () => {
  beforeAll(async () => {
    nats = await startNatsServer({ dir: join(dir, 'nats') });
  }, 60_000);

  afterAll(async () => {
    await solo?.stop();
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  test('open sessions get a clear goodbye, and the fresh gateway listens on the same ports', async () => {
    const [imapPort, smtpPort] = await freePorts(2);
    solo = await startSoloNode(nats.urls, 'gateway', join(dir, 'store'), { mail: { imapPort, smtpPort } });
    const node = solo.node;
    const imap = connect(imapPort!);
    const smtp = connect(smtpPort!);
    await imap.waitFor(/^\* OK/);
    await smtp.waitFor(/^220 /);
    const before = node.service('mailGateway');

    node.injectCrash('mailGateway');
    await imap.waitFor(/\* BYE Server restarting; reconnect in a moment\r\n/);
    await smtp.waitFor(/\r\n421 /);
    await Promise.all([imap.waitClosed(), smtp.waitClosed()]);
    expect(node.status().restarts).toEqual({ mailGateway: 1 });
    expect(node.service('mailGateway')).not.toBe(before);

    // The new gateway opens the same ports once the old listeners are closed.
    for (const end = Date.now() + WAIT_MS; node.status().mail.imap !== imapPort || node.status().mail.smtp !== smtpPort; ) {
      if (Date.now() > end) throw new Error(`the restarted gateway is not listening: ${JSON.stringify(node.status().mail)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const again = connect(imapPort!);
    await again.waitFor(/^\* OK/);
    again.socket.write('a1 LOGOUT\r\n');
    await again.waitFor(/a1 OK/);
    await again.waitClosed();
  }, 60_000);
});
