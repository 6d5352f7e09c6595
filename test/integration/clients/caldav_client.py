"""A real CalDAV client (Python's caldav library, Debian's python3-caldav) against one POST node.

Usage: caldav_client.py URL USER PASSWORD
Discovers the principal and calendar home, makes a calendar, PUTs/GETs/DELETEs events, runs a
time-range query over a recurring event, and syncs with sync-collection. Prints one JSON document
with what it saw; exits non-zero on the first thing that is wrong.
"""
import json
import sys
import uuid
from datetime import datetime, timezone

import caldav
from caldav.lib import error

url, user, password = sys.argv[1:4]
seen = {}


def check(cond, what):
    if not cond:
        print(json.dumps({"failed": what, "seen": seen}, default=str))
        sys.exit(1)


def vevent(uid, start, end, extra=""):
    return "\r\n".join([
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//POST test//EN", "BEGIN:VEVENT", f"UID:{uid}",
        "DTSTAMP:20260101T000000Z", f"DTSTART:{start}", f"DTEND:{end}", f"SUMMARY:{uid}",
    ] + ([extra] if extra else []) + ["END:VEVENT", "END:VCALENDAR", ""])


client = caldav.DAVClient(url=url, username=user, password=password)
principal = client.principal()
seen["principal"] = str(principal.url)
home_calendars = principal.calendars()
seen["calendars_before"] = [str(c.url) for c in home_calendars]

cal = principal.make_calendar(name="Work", cal_id=f"work-{uuid.uuid4().hex[:8]}")
seen["calendar"] = str(cal.url)
check(any(str(c.url) == str(cal.url) for c in principal.calendars()), "the new calendar is listed in the home")
check(cal.get_properties([caldav.dav.DisplayName()]).get("{DAV:}displayname") == "Work", "displayname is Work")

# PUT, GET, update, DELETE.
once = cal.save_event(vevent("once", "20260301T120000Z", "20260301T130000Z"))
weekly = cal.save_event(vevent("weekly", "20260105T090000Z", "20260105T100000Z", "RRULE:FREQ=WEEKLY;COUNT=10"))
fetched = cal.event_by_uid("once")
check("SUMMARY:once" in fetched.data, "GET returns what was PUT")
fetched.data = fetched.data.replace("SUMMARY:once", "SUMMARY:once moved")
fetched.save()
check("once moved" in cal.event_by_uid("once").data, "an update is read back")
seen["events"] = sorted(str(e.url) for e in cal.events())
check(len(seen["events"]) == 2, "two events in the calendar")

# Time-range queries: the weekly event's instances, and nothing where it does not recur.
def hits(start, end):
    return sorted(e.instance.vevent.uid.value for e in cal.date_search(start=start, end=end, expand=False))

utc = lambda *a: datetime(*a, tzinfo=timezone.utc)
seen["week3"] = hits(utc(2026, 1, 19), utc(2026, 1, 20))
seen["after_last"] = hits(utc(2026, 3, 16), utc(2026, 3, 17))
seen["march1"] = hits(utc(2026, 3, 1), utc(2026, 3, 2))
check(seen["week3"] == ["weekly"], "the weekly event's third instance is found")
check(seen["after_last"] == [], "nothing after the last instance (COUNT=10)")
check(seen["march1"] == ["once"], "the one-off event on its day only")

# sync-collection: the initial sync, then only the changes.
first = cal.objects_by_sync_token(load_objects=False)
token = first.sync_token
seen["sync_initial"] = len(list(first))
weekly.delete()
cal.save_event(vevent("third", "20260401T120000Z", "20260401T130000Z"))
changes = cal.objects_by_sync_token(sync_token=token, load_objects=False)
seen["sync_changes"] = sorted(str(o.url).rsplit("/", 1)[-1] for o in changes)
check(seen["sync_initial"] == 2, "the initial sync lists both events")
check(len(seen["sync_changes"]) == 2, "the second sync lists the new event and the deleted one")

# The deleted event is gone.
try:
    cal.event_by_uid("weekly")
    check(False, "a deleted event is not found")
except error.NotFoundError:
    pass

cal.delete()
check(all(str(c.url) != seen["calendar"] for c in principal.calendars()), "the deleted calendar is gone")
print(json.dumps({"ok": True, "seen": seen}))
