"""How every page takes input and ends a post: `submit()`, the counterpart of the API's `audited()`.

A view reads the form into a FormState (forms.parse_into with the declared schema, forms.parse_id
for an id), then hands `submit()` the domain call and how to show the form again. `submit()`
claims the one-time form id on the server (core.once), runs the call, and either
- on a refusal (a DomainError, or a constraint another request won under a race) rolls back
  and shows the form again with each message beside its field, keeping what was typed; or
- on success records the audit rows, commits them with the change, and redirects.
A refusal about the record itself (hidden, forbidden, a page's own record gone) is not a form
error: it goes on to the blueprint's 403/404 pages.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask import flash, make_response, redirect, render_template
from sqlalchemy.exc import DBAPIError, IntegrityError

from scheduler.core import access, audit, once
from scheduler.core.clock import now
from scheduler.errors import DomainError, Forbidden, NotFound, Taken
from scheduler.extensions import db
from scheduler.web import is_htmx, user
from scheduler.web.forms import FormState

RACE = "This clashed with another change made at the same moment; nothing was saved. Please try again."
# What was free when the form was shown and someone else took first: said as it is, not as a typo.
TIME_TAKEN = "This time was just taken; nothing was saved. Please choose another time."
PHONE_TAKEN = "This phone number was just taken by another patient; nothing was saved."
# PostgreSQL: exclusion (23P01), serialization (40001) and deadlock (40P01) failures under a race.
RACE_STATES = ("23P01", "40001", "40P01")
AuditRow = tuple[str, str, int | None]


@dataclass(frozen=True)
class Done:
    """What a post did: where it leads, its audit rows (`audit` last), a message for the next page."""

    location: str
    audit: AuditRow
    also: tuple[AuditRow, ...] = ()
    flash: str | None = None
    # A page to answer with instead of the redirect (e.g. a new token, shown once), built
    # after the commit; for a preview, before the rollback.
    answer: Callable[[], object] | None = None


def submit(state: FormState, act: Callable[[datetime], Done], refused: Callable[[FormState, int], object], *,
           once_only: bool = False, missing: tuple[str, str] | None = None, preview: bool = False):
    """End a form post: claim, act, then commit and redirect, or roll back and show `refused`.

    `act(now)` makes the change through the domain and returns `Done`. `refused(state, status)`
    renders the form again. `once_only`: the form carries a one-time `form_id`. `missing`: the
    (field, message) a NotFound from `act` is answered with (e.g. a patient picked who is gone);
    without it a NotFound is about the page's own record: the 404 page.
    `preview`: show `Done.answer` and roll back, so nothing is saved.
    """
    clock = now()
    form_id = state.get("form_id")
    claimed = once_only and not preview and once.valid(form_id)
    try:
        if claimed:
            first, location = once.claim(db.session, form_id, user().id, clock)
            if not first:
                db.session.rollback()
                if location is None:
                    state.message = "This form was already sent. Open the page again to start over."
                    return refused(state, 409)
                return go(location)
        if not state.ok:
            db.session.rollback()
            return refused(state, 422)
        done = act(clock)
    except (Forbidden, access.Refused):
        raise
    except NotFound:
        if missing is None:
            raise
        db.session.rollback()
        state.add(*missing)
        return refused(state, 422)
    except DomainError as exc:
        db.session.rollback()
        state.fail(exc)
        if isinstance(exc, Taken):
            state.message = TIME_TAKEN
        return refused(state, exc.status if exc.status in (409, 422) else 422)
    except IntegrityError as exc:
        return _race(state, refused, exc)
    except DBAPIError as exc:
        if getattr(getattr(exc, "orig", None), "sqlstate", None) not in RACE_STATES:
            raise
        return _race(state, refused, exc)
    if preview:
        answer = done.answer()
        db.session.rollback()
        return answer
    if claimed:
        once.settle(db.session, form_id, done.location)
    for row in done.also:
        audit.record(db.session, *row, clock)
    audit.commit(db.session, *done.audit, clock)
    if done.flash:
        flash(done.flash)
    return done.answer() if done.answer else go(done.location)


def _race(state: FormState, refused, exc: DBAPIError):
    """A unique or exclusion constraint another request won meanwhile: a conflict, as the API says,
    named for what was taken (a booked time, a patient's phone) when the database says which."""
    db.session.rollback()
    state.message = _what_was_taken(exc)
    if state.message == PHONE_TAKEN:
        state.add("phone", "is now another patient's number")
    return refused(state, 409)


def _what_was_taken(exc: DBAPIError) -> str:
    orig = getattr(exc, "orig", None)
    if getattr(orig, "sqlstate", None) == "23P01":  # PostgreSQL's no-overlap exclusion: a booked time
        return TIME_TAKEN
    diag = getattr(orig, "diag", None)
    # PostgreSQL names the constraint (uq_patients_phone); SQLite says "UNIQUE constraint failed: patients.phone".
    where = str(getattr(diag, "constraint_name", None) or orig or "")
    if "patients" in where and "phone" in where:
        return PHONE_TAKEN
    return RACE


def not_done(state: FormState, status: int):
    """For a post that is only a button (no field to show a message beside): the error page."""
    detail = state.message or "; ".join(state.errors.values()) or "Nothing was changed."
    return render_template("errors/error.html", code=status, name="Not done", detail=detail), status


def go(location: str):
    """Redirect; htmx follows HX-Redirect with a full page load (a dialog closes)."""
    if is_htmx():
        response = make_response("", 200)
        response.headers["HX-Redirect"] = location
        return response
    return redirect(location)
