// The node's HTTP port: /state (JSON) and /metrics (Prometheus text), read-only; and, when given, the
// paths an application serves itself (CalDAV under /dav/ and /.well-known/caldav). Loopback by default.
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { HTTP_KEEP_ALIVE_MS } from '../../protocol/limits';

/** An application's part of the HTTP port: the requests whose path `owns`, any method. */
export interface HttpApplication {
  owns(path: string): boolean;
  handle(req: IncomingMessage, res: ServerResponse): void;
}

export interface HttpRoutes {
  readonly state: () => unknown;
  readonly metrics: () => string;
  readonly applications?: readonly HttpApplication[];
}

export interface HttpServer {
  readonly port: number;
  close(): Promise<void>;
}

/** PEM key and certificate: the port then speaks HTTPS only (HTTP Basic to /dav/ never crosses in clear). */
export interface HttpTls {
  readonly key: string | Buffer;
  readonly cert: string | Buffer;
}

export async function startHttpServer(routes: HttpRoutes, opts: { host?: string; port: number; tls?: HttpTls }): Promise<HttpServer> {
  const handler: RequestListener = (req, res) => {
    try {
      const app = routes.applications?.find((a) => a.owns((req.url ?? '/').split('?')[0]!));
      if (app) return void app.handle(req, res);
      if (req.method !== 'GET') return void res.writeHead(405).end('only GET\n');
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/state') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(routes.state(), null, 2));
      if (path === '/metrics') return void res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(routes.metrics());
      res.writeHead(404, { 'content-type': 'text/plain' }).end('try /state or /metrics\n');
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`error: ${(e as Error).message}\n`);
    }
  };
  const server: Server = opts.tls ? createHttpsServer({ key: opts.tls.key, cert: opts.tls.cert }, handler) : createServer(handler);
  server.keepAliveTimeout = HTTP_KEEP_ALIVE_MS;
  // Node requires the headers timeout above the keep-alive one, or a reused connection can be cut mid-request.
  server.headersTimeout = HTTP_KEEP_ALIVE_MS + 1_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  return {
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
