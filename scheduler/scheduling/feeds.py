"""Therapists' private calendar feeds: the link's secret, whether feeds are on, and what a feed holds.

A feed URL is a bearer secret (calendar apps cannot sign in): only its SHA-256 is stored, a new
link revokes the old one, and a revoked link, a deactivated therapist or feeds switched off give
the same plain 404. What a feed shows is the least a therapist's phone needs: times, `Session`
(with the patient's initials only when the clinic allows them) and `Meeting` with its seats
filled; never names, titles, locations, phones or notes. The iCalendar text is made at the edge.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from scheduler.core.auth import hash_token
from scheduler.core.settings import Settings
from scheduler.errors import Conflict, Invalid
from scheduler.models import (
    Appointment,
    AppointmentStatus,
    CalendarFeed,
    ClinicOption,
    Enrollment,
    EnrollmentStatus,
    FeedMode,
    GroupSeries,
    Occurrence,
    Patient,
    Therapist,
    User,
)

FEEDS_OPTION = "calendar_feeds"
LOOK_BACK = timedelta(days=30)


def mode(session: Session, settings: Settings) -> FeedMode:
    """Off, on, or on with initials: an admin's choice on /admin, else CALENDAR_FEEDS."""
    chosen = session.get(ClinicOption, FEEDS_OPTION)
    return FeedMode(chosen.value if chosen is not None else settings.calendar_feeds)


def set_mode(session: Session, value: str, now: datetime, user_id: int | None) -> FeedMode:
    """An admin switches feeds off, on, or on with initials, for the whole clinic."""
    try:
        chosen = FeedMode(value)
    except ValueError:
        raise Invalid({"calendar_feeds": "must be one of: off, on, initials"}) from None
    row = session.get(ClinicOption, FEEDS_OPTION, with_for_update=True)
    if row is None:
        session.add(ClinicOption(name=FEEDS_OPTION, value=chosen, updated_by=user_id, updated_at=now))
    else:
        row.value, row.updated_by, row.updated_at = chosen, user_id, now
    session.flush()
    return chosen


def _require_on(session: Session, settings: Settings) -> None:
    if mode(session, settings) == FeedMode.OFF:
        raise Conflict("calendar feeds are switched off for this clinic (CALENDAR_FEEDS, or /admin)",
                       field="calendar_feeds")
    if not settings.public_base_url:
        raise Conflict("a feed link needs PUBLIC_BASE_URL, the address calendar apps reach this app at",
                       field="calendar_feeds")


def revoke(session: Session, therapist_id: int, now: datetime) -> bool:
    """End the therapist's live feed link; False when there was none."""
    done = session.execute(update(CalendarFeed).where(CalendarFeed.therapist_id == therapist_id,
                                                      CalendarFeed.revoked_at.is_(None))
                           .values(revoked_at=now).execution_options(synchronize_session=False))
    return bool(done.rowcount)


def create(session: Session, therapist_id: int, settings: Settings, now: datetime,
           user_id: int | None) -> str:
    """A new private feed URL for the therapist (shown once); their old link stops working."""
    _require_on(session, settings)
    if session.get(Therapist, therapist_id, with_for_update=True) is None:
        raise Invalid({"therapist": "no such therapist"})
    revoke(session, therapist_id, now)
    token = secrets.token_urlsafe(32)
    session.add(CalendarFeed(therapist_id=therapist_id, token_hash=hash_token(token), created_at=now,
                             created_by=user_id))
    session.flush()
    return f"{settings.public_base_url}/feeds/{token}.ics"


def has_link(session: Session, therapist_id: int) -> bool:
    """True when the therapist has a live feed link."""
    return session.scalar(select(func.count()).select_from(CalendarFeed).where(
        CalendarFeed.therapist_id == therapist_id, CalendarFeed.revoked_at.is_(None))) > 0


def therapist_for(session: Session, token: str, settings: Settings) -> Therapist | None:
    """The therapist a live link belongs to, or None (unknown, revoked, feeds off, user deactivated)."""
    if not token or mode(session, settings) == FeedMode.OFF:
        return None
    therapist = session.scalar(select(Therapist).join(CalendarFeed, CalendarFeed.therapist_id == Therapist.id)
                               .where(CalendarFeed.token_hash == hash_token(token),
                                      CalendarFeed.revoked_at.is_(None)))
    if therapist is None:
        return None
    user = session.scalar(select(User).where(User.therapist_id == therapist.id))
    return therapist if user is not None and user.active else None


@dataclass(frozen=True)
class Entry:
    """One event of a feed: a stable uid, its instants and zone, a neutral summary, cancelled or not."""

    uid: str
    start: datetime
    end: datetime
    timezone: str
    summary: str
    cancelled: bool


def initials(name: str) -> str:
    """'Avery Collins' -> 'A.C.' (letters only; never more of the name)."""
    return "".join(f"{part[0].upper()}." for part in name.split() if part[:1].isalpha())[:6]


def entries(session: Session, therapist: Therapist, settings: Settings, now: datetime) -> list[Entry]:
    """The therapist's appointments and facilitated meetings from 30 days back to the group horizon."""
    start, end = now - LOOK_BACK, now + timedelta(weeks=settings.group_horizon_weeks)
    with_initials = mode(session, settings) == FeedMode.INITIALS
    out = []
    appts = session.execute(select(Appointment.id, Appointment.start_dt, Appointment.end_dt, Appointment.status,
                                   Patient.name).join(Patient, Patient.id == Appointment.patient_id)
                            .where(Appointment.therapist_id == therapist.id, Appointment.start_dt >= start,
                                   Appointment.start_dt < end).order_by(Appointment.start_dt))
    for appt_id, begin, finish, status, name in appts:
        summary = f"Session {initials(name)}" if with_initials and initials(name) else "Session"
        out.append(Entry(f"appointment-{appt_id}", begin, finish, therapist.timezone, summary,
                         status == AppointmentStatus.CANCELLED))
    seats = (select(func.count()).where(Enrollment.group_id == GroupSeries.id,
                                        Enrollment.status == EnrollmentStatus.ENROLLED)
             .correlate(GroupSeries).scalar_subquery())
    meetings = session.execute(select(Occurrence.id, Occurrence.start_dt, Occurrence.end_dt, Occurrence.cancelled,
                                      GroupSeries.timezone, GroupSeries.capacity, seats)
                               .join(GroupSeries, GroupSeries.id == Occurrence.group_id)
                               .where(GroupSeries.facilitator_id == therapist.id, Occurrence.start_dt >= start,
                                      Occurrence.start_dt < end).order_by(Occurrence.start_dt))
    for occ_id, begin, finish, cancelled, tz, capacity, filled in meetings:
        out.append(Entry(f"meeting-{occ_id}", begin, finish, tz, f"Meeting ({filled} of {capacity} seats filled)",
                         bool(cancelled)))
    return sorted(out, key=lambda e: (e.start, e.uid))
