"""Asking first: a change that texts patients or locks someone out says what it will do, then waits.

The page's button posts its form as it is. Without `confirm=yes` that post is a preview:
`submit(preview=True)` runs the real change, reads what it did (who moves up, which texts it
wrote: messaging.notices), and rolls it back, so nothing is saved and nothing is sent. The
answer (`ask`) is the content of the page's dialog for htmx (app.js opens it), else a page of its
own; both carry every field that was posted, whatever the form holds, and end with the one
button that posts them again with `confirm=yes`.
"""
from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import render_template, request

from scheduler.core import access
from scheduler.extensions import db
from scheduler.messaging.notices import Notice
from scheduler.models import MessageKind, SkipReason, User
from scheduler.web import is_htmx
from scheduler.web.forms import FormState
from scheduler.web.helpers import when
from scheduler.web.labels import LABELS

CONFIRM = "confirm"
WHY_NOT = {SkipReason.OPTED_OUT: "they opted out of texts", SkipReason.NO_CONSENT: "they have not consented to texts"}


@dataclass(frozen=True)
class Ask:
    """The question: a title, what will happen (one sentence a line), the last button, the way back."""

    title: str
    lines: tuple[str, ...]
    button: str
    back: str
    back_url: str


def confirmed() -> bool:
    """True for the post that carries the answer to the question; the first post only asks."""
    return request.form.get(CONFIRM) == "yes"


def ask(question: Ask):
    """The question, posting back to where it came from every field given, now confirmed."""
    fields = [(k, v) for k, v in request.form.items(multi=True) if k not in ("csrf_token", CONFIRM)]
    html = render_template("confirm.html", ask=question, action=request.path, fields=fields, partial=is_htmx())
    return html, 200, {"Vary": "HX-Request"}


def refused(page, labels: dict[str, str] | None = None):
    """`page(state, status)` answers a refusal; asked from the dialog (htmx), the dialog says why."""
    def answer(state: FormState, status: int):
        if not is_htmx():
            return page(state, status)
        reasons = [state.message] if state.message else []
        reasons += [f"{(labels or {}).get(name, name.replace('_', ' ').capitalize())} {message}"
                    for name, message in state.errors.items()]
        # 200: htmx swaps only a success into the dialog.
        return render_template("confirm.html", reasons=reasons or ["Nothing was changed."], partial=True), 200
    return answer


def joined(names: list[str]) -> str:
    """'Ana', 'Ana and Bo', 'Ana, Bo and Cy'."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def name_for(viewer: User, patient, shown: Collection[int] = ()) -> str:
    """The patient's name, or 'another patient' for someone this user may not see (and the page
    does not name already: a therapist's own appointment names its patient)."""
    if patient.id in shown or access.may_see_patient(db.session, viewer, patient.id):
        return patient.name
    return "another patient"


def _about(notice: Notice) -> str:
    at = when(notice.session_start_dt, notice.patient.timezone)
    what = "group meeting" if notice.about_meeting else "session"
    if notice.kind == MessageKind.CANCELLED:
        return f"that the {what} on {at} is cancelled"
    if notice.kind == MessageKind.WAITLIST_PROMOTED:
        return f"that a seat in {notice.group_title or 'a group'} is theirs" + (f", from {at}" if at else "")
    if notice.kind == MessageKind.BOOKED:
        return f"that a {what} is booked on {at}"
    if notice.kind == MessageKind.RESCHEDULED:
        return f"that the {what} is moved to {at}"
    return f"({LABELS[MessageKind][MessageKind(notice.kind)].lower()})"


def texts(notices: Iterable[Notice], viewer: User, now: datetime, shown: Collection[int] = ()) -> list[str]:
    """Who will be texted and what, one sentence per same text; then who will not be, and why."""
    sent: dict[tuple[str, str], list[str]] = {}
    not_sent = []
    for notice in notices:
        name = name_for(viewer, notice.patient, shown)
        if notice.why_not is not None:
            reason = WHY_NOT.get(notice.why_not, LABELS[SkipReason][SkipReason(notice.why_not)])
            not_sent.append(f"{name[0].upper() + name[1:]} will not be texted {_about(notice)}: {reason}.")
            continue
        later = ""
        if notice.due_at is not None and notice.due_at > now + timedelta(minutes=1):
            later = f" It goes out at {when(notice.due_at, notice.patient.timezone)}, after quiet hours."
        sent.setdefault((_about(notice), later), []).append(name)
    lines = []
    for (about, later), names in sent.items():
        who = joined(names)
        lines.append(f"{who[0].upper() + who[1:]} will {'each ' if len(names) > 1 else ''}get a text {about}.{later}")
    return lines + not_sent
