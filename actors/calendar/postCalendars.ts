// A user's calendars on POST (issue 16), through the application API only: the `calendars` log lists
// them, each is a log of its own (storage/calendar/calendarModel.ts), and each iCalendar resource is a
// block stored with UserApp.store. This is the CalDAV core's backend (dav/backend.ts) for one user.
//
// Logs are opened once per user and kept (PostCalendars); each request (PostCalendarBackend) catches
// them up with the ring once before it reads, so a change another device made is seen at once.
//
// Address books (RFC 6352) are the same thing in another family of logs (ADDRESS_BOOK_FAMILY): a
// PostCalendars over that family is the CardDAV core's backend, with a default address book made when
// the user has none, and no schedule inbox.
import { HashDomain } from '../../crypto/domains';
import { blake2b } from '../../crypto/hash';
import type { Random } from '../../infra/ports';
import { DEFAULT_ADDRESS_BOOK, isScheduleBox, SCHEDULE_INBOX } from '../../dav/paths';
import type { CalendarBackend, DavCalendar, DavCalendarProps, DavObject, DavPutOutcome } from '../../dav/backend';
import type { LogModel } from '../../storage/log/logModel';
import type { LogWriter } from '../../storage/log/logWriter';
import { type CalendarChange, calendarModel, type CalendarObject, type CalendarOp, type CalendarState, type CalendarSummary, changesSince, NONE_MATCH } from '../../storage/calendar/calendarModel';
import {
  ADDRESS_BOOK_FAMILY,
  CALENDAR_FAMILY,
  type CalendarIndexChange,
  calendarIndexModel,
  type CalendarIndexOp,
  type CalendarIndexState,
  type CollectionFamily,
} from '../../storage/calendar/calendarIndexModel';

type CalendarLog = LogWriter<CalendarState, CalendarOp, CalendarChange, CalendarSummary>;
type IndexLog = LogWriter<CalendarIndexState, CalendarIndexOp, CalendarIndexChange, { calendars: number }>;

/** What the calendars need of a user's application context (UserApp). */
export interface CalendarApp {
  readonly address: string;
  store(data: Uint8Array): Promise<string>;
  read(ref: string): Promise<Buffer>;
  openLog<S, Op, C, Sum>(name: string, model: LogModel<S, Op, C, Sum>): Promise<LogWriter<S, Op, C, Sum>>;
}

export const calendarEtagOf = (data: Uint8Array): string => Buffer.from(blake2b([HashDomain.calendarEtag, data])).subarray(0, 16).toString('hex');
const CALENDAR_ID_BYTES = 16;
/** The schedule inbox is a calendar log of its own, under a name no random calendar id takes; it is in no index. */
export const SCHEDULE_INBOX_LOG_ID = 'schedule-inbox';

const toDav = (o: CalendarObject): DavObject => ({ name: o.name, etag: o.etag, sizeOctets: o.sizeOctets, modseq: o.modseq });

/** How a family of collections is served: calendars with their schedule inbox, address books with a default one. */
export interface CollectionKind {
  readonly family: CollectionFamily;
  /** The schedule inbox's own log (calendars only). */
  readonly scheduleInbox: boolean;
  /** A collection made (with these properties) when the user has none at all. */
  readonly defaultCollection?: { readonly slug: string; readonly props: Partial<DavCalendarProps> };
}
export const CALENDARS: CollectionKind = { family: CALENDAR_FAMILY, scheduleInbox: true };
export const ADDRESS_BOOKS: CollectionKind = {
  family: ADDRESS_BOOK_FAMILY,
  scheduleInbox: false,
  defaultCollection: { slug: DEFAULT_ADDRESS_BOOK, props: { displayName: 'Contacts', components: ['VCARD'] } },
};

/** One user's calendar (or address book) logs, opened on first use and kept. */
export class PostCalendars {
  private index: Promise<IndexLog> | undefined;
  private readonly logs = new Map<string, Promise<CalendarLog>>();

  constructor(
    readonly app: CalendarApp,
    private readonly random: Random,
    readonly kind: CollectionKind = CALENDARS,
  ) {}

  indexLog(): Promise<IndexLog> {
    this.index ??= this.app.openLog(this.kind.family.indexLogName, calendarIndexModel);
    this.index.catch(() => (this.index = undefined));
    return this.index;
  }

  calendarLog(calendarId: string): Promise<CalendarLog> {
    let log = this.logs.get(calendarId);
    if (!log) {
      log = this.app.openLog(this.kind.family.logName(calendarId), calendarModel);
      log.catch(() => this.logs.delete(calendarId));
      this.logs.set(calendarId, log);
    }
    return log;
  }

  newCalendarId(): string {
    return Buffer.from(this.random.bytes(CALENDAR_ID_BYTES)).toString('hex');
  }

  /** A backend for one request. */
  backend(): PostCalendarBackend {
    return new PostCalendarBackend(this);
  }

  /** Every block the calendars reference (logs and resources), for the owner's lease refresh. */
  async liveBlockIds(contentIds: (ref: string) => Promise<string[]>): Promise<string[]> {
    const ids: string[] = [];
    const index = await this.indexLog();
    ids.push(...index.liveBlockIds());
    for (const calendarId of [...(await index.read((s) => [...s.values()])), ...(this.kind.scheduleInbox ? [SCHEDULE_INBOX_LOG_ID] : [])]) {
      const log = await this.calendarLog(calendarId);
      ids.push(...log.liveBlockIds());
      for (const ref of await log.read((s) => [...s.objects.values()].map((o) => o.ref))) ids.push(...(await contentIds(ref)));
    }
    return ids;
  }

