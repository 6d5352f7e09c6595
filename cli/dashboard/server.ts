// The dashboard's HTTP side: `/` the page (one HTML document with the state as of the request inside,
// nothing fetched from elsewhere),
// `/events` Server-Sent Events (a `state` event with everything on connect, then `node`, `health`,
// `scenario` and `lab` events as they happen), `/api/state` the same snapshot as JSON. Read-only.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { DASHBOARD_SSE_CLIENTS_MAX } from '../../protocol/limits';
import { dashboardPage } from './page';
import type { DashboardEvent, DashboardState } from './state';

/** A browser that stops reading is dropped once this much is queued for it. */
const SSE_CLIENT_BUFFER_BYTES_MAX = 4 * 1024 * 1024;
/** A comment line this often keeps proxies and idle timeouts from closing a quiet stream. */
const SSE_KEEPALIVE_MS = 15_000;

export interface DashboardServer {
  readonly host: string;
  readonly port: number;
  /** Push events to every browser following /events. */
  broadcast(events: readonly DashboardEvent[]): void;
  readonly clients: number;
  close(): Promise<void>;
}

export async function startDashboardServer(state: DashboardState, opts: { host: string; port: number; now?: () => number }): Promise<DashboardServer> {
  const now = opts.now ?? (() => Date.now());
  const clients = new Set<ServerResponse>();

  const sse = (req: IncomingMessage, res: ServerResponse) => {
    if (clients.size >= DASHBOARD_SSE_CLIENTS_MAX)
      return void res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '5' }).end(`${DASHBOARD_SSE_CLIENTS_MAX} browsers already follow this dashboard; close one\n`);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write(`retry: 1000\n`);
    res.write(frame('state', state.snapshot(now())));
    clients.add(res);
    req.on('close', () => clients.delete(res));
  };

  const server: Server = createServer((req, res) => {
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { 'content-type': 'text/plain' }).end('only GET\n');
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/' || path === '/index.html')
        return void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(dashboardPage(state.snapshot(now())));
      if (path === '/events') return sse(req, res);
      if (path === '/favicon.ico') return void res.writeHead(204).end();
      if (path === '/api/state')
        return void res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(state.snapshot(now())));
      res.writeHead(404, { 'content-type': 'text/plain' }).end('try /, /events or /api/state\n');
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`error: ${(e as Error).message}\n`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  const keepalive = setInterval(() => send(': keepalive\n\n'), SSE_KEEPALIVE_MS);
  keepalive.unref();

  function send(chunk: string): void {
    for (const res of clients) {
      if (res.writableLength > SSE_CLIENT_BUFFER_BYTES_MAX) {
        clients.delete(res);
        res.destroy();
        continue;
      }
      res.write(chunk);
    }
  }

  return {
    host: opts.host,
    port,
    get clients() {
      return clients.size;
    },
    broadcast(events) {
      if (clients.size === 0) return;
      for (const e of events) send(frame(e.type, e));
    },
    close() {
      clearInterval(keepalive);
      for (const res of clients) res.end();
      clients.clear();
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
