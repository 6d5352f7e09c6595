// Calendar scheduling between users on POST (issue 16, RFC 6638), with nothing but the application
// API: an invitation, a reply or a cancellation is a signed, sealed `calendar` notification into the
// recipient's inbox drop (the receiver pulls; the notifier's per-sender limits apply, as for mail),
// and the recipient's node files it in the user's schedule inbox (a calendar log). A reply also sets
// the attendee's PARTSTAT in the organiser's copy. Free-busy is a question and an answer, both
// notifications: the attendee's node answers from the attendee's calendars with busy periods only.
//
// One instance per user's receiving context (UserApp): its waiting free-busy questions are answered
// by the notifications that context receives. What is accepted is decided by dav/schedule.ts.
//
// What an operator sees: caldav.schedule.undelivered (warn) per recipient not reached,
// caldav.itip.refused (warn) for a message that may not do what it says, caldav.itip.applied (info) when
// a message changed an event.
import { Decoder } from '@msgpack/msgpack';
import { HashDomain } from '../../crypto/domains';
import { blake2b } from '../../crypto/hash';
import type { Clock, Log, Random } from '../../infra/ports';
import { SCHEDULE_INBOX } from '../../dav/paths';
import { DavFailure } from '../../dav/response';
import { applyReply, type BusyPeriod, busyPeriods, type FreeBusyRequest, incomingItip, type ItipMessage, type SchedulingPort, updateAttendeeCopy } from '../../dav/schedule';
import { parseCalendarResource } from '../../dav/ical';
import { CALENDAR_APP, type CalendarSignal, calendarSignalCodec } from '../../protocol/apps';
import { ErrorCodes, type PostError } from '../../protocol/errors';
import { canonicalBytes } from '../../protocol/frame';
import { CALDAV_FREEBUSY_PENDING_MAX, CALDAV_FREEBUSY_SPAN_MS_MAX, CALDAV_FREEBUSY_WAIT_MS, CALDAV_ITIP_APPLY_TRIES_MAX, CALDAV_SCHEDULE_UID_SCAN_MAX, CALENDAR_NAME_CHARS_MAX } from '../../protocol/limits';
import type { DeliveryOutcome, Notification } from '../notify/notifier';
import type { PostCalendarBackend, PostCalendars } from './postCalendars';

/** What scheduling needs of a user's application context (UserApp). */
export interface SchedulingApp {
  readonly address: string;
  notify(to: string, app: string, body: Uint8Array): Promise<void>;
  calendarLogs(): PostCalendars;
}

export interface SchedulingDeps {
  readonly clock: Clock;
  readonly random: Random;
  readonly log: Log;
}

const decoder = new Decoder();
const READ_BATCH = 16;
const FREEBUSY_ID_BYTES = 16;

/** Where a message lands in the recipient's schedule inbox: the same sender, method and event replace the last one. */
export const inboxNameOf = (method: string, from: string, uid: string): string => `${Buffer.from(blake2b([HashDomain.scheduleInboxName, method, '\0', from, '\0', uid])).toString('hex')}.ics`;

export class CalendarScheduling implements SchedulingPort {
  /** Free-busy questions waiting for their answer, by `<id>:<recipient>`: only the recipient asked can answer. */
  private readonly waiting = new Map<string, (busy: BusyPeriod[]) => void>();

  constructor(
    private readonly app: SchedulingApp,
    private readonly deps: SchedulingDeps,
  ) {}

  nowMs(): number {
    return this.deps.clock.now();
  }

  private signal(fields: Omit<CalendarSignal, 'from' | 'sentAtMs'>): Uint8Array {
    return canonicalBytes(calendarSignalCodec.encode({ ...fields, from: this.app.address, sentAtMs: Math.floor(this.deps.clock.now()) }));
  }

  // ---- sending ------------------------------------------------------------------------------------------

  async deliver(messages: readonly ItipMessage[]) {
    const reached: string[] = [];
    const failed: { recipient: string; error: string }[] = [];
    for (const m of messages) {
      const body = this.signal({ kind: 'itip', itip: m.text });
      await Promise.all(
        m.recipients.map(async (recipient) => {
          try {
            await this.app.notify(recipient, CALENDAR_APP, body);
            reached.push(recipient);
          } catch (e) {
            const error = `${(e as PostError).code ?? 'ERROR'}: ${(e as Error).message}`;
            failed.push({ recipient, error });
            this.deps.log.warn('caldav.schedule.undelivered', { user: this.app.address, to: recipient, method: m.method, error });
          }
        }),
      );
    }
    return { reached, failed };
  }

