"""Who is already busy when: appointments and group occurrences, for therapists and patients.

Each question is one statement built once from the same four parts (a person's appointments,
the meetings a therapist facilitates, the meetings a patient is enrolled in, time off), so the
booking check and the interval lists cannot drift apart.

Group meetings are materialised only up to each series' `materialized_until` (the rolling
horizon), but a series meets however far ahead its rule goes. A time past a series' horizon is
checked against the meetings its rule gives there, expanded on the spot with the very function
that will later materialise them (timeutil.occurrence_starts), so nothing booked today can
clash with a meeting the horizon brings in tomorrow. Within the horizon the rows decide (a
cancelled meeting frees its time).
"""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import cache

from sqlalchemy import and_, bindparam, or_, select, union_all
from sqlalchemy.orm import Session

from scheduler.core import timeutil
from scheduler.models import (
    BUSY_APPOINTMENT_STATUSES,
    Appointment,
    AvailabilityException,
    Enrollment,
    EnrollmentStatus,
    GroupSeries,
    Occurrence,
)
from scheduler.scheduling.limits import MAX_SESSION

# An appointment holds its time until it is cancelled; a late cancellation frees it too.
HOLDING = BUSY_APPOINTMENT_STATUSES
# Appointments and groups both cap duration at limits.MAX_SESSION, so "overlaps [start, end)" can
# be asked as "starts in (start - MAX_SESSION, end)": an index range scan, not someone's whole history.
Interval = tuple[datetime, datetime]


def _overlapping(start_col, end_col):
    """Overlaps [start, end), with `since` = start - MAX_SESSION bounding the index scan."""
    return and_(start_col > bindparam("since"), start_col < bindparam("end"), end_col > bindparam("start"))


def _appointments(who: str):
    """Held appointments of the therapist or patient `who`, other than `exclude`."""
    return select(Appointment.start_dt, Appointment.end_dt).where(
        getattr(Appointment, f"{who}_id") == bindparam(who), Appointment.status.in_(HOLDING),
        Appointment.id != bindparam("exclude"), _overlapping(Appointment.start_dt, Appointment.end_dt))


def _facilitated():
    """Live meetings of groups the therapist facilitates."""
    return select(Occurrence.start_dt, Occurrence.end_dt).join(GroupSeries).where(
        GroupSeries.facilitator_id == bindparam("therapist"), Occurrence.cancelled.is_(False),
        _overlapping(Occurrence.start_dt, Occurrence.end_dt))


def _enrolled():
    """Live meetings of groups the patient is enrolled in, other than group `exclude_group`."""
    return select(Occurrence.start_dt, Occurrence.end_dt).join(Enrollment, and_(
        Enrollment.group_id == Occurrence.group_id, Enrollment.patient_id == bindparam("patient"),
        Enrollment.status == EnrollmentStatus.ENROLLED)).where(
        Occurrence.cancelled.is_(False), Occurrence.group_id != bindparam("exclude_group"),
        _overlapping(Occurrence.start_dt, Occurrence.end_dt))


def _series_of(who: str):
    """The recurring series the therapist facilitates, or the patient is enrolled in (not `exclude_group`)."""
    if who == "therapist":
        return and_(GroupSeries.facilitator_id == bindparam("therapist"), GroupSeries.id != bindparam("exclude_group"))
    return GroupSeries.id.in_(select(Enrollment.group_id).where(
        Enrollment.patient_id == bindparam("patient"), Enrollment.status == EnrollmentStatus.ENROLLED,
        Enrollment.group_id != bindparam("exclude_group")))


def _short_of(last_date):
    """The series is materialised short of local date `last_date`."""
    return and_(GroupSeries.rrule.is_not(None), or_(GroupSeries.materialized_until.is_(None),
                                                   GroupSeries.materialized_until < last_date))


_SERIES_COLUMNS = (GroupSeries.id, GroupSeries.local_start, GroupSeries.timezone, GroupSeries.rrule,
                   GroupSeries.duration_minutes, GroupSeries.materialized_until)


# Built once: constructing these selects costs more Python than running them.
@cache
def _statement(name: str):
    if name == "therapist":
        return union_all(_appointments("therapist"), _facilitated())
    if name == "patient":
        return union_all(_appointments("patient"), _enrolled())
    if name in ("therapist_series", "patient_series"):  # those the window lies (partly) beyond
        who = name.removesuffix("_series")
        return select(*_SERIES_COLUMNS).where(_series_of(who), _short_of(bindparam("last_date")))
    if name == "any_series":  # all of both people's recurring series, the window notwithstanding
        return select(*_SERIES_COLUMNS, _series_of("therapist").label("facilitated")).where(
            or_(_series_of("therapist"), _series_of("patient")), GroupSeries.rrule.is_not(None))
    if name == "cancelled":
        return select(Occurrence.group_id, Occurrence.local_date).where(
            Occurrence.group_id.in_(bindparam("groups", expanding=True)), Occurrence.cancelled.is_(True),
            _overlapping(Occurrence.start_dt, Occurrence.end_dt))
    time_off = select(AvailabilityException.id).where(
        AvailabilityException.therapist_id == bindparam("therapist"),
        AvailabilityException.start_dt < bindparam("end"), AvailabilityException.end_dt > bindparam("start"))
    beyond = select(GroupSeries.id).where(or_(_series_of("therapist"), _series_of("patient")),
                                          _short_of(bindparam("last_date")))
    return select(time_off.exists(),
                  or_(_appointments("therapist").exists(), _facilitated().exists()),
                  or_(_appointments("patient").exists(), _enrolled().exists()),
                  beyond.exists())


