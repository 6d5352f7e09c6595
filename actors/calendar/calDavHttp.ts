// CalDAV and CardDAV on the node's HTTP port (issue 16): /.well-known/caldav and /.well-known/carddav
// redirect to /dav/ (RFC 6764), and
// every request under /dav/ is authenticated with HTTP Basic through the same login path and login
// guard as IMAP and SMTP (one throttle per node: switching protocol gains a guesser nothing), then
// answered by the DAV core with backends holding that user's calendars and address books only.
//
// What an operator sees: `caldav.request` (debug) per request, `caldav.failed` (error) when the core or
// the ring failed, and on /metrics post_caldav_requests_total{method,status}.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { HttpApplication } from '../../infra/http/server';
import type { Log, Random } from '../../infra/ports';
import { handleDav } from '../../dav/handler';
import type { DavResponse } from '../../dav/response';
import type { SchedulingPort } from '../../dav/schedule';
import { LoginRefused, type LoginOutcome } from '../../mail/loginThrottle';
import { CALDAV_REFUSED_BODY_DRAIN_BYTES_MAX, CALDAV_RESOURCE_BYTES_MAX, LOGINS_KNOWN_MAX } from '../../protocol/limits';
import type { LoginRecord } from '../../storage/users/login';
import type { UnlockedUser } from '../../storage/users/unlockedUser';
import type { LoginGuard } from '../mail/loginGuard';
import type { Metrics } from '../metrics';
import { ADDRESS_BOOKS, type CalendarApp, PostCalendars } from './postCalendars';

export const DAV_BASE = '/dav/';
const WELL_KNOWN = ['/.well-known/caldav', '/.well-known/carddav'];
const REALM = 'Basic realm="POST calendars", charset="UTF-8"';

export interface CalDavDeps {
  readonly loginGuard: () => LoginGuard;
  readonly login: (username: string, password: string) => Promise<LoginRecord>;
  /** A user the node hosts keeps their calendars in their application context (its lease refresh covers them). */
  readonly hostedCalendars: (address: string) => PostCalendars | undefined;
  /** The same for address books (the user's context keeps them beside the calendars). */
  readonly hostedAddressBooks: (address: string) => PostCalendars | undefined;
  readonly appFor: (user: UnlockedUser) => CalendarApp;
  /** Implicit scheduling and free-busy for the user (RFC 6638); without it the node schedules nothing. */
  readonly schedulingFor?: (user: UnlockedUser) => SchedulingPort;
  readonly random: Random;
  readonly log: Log;
  readonly metrics?: Metrics;
}

/** A wrong password or an unknown user is a failed guess; anything else (the ring away) is not the client's doing. */
export const caldavLoginOutcome = (error: unknown): LoginOutcome => {
  const code = (error as { code?: string }).code;
  return code === 'WRONG_PASSWORD' || code === 'UNKNOWN_USER' ? 'failure' : 'other';
};

class TooLarge extends Error {}

/** The request body, refused beyond `max` bytes without reading the rest into memory. */
function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > max) return Promise.reject(new TooLarge());
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.removeAllListeners('data');
        req.resume();
        reject(new TooLarge());
      } else parts.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

/**
 * Read and discard the rest of a refused body, up to `max` bytes in all, then `reply`: a client still
 * writing sees the answer rather than a broken pipe. A bigger body gets the answer at once (and the close).
 */
function drainThen(req: IncomingMessage, max: number, reply: () => void): void {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (req.complete || declared > max) return reply();
  let size = 0;
  let replied = false;
  const once = () => {
    if (replied) return;
    replied = true;
    reply();
  };
  req.removeAllListeners('data');
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > max) once();
  });
  req.on('end', once);
  req.on('close', once);
  req.resume();
}

