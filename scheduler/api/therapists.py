"""Therapist routes: create, weekly hours and time off, free slots, calendar."""
from __future__ import annotations

from datetime import datetime, timedelta

from scheduler import schemas
from scheduler.api import audited, bp, endpoint, now, own_therapist, roles
from scheduler.core import timeutil
from scheduler.errors import Invalid
from scheduler.extensions import db
from scheduler.models import Therapist
from scheduler.scheduling import therapists


def therapist_json(t: Therapist) -> dict:
    return {"id": t.id, "name": t.name, "email": t.email, "timezone": t.timezone}


def _interval_json(start, end, tz: str) -> dict:
    return {"start": timeutil.iso(start, tz), "end": timeutil.iso(end, tz)}


def instants(query: schemas.CalendarQuery | schemas.SlotsQuery, tz: str) -> tuple[datetime, datetime]:
    """from/to as aware UTC, local values read in the therapist's zone; 422 naming each bad one."""
    values, errors = {}, {}
    for name, value in (("from", query.from_), ("to", query.to)):
        try:
            values[name] = timeutil.resolve(value, tz)
        except ValueError as exc:  # a wall time in a DST gap
            errors[name] = str(exc)
    if errors:
        raise Invalid(errors)
    return values["from"], values["to"]


@bp.post("/therapists")
@roles("admin", "coordinator")
@endpoint(schemas.Therapist, body=schemas.TherapistCreate, status=201, conflict=True)
def create_therapist(body: schemas.TherapistCreate):
    """Add a therapist (no hours yet: PUT availability next)."""
    therapist = therapists.create(db.session, body.name, body.email, body.timezone, now())
    return audited("create", "therapist", therapist.id, therapist_json(therapist), 201)


@bp.put("/therapists/<int:therapist_id>/availability")
@roles("admin", "coordinator", "therapist")
@endpoint(schemas.Availability, body=schemas.AvailabilityPut)
def put_availability(therapist_id: int, body: schemas.AvailabilityPut):
    """Replace weekly hours (and time off when given); booked appointments are kept and reported."""
    own_therapist(therapist_id)
    therapists.get(db.session, therapist_id)
    rules = [(r.weekday, r.start, r.end) for r in body.rules]
    time_off = None if body.exceptions is None else [
        therapists.TimeOff(e.start, e.end, e.reason) for e in body.exceptions]
    therapist, outside = therapists.set_availability(db.session, therapist_id, rules, time_off, now())
    tz = therapist.timezone
    # Built before the commit, in the order the relationships load them.
    return audited("update", "therapist_availability", therapist_id, {
        "therapist_id": therapist.id,
        "timezone": tz,
        "rules": [{"weekday": r.weekday, "start": f"{r.start_time:%H:%M}", "end": f"{r.end_time:%H:%M}"}
                  for r in sorted(therapist.rules, key=lambda r: (r.weekday, r.start_time))],
        "exceptions": [{"id": e.id, **_interval_json(e.start_dt, e.end_dt, tz), "reason": e.reason}
                       for e in sorted(therapist.exceptions, key=lambda e: e.start_dt)],
        # Kept as booked; listed so staff can move them.
        "appointments_outside_hours": [{"id": a.id, **_interval_json(a.start_dt, a.end_dt, tz),
                                        "status": a.status} for a in outside],
        "meetings_in_time_off": [{"id": o.id, "group_id": group.id, **_interval_json(o.start_dt, o.end_dt, tz)}
                                 for o, group in therapists.meetings_in_time_off(db.session, therapist, now())],
    })


@bp.get("/therapists/<int:therapist_id>/slots")
@roles("admin", "coordinator", "therapist")
@endpoint(schemas.Slots, query=schemas.SlotsQuery)
def get_slots(therapist_id: int, query: schemas.SlotsQuery):
    """Free bookable slots of `duration` minutes between `from` and `to` (at most 31 days)."""
    own_therapist(therapist_id)
    therapist = therapists.get(db.session, therapist_id)
    start, end = instants(query, therapist.timezone)
    found = therapists.slots(db.session, therapist, start, end, timedelta(minutes=query.duration), now())
    return audited("read", "therapist_slots", therapist_id,
                   {"slots": [_interval_json(s, e, therapist.timezone) for s, e in found]})


@bp.get("/therapists/<int:therapist_id>/calendar")
@roles("admin", "coordinator", "therapist")
@endpoint(schemas.Calendar, query=schemas.CalendarQuery)
def get_calendar(therapist_id: int, query: schemas.CalendarQuery):
    """Appointments and facilitated group occurrences between `from` and `to` (at most 62 days)."""
    own_therapist(therapist_id)
    therapist = therapists.get(db.session, therapist_id)
    start, end = instants(query, therapist.timezone)
    appts, occurrences = therapists.calendar(db.session, therapist, start, end)
    tz = therapist.timezone
    return audited("read", "therapist_calendar", therapist_id, {
        "appointments": [{"id": a.id, "status": a.status, **_interval_json(a.start_dt, a.end_dt, tz),
                          "patient_id": a.patient_id} for a in appts],
        "occurrences": [{"id": o.id, "group_id": group.id, "title": group.title,
                         **_interval_json(o.start_dt, o.end_dt, tz), "cancelled": o.cancelled}
                        for o, group in occurrences],
    })
