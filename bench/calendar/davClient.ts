// The CalDAV client of the calendar benchmark: plain HTTP/1.1 with keep-alive (one socket per client,
// as a calendar app keeps one), HTTP Basic, and the requests a syncing client sends: MKCALENDAR, PUT
// with If-None-Match/If-Match, DELETE, REPORT calendar-query (time range), sync-collection and
// calendar-multiget. The same client talks to POST and to Radicale; request bodies and the parse of
// answers are dav/client.ts (on the XML module the node uses), so neither side's figures include a
// different client.
import { Agent, request } from 'node:http';
import { calendarQueryBody, multigetBody, syncCollectionBody } from '../../dav/client';

export interface DavResponse {
  status: number;
  etag: string | undefined;
  body: string;
}

/** One client: a base URL (the calendar home's parent, e.g. http://host:port/dav/calendars/ADDRESS/), credentials, one socket. */
export class BenchDavClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });
  private readonly auth: string;

  constructor(
    readonly homeUrl: string,
    user: { address: string; password: string },
    private readonly timeoutMs: number,
  ) {
    this.auth = `Basic ${Buffer.from(`${user.address}:${user.password}`).toString('base64')}`;
  }

  /** A request on a path relative to the home URL (or an absolute path from a multistatus href). */
  send(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<DavResponse> {
    return this.sendOnce(method, path, headers, body).catch((e: NodeJS.ErrnoException & { reusedSocket?: boolean }) => {
      // A kept-alive socket the server closed as idle just as the request left on it: the request never
      // reached the server (Node's documented race); it is sent again, once, on a new socket.
      if (e.reusedSocket && e.code === 'ECONNRESET') return this.sendOnce(method, path, headers, body);
      throw e;
    });
  }

  private sendOnce(method: string, path: string, headers: Record<string, string>, body: string | undefined): Promise<DavResponse> {
    const url = new URL(path, this.homeUrl);
    return new Promise((resolve, reject) => {
      const req = request(url, { method, agent: this.agent, headers: { authorization: this.auth, ...headers, ...(body === undefined ? {} : { 'content-length': Buffer.byteLength(body) }) } }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, etag: res.headers.etag, body: Buffer.concat(parts).toString('utf8') }));
        res.on('error', reject);
      });
      req.setTimeout(this.timeoutMs, () => req.destroy(new Error(`${method} ${url.pathname}: no answer within ${this.timeoutMs} ms`)));
      req.on('error', (e) => reject(Object.assign(e, { reusedSocket: req.reusedSocket })));
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Throws unless the response has one of the wanted statuses: a benchmark counts only what succeeded. */
export function expectStatus(r: DavResponse, what: string, ...wanted: number[]): DavResponse {
  if (!wanted.includes(r.status)) throw new Error(`${what}: HTTP ${r.status} (wanted ${wanted.join(' or ')}): ${r.body.slice(0, 300)}`);
  return r;
}

const XML = { 'content-type': 'application/xml; charset=utf-8' };

export const mkcalendar = (c: BenchDavClient, slug: string) => c.send('MKCALENDAR', `${slug}/`).then((r) => expectStatus(r, `MKCALENDAR ${slug}`, 201));

/** REPORT calendar-query over [start, end) (iCalendar UTC times), asking for ETags and data. */
export const calendarQuery = (c: BenchDavClient, slug: string, start: string, end: string) => c.send('REPORT', `${slug}/`, { ...XML, depth: '1' }, calendarQueryBody(start, end));

/** REPORT sync-collection from `token` ('' for the initial sync). */
export const syncCollection = (c: BenchDavClient, slug: string, token: string) => c.send('REPORT', `${slug}/`, XML, syncCollectionBody(token));

/** REPORT calendar-multiget of `hrefs`, with data. */
export const multiget = (c: BenchDavClient, slug: string, hrefs: readonly string[]) => c.send('REPORT', `${slug}/`, { ...XML, depth: '1' }, multigetBody(hrefs));
