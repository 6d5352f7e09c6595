// Scheduling (RFC 6638) between two users over in-memory storage: the CalDAV core, the POST backend and
// CalendarScheduling, with notifications handed straight to the recipient's receiving side (the
// notifier's own tests cover the ring). Invite, accept, the organiser's copy shows the PARTSTAT;
// free-busy answers busy periods only; forged or misdirected messages change nothing.
import { describe, expect, test } from 'vitest';
import { CalendarScheduling } from '../../../actors/calendar/scheduling';
import type { Notification } from '../../../actors/notify/notifier';
import { applyReply, busyPeriods, incomingItip, schedulingMessages, updateAttendeeCopy } from '../../../dav/schedule';
import { parseCalendarResource } from '../../../dav/ical';
import { MemoryLog } from '../../../infra/log';
import { SimClock } from '../../../infra/sim/clock';
import { SimRandom } from '../../../infra/sim/random';
import { CALENDAR_APP } from '../../../protocol/apps';
import { MemoryStorage } from '../../../storage/memory/storage';
import { Device, hrefsIn, propfindBody } from './davFixtures';

const ALICE = 'alice@a.example';
const BOB = 'bob@b.example';
const MKCAL = '';

const invitation = (uid: string, attendees: string[], extra: string[] = []) =>
  [
    'BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//test//EN', 'BEGIN:VEVENT', `UID:${uid}`, 'DTSTAMP:20260101T000000Z',
    'DTSTART:20260105T100000Z', 'DTEND:20260105T110000Z', 'SUMMARY:secret plans', `ORGANIZER:mailto:${ALICE}`,
    `ATTENDEE;PARTSTAT=ACCEPTED:mailto:${ALICE}`, ...attendees.map((a) => `ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:${a}`), ...extra,
    'END:VEVENT', 'END:VCALENDAR', '',
  ].join('\r\n');

const freeBusyAsk = (organizer: string, attendees: string[]) =>
  [
    'BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//test//EN', 'METHOD:REQUEST', 'BEGIN:VFREEBUSY', 'UID:fb-1', 'DTSTAMP:20260101T000000Z',
    'DTSTART:20260105T000000Z', 'DTEND:20260106T000000Z', `ORGANIZER:mailto:${organizer}`, ...attendees.map((a) => `ATTENDEE:mailto:${a}`),
    'END:VFREEBUSY', 'END:VCALENDAR', '',
  ].join('\r\n');

/** Two users whose notifications reach each other at once; `drop` loses what is sent to an address. */
async function twoUsers(opts: { drop?: string } = {}) {
  const storage = new MemoryStorage();
  const clock = new SimClock();
  const log = new MemoryLog();
  const devices = new Map<string, Device>();
  const receivers = new Map<string, CalendarScheduling>();
  let entries = 0;
  for (const [address, seed] of [[ALICE, 1], [BOB, 2]] as const) {
    const device = await Device.of(storage, address, seed, address);
    const app = {
      address,
      calendarLogs: () => device.calendars,
      notify: async (to: string, app: string, body: Uint8Array) => {
        expect(app).toBe(CALENDAR_APP);
        const receiver = receivers.get(to);
        if (!receiver) throw Object.assign(new Error(`${to} is no user`), { code: 'UNKNOWN_USER' });
        if (to === opts.drop) return;
        const n = { entryId: `e${++entries}`, from: address, timeMs: clock.now() } as Notification;
        expect(await receiver.receive(n, body)).toBe('delivered');
      },
    };
    const scheduling = new CalendarScheduling(app, { clock, random: new SimRandom(`${address}-fb`), log });
    device.scheduling = scheduling;
    receivers.set(address, scheduling);
    devices.set(address, device);
  }
  const alice = devices.get(ALICE)!;
  const bob = devices.get(BOB)!;
  expect((await alice.send('MKCALENDAR', `/dav/calendars/${ALICE}/work/`, MKCAL)).status).toBe(201);
  expect((await bob.send('MKCALENDAR', `/dav/calendars/${BOB}/home/`, MKCAL)).status).toBe(201);
  return { alice, bob, clock, receivers, log };
}

