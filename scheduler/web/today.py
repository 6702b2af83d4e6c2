"""`/`: today's schedule for a therapist; the day at a glance for coordinators and admins."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask import current_app, render_template, request

from scheduler.aftercare import glance, tasks
from scheduler.core import access, audit, timeutil
from scheduler.core.clock import now
from scheduler.errors import Forbidden
from scheduler.extensions import db
from scheduler.scheduling import therapists
from scheduler.web import bp, grid, roles, user
from scheduler.web.calendar import chosen_therapist
from scheduler.web.forms import FormState
from scheduler.web.helpers import when

CLINIC_TZ_FALLBACK = "America/New_York"


@bp.get("/")
@roles(*access.EVERYONE)
def today():
    """Today: the therapist's own day, or every therapist's side by side (`?day=` another date)."""
    me = user()
    state = FormState(request.args)
    if access.sees_everyone(me):
        return _at_a_glance(state)
    if me.therapist_id is None:
        raise Forbidden("no calendar is linked to your account")
    therapist = therapists.get(db.session, me.therapist_id)
    day = grid.parse_day(state, "day", therapist.timezone, now())
    column = grid.therapist_days(db.session, therapist, day, 1, now())[0]
    html = render_template("today/therapist.html", therapist=therapist, day=day, column=column,
                           grid=grid.layout([column]), form=state,
                           prev=day - timedelta(days=1), next=day + timedelta(days=1))
    audit.commit(db.session, "read", "therapist", therapist.id, now())
    return html


def _clinic_zone(staff) -> str:
    """The clinic's zone (CLINIC_TIMEZONE), else the first therapist's."""
    return current_app.config.get("CLINIC_TIMEZONE") or (staff[0].timezone if staff else CLINIC_TZ_FALLBACK)


def _day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    start = timeutil.localize(datetime.combine(day, time()), tz)
    end = timeutil.localize(datetime.combine(day + timedelta(days=1), time()), tz)
    return start.astimezone(timeutil.UTC), end.astimezone(timeutil.UTC)


def _at_a_glance(state: FormState):
    """What needs action today, then one column per therapist for the day, each in its own zone's date."""
    staff = therapists.by_name(db.session)
    zone = _clinic_zone(staff)
    day = grid.parse_day(state, "day", zone, now())
    columns = [grid.therapist_days(db.session, t, day, 1, now(), heading=lambda _d, t=t: t.name)[0]
               for t in staff]
    needs = glance.needs_action(db.session, *_day_bounds(day, zone), now(),
                                access.visible_patients(user()), access.sees_everyone(user()))
    html = render_template("today/glance.html", day=day, grid=grid.layout(columns), form=state,
                           prev=day - timedelta(days=1), next=day + timedelta(days=1), needs=needs,
                           when=when, why=tasks.why, staff=staff)
    audit.commit(db.session, "read", "day", None, now())
    return html


@bp.get("/print/day")
@roles(*access.EVERYONE)
def print_day():
    """One therapist's day on one printed page: no menu, times, patients, groups and their rooms."""
    state = FormState(request.args)
    therapist = chosen_therapist(request.args.get("therapist"))
    if therapist is None:
        return render_template("calendar/none.html")
    day = grid.parse_day(state, "day", therapist.timezone, now())
    column = grid.therapist_days(db.session, therapist, day, 1, now(), slots=False)[0]
    html = render_template("today/print.html", therapist=therapist, day=day, column=column, form=state)
    audit.commit(db.session, "read", "therapist", therapist.id, now())
    return html
