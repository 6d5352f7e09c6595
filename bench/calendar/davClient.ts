// The CalDAV client of the calendar benchmark: plain HTTP/1.1 with keep-alive (one socket per client,
// as a calendar app keeps one), HTTP Basic, and the requests a syncing client sends: MKCALENDAR, PUT
// with If-None-Match/If-Match, DELETE, REPORT calendar-query (time range), sync-collection and
// calendar-multiget. The same client talks to POST and to Radicale; responses are parsed by the XML
// module the node uses (dav/xml.ts), so neither side's figures include a different client.
import { Agent, request } from 'node:http';
import { child, NS, parseXml, type XmlElement } from '../../dav/xml';

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
    const url = new URL(path, this.homeUrl);
    return new Promise((resolve, reject) => {
      const req = request(url, { method, agent: this.agent, headers: { authorization: this.auth, ...headers, ...(body === undefined ? {} : { 'content-length': Buffer.byteLength(body) }) } }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, etag: res.headers.etag, body: Buffer.concat(parts).toString('utf8') }));
        res.on('error', reject);
      });
      req.setTimeout(this.timeoutMs, () => req.destroy(new Error(`${method} ${url.pathname}: no answer within ${this.timeoutMs} ms`)));
      req.on('error', reject);
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
export function calendarQuery(c: BenchDavClient, slug: string, start: string, end: string): Promise<DavResponse> {
  const body =
    `<?xml version="1.0" encoding="utf-8"?><c:calendar-query xmlns:d="DAV:" xmlns:c="${NS.caldav}"><d:prop><d:getetag/><c:calendar-data/></d:prop>` +
    `<c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"><c:time-range start="${start}" end="${end}"/></c:comp-filter></c:comp-filter></c:filter></c:calendar-query>`;
  return c.send('REPORT', `${slug}/`, { ...XML, depth: '1' }, body);
}

/** REPORT sync-collection from `token` ('' for the initial sync), ETags only, as a syncing client asks first. */
export function syncCollection(c: BenchDavClient, slug: string, token: string): Promise<DavResponse> {
  const body = `<?xml version="1.0" encoding="utf-8"?><d:sync-collection xmlns:d="DAV:"><d:sync-token>${token}</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>`;
  return c.send('REPORT', `${slug}/`, XML, body);
}

/** REPORT calendar-multiget of `hrefs`, with data. */
export function multiget(c: BenchDavClient, slug: string, hrefs: readonly string[]): Promise<DavResponse> {
  const body = `<?xml version="1.0" encoding="utf-8"?><c:calendar-multiget xmlns:d="DAV:" xmlns:c="${NS.caldav}"><d:prop><d:getetag/><c:calendar-data/></d:prop>${hrefs.map((h) => `<d:href>${h}</d:href>`).join('')}</c:calendar-multiget>`;
  return c.send('REPORT', `${slug}/`, { ...XML, depth: '1' }, body);
}

export interface MultistatusEntry {
  href: string;
  /** The response's status: 200 for a resource, 404 for one gone (in a sync-collection). */
  status: number;
  etag: string | undefined;
  data: string | undefined;
}

const statusOf = (el: XmlElement | undefined): number | undefined => {
  const m = el ? /HTTP\/1\.1 (\d{3})/.exec(el.text) : null;
  return m ? Number(m[1]) : undefined;
};

/** The entries of a 207 multistatus body (propstat 200 values), and its sync-token when there is one. */
export function parseMultistatus(body: string): { entries: MultistatusEntry[]; syncToken: string | undefined } {
  const root = parseXml(body);
  const entries: MultistatusEntry[] = [];
  for (const response of root.children.filter((c) => c.ns === NS.dav && c.name === 'response')) {
    const href = decodeURIComponent(child(response, NS.dav, 'href')?.text ?? '');
    const ok = response.children.find((c) => c.ns === NS.dav && c.name === 'propstat' && statusOf(child(c, NS.dav, 'status')) === 200);
    const prop = child(ok, NS.dav, 'prop');
    entries.push({ href, status: statusOf(child(response, NS.dav, 'status')) ?? (ok ? 200 : 404), etag: child(prop, NS.dav, 'getetag')?.text, data: child(prop, NS.caldav, 'calendar-data')?.text });
  }
  return { entries, syncToken: child(root, NS.dav, 'sync-token')?.text };
}
