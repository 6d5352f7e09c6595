// The port between the CalDAV core and the user's calendars (like mail/backend.ts for IMAP): the core
// parses, checks and answers; the backend stores. One backend serves one authenticated user, so the
// core cannot reach anybody else's calendars. The POST backend keeps each calendar as a log of the
// user (actors/calendar/calendarBackend.ts).

export interface DavCalendarProps {
  readonly displayName: string;
  readonly description: string;
  readonly color: string;
  readonly components: readonly string[];
}

export interface DavCalendar {
  readonly slug: string;
  /** Changes with every new calendar of that name: a sync token names it, so a recreated calendar's old tokens are invalid. */
  readonly collectionId: string;
  readonly props: DavCalendarProps;
  /** The collection's modification sequence: the sync token's number and the CTag. */
  readonly modseq: number;
}

export interface DavObject {
  readonly name: string;
  readonly etag: string;
  readonly sizeOctets: number;
  readonly modseq: number;
}

export type DavPutOutcome = 'created' | 'updated' | 'unchanged' | 'precondition-failed' | 'full' | 'no-calendar';
export type DavDeleteOutcome = 'deleted' | 'missing' | 'precondition-failed';

export interface CalendarBackend {
  /** The authenticated user's address. */
  readonly owner: string;
  listCalendars(): Promise<DavCalendar[]>;
  calendar(slug: string): Promise<DavCalendar | undefined>;
  createCalendar(slug: string, props: Partial<DavCalendarProps>): Promise<'created' | 'exists' | 'full'>;
  updateCalendar(slug: string, props: Partial<DavCalendarProps>): Promise<boolean>;
  deleteCalendar(slug: string): Promise<boolean>;
  listObjects(slug: string): Promise<DavObject[]>;
  object(slug: string, name: string): Promise<DavObject | undefined>;
  readObject(slug: string, name: string): Promise<{ readonly object: DavObject; readonly data: Uint8Array } | undefined>;
  /** `expect`: the ETag the client holds (If-Match), or '*none' (If-None-Match: *). */
  putObject(slug: string, name: string, data: Uint8Array, expect?: string): Promise<{ readonly outcome: DavPutOutcome; readonly etag?: string }>;
  deleteObject(slug: string, name: string, expect?: string): Promise<DavDeleteOutcome>;
  /** Objects changed and names deleted after `modseq`; undefined when the calendar forgot that far back. */
  changesSince(slug: string, modseq: number): Promise<{ readonly changed: DavObject[]; readonly deleted: string[]; readonly modseq: number } | undefined>;
}

/** The If-None-Match: * precondition as the backend receives it. */
export const EXPECT_NONE = '*none';
