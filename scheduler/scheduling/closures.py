"""Days the clinic is closed (holidays an admin marks on /admin).

A closed day is a wall date: a meeting is on it when its local date, in the meeting's own zone,
is that date. Nothing is refused for it; the new-group preview warns, and staff decide.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.errors import Conflict, Invalid, NotFound
from scheduler.models import ClinicClosure

MAX_NOTE = 60


def listed(session: Session) -> list[ClinicClosure]:
    """Every closed day, earliest first."""
    return list(session.scalars(select(ClinicClosure).order_by(ClinicClosure.closed_on)))


def add(session: Session, day: str, note: str, now: datetime, user_id: int | None) -> ClinicClosure:
    """Mark `day` (YYYY-MM-DD) closed with a short note such as "Christmas Day"."""
    errors: dict[str, str] = {}
    try:
        closed_on = date.fromisoformat(day.strip())
    except ValueError:
        closed_on = None
        errors["date"] = "must be a real date (YYYY-MM-DD)"
    note = " ".join(note.split())
    if not note:
        errors["note"] = "is required (for example, Christmas Day)"
    elif len(note) > MAX_NOTE:
        errors["note"] = f"must be at most {MAX_NOTE} characters"
    if errors:
        raise Invalid(errors)
    existing = session.scalar(select(ClinicClosure).where(ClinicClosure.closed_on == closed_on))
    if existing is not None:
        raise Conflict(f"is already marked closed ({existing.note})", field="date")
    row = ClinicClosure(closed_on=closed_on, note=note, created_by=user_id, created_at=now)
    session.add(row)
    session.flush()
    return row


def remove(session: Session, closure_id: int) -> ClinicClosure:
    """The clinic is open on that day after all."""
    row = session.get(ClinicClosure, closure_id)
    if row is None:
        raise NotFound("no such closed day")
    session.delete(row)
    session.flush()
    return row


def on_days(session: Session, days: Iterable[date]) -> dict[date, str]:
    """The closed days among `days`, each with its note."""
    wanted = set(days)
    if not wanted:
        return {}
    rows = session.execute(select(ClinicClosure.closed_on, ClinicClosure.note)
                           .where(ClinicClosure.closed_on.in_(wanted)))
    return {closed_on: note for closed_on, note in rows}