describe('scheduling between two users (RFC 6638 over notifications)', () => {
  test('the principal names its inbox, outbox and address; the inbox is a collection that is no calendar', async () => {
    const { bob } = await twoUsers();
    const p = await bob.send('PROPFIND', `/dav/principals/${BOB}/`, propfindBody('<c:schedule-inbox-URL/>', '<c:schedule-outbox-URL/>', '<c:calendar-user-address-set/>', '<c:calendar-user-type/>'), { depth: '0' });
    expect(p.text).toContain(`<c:schedule-inbox-URL><d:href>/dav/calendars/${BOB}/inbox/</d:href>`);
    expect(p.text).toContain(`<c:schedule-outbox-URL><d:href>/dav/calendars/${BOB}/outbox/</d:href>`);
    expect(p.text).toContain(`<c:calendar-user-address-set><d:href>mailto:${BOB}</d:href>`);
    const inbox = await bob.send('PROPFIND', `/dav/calendars/${BOB}/inbox/`, propfindBody('<d:resourcetype/>'), { depth: '0' });
    expect(inbox.text).toContain('<d:resourcetype><d:collection/><c:schedule-inbox/></d:resourcetype>');
    const outbox = await bob.send('PROPFIND', `/dav/calendars/${BOB}/outbox/`, propfindBody('<d:resourcetype/>', '<d:current-user-privilege-set/>'), { depth: '0' });
    expect(outbox.text).toContain('<d:resourcetype><d:collection/><c:schedule-outbox/></d:resourcetype>');
    expect(outbox.text).toContain('<d:privilege><c:schedule-send/></d:privilege>');
    expect((await bob.send('MKCALENDAR', `/dav/calendars/${BOB}/inbox/`)).status).toBe(405);
    expect((await bob.send('PUT', `/dav/calendars/${BOB}/inbox/x.ics`, invitation('x', []))).status).toBe(403);
    expect((await bob.send('DELETE', `/dav/calendars/${BOB}/outbox/`)).status).toBe(403);
  });

  test('invite, accept: the invitation reaches the attendee\'s inbox, the reply sets PARTSTAT=ACCEPTED in the organiser\'s copy', async () => {
    const { alice, bob } = await twoUsers();
    const put = await alice.send('PUT', `/dav/calendars/${ALICE}/work/meet-1.ics`, invitation('meet-1', [BOB]));
    expect(put.status).toBe(201);
    const inbox = await bob.send('PROPFIND', `/dav/calendars/${BOB}/inbox/`, propfindBody('<d:getetag/>'), { depth: '1' });
    const [, item] = hrefsIn(inbox.text);
    expect(item).toMatch(/inbox\/[0-9a-f]{64}\.ics$/);
    const request = (await bob.send('GET', item!)).text;
    expect(request).toContain('METHOD:REQUEST');
    // Bob accepts: his copy in his calendar, with his PARTSTAT.
    const accepted = request.replace('METHOD:REQUEST\r\n', '').replace(`ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:${BOB}`, `ATTENDEE;PARTSTAT=ACCEPTED;RSVP=TRUE:mailto:${BOB}`);
    expect((await bob.send('PUT', `/dav/calendars/${BOB}/home/meet-1.ics`, accepted)).status).toBe(201);
    const copy = (await alice.send('GET', `/dav/calendars/${ALICE}/work/meet-1.ics`)).text;
    expect(copy.replace(/\r\n /g, '')).toMatch(new RegExp(`ATTENDEE;PARTSTAT=ACCEPTED;RSVP=TRUE:mailto:${BOB}`));
    expect(copy).not.toMatch(/NEEDS-ACTION/);
    // The reply is in Alice's inbox too; Bob putting the same again sends nothing new.
    expect(hrefsIn((await alice.send('PROPFIND', `/dav/calendars/${ALICE}/inbox/`, propfindBody('<d:getetag/>'), { depth: '1' })).text)).toHaveLength(2);
    expect((await bob.send('PUT', `/dav/calendars/${BOB}/home/meet-1.ics`, accepted)).status).toBe(204);
    // Alice moves the meeting: Bob's copy follows, his acceptance stands.
    const moved = (await alice.send('GET', `/dav/calendars/${ALICE}/work/meet-1.ics`)).text.replace('DTSTART:20260105T100000Z', 'DTSTART:20260105T120000Z').replace('DTEND:20260105T110000Z', 'DTEND:20260105T130000Z');
    expect((await alice.send('PUT', `/dav/calendars/${ALICE}/work/meet-1.ics`, moved)).status).toBe(204);
    const bobsCopy = (await bob.send('GET', `/dav/calendars/${BOB}/home/meet-1.ics`)).text.replace(/\r\n /g, '');
    expect(bobsCopy).toContain('DTSTART:20260105T120000Z');
    expect(bobsCopy).toContain(`PARTSTAT=ACCEPTED;RSVP=TRUE:mailto:${BOB}`);
    expect(bobsCopy).not.toContain('METHOD');
    // Alice removes the event: Bob's inbox gets a CANCEL beside the REQUEST.
    expect((await alice.send('DELETE', `/dav/calendars/${ALICE}/work/meet-1.ics`)).status).toBe(204);
    const after = hrefsIn((await bob.send('PROPFIND', `/dav/calendars/${BOB}/inbox/`, propfindBody('<d:getetag/>'), { depth: '1' })).text).slice(1);
    const texts = await Promise.all(after.map(async (h) => (await bob.send('GET', h)).text));
    expect(texts.map((t) => /METHOD:(\w+)/.exec(t)![1]).sort()).toEqual(['CANCEL', 'REQUEST']);
    expect((await bob.send('GET', `/dav/calendars/${BOB}/home/meet-1.ics`)).text).toContain('STATUS:CANCELLED');
  });

  test('an invitation too big to travel (413) or to too many attendees (403) is refused before anything is stored', async () => {
    const { alice, bob } = await twoUsers();
    const many = Array.from({ length: 101 }, (_, i) => `guest${i}@b.example`);
    expect((await alice.send('PUT', `/dav/calendars/${ALICE}/work/big.ics`, invitation('big', many))).status).toBe(403);
    const long = invitation('long', [BOB], [`DESCRIPTION:${'x'.repeat(60 * 1024)}`]);
    expect((await alice.send('PUT', `/dav/calendars/${ALICE}/work/long.ics`, long)).status).toBe(413);
    expect((await alice.send('GET', `/dav/calendars/${ALICE}/work/big.ics`)).status).toBe(404);
    expect((await alice.send('GET', `/dav/calendars/${ALICE}/work/long.ics`)).status).toBe(404);
    expect(hrefsIn((await bob.send('PROPFIND', `/dav/calendars/${BOB}/inbox/`, propfindBody('<d:getetag/>'), { depth: '1' })).text)).toHaveLength(1);
    // The same long event without attendees is just an event.
    expect((await alice.send('PUT', `/dav/calendars/${ALICE}/work/long.ics`, long.replace(`ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:${BOB}\r\n`, ''))).status).toBe(201);
  });

  test('free-busy from another user: busy periods only, no summary; an unknown user is 3.7, a silent one 5.1 after the wait', async () => {
    const { alice, bob, clock } = await twoUsers({ drop: ALICE });
    expect((await bob.send('PUT', `/dav/calendars/${BOB}/home/dentist.ics`, invitation('dentist', [], ['TRANSP:OPAQUE']).replace(`ORGANIZER:mailto:${ALICE}\r\n`, '').replace(`ATTENDEE;PARTSTAT=ACCEPTED:mailto:${ALICE}\r\n`, ''))).status).toBe(201);
    // Answers to Alice are lost here: she waits CALDAV_FREEBUSY_WAIT_MS and reports no answer.
    const pending = alice.send('POST', `/dav/calendars/${ALICE}/outbox/`, freeBusyAsk(ALICE, [BOB, 'nobody@a.example']), { 'content-type': 'text/calendar' });
    await clock.runFor(11_000);
    const silent = await pending;
    expect(silent.status).toBe(200);
    expect(silent.text).toContain('<c:request-status>5.1;');
    expect(silent.text).toContain('<c:request-status>3.7;Invalid calendar user</c:request-status>');
  });

  test('free-busy answered: the busy hour, and nothing of what the event is', async () => {
    const { alice, bob } = await twoUsers();
    const ev = invitation('dentist', []).replace(`ORGANIZER:mailto:${ALICE}\r\n`, '').replace(`ATTENDEE;PARTSTAT=ACCEPTED:mailto:${ALICE}\r\n`, '');
    expect((await bob.send('PUT', `/dav/calendars/${BOB}/home/dentist.ics`, ev)).status).toBe(201);
    const answered = await alice.send('POST', `/dav/calendars/${ALICE}/outbox/`, freeBusyAsk(ALICE, [BOB]), { 'content-type': 'text/calendar' });
    expect(answered.status).toBe(200);
    expect(answered.text).toContain('<c:request-status>2.0;Success</c:request-status>');
    expect(answered.text).toContain('FREEBUSY;FBTYPE=BUSY:20260105T100000Z/20260105T110000Z');
    expect(answered.text).not.toContain('secret');
    expect(answered.text).not.toContain('dentist');
    // Asking as someone else, or with a body that is no free-busy request.
    expect((await alice.send('POST', `/dav/calendars/${ALICE}/outbox/`, freeBusyAsk(BOB, [ALICE]), { 'content-type': 'text/calendar' })).status).toBe(403);
    expect((await alice.send('POST', `/dav/calendars/${ALICE}/outbox/`, 'BEGIN:VCALENDAR\r\nnope', { 'content-type': 'text/calendar' })).status).toBe(400);
    expect((await alice.send('POST', `/dav/calendars/${ALICE}/outbox/`, freeBusyAsk(ALICE, [BOB]), { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await alice.send('POST', `/dav/calendars/${ALICE}/work/`, freeBusyAsk(ALICE, [BOB]), { 'content-type': 'text/calendar' })).status).toBe(405);
  });
});

describe('iTIP rules (dav/schedule.ts)', () => {
  const res = (text: string) => parseCalendarResource(text);

  test('an organiser\'s write invites and cancels; an attendee\'s changed PARTSTAT answers; an unchanged one does not', () => {
    const now = Date.UTC(2026, 0, 1);
    const first = res(invitation('u', [BOB, 'carol@a.example']));
    const [req] = schedulingMessages(ALICE, undefined, first, now);
    expect([req!.method, req!.recipients]).toEqual(['REQUEST', [BOB, 'carol@a.example']]);
    const fewer = schedulingMessages(ALICE, first, res(invitation('u', [BOB])), now);
    expect(fewer.map((m) => [m.method, m.recipients])).toEqual([['REQUEST', [BOB]], ['CANCEL', ['carol@a.example']]]);
    expect(schedulingMessages(BOB, undefined, first, now)).toEqual([]);
    const accepted = res(invitation('u', [BOB]).replace('NEEDS-ACTION', 'ACCEPTED'));
    const [reply] = schedulingMessages(BOB, undefined, accepted, now);
    expect([reply!.method, reply!.recipients]).toEqual(['REPLY', [ALICE]]);
    expect(reply!.text).not.toContain('secret plans');
    expect(schedulingMessages(BOB, accepted, accepted, now)).toEqual([]);
    const [declined] = schedulingMessages(BOB, accepted, undefined, now);
    expect(declined!.text.replace(/\r\n /g, '')).toContain(`PARTSTAT=DECLINED`);
    expect(schedulingMessages(BOB, accepted, undefined, now, false)).toEqual([]);
  });

  test('a message may only do what its sender may: a REQUEST from its organiser, a REPLY for its sender only', () => {
    const request = invitation('u', [BOB]).replace('BEGIN:VEVENT', 'METHOD:REQUEST\r\nBEGIN:VEVENT');
    expect(incomingItip(request, ALICE, BOB)?.method).toBe('REQUEST');
    expect(incomingItip(request, 'mallory@a.example', BOB)).toBeUndefined();
    expect(incomingItip(request, ALICE, 'carol@a.example')).toBeUndefined();
    const reply = schedulingMessages(BOB, undefined, res(invitation('u', [BOB, 'carol@a.example']).replace(`NEEDS-ACTION;RSVP=TRUE:mailto:${BOB}`, `ACCEPTED:mailto:${BOB}`)), 0)[0]!.text;
    const asBob = incomingItip(reply, BOB, ALICE)!;
    expect(asBob.method).toBe('REPLY');
    expect(incomingItip(reply, 'carol@a.example', ALICE)).toBeUndefined();
    const updated = applyReply(invitation('u', [BOB, 'carol@a.example']), asBob, BOB)!;
    expect(updated.replace(/\r\n /g, '')).toContain(`PARTSTAT=ACCEPTED;RSVP=TRUE:mailto:${BOB}`);
    expect(updated.replace(/\r\n /g, '')).toContain(`PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:carol@a.example`);
    // Carol cannot answer for Bob even with Bob's words.
    expect(applyReply(invitation('u', [BOB]), asBob, 'carol@a.example')).toBeUndefined();
    // Mallory's REQUEST reusing the UID of Alice's event does not touch Bob's copy of it.
    const forged = incomingItip(request.replaceAll(`mailto:${ALICE}`, 'mailto:mallory@a.example').replace('secret plans', 'moved by mallory'), 'mallory@a.example', BOB)!;
    expect(forged.method).toBe('REQUEST');
    expect(updateAttendeeCopy(invitation('u', [BOB]), forged, BOB)).toBeUndefined();
    expect(updateAttendeeCopy(invitation('u', [BOB]), incomingItip(request.replace('secret plans', 'new plans'), ALICE, BOB)!, BOB)).toContain('new plans');
  });

  test('busy periods: merged, clipped, transparent and cancelled events left out, recurrences expanded', () => {
    const ev = (uid: string, start: string, end: string, extra: string[] = []) =>
      ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:x', 'BEGIN:VEVENT', `UID:${uid}`, 'DTSTAMP:20260101T000000Z', `DTSTART:${start}`, `DTEND:${end}`, ...extra, 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
    const day = (d: number, h: number) => Date.UTC(2026, 0, d, h);
    const busy = busyPeriods(
      [
        ev('a', '20260105T090000Z', '20260105T100000Z'),
        ev('b', '20260105T093000Z', '20260105T110000Z'),
        ev('free', '20260105T120000Z', '20260105T130000Z', ['TRANSP:TRANSPARENT']),
        ev('gone', '20260105T140000Z', '20260105T150000Z', ['STATUS:CANCELLED']),
        ev('maybe', '20260105T160000Z', '20260105T170000Z', ['STATUS:TENTATIVE']),
        ev('daily', '20260101T230000Z', '20260102T010000Z', ['RRULE:FREQ=DAILY;COUNT=10']),
        'not a calendar',
      ],
      day(5, 0),
      day(6, 0),
    );
    expect(busy).toEqual([
      { startMs: day(5, 0), endMs: day(5, 1) },
      { startMs: day(5, 9), endMs: day(5, 11) },
      { startMs: day(5, 16), endMs: day(5, 17), tentative: 1 },
      { startMs: day(5, 23), endMs: day(6, 0) },
    ]);
  });
});
