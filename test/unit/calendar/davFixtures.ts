// A user's calendars over in-memory storage with real logs (no ring): the CalDAV core, the POST
// backend and the calendar log model together, and requests as a client sends them.
import { ADDRESS_BOOKS, PostCalendars, type CalendarApp } from '../../../actors/calendar/postCalendars';
import { handleDav, type DavRequest } from '../../../dav/handler';
import type { DavResponse } from '../../../dav/response';
import type { SchedulingPort } from '../../../dav/schedule';
import { SimRandom } from '../../../infra/sim/random';
import { formatBlockRef, parseBlockRef } from '../../../storage/blocks';
import { logAddressFor } from '../../../storage/log/logAddress';
import { LogWriter } from '../../../storage/log/logWriter';
import { MemoryStorage } from '../../../storage/memory/storage';
import { depsFor, testOwner } from '../log/logFixtures';

export const BASE = '/dav/';
export const ALICE = 'alice@lab.example';

export async function calendarApp(storage: MemoryStorage, address: string, seed: number, device: string): Promise<CalendarApp> {
  const owner = await testOwner(seed);
  return {
    address,
    store: async (data) => formatBlockRef(await storage.putData(data)),
    read: async (ref) => {
      const parsed = parseBlockRef(ref);
      if (!parsed.ok) throw new Error(parsed.message);
      return storage.getData(parsed.value);
    },
    openLog: (name, model) => LogWriter.open(depsFor(storage, owner, `${device}:${name}`), logAddressFor(owner, name), model),
  };
}

/** One device of a user: send requests as that user. */
export class Device {
  /** Implicit scheduling and free-busy, when the test gives the device a port. */
  scheduling: SchedulingPort | undefined;

  constructor(
    readonly calendars: PostCalendars,
    /** The same user's address books (CardDAV), on the same application context. */
    readonly addressBooks?: PostCalendars,
  ) {}

  static async of(storage: MemoryStorage, address = ALICE, seed = 1, device = 'a'): Promise<Device> {
    const app = await calendarApp(storage, address, seed, device);
    return new Device(new PostCalendars(app, new SimRandom(`${device}-ids`)), new PostCalendars(app, new SimRandom(`${device}-book-ids`), ADDRESS_BOOKS));
  }

  async send(method: string, path: string, body = '', headers: Record<string, string> = {}): Promise<DavResponse & { text: string }> {
    const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
    const req: DavRequest = { method, path, header: (n) => lower[n.toLowerCase()], body: Buffer.from(body, 'utf8') };
    const books = this.addressBooks ? { addressBooks: this.addressBooks.backend() } : {};
    const res = await handleDav(req, { base: BASE, backend: this.calendars.backend(), ...books, ...(this.scheduling ? { scheduling: this.scheduling } : {}) });
    return { ...res, text: res.body === undefined ? '' : Buffer.from(res.body).toString('utf8') };
  }
}

export const event = (uid: string, extra = '', start = '20260105T100000Z', end = '20260105T110000Z') =>
  ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//test//EN', 'BEGIN:VEVENT', `UID:${uid}`, 'DTSTAMP:20260101T000000Z', `DTSTART:${start}`, `DTEND:${end}`, `SUMMARY:${uid}`, ...(extra ? [extra] : []), 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');

export const propfindBody = (...props: string[]) =>
  `<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:cs="http://calendarserver.org/ns/"><d:prop>${props.join('')}</d:prop></d:propfind>`;

export const queryBody = (start: string, end: string) =>
  `<?xml version="1.0"?><c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/></d:prop>` +
  `<c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"><c:time-range start="${start}" end="${end}"/></c:comp-filter></c:comp-filter></c:filter></c:calendar-query>`;

export const syncBody = (token: string) =>
  `<?xml version="1.0"?><d:sync-collection xmlns:d="DAV:"><d:sync-token>${token}</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>`;

/** The hrefs of a multistatus body's responses (each with its status or propstat), in order. */
export const hrefsIn = (xml: string): string[] => [...xml.matchAll(/<d:href>([^<]*)<\/d:href>/g)].map((m) => m[1]!);
