"""The .ics attached to a call invitation: a pure function of the call.

The event starts at the call's instant written in the letter's time zone (with
that zone's VTIMEZONE, so calendars show the organisers' wall-clock time and
convert it correctly); the UID is fixed per call and SEQUENCE rises when the
call moves, so a calendar updates the event it has instead of adding another.
"""

from datetime import timedelta
from email.utils import parseaddr
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event, vCalAddress, vText

from signers.models import Call

PRODID = "-//Coalition//Coalition calls//EN"


def call_uid(call: Call) -> str:
    domain = urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"call-{call.pk}@{domain}"


def call_ics(call: Call, *, attendee: str = "", agenda_text: str = "") -> bytes:
    """A METHOD:REQUEST calendar with one event for ``call``."""
    letter = call.letter
    zone = ZoneInfo(letter.time_zone)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "REQUEST")
    event = Event()
    event.add("uid", call_uid(call))
    event.add("sequence", call.sequence)
    event.add("dtstamp", timezone.now())
    start = call.starts_at.astimezone(zone)
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=call.duration_minutes))
    event.add("summary", call.title)
    description = "\n\n".join(p for p in (agenda_text, call.join_url) if p)
    event.add("description", description)
    event.add("location", call.join_url)
    event.add("url", call.join_url)
    _name, organiser_email = parseaddr(letter.reply_to or settings.DEFAULT_FROM_EMAIL)
    organizer = vCalAddress(f"mailto:{organiser_email}")
    organizer.params["cn"] = vText(letter.title)
    event.add("organizer", organizer)
    if attendee:
        person = vCalAddress(f"mailto:{attendee}")
        person.params["rsvp"] = vText("FALSE")
        person.params["partstat"] = vText("NEEDS-ACTION")
        event.add("attendee", person)
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()
