"""Therapist routes: create, weekly hours and time off, free slots, calendar."""
from __future__ import annotations

from datetime import timedelta

from flask import request

from scheduler.api import audited, bp, now, own_therapist, roles
from scheduler.api.validate import (
    Form,
    datetime_input,
    integer,
    json_body,
    query_instant,
    text,
    timezone_name,
)
from scheduler.core import audit, timeutil
from scheduler.errors import Invalid
from scheduler.extensions import db
from scheduler.models import Therapist
from scheduler.scheduling import therapists

MAX_RULES, MAX_EXCEPTIONS = 50, 500


def therapist_json(t: Therapist) -> dict:
    return {"id": t.id, "name": t.name, "email": t.email, "timezone": t.timezone}


def email(value) -> str:
    value = text(254)(value)
    if "@" not in value or value.startswith("@") or value.endswith("@") or " " in value:
        raise ValueError("must be an email address")
    return value


def hhmm(value):
    if not isinstance(value, str):
        raise ValueError("must be a time like 09:30")
    return timeutil.parse_hhmm(value)


def _items(form: Form, name: str, limit: int, required: bool) -> list[dict] | None:
    """A list of JSON objects under `name`; errors recorded on the form."""
    value = form.data.get(name)
    if value is None:
        if required:
            form.errors[name] = "is required"
        return None
    if not isinstance(value, list):
        form.errors[name] = "must be a list"
        return None
    if len(value) > limit:
        form.errors[name] = f"at most {limit} entries"
        return None
    return value


def _item(form: Form, where: str, item, allowed: tuple[str, ...]) -> Form | None:
    """A sub-form for one list entry; its errors are copied to the parent as where.field."""
    if not isinstance(item, dict):
        form.errors[where] = "must be an object"
        return None
    return Form(item, allowed)


def _merge(form: Form, where: str, sub: Form) -> None:
    for field, message in sub.errors.items():
        form.errors[f"{where}.{field}"] = message


def parse_availability(data: dict):
    """The body of PUT availability as (rules, exceptions or None); 422 listing every bad field."""
    form = Form(data, ("rules", "exceptions"))
    rules, time_off = [], None
    for i, item in enumerate(_items(form, "rules", MAX_RULES, True) or []):
        sub = _item(form, f"rules[{i}]", item, ("weekday", "start", "end"))
        if sub is None:
            continue
        rule = (sub.get("weekday", integer(0, 6)), sub.get("start", hhmm), sub.get("end", hhmm))
        _merge(form, f"rules[{i}]", sub)
        if not sub.errors:
            rules.append(rule)
    items = _items(form, "exceptions", MAX_EXCEPTIONS, False)
    if items is not None:
        time_off = []
        for i, item in enumerate(items):
            sub = _item(form, f"exceptions[{i}]", item, ("start", "end", "reason"))
            if sub is None:
                continue
            entry = therapists.TimeOff(sub.get("start", datetime_input), sub.get("end", datetime_input),
                                       sub.get("reason", text(200), required=False))
            _merge(form, f"exceptions[{i}]", sub)
            if not sub.errors:
                time_off.append(entry)
    form.check()
    return rules, time_off


def _query(allowed: tuple[str, ...]) -> None:
    """422 for query parameters this route does not know (a typo would otherwise be ignored)."""
    unknown = [k for k in request.args if k not in allowed]
    if unknown:
        raise Invalid({k: "unknown parameter" for k in unknown})


def _interval_json(start, end, tz: str) -> dict:
    return {"start": timeutil.iso(start, tz), "end": timeutil.iso(end, tz)}


@bp.post("/therapists")
@roles("admin", "coordinator")
def create_therapist():
    """Add a therapist (no hours yet: PUT availability next)."""
    form = Form(json_body(), ("name", "email", "timezone"))
    name = form.get("name", text(200))
    address = form.get("email", email, required=False)
    tz = form.get("timezone", timezone_name)
    form.check()
    therapist = therapists.create(db.session, name, address, tz, now())
    return audited("create", "therapist", therapist.id, therapist_json(therapist), 201)


@bp.put("/therapists/<int:therapist_id>/availability")
@roles("admin", "coordinator", "therapist")
def put_availability(therapist_id: int):
    """Replace weekly hours (and time off when given); booked appointments are kept and reported."""
    own_therapist(therapist_id)
    therapists.get(db.session, therapist_id)
    rules, time_off = parse_availability(json_body())
    therapist, outside = therapists.set_availability(db.session, therapist_id, rules, time_off, now())
    audit.record(db.session, "update", "therapist_availability", therapist_id, now())
    db.session.commit()
    tz = therapist.timezone
    return {
        "therapist_id": therapist.id,
        "timezone": tz,
        "rules": [{"weekday": r.weekday, "start": f"{r.start_time:%H:%M}", "end": f"{r.end_time:%H:%M}"}
                  for r in therapist.rules],
        "exceptions": [{"id": e.id, **_interval_json(e.start_dt, e.end_dt, tz), "reason": e.reason}
                       for e in therapist.exceptions],
        # Kept as booked; listed so staff can move them.
        "appointments_outside_hours": [{"id": a.id, **_interval_json(a.start_dt, a.end_dt, tz),
                                        "status": a.status} for a in outside],
    }


@bp.get("/therapists/<int:therapist_id>/slots")
@roles("admin", "coordinator", "therapist")
def get_slots(therapist_id: int):
    """Free bookable slots of `duration` minutes between `from` and `to`."""
    own_therapist(therapist_id)
    therapist = therapists.get(db.session, therapist_id)
    _query(("from", "to", "duration"))
    start, end, minutes = _range(therapist.timezone, duration=True)
    found = therapists.slots(db.session, therapist, start, end, timedelta(minutes=minutes), now())
    return {"slots": [_interval_json(s, e, therapist.timezone) for s, e in found]}


@bp.get("/therapists/<int:therapist_id>/calendar")
@roles("admin", "coordinator", "therapist")
def get_calendar(therapist_id: int):
    """Appointments and facilitated group occurrences between `from` and `to`."""
    own_therapist(therapist_id)
    therapist = therapists.get(db.session, therapist_id)
    _query(("from", "to"))
    start, end, _ = _range(therapist.timezone, duration=False)
    appts, occurrences = therapists.calendar(db.session, therapist, start, end)
    tz = therapist.timezone
    return audited("read", "therapist_calendar", therapist_id, {
        "appointments": [{"id": a.id, "status": a.status, **_interval_json(a.start_dt, a.end_dt, tz),
                          "patient_id": a.patient_id} for a in appts],
        "occurrences": [{"id": o.id, "group_id": group.id, "title": group.title,
                         **_interval_json(o.start_dt, o.end_dt, tz), "cancelled": o.cancelled}
                        for o, group in occurrences],
    })


def _range(tz: str, duration: bool) -> tuple:
    """from/to (and duration) from the query string; every bad one reported at once."""
    errors, values = {}, {}
    for name in ("from", "to"):
        try:
            values[name] = query_instant(name, tz)
        except Invalid as exc:
            errors.update(exc.errors)
    minutes = None
    if duration:
        raw = request.args.get("duration", "")
        if not raw:
            errors["duration"] = "is required"
        elif not (raw.isascii() and raw.isdigit()) or not 5 <= int(raw) <= 480:
            errors["duration"] = "must be a whole number of minutes from 5 to 480"
        else:
            minutes = int(raw)
    if errors:
        raise Invalid(errors)
    return values["from"], values["to"], minutes

