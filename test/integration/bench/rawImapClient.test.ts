// The benchmark's raw IMAP client over a socket: without LITERAL+ it sends each literal only after
// the server's "+" (and several in one command, as MULTIAPPEND does); with LITERAL+ all in one go.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RawImapClient } from '../../../bench/mail/rawImap';

/** A scripted server: greets with `capabilities`, records what it reads, answers "+" to each `{n}` and OK to each command end. */
function scriptedServer(capabilities: string) {
  const received: string[] = [];
  const server = net.createServer((socket) => {
    socket.write(`* OK [CAPABILITY IMAP4rev1 ${capabilities}] ready\r\n`);
    let buffered = '';
    let literalLeft = 0;
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      for (;;) {
        if (literalLeft > 0) {
          if (buffered.length < literalLeft) return;
          received.push(`literal:${buffered.slice(0, literalLeft)}`);
          buffered = buffered.slice(literalLeft);
          literalLeft = 0;
          continue;
        }
        const lf = buffered.indexOf('\n');
        if (lf < 0) return;
        const line = buffered.slice(0, lf + 1);
        buffered = buffered.slice(lf + 1);
        received.push(`line:${line.trimEnd()}`);
        const literal = /\{(\d+)(\+?)\}\r\n$/.exec(line);
        if (literal) {
          literalLeft = Number(literal[1]);
          if (!literal[2]) socket.write('+ go ahead\r\n');
        } else {
          const tag = received.find((r) => r.startsWith('line:') && !r.startsWith('line: '))!.slice(5).split(' ')[0];
          socket.write(`${tag} OK done\r\n`);
          received.push('answered');
        }
      }
    });
  });
  return new Promise<{ server: net.Server; port: number; received: string[] }>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as net.AddressInfo).port, received })),
  );
}

let open: { server: net.Server; client?: RawImapClient } | undefined;
afterEach(async () => {
  open?.client?.destroy();
  await new Promise((resolve) => open?.server.close(resolve));
  open = undefined;
});

describe('raw IMAP client: literals', () => {
  it('rawImap: without LITERAL+, two literals of one command each wait for "+"', async () => {
    const { server, port, received } = await scriptedServer('');
    const client = await RawImapClient.connect({ host: '127.0.0.1', port });
    open = { server, client };
    expect(client.literalPlus).toBe(false);
    const reply = await client.commandWithLiterals(['APPEND INBOX (\\Seen)', Buffer.from('one'), ' ()', Buffer.from('two!'), '']);
    expect(reply.status).toBe('OK');
    expect(received).toEqual(['line:b1 APPEND INBOX (\\Seen) {3}', 'literal:one', 'line: () {4}', 'literal:two!', 'line:', 'answered']);
  });

  it('rawImap: with LITERAL+, the literal goes with the command', async () => {
    const { server, port, received } = await scriptedServer('LITERAL+');
    const client = await RawImapClient.connect({ host: '127.0.0.1', port });
    open = { server, client };
    expect((await client.command('APPEND INBOX ()', Buffer.from('abc'))).status).toBe('OK');
    expect(received).toEqual(['line:b1 APPEND INBOX () {3+}', 'literal:abc', 'line:', 'answered']);
  });
});
