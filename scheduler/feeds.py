"""`GET /feeds/<token>.ics`: a therapist's private calendar feed, for Google Calendar and Outlook.

Calendar apps cannot sign in, so the link's secret is the only key: an unknown or revoked link,
a deactivated therapist or feeds switched off all answer the same plain 404 that says nothing
more. Each feed read is audited with the therapist's id, never the token (and deploy/ masks
/feeds/ paths in access logs).
"""
from __future__ import annotations

from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Blueprint, Response
from icalendar import Calendar, Event

from scheduler.core import audit, settings
from scheduler.core.clock import now
from scheduler.extensions import db
from scheduler.scheduling import feeds

bp = Blueprint("feeds", __name__)


def _absent() -> Response:
    return Response("not found\n", 404, mimetype="text/plain")


def render(entries: list[feeds.Entry], host: str, stamp) -> bytes:
    """RFC 5545 text: stable UIDs, each event in its own zone with that zone's VTIMEZONE."""
    calendar = Calendar()
    calendar.add("prodid", "-//Aftercare Scheduler//calendar feed//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", "Sessions")
    for entry in entries:
        event = Event()
        zone = ZoneInfo(entry.timezone)
        event.add("uid", f"{entry.uid}@{host}")
        event.add("dtstamp", stamp)
        event.add("dtstart", entry.start.astimezone(zone))
        event.add("dtend", entry.end.astimezone(zone))
        event.add("summary", entry.summary)
        event.add("status", "CANCELLED" if entry.cancelled else "CONFIRMED")
        calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()


@bp.get("/feeds/<token>.ics")
def feed(token: str):
    """The feed of the therapist this link belongs to, or a plain 404."""
    current = settings.current()
    therapist = feeds.therapist_for(db.session, token[:100], current)
    if therapist is None:
        db.session.rollback()
        return _absent()
    clock = now()
    body = render(feeds.entries(db.session, therapist, current, clock),
                  urlsplit(current.public_base_url).hostname or "aftercare", clock)
    audit.commit(db.session, "read", "feed", therapist.id, clock)
    return Response(body, mimetype="text/calendar", headers={"Content-Disposition": 'inline; filename="sessions.ics"'})
