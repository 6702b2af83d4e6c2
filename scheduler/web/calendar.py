"""`/calendar`: one therapist's week, Monday to Sunday in their zone, with free slots to book."""
from __future__ import annotations

from datetime import date, timedelta

from flask import render_template, request, url_for

from scheduler.core import access, audit, settings, timeutil
from scheduler.core.clock import now
from scheduler.errors import Forbidden
from scheduler.extensions import db
from scheduler.models import FeedMode, Patient, Role, Therapist
from scheduler.scheduling import feeds, patients, therapists
from scheduler.web import bp, grid, roles, user
from scheduler.web.forms import FormState, require_id
from scheduler.web.posts import Done, not_done, submit

# The domain names the clinic switch; on this page its refusal is the section's message.
FEED_FIELD = {"calendar_feeds": ""}


def chosen_therapist(raw: str | None) -> Therapist | None:
    """The therapist a page is about: a therapist's own; staff pick any (`?therapist=ID`)."""
    me = user()
    if raw:
        therapist_id = require_id(raw, "therapist")
        access.require_therapist(me, therapist_id)
        return therapists.get(db.session, therapist_id)
    if me.therapist_id is not None:
        return therapists.get(db.session, me.therapist_id)
    if not access.sees_everyone(me):
        raise Forbidden("no calendar is linked to your account")
    return next(iter(therapists.by_name(db.session)), None)


def all_therapists() -> list[Therapist]:
    """For staff's therapist picker; a therapist sees only their own."""
    if not access.sees_everyone(user()):
        return []
    return therapists.by_name(db.session)


@bp.get("/calendar")
@roles(*access.EVERYONE)
def calendar():
    """The week grid (an agenda list on a narrow screen)."""
    return _week(request.args)


def _week(args, feed: FormState | None = None, feed_url: str | None = None, status: int = 200):
    """The week page; `feed` holds a refused feed post, `feed_url` a new feed link shown once."""
    therapist = chosen_therapist(args.get("therapist"))
    state = FormState(args)
    if therapist is None:
        return render_template("calendar/none.html")
    if state.get("week"):
        monday = grid.monday_of(grid.parse_day(state, "week", therapist.timezone, now()))
    else:
        monday = grid.opening_week(therapist.timezone, now())
    if not state.error("week"):
        state.data["week"] = monday.isoformat()
    columns = grid.therapist_days(db.session, therapist, monday, 7, now())
    html = render_template(
        "calendar/week.html", therapist=therapist, grid=grid.layout(columns), monday=monday,
        booking_for=_booking_for(args.get("patient")),
        sunday=monday + timedelta(days=6), prev=monday - timedelta(days=7), next=monday + timedelta(days=7),
        therapists=all_therapists(), form=state, today=grid.opening_week(therapist.timezone, now()),
        next_free=_next_free(therapist), next_free_weeks=therapists.NEXT_FREE_HORIZON.days // 7, feed=_feed_section(therapist, feed, feed_url))
    audit.commit(db.session, "read", "therapist", therapist.id, now())
    return html, status


def _next_free(therapist: Therapist) -> date | None:
    """The local date of the therapist's next free half hour (the Next free time link's week)."""
    start = therapists.next_free(db.session, therapist, now(), grid.SLOT)
    return timeutil.local_date_of(start, therapist.timezone) if start else None


def _booking_for(raw: str | None) -> Patient | None:
    """`?patient=ID` (the patient page's Book): the person every free slot here books, preselected."""
    if not raw:
        return None
    patient_id = require_id(raw, "patient")
    access.require_patient(db.session, user(), patient_id)  # hidden: the same 404 as missing
    return patients.get_patient(db.session, patient_id)


def _feed_section(therapist: Therapist, state: FormState | None, url: str | None) -> dict | None:
    """What the Calendar feed section shows: only on a therapist's own calendar, where feeds are on."""
    if user().therapist_id != therapist.id or feeds.mode(db.session, settings.current()) == FeedMode.OFF:
        return None
    return {"has_link": feeds.has_link(db.session, therapist.id), "url": url,
            "form": state or FormState()}


def _own_therapist_id() -> int:
    if user().therapist_id is None:
        raise Forbidden("no calendar is linked to your account")
    return user().therapist_id


@bp.post("/calendar/feed")
@roles(Role.THERAPIST)
def calendar_feed_create():
    """A new private feed link (shown once on the answer); the old one stops working."""
    therapist_id = _own_therapist_id()
    state = FormState(request.form, aliases=FEED_FIELD)

    def act(clock):
        url = feeds.create(db.session, therapist_id, settings.current(), clock, user().id)
        return Done(url_for("web.calendar"), ("create", "feed", therapist_id), answer=lambda: _week({}, feed_url=url))
    return submit(state, act, _feed_refused)


def _feed_refused(state: FormState, status: int):
    """Beside the feed buttons; with feeds switched off meanwhile there is no section: the error page."""
    if feeds.mode(db.session, settings.current()) == FeedMode.OFF:
        return not_done(state, status)
    return _week({}, feed=state, status=status)


@bp.post("/calendar/feed/revoke")
@roles(Role.THERAPIST)
def calendar_feed_revoke():
    """End the feed link: calendar apps get a 404 from now on."""
    therapist_id = _own_therapist_id()

    def act(clock):
        feeds.revoke(db.session, therapist_id, clock)
        return Done(url_for("web.calendar") + "#feed", ("revoke", "feed", therapist_id),
                    flash="Feed link revoked: calendar apps can no longer read it.")
    return submit(FormState(request.form, aliases=FEED_FIELD), act, _feed_refused)
