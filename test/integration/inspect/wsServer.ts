// A minimal WebSocket server (RFC 6455) on loopback, standing in for the XState inspector's relay:
// node's http upgrade handling, text messages in (masked, possibly fragmented), close and ping
// answered. Enough to receive what @statelyai/inspect's WebSocket inspector sends; no npm package.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';

const HANDSHAKE_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** Refuse frames beyond this (the inspector's events are far smaller). */
const FRAME_BYTES_MAX = 16 * 1024 * 1024;

export interface InspectorStandIn {
  readonly url: string;
  readonly port: number;
  /** Every text message received, parsed as JSON, in arrival order. */
  readonly messages: unknown[];
  /** Connections accepted so far. */
  connections(): number;
  /** Resolves with the first message (already received or arriving) that matches; rejects after timeoutMs. */
  waitFor<T = any>(match: (message: any) => boolean, timeoutMs: number, what: string): Promise<T>;
  close(): Promise<void>;
}

export async function startInspectorStandIn(port = 0): Promise<InspectorStandIn> {
  const messages: unknown[] = [];
  const sockets = new Set<Duplex>();
  const waiters = new Set<() => void>();
  let accepted = 0;
  const server: Server = createServer((_req, res) => res.writeHead(426, { 'content-type': 'text/plain' }).end('WebSocket only\n'));
  server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
    const key = req.headers['sec-websocket-key'];
    if (typeof key !== 'string') return void socket.destroy();
    const accept = createHash('sha1').update(key + HANDSHAKE_GUID).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    readFrames(socket, (text) => {
      try {
        messages.push(JSON.parse(text));
      } catch {
        messages.push(text);
      }
      for (const wake of [...waiters]) wake();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server.address() as { port: number }).port;
  return {
    url: `ws://127.0.0.1:${bound}`,
    port: bound,
    messages,
    connections: () => accepted,
    waitFor: (match, timeoutMs, what) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = messages.find(match);
          if (found === undefined) return;
          done();
          resolve(found as never);
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no ${what} within ${timeoutMs} ms (${messages.length} messages received, ${accepted} connections)`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Parse client frames: text (opcode 1, with continuations), close (8: answered), ping (9: pong). */
function readFrames(socket: Duplex, onText: (text: string) => void): void {
  let buffer = Buffer.alloc(0);
  let fragments: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      if (buffer.length < 2) return;
      const fin = (buffer[0]! & 0x80) !== 0;
      const opcode = buffer[0]! & 0x0f;
      const masked = (buffer[1]! & 0x80) !== 0;
      let length = buffer[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buffer.length < 4) return;
        length = buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (buffer.length < 10) return;
        length = Number(buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if (length > FRAME_BYTES_MAX) return void socket.destroy();
      const maskBytes = masked ? 4 : 0;
      if (buffer.length < offset + maskBytes + length) return;
      const mask = buffer.subarray(offset, offset + maskBytes);
      const payload = Buffer.from(buffer.subarray(offset + maskBytes, offset + maskBytes + length));
      if (masked) for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i % 4]!;
      buffer = buffer.subarray(offset + maskBytes + length);
      if (opcode === 0x8) {
        socket.end(Buffer.from([0x88, 0x00]));
        return;
      }
      if (opcode === 0x9) socket.write(Buffer.concat([Buffer.from([0x8a, payload.length]), payload]));
      if (opcode === 0x1 || opcode === 0x0) {
        fragments.push(payload);
        if (fin) {
          onText(Buffer.concat(fragments).toString('utf8'));
          fragments = [];
        }
      }
    }
  });
}