  async freeBusy(request: FreeBusyRequest) {
    const me = this.app.address;
    const busy = new Map<string, readonly BusyPeriod[]>();
    const unknown: string[] = [];
    if (request.recipients.includes(me)) busy.set(me, await this.busyOfMine(request.startMs, request.endMs));
    const others = request.recipients.filter((r) => r !== me);
    if (others.length === 0) return { busy, unknown };
    if (this.waiting.size + others.length > CALDAV_FREEBUSY_PENDING_MAX) throw new DavFailure(503, 'too many free-busy requests are waiting for answers; try again shortly');
    const id = Buffer.from(this.deps.random.bytes(FREEBUSY_ID_BYTES)).toString('hex');
    let timer: unknown;
    let outstanding = others.length;
    const settled = new Promise<void>((resolve) => {
      const one = () => --outstanding === 0 && resolve();
      for (const r of others)
        this.waiting.set(`${id}:${r}`, (periods) => {
          if (this.waiting.delete(`${id}:${r}`)) {
            busy.set(r, periods);
            one();
          }
        });
      timer = this.deps.clock.setTimeout(resolve, CALDAV_FREEBUSY_WAIT_MS);
      const body = this.signal({ kind: 'freebusy-request', id, startMs: request.startMs, endMs: request.endMs });
      for (const r of others)
        this.app.notify(r, CALENDAR_APP, body).catch((e: PostError) => {
          if (e.code === ErrorCodes.UNKNOWN_USER) unknown.push(r);
          else this.deps.log.warn('caldav.freebusy.unsent', { user: me, to: r, error: e.message, code: e.code });
          if (this.waiting.delete(`${id}:${r}`)) one();
        });
    });
    try {
      await settled;
    } finally {
      this.deps.clock.clearTimeout(timer);
      for (const r of others) this.waiting.delete(`${id}:${r}`);
    }
    return { busy, unknown };
  }

  /** The user's own busy periods, from every calendar that holds events (the inbox is no calendar). */
  private async busyOfMine(startMs: number, endMs: number): Promise<BusyPeriod[]> {
    const backend = this.app.calendarLogs().backend();
    const texts: string[] = [];
    for (const calendar of await backend.listCalendars()) {
      if (!calendar.props.components.includes('VEVENT')) continue;
      const objects = await backend.listObjects(calendar.slug);
      for (let i = 0; i < objects.length; i += READ_BATCH) {
        const read = await Promise.all(objects.slice(i, i + READ_BATCH).map((o) => backend.readObject(calendar.slug, o.name)));
        for (const r of read) if (r) texts.push(Buffer.from(r.data).toString('utf8'));
      }
    }
    return busyPeriods(texts, startMs, endMs);
  }

  // ---- receiving -------------------------------------------------------------------------------------

  /** A `calendar` notification for this user (its signer is `n.from`, verified by the notifier). */
  async receive(n: Notification, bodyBytes: Uint8Array): Promise<DeliveryOutcome> {
    let signal: CalendarSignal;
    try {
      signal = calendarSignalCodec.decode(decoder.decode(bodyBytes), 'calendarSignal');
    } catch {
      return 'undeliverable';
    }
    const from = n.from.toLowerCase();
    if (signal.from.toLowerCase() !== from) return 'undeliverable';
    switch (signal.kind) {
      case 'itip':
        return signal.itip === undefined ? 'undeliverable' : this.receiveItip(signal.itip, from);
      case 'freebusy-request':
        return this.answerFreeBusy(signal, from, n.timeMs);
      case 'freebusy-reply':
        if (signal.id !== undefined) this.waiting.get(`${signal.id}:${from}`)?.(signal.busy ?? []);
        return 'delivered';
    }
  }