  close(): void {
    void this.index?.then((l) => l.close(), () => undefined);
    for (const log of this.logs.values()) void log.then((l) => l.close(), () => undefined);
  }
}

export class PostCalendarBackend implements CalendarBackend {
  private readonly caughtUp = new Set<unknown>();

  constructor(private readonly calendars: PostCalendars) {}

  get owner(): string {
    return this.calendars.app.address;
  }

  /** A log caught up with the ring once per request. */
  private async fresh<L extends { refresh(): Promise<unknown> }>(log: L): Promise<L> {
    if (!this.caughtUp.has(log)) {
      this.caughtUp.add(log);
      await log.refresh();
    }
    return log;
  }

  private async idOf(slug: string): Promise<string | undefined> {
    if (this.calendars.kind.scheduleInbox && slug === SCHEDULE_INBOX) return SCHEDULE_INBOX_LOG_ID;
    const index = await this.withDefault();
    return index.read((s) => s.get(slug));
  }

  /** The index caught up, with the default collection made first if the user has none at all. */
  private async withDefault(): Promise<IndexLog> {
    const index = await this.fresh(await this.calendars.indexLog());
    const made = this.calendars.kind.defaultCollection;
    if (made && (await index.read((s) => s.size === 0))) await this.createCalendar(made.slug, made.props);
    return index;
  }

  private async log(slug: string): Promise<{ id: string; log: CalendarLog } | undefined> {
    const id = await this.idOf(slug);
    return id === undefined ? undefined : { id, log: await this.fresh(await this.calendars.calendarLog(id)) };
  }

  private describe(slug: string, id: string, log: CalendarLog): Promise<DavCalendar> {
    return log.read((s) => ({ slug, collectionId: id, props: s.props, modseq: s.highestModseq }));
  }

  async listCalendars(): Promise<DavCalendar[]> {
    const index = await this.withDefault();
    const entries = await index.read((s) => [...s].filter(([slug]) => !isScheduleBox(slug)).sort(([a], [b]) => (a < b ? -1 : 1)));
    return Promise.all(entries.map(async ([slug, id]) => this.describe(slug, id, await this.fresh(await this.calendars.calendarLog(id)))));
  }

  async calendar(slug: string): Promise<DavCalendar | undefined> {
    const found = await this.log(slug);
    return found && this.describe(slug, found.id, found.log);
  }

  async createCalendar(slug: string, props: Partial<DavCalendarProps>): Promise<'created' | 'exists' | 'full'> {
    const index = await this.fresh(await this.calendars.indexLog());
    if (await index.read((s) => s.has(slug))) return 'exists';
    const calendarId = this.calendars.newCalendarId();
    // The properties first: a calendar never shows up in the index without them.
    if (Object.keys(props).length) await (await this.calendars.calendarLog(calendarId)).append([{ type: 'props', props }]);
    const [r] = await index.append([{ type: 'create', slug, calendarId }]);
    const outcome = r!.change.outcome;
    return outcome === 'created' ? 'created' : outcome === 'full' ? 'full' : 'exists';
  }

  async updateCalendar(slug: string, props: Partial<DavCalendarProps>): Promise<boolean> {
    const found = await this.log(slug);
    if (!found) return false;
    await found.log.append([{ type: 'props', props }]);
    return true;
  }

  async deleteCalendar(slug: string): Promise<boolean> {
    const id = await this.idOf(slug);
    if (id === undefined) return false;
    const [r] = await (await this.calendars.indexLog()).append([{ type: 'delete', slug, calendarId: id }]);
    return r!.change.outcome === 'deleted';
  }

  async listObjects(slug: string): Promise<DavObject[]> {
    const found = await this.log(slug);
    return found ? found.log.read((s) => [...s.objects.values()].map(toDav)) : [];
  }

  async object(slug: string, name: string): Promise<DavObject | undefined> {
    const found = await this.log(slug);
    const o = found && (await found.log.read((s) => s.objects.get(name)));
    return o && toDav(o);
  }

  async readObject(slug: string, name: string): Promise<{ object: DavObject; data: Uint8Array } | undefined> {
    const found = await this.log(slug);
    const o = found && (await found.log.read((s) => s.objects.get(name)));
    return o && { object: toDav(o), data: await this.calendars.app.read(o.ref) };
  }

  async putObject(slug: string, name: string, data: Uint8Array, expect?: string): Promise<{ outcome: DavPutOutcome; etag?: string }> {
    const found = await this.log(slug);
    if (!found) return { outcome: 'no-calendar' };
    const etag = calendarEtagOf(data);
    // Stored before the log names it: a head never points at content that is not durable yet.
    const ref = await this.calendars.app.store(data);
    const op: CalendarOp = { type: 'put', name, ref, etag, sizeOctets: data.length, ...(expect !== undefined ? { expect: expect === '*none' ? NONE_MATCH : expect } : {}) };
    const [r] = await found.log.append([op]);
    return { outcome: r!.change.outcome as DavPutOutcome, etag };
  }

  async deleteObject(slug: string, name: string, expect?: string) {
    const found = await this.log(slug);
    if (!found) return 'missing' as const;
    const [r] = await found.log.append([{ type: 'delete', name, ...(expect !== undefined ? { expect } : {}) }]);
    return (r!.change as Extract<CalendarChange, { type: 'delete' }>).outcome;
  }

  async changesSince(slug: string, modseq: number) {
    const found = await this.log(slug);
    if (!found) return undefined;
    return found.log.read((s) => {
      const changes = changesSince(s, modseq);
      return changes && { changed: changes.changed.map(toDav), deleted: changes.deleted, modseq: s.highestModseq };
    });
  }
}
