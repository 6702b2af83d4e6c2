"""Therapist routes: create, weekly hours and time off, free slots, calendar."""
from __future__ import annotations

from datetime import datetime, timedelta

from scheduler import schemas
from scheduler.api import audited, bp, endpoint, now, own_therapist, roles
from scheduler.core import timeutil
from scheduler.errors import Invalid
from scheduler.extensions import db
from scheduler.models.enums import Role
from scheduler.scheduling import therapists


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
@roles(Role.ADMIN, Role.COORDINATOR)
@endpoint(schemas.Therapist, body=schemas.TherapistCreate, status=201, conflict=True)
def create_therapist(body: schemas.TherapistCreate):
    """Add a therapist (no hours yet: PUT availability next)."""
    therapist = therapists.create(db.session, body.name, body.email, body.timezone, now())
    return audited("create", "therapist", therapist.id, therapist)


@bp.put("/therapists/<int:therapist_id>/availability")
@roles(Role.ADMIN, Role.COORDINATOR, Role.THERAPIST)
@endpoint(schemas.Availability, body=schemas.AvailabilityPut)
def put_availability(therapist_id: int, body: schemas.AvailabilityPut):
    """Replace weekly hours (and time off when given); booked appointments are kept and reported."""
    own_therapist(therapist_id)
    therapists.get(db.session, therapist_id)
    rules = [(r.weekday, r.start, r.end) for r in body.rules]
    time_off = None if body.exceptions is None else [
        therapists.TimeOff(e.start, e.end, e.reason) for e in body.exceptions]
    therapist, outside = therapists.set_availability(db.session, therapist_id, rules, time_off, now())
    return audited("update", "therapist_availability", therapist_id, {
        "therapist_id": therapist.id,
        "timezone": therapist.timezone,
        "rules": sorted(therapist.rules, key=lambda r: (r.weekday, r.start_time)),
        "exceptions": sorted(therapist.exceptions, key=lambda e: e.start_dt),
        "appointments_outside_hours": outside,  # kept as booked; listed so staff can move them
        "meetings_in_time_off": [{"id": o.id, "group_id": group.id, "start": o.start_dt, "end": o.end_dt}
                                 for o, group in therapists.meetings_in_time_off(db.session, therapist, now())],
    }, therapist.timezone)


@bp.get("/therapists/<int:therapist_id>/slots")
@roles(Role.ADMIN, Role.COORDINATOR, Role.THERAPIST)
@endpoint(schemas.Slots, query=schemas.SlotsQuery)
def get_slots(therapist_id: int, query: schemas.SlotsQuery):
    """Free bookable slots of `duration` minutes between `from` and `to` (at most 31 days)."""
    own_therapist(therapist_id)
    therapist = therapists.get(db.session, therapist_id)
    start, end = instants(query, therapist.timezone)
    found = therapists.slots(db.session, therapist, start, end, timedelta(minutes=query.duration), now())
    return audited("read", "therapist_slots", therapist_id,
                   {"slots": [{"start": s, "end": e} for s, e in found]}, therapist.timezone)


@bp.get("/therapists/<int:therapist_id>/calendar")
@roles(Role.ADMIN, Role.COORDINATOR, Role.THERAPIST)
@endpoint(schemas.Calendar, query=schemas.CalendarQuery)
def get_calendar(therapist_id: int, query: schemas.CalendarQuery):
    """Appointments and facilitated group occurrences between `from` and `to` (at most 62 days)."""
    own_therapist(therapist_id)
    therapist = therapists.get(db.session, therapist_id)
    start, end = instants(query, therapist.timezone)
    appts, occurrences = therapists.calendar(db.session, therapist, start, end)
    return audited("read", "therapist_calendar", therapist_id, {
        "appointments": appts,
        "occurrences": [schemas.Record(o, title=group.title) for o, group in occurrences],
    }, therapist.timezone)