function basicCredentials(header: string | undefined): { username: string; password: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon < 0 ? undefined : { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

export class CalDavHttp implements HttpApplication {
  /** Visiting users' calendar logs, kept open between requests (the oldest dropped beyond LOGINS_KNOWN_MAX). */
  private readonly calendars = new Map<string, PostCalendars>();
  /** Visiting users' address book logs, kept alike. */
  private readonly addressBooks = new Map<string, PostCalendars>();

  constructor(private readonly deps: CalDavDeps) {}

  owns(path: string): boolean {
    return WELL_KNOWN.includes(path) || path === DAV_BASE.slice(0, -1) || path.startsWith(DAV_BASE);
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    void this.serve(req, res).catch((e: Error) => {
      this.deps.log.error('caldav.failed', { method: req.method, path: req.url, error: e.message, code: (e as { code?: string }).code });
      if (!res.headersSent) this.send(req, res, { status: 503, headers: { 'content-type': 'text/plain', 'retry-after': '5' }, body: 'the calendar store is unavailable right now; try again shortly\n' });
    });
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    if (WELL_KNOWN.includes(path)) return this.send(req, res, { status: 301, headers: { location: DAV_BASE } });
    const record = await this.authenticate(req, res);
    if (!record) return;
    let body: Buffer;
    try {
      body = await readBody(req, CALDAV_RESOURCE_BYTES_MAX);
    } catch (e) {
      if (e instanceof TooLarge)
        return drainThen(req, CALDAV_REFUSED_BODY_DRAIN_BYTES_MAX, () =>
          this.send(req, res, { status: 413, headers: { 'content-type': 'text/plain', connection: 'close' }, body: `the body is over ${CALDAV_RESOURCE_BYTES_MAX} bytes\n` }),
        );
      throw e;
    }
    const header = (name: string) => {
      const v = req.headers[name.toLowerCase()];
      return Array.isArray(v) ? v.join(', ') : v;
    };
    const backend = this.collectionsOf(record.user, this.calendars, this.deps.hostedCalendars).backend();
    const addressBooks = this.collectionsOf(record.user, this.addressBooks, this.deps.hostedAddressBooks).backend();
    const scheduling = this.deps.schedulingFor?.(record.user);
    const response = await handleDav({ method: req.method ?? 'GET', path, header, body }, { base: DAV_BASE, backend, addressBooks, ...(scheduling ? { scheduling } : {}) });
    this.send(req, res, response);
  }

  /**
   * The login a connection made, by the Authorization header that made it: further requests on the same
   * connection with the same header are that session (as an IMAP connection logs in once), not new
   * guesses. Without it a client's parallel requests would each be a login in flight, which the
   * throttle charges as a failure until it settles: beyond a few at once they wait for each other's
   * Argon2id unlock (and beyond LOGIN_WAITING_PER_KEY_MAX the user gets 429).
   */
  private readonly sessions = new WeakMap<Socket, { authorization: string; record: LoginRecord }>();

  private async authenticate(req: IncomingMessage, res: ServerResponse): Promise<LoginRecord | undefined> {
    const authorization = req.headers.authorization ?? '';
    const session = this.sessions.get(req.socket);
    if (session && session.authorization === authorization) return session.record;
    const record = await this.login(req, res);
    if (record) this.sessions.set(req.socket, { authorization, record });
    return record;
  }

  private async login(req: IncomingMessage, res: ServerResponse): Promise<LoginRecord | undefined> {
    const credentials = basicCredentials(req.headers.authorization);
    const challenge = () => this.send(req, res, { status: 401, headers: { 'www-authenticate': REALM, 'content-type': 'text/plain' }, body: 'log in with your POST address and password\n' });
    if (!credentials) return void challenge();
    try {
      return await this.deps.loginGuard().attempt('caldav', req.socket.remoteAddress, credentials.username, () => this.deps.login(credentials.username, credentials.password), caldavLoginOutcome);
    } catch (e) {
      if (e instanceof LoginRefused) {
        const retryAfter = String(Math.ceil(e.refusal.retryAfterMs / 1000));
        return void this.send(req, res, { status: 429, headers: { 'retry-after': retryAfter, 'content-type': 'text/plain' }, body: `${e.message}\n` });
      }
      if (caldavLoginOutcome(e) === 'failure') return void challenge();
      throw e;
    }
  }

  /** The hosted user's calendars (or address books), or (a user hosted elsewhere, logged in here) those this service opened and keeps in `kept`. */
  private collectionsOf(user: UnlockedUser, kept: Map<string, PostCalendars>, hostedOf: (address: string) => PostCalendars | undefined): PostCalendars {
    const hosted = hostedOf(user.address);
    if (hosted) return hosted;
    let collections = kept.get(user.address);
    if (!collections) {
      if (kept.size >= LOGINS_KNOWN_MAX) {
        const [oldest, old] = kept.entries().next().value!;
        kept.delete(oldest);
        old.close();
      }
      collections = new PostCalendars(this.deps.appFor(user), this.deps.random, ...(kept === this.addressBooks ? [ADDRESS_BOOKS] : []));
      kept.set(user.address, collections);
    }
    return collections;
  }

  private send(req: IncomingMessage, res: ServerResponse, response: DavResponse): void {
    this.deps.metrics?.inc('post_caldav_requests_total', 'CalDAV requests answered, by method and status', { method: req.method ?? '', status: String(response.status) });
    this.deps.log.debug('caldav.request', { method: req.method, path: req.url, status: response.status });
    res.writeHead(response.status, { ...response.headers });
    res.end(response.body === undefined ? undefined : response.body);
  }

  close(): void {
    for (const c of [...this.calendars.values(), ...this.addressBooks.values()]) c.close();
    this.calendars.clear();
    this.addressBooks.clear();
  }
}
