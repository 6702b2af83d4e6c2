"""Changes to a group after it was created, and the preview of a new one's meetings.

Kept apart from groups.py only for size; it shares that module's rules and helpers. Locks
follow the global order therapist -> patient -> group (dbutil.lock).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.core import timeutil
from scheduler.core.db import lock
from scheduler.core.settings import Settings
from scheduler.errors import Conflict, Invalid
from scheduler.messaging import reminders
from scheduler.models import Enrollment, EnrollmentStatus, GroupSeries, Occurrence, Therapist
from scheduler.scheduling import groups, roster
from scheduler.scheduling.limits import MAX_MEETINGS


def weekly_rule(meetings: int) -> str | None:
    """The RRULE of `meetings` weekly meetings; None for a single meeting."""
    if not 1 <= meetings <= MAX_MEETINGS:
        raise Invalid({"meetings": f"must be from 1 to {MAX_MEETINGS}"})
    return None if meetings == 1 else f"FREQ=WEEKLY;COUNT={meetings}"


def preview(local_start: datetime, tz: str, rule: str | None, limit: int = groups.SHOWN_OCCURRENCES,
            ) -> list[datetime]:
    """The first `limit` meetings' starts as the group's wall clock shows them (aware, in `tz`).

    The same expansion as the stored occurrences, so the preview and the group agree, across
    DST changes too (a start in a DST gap shows the moved time).
    """
    until = local_start.date() + timedelta(weeks=limit)
    if rule:
        until = max(until, local_start.date() + timedelta(days=400))  # daily or monthly rules too
    starts = timeutil.occurrence_starts(local_start, tz, rule, until)[:limit]
    return [start.astimezone(timeutil.zone(tz)) for _day, start in starts]


def cancel_occurrence(session: Session, group_id: int, occurrence_id: int, now: datetime, *,
                      settings: Settings) -> tuple[Occurrence, int]:
    """Call one meeting off: its reminders are withdrawn and each enrolled patient is told.

    Returns the meeting and how many patients get a cancellation text. 409 when it was
    already cancelled or has started.
    """
    lock(session, GroupSeries, group_id, "group")
    occ = groups.get_occurrence(session, group_id, occurrence_id)
    if occ.cancelled:
        raise Conflict("this meeting is already cancelled", field="occurrence")
    if occ.start_dt <= now:
        raise Conflict("this meeting has already started", field="occurrence")
    occ.cancelled = True
    session.flush()
    return occ, reminders.occurrence_cancelled(session, occ, now, settings=settings)


def update_group(session: Session, group_id: int, changes: dict, now: datetime, *,
                 settings: Settings, cancel_clashing: bool = False) -> tuple[GroupSeries, list[Enrollment]]:
    """Change title, location, capacity or facilitator; the meetings' times stay as they are.

    A larger capacity seats the first waitlisted patients (they are told); a capacity below the
    number enrolled is refused. A new facilitator who is busy or on time off at upcoming
    meetings is a 409 naming them all; with `cancel_clashing` those meetings are called off
    instead (each enrolled patient is told). Returns the group and the enrollments promoted.
    """
    new_facilitator = changes.get("facilitator_id")
    if new_facilitator is not None:
        lock(session, Therapist, new_facilitator, "facilitator_id")
    group = lock(session, GroupSeries, group_id, "group")
    if new_facilitator is not None and new_facilitator != group.facilitator_id:
        upcoming = session.scalars(select(Occurrence).where(
            Occurrence.group_id == group.id, Occurrence.cancelled.is_(False), Occurrence.end_dt > now
        ).order_by(Occurrence.start_dt)).all()
        clashes = groups.facilitator_clashes(session, group, new_facilitator, list(upcoming))
        if clashes and not cancel_clashing:
            raise Conflict(groups.clash_message("that facilitator", clashes, group.timezone), field="facilitator_id")
        if clashes:
            groups.cancel_meetings_at(session, group, clashes, now, settings)
        group.facilitator_id = new_facilitator
    if "capacity" in changes:
        capacity = changes["capacity"]
        if not 1 <= capacity <= groups.MAX_CAPACITY:
            raise Invalid({"capacity": f"must be from 1 to {groups.MAX_CAPACITY}"})
        enrolled = session.scalar(select(func.count()).select_from(Enrollment).where(
            Enrollment.group_id == group.id, Enrollment.status == EnrollmentStatus.ENROLLED))
        if capacity < enrolled:
            raise Invalid({"capacity": f"{enrolled} patients hold a seat: drop some before lowering it"})
        group.capacity = capacity
    for field in ("title", "location"):
        if field in changes:
            setattr(group, field, changes[field])
    session.flush()
    return group, roster.fill_seats(session, group, now, settings)
