"""Who is in a group: enrollment, the waitlist, attendance and confirmations.

Enrollment locks patient then group (core.db.lock; global order therapist -> patient -> group)
and counts seats inside the lock, so capacity holds under any number of concurrent requests.
The waitlist is ordered by (waitlisted_at, id); positions are derived, never stored. A freed
seat goes to the longest-waiting patient who can attend (fill_seats), and is offered again
whenever a waiting patient's time frees up (reoffer). The series and its meetings are groups.py.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, selectinload

from scheduler.aftercare import outreach
from scheduler.core import access
from scheduler.core.db import insert_ignore, is_postgres, lock
from scheduler.core.settings import Settings
from scheduler.errors import Conflict, Invalid, NotFound
from scheduler.messaging import reminders
from scheduler.models import (
    ATTENDANCE_STATUSES,
    Attendance,
    Enrollment,
    EnrollmentStatus,
    GroupSeries,
    Occurrence,
    Patient,
    Task,
    TaskKind,
    User,
)
from scheduler.scheduling import busy, groups


def roster_counts(session: Session, group_id: int) -> dict[str, int]:
    """How many are enrolled and waitlisted."""
    rows = session.execute(select(Enrollment.status, func.count()).where(
        Enrollment.group_id == group_id, Enrollment.status != EnrollmentStatus.DROPPED).group_by(Enrollment.status))
    counts = {EnrollmentStatus.ENROLLED: 0, EnrollmentStatus.WAITLISTED: 0}
    counts.update({status: n for status, n in rows})
    return counts


def waitlist_position(session: Session, enrollment: Enrollment) -> int | None:
    """1-based place on the waitlist, derived from (waitlisted_at, id); None if not waitlisted."""
    if enrollment.status != EnrollmentStatus.WAITLISTED:
        return None
    ahead = session.scalar(select(func.count()).select_from(Enrollment).where(
        Enrollment.group_id == enrollment.group_id, Enrollment.status == EnrollmentStatus.WAITLISTED,
        (Enrollment.waitlisted_at < enrollment.waitlisted_at)
        | ((Enrollment.waitlisted_at == enrollment.waitlisted_at) & (Enrollment.id < enrollment.id))))
    return ahead + 1


# --- enrollment ---------------------------------------------------------------------------


def _live(session: Session, group_id: int, patient_id: int) -> Enrollment | None:
    return session.scalar(select(Enrollment).where(
        Enrollment.group_id == group_id, Enrollment.patient_id == patient_id,
        Enrollment.status != EnrollmentStatus.DROPPED).execution_options(populate_existing=True))


def enroll(session: Session, group_id: int, patient_id: int, now: datetime, *,
           settings: Settings) -> Enrollment:
    """Give the patient a seat, or a place on the waitlist when the group is full.

    409 when already enrolled or waitlisted, when the group has no upcoming meeting, or when an
    upcoming meeting overlaps the patient's other sessions (a patient is never double-booked).
    """
    patient = lock(session, Patient, patient_id, "patient_id")
    group = lock(session, GroupSeries, group_id, "group")
    current = _live(session, group.id, patient.id)
    if current is not None:
        where = "enrolled in" if current.status == EnrollmentStatus.ENROLLED else "on the waitlist of"
        raise Conflict(f"the patient is already {where} this group", field="patient_id")
    upcoming = groups.upcoming(session, group.id, now)
    if not upcoming:
        raise Conflict("this group has no upcoming sessions", field="group")
    clash = _patient_clash(session, group, patient.id, upcoming)
    if clash is not None:
        raise Conflict(f"the patient already has a session on {groups.meeting_time(clash, group.timezone)}",
                       field="patient_id")
    # Those already waiting who can attend come first: a newcomer never jumps the line.
    if not _fill(session, group, now, settings)[1]:
        raise Conflict("the waitlist of this group is being changed right now: try again in a moment",
                       field="group")
    seats_taken = _seats_taken(session, group.id)
    enrollment = Enrollment(group_id=group.id, patient_id=patient.id, created_at=now)
    enrollment.group, enrollment.patient = group, patient
    if seats_taken < group.capacity:
        enrollment.status, enrollment.enrolled_at = EnrollmentStatus.ENROLLED, now
    else:
        # Never sort before someone already waiting: the caller's clock was read before the lock.
        last = session.scalar(select(func.max(Enrollment.waitlisted_at)).where(
            Enrollment.group_id == group.id, Enrollment.status == EnrollmentStatus.WAITLISTED))
        enrollment.status, enrollment.waitlisted_at = EnrollmentStatus.WAITLISTED, max(now, last) if last else now
    session.add(enrollment)
    session.flush()
    if enrollment.status == EnrollmentStatus.ENROLLED:
        reminders.enrolled(session, enrollment, now, settings=settings)
    return enrollment


def drop(session: Session, group_id: int, patient_id: int,
         now: datetime, *, settings: Settings) -> tuple[Enrollment, list[Enrollment]]:
    """Take the patient off the roster or waitlist; freed seats go to the first waitlisted who can attend.

    Leaving a seat also frees the patient's time, so their own places on other waitlists are
    offered again. Returns the dropped enrollment and those promoted, in any of these groups
    (each promoted patient is told by text).
    """
    patient = lock(session, Patient, patient_id, "patient")
    others = set(_waitlisted_groups(session, patient.id)) - {group_id}
    # Several groups: locked in id order, as every transaction that locks more than one does.
    locked = {gid: lock(session, GroupSeries, gid, "group") for gid in sorted(others | {group_id})}
    group = locked[group_id]
    enrollment = _live(session, group.id, patient.id)
    if enrollment is None:
        raise NotFound("the patient is not enrolled in or waitlisted for this group")
    freed_time = enrollment.status == EnrollmentStatus.ENROLLED
    enrollment.status, enrollment.dropped_at = EnrollmentStatus.DROPPED, now
    session.flush()
    reminders.dropped(session, enrollment, now)
    promoted = fill_seats(session, group, now, settings)
    if freed_time:
        for gid in sorted(others):
            promoted += fill_seats(session, locked[gid], now, settings)
    return enrollment, promoted


def reoffer(session: Session, patient_id: int, now: datetime, *, settings: Settings) -> list[Enrollment]:
    """The patient's time was freed (an appointment cancelled or moved): offer free seats again.

    The caller holds the patient's lock (after the therapist's); the groups whose waitlist the
    patient is on are locked next, in id order. Returns those promoted, the patient or others.
    """
    promoted = []
    for gid in _waitlisted_groups(session, patient_id):
        promoted += fill_seats(session, lock(session, GroupSeries, gid, "group"), now, settings)
    return promoted


def _waitlisted_groups(session: Session, patient_id: int) -> list[int]:
    return list(session.scalars(select(Enrollment.group_id).where(
        Enrollment.patient_id == patient_id, Enrollment.status == EnrollmentStatus.WAITLISTED
    ).order_by(Enrollment.group_id)))


def _seats_taken(session: Session, group_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Enrollment).where(
        Enrollment.group_id == group_id, Enrollment.status == EnrollmentStatus.ENROLLED))


def fill_seats(session: Session, group: GroupSeries, now: datetime, settings: Settings) -> list[Enrollment]:
    """Seat waitlisted patients, longest waiting first, while seats are free (_fill); those seated."""
    return _fill(session, group, now, settings)[0]


def _fill(session: Session, group: GroupSeries, now: datetime,
          settings: Settings) -> tuple[list[Enrollment], bool]:
    """Seat waitlisted patients, longest waiting first, while seats are free; the caller holds the group's lock.

    Returns those seated, and False when it stopped at someone it could not lock in time. Someone who has since booked another session at a meeting's time keeps their place in line
    and staff get a task (once): a patient is never double-booked, and the seat goes to the
    next in line who can attend. Each candidate's row is locked before their calendar is read;
    another transaction may hold it right now (an inbound text, an edit), so the lock is waited
    for, briefly (_lock_in_turn). Passing them over would give their seat away for good; when
    the wait fails, the seats stay free for the next fill, which starts again at the head of
    the line. SQLite serialises writers anyway.
    """
    free = group.capacity - _seats_taken(session, group.id)
    if free <= 0:
        return [], True
    waiting = session.scalars(select(Enrollment).where(
        Enrollment.group_id == group.id, Enrollment.status == EnrollmentStatus.WAITLISTED
    ).order_by(Enrollment.waitlisted_at, Enrollment.id).execution_options(populate_existing=True)).all()
    if not waiting:
        return [], True
    upcoming = groups.upcoming(session, group.id, now)
    promoted = []
    for enrollment in waiting:
        if len(promoted) == free:
            break
        if not _lock_in_turn(session, enrollment.patient_id):
            return promoted, False
        if _patient_clash(session, group, enrollment.patient_id, upcoming) is not None:
            _clash_task(session, group, enrollment.patient_id, now)
            continue
        enrollment.status, enrollment.enrolled_at = EnrollmentStatus.ENROLLED, now
        session.flush()
        reminders.enrolled(session, enrollment, now, promoted=True, settings=settings)
        promoted.append(enrollment)
    return promoted, True


_LOCK_PATIENT = select(Patient.id).where(Patient.id == bindparam("ident")).with_for_update()
# How long a freed seat waits for the next in line's record: long enough for an ordinary request
# (an inbound text, an edit) to finish, and below PostgreSQL's deadlock_timeout (1 s by default),
# so that when the holder is waiting for this very group (a cancellation re-offering seats), this
# wait gives up before the deadlock check would abort the holder's request instead.
LOCK_WAIT = "500ms"
_GAVE_UP = ("55P03", "40P01")  # lock_timeout; a deadlock, when the holder wants this group next


def _lock_in_turn(session: Session, patient_id: int) -> bool:
    """Lock the patient's row, waiting at most LOCK_WAIT; False when it could not be had.

    Waiting here takes patient after group, against the global order: a holder that wants the
    group next would deadlock, so the wait is shorter than the deadlock check. Giving up undoes
    only this wait (a savepoint); the holder, once through, fills the seat itself if it frees the
    patient's time (reoffer), and otherwise the next fill does, from the head of the line.
    """
    if not is_postgres(session):
        return True
    previous = session.scalar(text("SELECT current_setting('lock_timeout')"))
    try:
        with session.begin_nested():
            session.execute(_SET_LOCK_TIMEOUT, {"value": LOCK_WAIT})
            session.execute(_LOCK_PATIENT, {"ident": patient_id})
        return True
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) not in _GAVE_UP:
            raise
        return False
    finally:
        session.execute(_SET_LOCK_TIMEOUT, {"value": previous})


_SET_LOCK_TIMEOUT = text("SELECT set_config('lock_timeout', :value, true)")


def _clash_task(session: Session, group: GroupSeries, patient_id: int, now: datetime) -> None:
    """Tell staff a seat passed a waiting patient by, unless an open task already says so."""
    detail = f"group {group.id}: seat free, but a session clashes"
    if session.scalar(select(Task.id).where(Task.kind == TaskKind.WAITLIST_CLASH, Task.patient_id == patient_id,
                                            Task.detail == detail, Task.done_at.is_(None)).limit(1)) is None:
        session.add(Task(kind=TaskKind.WAITLIST_CLASH, patient_id=patient_id, created_at=now, detail=detail))


def _patient_clash(session: Session, group: GroupSeries, patient_id: int,
                   upcoming: list[Occurrence]) -> datetime | None:
    """The start of the first meeting of `group` the patient is busy at, however far ahead, or None."""
    if upcoming:
        clash = groups.first_overlap(upcoming, busy.patient_intervals(
            session, patient_id, upcoming[0].start_dt, upcoming[-1].end_dt, exclude_group=group.id))
        if clash is not None:
            return clash.start_dt
    return groups.clash_past_horizon(session, group, "patient", patient_id)


# --- attendance and confirmation ----------------------------------------------------------


def _attendance_row(session: Session, occurrence_id: int, patient_id: int) -> Attendance:
    """The attendance row of (occurrence, patient), created if missing; safe under races."""
    insert_ignore(session, Attendance, [{"occurrence_id": occurrence_id, "patient_id": patient_id}],
                  ("occurrence_id", "patient_id"))
    return session.scalars(select(Attendance).where(
        Attendance.occurrence_id == occurrence_id, Attendance.patient_id == patient_id
    ).execution_options(populate_existing=True)).one()


def was_enrolled(session: Session, occurrence: Occurrence, patient_id: int) -> bool:
    """True when the patient held a seat (not a waitlist place) when the meeting began."""
    return session.scalar(select(func.count()).select_from(Enrollment).where(
        Enrollment.group_id == occurrence.group_id, Enrollment.patient_id == patient_id,
        Enrollment.enrolled_at.is_not(None), Enrollment.enrolled_at <= occurrence.start_dt,
        (Enrollment.dropped_at.is_(None)) | (Enrollment.dropped_at > occurrence.start_dt))) > 0


def record_attendance(session: Session, group_id: int, occurrence_id: int, patient_id: int,
                      status: str, now: datetime, user_id: int | None = None) -> Attendance:
    """Record attended / no_show / late_cancelled for one meeting once it has started (upsert)."""
    if status not in ATTENDANCE_STATUSES:
        raise Invalid({"status": f"must be one of: {', '.join(ATTENDANCE_STATUSES)}"})
    groups.get_group(session, group_id)
    occ = groups.get_occurrence(session, group_id, occurrence_id)
    if session.get(Patient, patient_id) is None:
        raise NotFound("patient_id not found", field="patient_id")
    if occ.cancelled:
        raise Conflict("this occurrence was cancelled", field="occurrence")
    if now < occ.start_dt:
        raise Conflict("attendance can be recorded once the occurrence has started", field="status")
    if not was_enrolled(session, occ, patient_id):
        raise Conflict("the patient was not enrolled in this group at that occurrence", field="patient_id")
    row = _attendance_row(session, occ.id, patient_id)
    row.status, row.recorded_at, row.recorded_by = status, now, user_id
    session.flush()
    outreach.attendance_recorded(session, patient_id, status, now, start_dt=occ.start_dt, end_dt=occ.end_dt,
                                 occurrence_id=occ.id)
    return row


def confirm_occurrence(session: Session, occurrence: Occurrence, patient_id: int,
                       now: datetime) -> Attendance:
    """The patient said they will come (SMS "C"): set confirmed_at, keeping the first one."""
    if occurrence.cancelled:
        raise Conflict("this occurrence was cancelled", field="occurrence")
    row = _attendance_row(session, occurrence.id, patient_id)
    if row.confirmed_at is None:
        row.confirmed_at = now
    session.flush()
    return row


# --- reading for the group page -----------------------------------------------------------


def counts(session: Session, group_ids: list[int]) -> dict[tuple[int, str], int]:
    """(group id, enrolled or waitlisted) -> how many: the roster counts of a list of groups."""
    return {(gid, status): n for gid, status, n in session.execute(
        select(Enrollment.group_id, Enrollment.status, func.count()).where(
            Enrollment.group_id.in_(group_ids), Enrollment.status != EnrollmentStatus.DROPPED
        ).group_by(Enrollment.group_id, Enrollment.status))} if group_ids else {}


def members(session: Session, group_id: int) -> tuple[list[Enrollment], list[Enrollment]]:
    """(enrolled by when they took their seat, waitlisted in line order), patients loaded."""
    rows = session.scalars(select(Enrollment).options(selectinload(Enrollment.patient)).where(
        Enrollment.group_id == group_id, Enrollment.status.in_((EnrollmentStatus.ENROLLED, EnrollmentStatus.WAITLISTED))
    ).order_by(Enrollment.enrolled_at, Enrollment.waitlisted_at, Enrollment.id)).all()
    enrolled = [e for e in rows if e.status == EnrollmentStatus.ENROLLED]
    waiting = sorted((e for e in rows if e.status == EnrollmentStatus.WAITLISTED), key=lambda e: (e.waitlisted_at, e.id))
    return enrolled, waiting


def attendance_sheet(session: Session, occurrence: Occurrence, viewer: User) -> list[tuple[Patient, str | None]]:
    """Everyone who held a seat when the meeting began and `viewer` may see, by name, with what is
    recorded so far.

    A group handed to another facilitator keeps its past sheets; the new one sees (and so marks)
    only the patients in their care, not those dropped before the handover (core.access).
    """
    held_seat = (Enrollment.group_id == occurrence.group_id, Enrollment.enrolled_at.is_not(None),
                 Enrollment.enrolled_at <= occurrence.start_dt,
                 Enrollment.dropped_at.is_(None) | (Enrollment.dropped_at > occurrence.start_dt))
    patients = session.scalars(select(Patient).where(
        Patient.id.in_(select(Enrollment.patient_id).where(*held_seat)), access.visible_patients(viewer)
    ).order_by(Patient.name, Patient.id)).all()
    recorded = dict(session.execute(select(Attendance.patient_id, Attendance.status).where(
        Attendance.occurrence_id == occurrence.id)).all())
    return [(p, recorded.get(p.id)) for p in patients]