def _params(start: datetime, end: datetime, exclude_appointment: int | None,
            exclude_group: int | None = None, **people) -> dict:
    # Ids start at 1, so excluding 0 excludes nothing.
    return {"start": start, "end": end, "since": start - MAX_SESSION, "last_date": _last_date(end),
            "exclude": exclude_appointment or 0, "exclude_group": exclude_group or 0, **people}


def _last_date(end: datetime) -> date:
    """A local date, in any zone, at or after that of every meeting overlapping a window ending at `end`."""
    return end.astimezone(UTC).date() + timedelta(days=1)


def meetings_of(series, start: datetime, end: datetime) -> list[Interval]:
    """Meetings of each series (rows of _SERIES_COLUMNS, or GroupSeries) overlapping [start, end),
    from its rule, on local dates past its materialised range."""
    out = []
    for row in series:
        length = timedelta(minutes=row.duration_minutes)
        for day, meets in timeutil.occurrence_starts(row.local_start, row.timezone, row.rrule, _last_date(end)):
            if row.materialized_until is not None and day <= row.materialized_until:
                continue
            if meets < end and start < meets + length:
                out.append((meets, meets + length))
    return out


def _beyond_horizon(session: Session, who: str, params: dict, start: datetime, end: datetime) -> list[Interval]:
    """Meetings past the horizon of the series of `who` that overlap [start, end)."""
    return meetings_of(session.execute(_statement(f"{who}_series"), params).all(), start, end)


def _series_clash(session: Session, params: dict, start: datetime, end: datetime) -> str | None:
    """"therapist" or "patient" when a meeting of their series, from its rule, overlaps [start, end).

    Asked when the first check found the window past some horizon. Every date in the window is
    expanded, materialised or not: the horizon may have rolled since that check, and its new
    rows were not in what it saw. A cancelled meeting is materialised and stays cancelled.
    """
    series = session.execute(_statement("any_series"), params).all()
    if not series:
        return None
    cancelled = set(session.execute(_statement("cancelled"), {**params, "groups": [r.id for r in series]}).all())
    for row in sorted(series, key=lambda r: not r.facilitated):  # the therapist's reason first
        length = timedelta(minutes=row.duration_minutes)
        for day, meets in timeutil.occurrence_starts(row.local_start, row.timezone, row.rrule, _last_date(end)):
            if meets < end and start < meets + length and (row.id, day) not in cancelled:
                return "therapist" if row.facilitated else "patient"
    return None


def therapist_intervals(session: Session, therapist_id: int, start: datetime, end: datetime,
                        exclude_appointment: int | None = None,
                        exclude_group: int | None = None) -> list[Interval]:
    """The therapist's appointments and facilitated occurrences overlapping [start, end).

    `exclude_group` leaves out that series' meetings past its horizon (the horizon is rolling
    over them), not its materialised ones.
    """
    params = _params(start, end, exclude_appointment, exclude_group, therapist=therapist_id)
    rows = session.execute(_statement("therapist"), params)
    return sorted([tuple(r) for r in rows] + _beyond_horizon(session, "therapist", params, start, end))


def patient_intervals(session: Session, patient_id: int, start: datetime, end: datetime,
                      exclude_appointment: int | None = None,
                      exclude_group: int | None = None) -> list[Interval]:
    """The patient's appointments and enrolled-group occurrences overlapping [start, end)."""
    params = _params(start, end, exclude_appointment, exclude_group, patient=patient_id)
    rows = session.execute(_statement("patient"), params)
    return sorted([tuple(r) for r in rows] + _beyond_horizon(session, "patient", params, start, end))


def appointments_after(session: Session, who: str, person_id: int, after: datetime) -> list[Interval]:
    """Held appointments of therapist or patient `person_id` starting after `after` (a horizon), soonest first."""
    column = Appointment.therapist_id if who == "therapist" else Appointment.patient_id
    return [tuple(r) for r in session.execute(select(Appointment.start_dt, Appointment.end_dt).where(
        column == person_id, Appointment.status.in_(HOLDING), Appointment.start_dt > after
    ).order_by(Appointment.start_dt))]


def clash(session: Session, therapist_id: int, patient_id: int, start: datetime, end: datetime,
          exclude_appointment: int | None = None) -> str | None:
    """Why [start, end) cannot be booked: "time_off", "therapist" or "patient" (busy), or None."""
    params = _params(start, end, exclude_appointment, therapist=therapist_id, patient=patient_id)
    session.flush()  # what session.execute would do first; the Core path below skips the ORM's
    *row, beyond = session.connection().execute(_statement("clash"), params).one()
    for reason, taken in zip(("time_off", "therapist", "patient"), row, strict=True):
        if taken:
            return reason
    return _series_clash(session, params, start, end) if beyond else None


def time_off(session: Session, therapist_id: int, start: datetime, end: datetime | None = None) -> list[Interval]:
    """The therapist's time off overlapping [start, end) (no `end`: all of it ending after `start`)."""
    stmt = select(AvailabilityException.start_dt, AvailabilityException.end_dt).where(
        AvailabilityException.therapist_id == therapist_id, AvailabilityException.end_dt > start)
    if end is not None:
        stmt = stmt.where(AvailabilityException.start_dt < end)
    return [tuple(r) for r in session.execute(stmt.order_by(AvailabilityException.start_dt))]
