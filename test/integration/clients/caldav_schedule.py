"""Scheduling (RFC 6638) between two POST users with Python's caldav library (Debian's python3-caldav).

Usage: caldav_schedule.py '{"a": {"url", "user", "password"}, "b": {...}}'
A invites B (save_with_invites: implicit scheduling on PUT); B finds the invitation in the schedule
inbox and accepts it (accept_invite: B's copy with PARTSTAT=ACCEPTED, which the server answers to the
organiser); A's event then shows B's PARTSTAT=ACCEPTED. Then A asks B's free-busy through the outbox
and must see B's busy time, without any summary. Prints one JSON document; exits non-zero on the
first thing that is wrong. Waits are bounded (POLL_TRIES x POLL_SECONDS).
"""
import json
import re
import sys
import time
import uuid
from datetime import datetime, timezone

import caldav
import icalendar
from caldav.objects import FreeBusy

POLL_TRIES = 80
POLL_SECONDS = 0.25
CALDAV_NS = "{urn:ietf:params:xml:ns:caldav}"

accounts = json.loads(sys.argv[1])
seen = {}


def check(cond, what):
    if not cond:
        print(json.dumps({"failed": what, "seen": seen}, default=str))
        sys.exit(1)


def poll(what, attempt):
    for _ in range(POLL_TRIES):
        found = attempt()
        if found:
            return found
        time.sleep(POLL_SECONDS)
    check(False, what)


def connect(who):
    acc = accounts[who]
    client = caldav.DAVClient(url=acc["url"], username=acc["user"], password=acc["password"])
    return client, client.principal()


a_client, a = connect("a")
b_client, b = connect("b")
a_addr, b_addr = accounts["a"]["user"], accounts["b"]["user"]
seen["a_address_set"] = a.calendar_user_address_set()
check(seen["a_address_set"] == [f"mailto:{a_addr}"], "the principal's calendar-user-address-set is its mailto: address")

suffix = uuid.uuid4().hex[:8]
a_cal = a.make_calendar(name="Meetings", cal_id=f"meetings-{suffix}")
b_cal = b.make_calendar(name="Home", cal_id=f"home-{suffix}")

# B has a private appointment: free-busy must show the time and nothing else.
b_cal.save_event("\r\n".join([
    "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//POST test//EN", "BEGIN:VEVENT", f"UID:private-{suffix}",
    "DTSTAMP:20260101T000000Z", "DTSTART:20260310T080000Z", "DTEND:20260310T090000Z",
    "SUMMARY:private dentist appointment", "DESCRIPTION:nobody else's business", "END:VEVENT", "END:VCALENDAR", "",
]))

# A invites B: the organiser line and B's attendee line are added by the library, the PUT schedules.
uid = f"meeting-{suffix}"
meeting = "\r\n".join([
    "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//POST test//EN", "BEGIN:VEVENT", f"UID:{uid}",
    "DTSTAMP:20260101T000000Z", "DTSTART:20260310T100000Z", "DTEND:20260310T110000Z",
    "SUMMARY:planning meeting", "END:VEVENT", "END:VCALENDAR", "",
])
a_cal.save_with_invites(meeting, [b_addr])


def invitation():
    for item in b.schedule_inbox().get_items():
        item.load()
        if item.is_invite_request() and uid in item.data:
            return item
    return None


item = poll("the invitation reaches B's schedule inbox", invitation)
seen["inbox_item"] = str(item.url)
check(f"mailto:{a_addr}".lower() in item.data.lower(), "the invitation names A as organiser")
item.accept_invite(calendar=b_cal)
check("PARTSTAT=ACCEPTED" in b_cal.event_by_uid(uid).data.replace("\r\n ", ""), "B's copy shows B's acceptance")


def partstat_of_b():
    data = a_cal.event_by_uid(uid).data.replace("\r\n ", "").replace("\n ", "")
    for line in data.splitlines():
        if line.startswith("ATTENDEE") and line.lower().endswith(f"mailto:{b_addr}".lower()):
            return "ACCEPTED" if "PARTSTAT=ACCEPTED" in line else None
    return None


seen["organiser_sees"] = poll("A's event shows B's PARTSTAT=ACCEPTED", partstat_of_b)

# Free-busy: A asks B about 10 March through A's outbox (the library's freebusy_request builds the same
# body but cannot parse a schedule-response, so the body is posted here and the answer read as XML).
outbox = a.schedule_outbox()
fb_ical = icalendar.Calendar()
fb_ical.add("prodid", "-//POST test//EN")
fb_ical.add("version", "2.0")
fb_ical.add("method", "REQUEST")
fb = icalendar.FreeBusy()
fb.add("uid", f"fb-{suffix}")
fb.add("dtstamp", datetime.now(timezone.utc))
fb.add("dtstart", datetime(2026, 3, 10, 0, 0, tzinfo=timezone.utc))
fb.add("dtend", datetime(2026, 3, 11, 0, 0, tzinfo=timezone.utc))
fb_ical.add_component(fb)
request = FreeBusy(data=fb_ical, parent=outbox)
request.add_organizer()
request.add_attendee(b_addr, no_default_parameters=True)
response = a_client.post(str(outbox.url), request.data, headers={"Content-Type": "text/calendar; charset=utf-8"})
check(response.status == 200, f"the outbox answers 200, not {response.status}")
statuses = [x.text for x in response.tree.iter(f"{CALDAV_NS}request-status")]
answers = [x.text for x in response.tree.iter(f"{CALDAV_NS}calendar-data")]
seen["freebusy_status"] = statuses
check(len(statuses) == 1 and statuses[0].startswith("2.0"), "B's node answered the free-busy request")
unfolded = answers[0].replace("\r\n ", "").replace("\n ", "")
periods = [[m[0][9:13], m[1][9:13]] for line in unfolded.splitlines() if line.startswith("FREEBUSY")
           for m in re.findall(r"(\d{8}T\d{6}Z)/(\d{8}T\d{6}Z)", line)]
seen["busy"] = sorted(periods)
check(["0800", "0900"] in seen["busy"], "B's private appointment shows as busy")
check(["1000", "1100"] in seen["busy"], "the accepted meeting shows as busy")
raw = response.raw if isinstance(response.raw, str) else response.raw.decode("utf-8")
check("dentist" not in raw and "SUMMARY" not in answers[0] and "business" not in raw, "free-busy reveals no event details")

print(json.dumps({"ok": True, "seen": seen}, default=str))
