"""`/availability`: a therapist's weekly hours and time off, with a preview of the week they give.

A preview runs the real change (therapists.set_availability) inside the transaction, draws the
week from it, and rolls back: what is previewed is exactly what saving would do.
"""
from __future__ import annotations

from datetime import date, datetime

from flask import render_template, request, url_for

from scheduler import schemas
from scheduler.core import access, audit, timeutil
from scheduler.core.clock import now
from scheduler.errors import NotFound
from scheduler.extensions import db
from scheduler.models import Therapist
from scheduler.scheduling import therapists
from scheduler.schemas.therapists import MAX_EXCEPTIONS, MAX_RULES
from scheduler.web import bp, grid, roles
from scheduler.web.calendar import all_therapists, chosen_therapist
from scheduler.web.forms import FormState, parse_into, whole_number
from scheduler.web.posts import Done, submit

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
BLOCKS = 2  # two blocks a day covers a lunch break
NEW_TIME_OFF = 1
WALL = "%Y-%m-%dT%H:%M"


def hour_fields(blocks: int = BLOCKS) -> list[tuple[int, str, int, str, str]]:
    """(weekday, day name, block, start field, end field) for every input of the hours table."""
    return [(day, name, block, f"d{day}b{block}_start", f"d{day}b{block}_end")
            for day, name in enumerate(WEEKDAYS) for block in range(1, blocks + 1)]


def _blocks(state: FormState) -> int:
    """Block columns the form has: at least two, at most what the API takes."""
    return min(max(whole_number(state.get("blocks")) or BLOCKS, BLOCKS), MAX_RULES)


def _wall(instant, zone) -> tuple[str, str]:
    """A time-off bound as the form's wall time, and its offset when that wall time is repeated."""
    local = instant.astimezone(zone)
    # A fall-back hour's wall time names two instants: the offset keeps the one that was stored.
    repeated = local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset()
    return local.strftime(WALL), local.isoformat(timespec="minutes")[16:] if repeated else ""


def _with_offset(wall: str, offset: str, zone) -> str:
    """`wall` with the offset the page gave it, while that offset is still a reading of `wall` in the zone."""
    try:
        naive = datetime.strptime(wall, WALL)
        aware = timeutil.parse_datetime_input(wall + offset) if offset else None
    except ValueError:
        return wall
    # An edited wall time may no longer be repeated (or be another one): a stale offset is dropped.
    if aware is None or aware.tzinfo is None or aware.astimezone(zone).replace(tzinfo=None) != naive:
        return wall
    return wall + offset


def _filled(therapist: Therapist) -> dict[str, str]:
    """The form as the stored hours and time off fill it."""
    data: dict[str, str] = {}
    used: dict[int, int] = {}
    # Every stored block is shown (a page must never drop what it does not show), plus one to add.
    for rule in sorted(therapist.rules, key=lambda r: (r.weekday, r.start_time)):
        block = used[rule.weekday] = used.get(rule.weekday, 0) + 1
        data[f"d{rule.weekday}b{block}_start"] = rule.start_time.strftime("%H:%M")
        data[f"d{rule.weekday}b{block}_end"] = rule.end_time.strftime("%H:%M")
    data["blocks"] = str(max(BLOCKS, max(used.values(), default=0) + 1))
    zone = timeutil.zone(therapist.timezone)
    for i, off in enumerate(therapist.exceptions):
        for part, instant in (("start", off.start_dt), ("end", off.end_dt)):
            data[f"off{i}_{part}"], data[f"off{i}_{part}_offset"] = _wall(instant, zone)
        data[f"off{i}_reason"] = off.reason or ""
    data["off_count"] = str(len(therapist.exceptions))
    return data


def _off_count(state: FormState) -> int:
    return min(whole_number(state.get("off_count")) or 0, MAX_EXCEPTIONS)


def _parse(state: FormState, tz: str):
    """Rules and time off read by the API's schema; each message lands beside its own input."""
    rules, exceptions = [], []
    zone = timeutil.zone(tz)
    for day, _, _, start_name, end_name in hour_fields(_blocks(state)):
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
        start = _with_offset(start, state.get(f"off{i}_start_offset").strip(), zone) if start else start
        end = _with_offset(end, state.get(f"off{i}_end_offset").strip(), zone) if end else end
        exceptions.append({**({"start": start} if start else {}), **({"end": end} if end else {}),
                           **({"reason": reason} if reason else {})})
    body = parse_into(state, schemas.AvailabilityPut, {"rules": rules, "exceptions": exceptions})
    if body is None:
        return [], []
    return ([(r.weekday, r.start, r.end) for r in body.rules],
            [therapists.TimeOff(e.start, e.end, e.reason) for e in body.exceptions or []])


def _time_off_week(state: FormState, today: date) -> date:
    """The Monday of the week a preview is about: the time off being added (else the first still to
    come), so the time off shows in the week drawn; with none, this week."""
    rows = range(_off_count(state) + NEW_TIME_OFF)
    for i in sorted(rows, key=lambda i: i != rows[-1]):  # the new row first
        if state.get(f"off{i}_remove"):
            continue
        try:
            start = date.fromisoformat(state.get(f"off{i}_start").strip()[:10])
            end = date.fromisoformat(state.get(f"off{i}_end").strip()[:10])
        except ValueError:
            continue
        if end >= today:
            return grid.monday_of(max(start, today))
    return grid.monday_of(today)


def _outside(therapist: Therapist, clock: datetime) -> list[tuple[datetime, str, str]]:
    """(local start, who, link) for each upcoming session the hours or time off no longer allow."""
    zone = timeutil.zone(therapist.timezone)
    shown = [(a.start_dt.astimezone(zone), a.patient.name, url_for("web.appointment", appointment_id=a.id))
             for a in therapists.outside_hours(db.session, therapist, clock)]
    shown += [(o.start_dt.astimezone(zone), f"{group.title} (group meeting)", url_for("web.group_page", group_id=group.id))
              for o, group in therapists.meetings_in_time_off(db.session, therapist, clock)]
    return sorted(shown, key=lambda row: row[0])


def _page(therapist: Therapist, state: FormState, status: int = 200, outside=None, preview=False):
    today = timeutil.local_date_of(now(), therapist.timezone)
    week = _time_off_week(state, today) if preview else grid.monday_of(today)
    columns = grid.therapist_days(db.session, therapist, week, 7, now())
    if outside is None:  # as stored: what the saved hours leave outside
        outside = _outside(therapist, now())
    return render_template(
        "availability/edit.html", therapist=therapist, form=state, blocks=range(1, _blocks(state) + 1),
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
    rules, time_off = _parse(state, therapist.timezone)
    preview = request.form.get("action") == "preview"

    def act(clock):
        _, outside = therapists.set_availability(db.session, therapist.id, rules, time_off, clock)
        meetings = therapists.meetings_in_time_off(db.session, therapist, clock)
        done = ("update", "therapist", therapist.id)
        if preview:  # drawn from the change itself, then rolled back: what saving would do
            shown = _outside(therapist, clock)
            return Done("", done, answer=lambda: _page(therapist, state, outside=shown, preview=True))
        count = len(outside)
        return Done(url_for("web.availability", therapist=therapist.id), done, flash="Hours saved." + (
            f" {count} upcoming appointment{'s' if count != 1 else ''} now fall outside them:"
            " move or cancel them from the calendar." if count else "") + (
            f" {len(meetings)} group meeting{'s fall' if len(meetings) != 1 else ' falls'} in the time off:"
            " cancel them or hand the group to someone else." if meetings else ""))
    return submit(state, act, lambda state, status: _page(therapist, state, 422), preview=preview)