  private async receiveItip(text: string, from: string): Promise<DeliveryOutcome> {
    const me = this.app.address;
    const itip = incomingItip(text, from, me);
    if (!itip) {
      this.deps.log.warn('caldav.itip.refused', { user: me, from, why: 'not an iTIP REQUEST or CANCEL from its organiser to an attendee, nor a REPLY from an attendee to its organiser' });
      return 'undeliverable';
    }
    const backend = this.app.calendarLogs().backend();
    const { outcome } = await backend.putObject(SCHEDULE_INBOX, inboxNameOf(itip.method, from, itip.uid), Buffer.from(text, 'utf8'));
    // A full inbox keeps the message in the drop (pending, within the sender's limit) until the user makes room.
    if (outcome === 'full') return 'retry';
    // A reply sets the attendee's PARTSTAT in the organiser's event; a new REQUEST or a CANCEL updates the
    // attendee's copy, if the attendee has one (a first invitation waits in the inbox for an answer).
    const change = itip.method === 'REPLY' ? (copy: string) => applyReply(copy, itip, from) : (copy: string) => updateAttendeeCopy(copy, itip, me);
    await this.updateEvent(itip.uid, itip.method, from, change);
    return 'delivered';
  }

  /** The user's event with this UID changed by `change`, re-read and retried when another device changed it meanwhile. */
  private async updateEvent(uid: string, method: string, from: string, change: (text: string) => string | undefined): Promise<void> {
    for (let attempt = 0; attempt < CALDAV_ITIP_APPLY_TRIES_MAX; attempt++) {
      const backend = this.app.calendarLogs().backend();
      const found = await findByUid(backend, uid);
      if (!found) return;
      const next = change(found.text);
      if (next === undefined) return;
      const { outcome } = await backend.putObject(found.slug, found.name, Buffer.from(next, 'utf8'), found.etag);
      if (outcome !== 'precondition-failed') {
        this.deps.log.info('caldav.itip.applied', { user: this.app.address, from, method, calendar: found.slug, outcome });
        return;
      }
    }
    this.deps.log.warn('caldav.itip.not_applied', { user: this.app.address, from, method, why: `the event kept changing over ${CALDAV_ITIP_APPLY_TRIES_MAX} tries` });
  }

  private async answerFreeBusy(signal: CalendarSignal, from: string, sentAtMs: number): Promise<DeliveryOutcome> {
    const { id, startMs, endMs } = signal;
    if (id === undefined || startMs === undefined || endMs === undefined || !(endMs > startMs) || endMs - startMs > CALDAV_FREEBUSY_SPAN_MS_MAX) return 'undeliverable';
    // The asker stopped waiting: an answer now would only fill its drop.
    if (this.deps.clock.now() - sentAtMs > CALDAV_FREEBUSY_WAIT_MS) return 'delivered';
    const busy = await this.busyOfMine(startMs, endMs);
    try {
      await this.app.notify(from, CALENDAR_APP, this.signal({ kind: 'freebusy-reply', id, busy }));
    } catch (e) {
      this.deps.log.warn('caldav.freebusy.unanswered', { user: this.app.address, to: from, error: (e as Error).message, code: (e as PostError).code });
    }
    return 'delivered';
  }
}

/** The user's event with this UID: first where clients put it (<UID>.ics), then a bounded search. */
async function findByUid(backend: PostCalendarBackend, uid: string): Promise<{ slug: string; name: string; etag: string; text: string } | undefined> {
  const calendars = await backend.listCalendars();
  const read = async (slug: string, name: string) => {
    const found = await backend.readObject(slug, name);
    if (!found) return undefined;
    const text = Buffer.from(found.data).toString('utf8');
    try {
      return parseCalendarResource(text).uid === uid ? { slug, name, etag: found.object.etag, text } : undefined;
    } catch {
      return undefined;
    }
  };
  const direct = `${uid}.ics`;
  if (!direct.includes('/') && direct.length <= CALENDAR_NAME_CHARS_MAX)
    for (const c of calendars) {
      const hit = await read(c.slug, direct);
      if (hit) return hit;
    }
  let scanned = 0;
  for (const c of calendars)
    for (const o of await backend.listObjects(c.slug)) {
      if (o.name === direct) continue;
      if (++scanned > CALDAV_SCHEDULE_UID_SCAN_MAX) return undefined;
      const hit = await read(c.slug, o.name);
      if (hit) return hit;
    }
  return undefined;
}

/** A port that finds the user's receiving context only when scheduling is used (a PUT without attendees never does). */
export function lazyScheduling(resolve: () => SchedulingPort): SchedulingPort {
  let port: SchedulingPort | undefined;
  const get = () => (port ??= resolve());
  return { deliver: (m) => get().deliver(m), freeBusy: (r) => get().freeBusy(r), nowMs: () => get().nowMs() };
}
