"""`/availability`: a therapist's weekly hours and time off, with a preview of the week they give.

A preview runs the real change (therapists.set_availability) inside the transaction, draws the
week from it, and rolls back: what is previewed is exactly what saving would do.
"""
from __future__ import annotations

from flask import render_template, request, url_for

from scheduler import schemas
from scheduler.core import access, audit, timeutil
from scheduler.core.clock import now
from scheduler.errors import NotFound
from scheduler.extensions import db
from scheduler.models import Therapist
from scheduler.scheduling import therapists
from scheduler.schemas.therapists import MAX_EXCEPTIONS
from scheduler.web import bp, grid, roles
from scheduler.web.calendar import all_therapists, chosen_therapist
from scheduler.web.forms import FormState, parse_into, whole_number
from scheduler.web.posts import Done, submit

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
BLOCKS = 2  # two blocks a day covers a lunch break
NEW_TIME_OFF = 1


def hour_fields() -> list[tuple[int, str, int, str, str]]:
    """(weekday, day name, block, start field, end field) for every input of the hours table."""
    return [(day, name, block, f"d{day}b{block}_start", f"d{day}b{block}_end")
            for day, name in enumerate(WEEKDAYS) for block in range(1, BLOCKS + 1)]


def _filled(therapist: Therapist) -> dict[str, str]:
    """The form as the stored hours and time off fill it."""
    data: dict[str, str] = {}
    used: dict[int, int] = {}
    for rule in therapist.rules:
        block = used[rule.weekday] = used.get(rule.weekday, 0) + 1
        if block <= BLOCKS:
            data[f"d{rule.weekday}b{block}_start"] = rule.start_time.strftime("%H:%M")
            data[f"d{rule.weekday}b{block}_end"] = rule.end_time.strftime("%H:%M")
    zone = timeutil.zone(therapist.timezone)
    for i, off in enumerate(therapist.exceptions):
        data[f"off{i}_start"] = off.start_dt.astimezone(zone).strftime("%Y-%m-%dT%H:%M")
        data[f"off{i}_end"] = off.end_dt.astimezone(zone).strftime("%Y-%m-%dT%H:%M")
        data[f"off{i}_reason"] = off.reason or ""
    data["off_count"] = str(len(therapist.exceptions))
    return data


def _off_count(state: FormState) -> int:
    return min(whole_number(state.get("off_count")) or 0, MAX_EXCEPTIONS)


def _parse(state: FormState):
    """Rules and time off read by the API's schema; each message lands beside its own input."""
    rules, exceptions = [], []
    for day, _, _, start_name, end_name in hour_fields():
        start, end = state.get(start_name).strip(), state.get(end_name).strip()
        if start or end:
            i = len(rules)
            state.aliases.update({f"rules[{i}].start": start_name, f"rules[{i}].end": end_name,
                                  f"rules[{i}].weekday": start_name})
            rules.append({"weekday": day, **({"start": start} if start else {}), **({"end": end} if end else {})})
    count = _off_count(state)
    for i in range(count + NEW_TIME_OFF):
        start, end = state.get(f"off{i}_start").strip(), state.get(f"off{i}_end").strip()
        if state.get(f"off{i}_remove") or not (start or end):
            continue
        j = len(exceptions)
        for part in ("start", "end", "reason"):
            state.aliases[f"exceptions[{j}].{part}"] = f"off{i}_{part}"
        reason = state.get(f"off{i}_reason").strip()
        exceptions.append({**({"start": start} if start else {}), **({"end": end} if end else {}),
                           **({"reason": reason} if reason else {})})
    body = parse_into(state, schemas.AvailabilityPut, {"rules": rules, "exceptions": exceptions})
    if body is None:
        return [], []
    return ([(r.weekday, r.start, r.end) for r in body.rules],
            [therapists.TimeOff(e.start, e.end, e.reason) for e in body.exceptions or []])


def _page(therapist: Therapist, state: FormState, status: int = 200, outside=(), preview=False):
    week = grid.monday_of(timeutil.local_date_of(now(), therapist.timezone))
    columns = grid.therapist_days(db.session, therapist, week, 7, now())
    return render_template(
        "availability/edit.html", therapist=therapist, form=state, fields=hour_fields(),
        weekdays=WEEKDAYS, off_rows=range(_off_count(state) + NEW_TIME_OFF),
        grid=grid.layout(columns), monday=week, outside=outside, preview=preview,
        therapists=all_therapists()), status


@bp.get("/availability")
@roles(*access.EVERYONE)
def availability():
    """The hours form, filled from what is stored, and this week as it stands."""
    therapist = chosen_therapist(request.args.get("therapist"))
    if therapist is None:
        return render_template("calendar/none.html")
    html, status = _page(therapist, FormState(_filled(therapist)))
    audit.commit(db.session, "read", "therapist", therapist.id, now())
    return html, status


@bp.post("/availability")
@roles(*access.EVERYONE)
def save_availability():
    """Preview (nothing saved) or save the weekly hours and time off."""
    raw = request.form.get("therapist")
    if not raw:  # a change names its calendar: never "the first one" by default
        raise NotFound("therapist not found")
    therapist = chosen_therapist(raw)
    state = FormState(request.form)
    rules, time_off = _parse(state)
    preview = request.form.get("action") == "preview"

    def act(clock):
        _, outside = therapists.set_availability(db.session, therapist.id, rules, time_off, clock)
        meetings = therapists.meetings_in_time_off(db.session, therapist, clock)
        done = ("update", "therapist", therapist.id)
        if preview:  # drawn from the change itself, then rolled back: what saving would do
            zone = timeutil.zone(therapist.timezone)
            shown = [(a.start_dt.astimezone(zone), a.patient.name) for a in outside]
            shown += [(o.start_dt.astimezone(zone), f"{group.title} (group meeting)") for o, group in meetings]
            return Done("", done, answer=lambda: _page(therapist, state, outside=shown, preview=True))
        count = len(outside)
        return Done(url_for("web.availability", therapist=therapist.id), done, flash="Hours saved." + (
            f" {count} upcoming appointment{'s' if count != 1 else ''} now fall outside them:"
            " move or cancel them from the calendar." if count else "") + (
            f" {len(meetings)} group meeting{'s fall' if len(meetings) != 1 else ' falls'} in the time off:"
            " cancel them or hand the group to someone else." if meetings else ""))
    return submit(state, act, lambda state, status: _page(therapist, state, 422), preview=preview)
