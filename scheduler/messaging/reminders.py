"""Which texts a change causes, and when each is due. Rows are written in the caller's transaction.

A patient is only ever told about a change to something they were told about: a booking moved
or cancelled before its booking text left gets one booking text for the new time, or nothing
(_told decides); a meeting called off is not announced to someone whose seat was not.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, selectinload

from scheduler.core import timeutil
from scheduler.core.db import insert_ignore
from scheduler.core.settings import Settings
from scheduler.models import (
    ACTIVE_APPOINTMENT_STATUSES,
    Appointment,
    Direction,
    Enrollment,
    EnrollmentStatus,
    GroupSeries,
    Message,
    MessageKind,
    MessageStatus,
    Occurrence,
    Patient,
    SkipReason,
)

LAST_MINUTE = timedelta(minutes=1)


class CalendarDays(timedelta):
    """A lead time in whole days (`2d`): the same local clock time that many days before.

    A clinic saying "two days before" means Saturday 10:00 for Monday 10:00, also across a DST
    change (47 or 49 elapsed hours); `48h` means 48 elapsed hours. Arithmetic gives plain timedeltas.
    """

    def __new__(cls, days: int):
        return super().__new__(cls, days=days)


def offset_for(minutes: int, offsets: tuple[timedelta, ...] = ()) -> timedelta:
    """The configured lead time a reminder row was planned with (rows store it in minutes)."""
    for offset in offsets:
        if offset == timedelta(minutes=minutes):
            return offset
    return timedelta(minutes=minutes)


def nominal(start_dt: datetime, offset: timedelta, tz: str) -> datetime:
    """The moment a lead time names, before quiet hours are considered (see CalendarDays)."""
    if not isinstance(offset, CalendarDays):
        return start_dt - offset
    z = timeutil.zone(tz)
    local = start_dt.astimezone(z)
    # A wall time skipped by DST that day reads as the offset before the change (fold 0).
    return datetime.combine(local.date() - timedelta(days=offset.days), local.time(),
                            tzinfo=z).astimezone(timeutil.UTC)


def in_quiet_hours(instant: datetime, tz: str, quiet: tuple[time, time] | None) -> bool:
    """True when `instant` falls in the quiet window [start, end) of the patient's local day."""
    if quiet is None:
        return False
    start, end = quiet
    local = instant.astimezone(timeutil.zone(tz)).time()
    if start < end:
        return start <= local < end
    return local >= start or local < end


def _window_edges(instant: datetime, tz: str, quiet: tuple[time, time]) -> tuple[datetime, datetime]:
    """For an instant inside quiet hours: the last allowed minute before it, and the first after."""
    z = timeutil.zone(tz)
    local = instant.astimezone(z)
    start, end = quiet
    day = local.date()
    if start > end and local.time() < end:  # after midnight: the window opened yesterday
        day -= timedelta(days=1)
    opened = datetime.combine(day, start, tzinfo=z)
    closes = datetime.combine(opened.date() + (timedelta(days=1) if start > end else timedelta()), end, tzinfo=z)
    return (opened - LAST_MINUTE).astimezone(timeutil.UTC), closes.astimezone(timeutil.UTC)


def reminder_due(start_dt: datetime, offset: timedelta, tz: str,
                 quiet: tuple[time, time] | None) -> tuple[datetime | None, str | None]:
    """When a reminder `offset` before `start_dt` may go out, or (None, why not).

    Inside quiet hours it moves to the nearest allowed moment before the session: just before
    the window opens, or as it closes. It may move earlier by at most max(offset/2, 2h), so a
    2-hour reminder never turns into a message the evening before.
    """
    due = nominal(start_dt, offset, tz)
    if not in_quiet_hours(due, tz, quiet):
        return due, None
    before, after = _window_edges(due, tz, quiet)
    candidates = []
    if after < start_dt:
        candidates.append(after)
    if start_dt - before <= offset + max(offset / 2, timedelta(hours=2)):
        candidates.append(before)
    if not candidates:
        return None, SkipReason.QUIET_HOURS
    return min(candidates, key=lambda c: abs(c - due)), None


def timing(start_dt: datetime, offset: timedelta, tz: str, quiet: tuple[time, time] | None,
           now: datetime) -> tuple[str | None, datetime | None]:
    """At send time: (reason, None) to skip, (None, when) to defer, (None, None) to send now.

    It judges by reminder_due, the planner's own decision, so a reminder is never planned for a
    moment the sender then refuses: late means less than half the planned lead is left.
    """
    planned, why = reminder_due(start_dt, offset, tz, quiet)
    if planned is None:
        return why, None
    keep = (start_dt - planned) / 2
    if start_dt - now < keep:
        return SkipReason.STALE, None  # a 48h reminder is not sent 3 hours before
    if in_quiet_hours(now, tz, quiet):
        later = notice_due(now, tz, quiet)
        return (SkipReason.QUIET_HOURS, None) if start_dt - later < keep else (None, later)
    return None, None


def notice_due(now: datetime, tz: str, quiet: tuple[time, time] | None) -> datetime:
    """A notice goes out now, or when quiet hours end."""
    if not in_quiet_hours(now, tz, quiet):
        return now
    return _window_edges(now, tz, quiet)[1]


def _row(patient: Patient, kind: MessageKind, key: str, due_at: datetime, now: datetime,
         session_start: datetime | None, **refs) -> dict:
    return dict(patient_id=patient.id, direction=Direction.OUT, kind=kind, dedupe_key=key, due_at=due_at,
                status=MessageStatus.PENDING, attempts=0, session_start_dt=session_start, created_at=now,
                history=[{"status": MessageStatus.PENDING, "at": now.isoformat()}], **refs)


def _reminder_rows(patient: Patient, start_dt: datetime, now: datetime, key_prefix: str, settings: Settings,
                   **refs) -> list[dict]:
    rows = []
    for offset in settings.reminder_offsets:
        if nominal(start_dt, offset, patient.timezone) <= now:
            # Booked inside this lead time: the booking text already names the time. Quiet hours
            # moving the moment later (07:30 -> 08:00 for a 07:50 booking) do not bring it back.
            continue
        due, why = reminder_due(start_dt, offset, patient.timezone, settings.quiet_hours)
        minutes = int(offset.total_seconds() // 60)
        if due is None:
            # Recorded as skipped, not silently dropped: the log shows why it never went out.
            row = _row(patient, MessageKind.REMINDER, f"{key_prefix}:{minutes}m", nominal(start_dt, offset, patient.timezone),
                       now, start_dt,
                       offset_minutes=minutes, skip_reason=why, **refs)
            row.update(status=MessageStatus.SKIPPED, history=[{"status": MessageStatus.SKIPPED, "at": now.isoformat(), "detail": why}])
            rows.append(row)
            continue
        if due <= now:
            continue  # quiet hours moved it earlier, to a moment already past
        rows.append(_row(patient, MessageKind.REMINDER, f"{key_prefix}:{minutes}m", due, now, start_dt,
                         offset_minutes=minutes, skip_reason=None, **refs))
    return rows


def _notice(session: Session, patient: Patient, kind: MessageKind, key: str, now: datetime,
            session_start: datetime | None, settings: Settings, **refs) -> None:
    due = notice_due(now, patient.timezone, settings.quiet_hours)
    insert_ignore(session, Message, [_row(patient, kind, key, due, now, session_start, **refs)], "dedupe_key")


def withdraw(session: Session, now: datetime, *conditions, why: str | None = None) -> int:
    """Pending texts matching `conditions` will never be sent."""
    rows = session.scalars(select(Message).where(Message.status == MessageStatus.PENDING, *conditions)).all()
    for msg in rows:
        msg.status = MessageStatus.WITHDRAWN
        msg.note(MessageStatus.WITHDRAWN, now, why)
    return len(rows)


def _told(session: Session, *about) -> bool:
    """True when an outbound text `about` may have reached the patient: sent, prepared and
    leaving, or an unanswered send that may have arrived.

    Rows not yet prepared are locked first (FOR UPDATE on PostgreSQL): a dispatcher preparing
    one is waited for (then its text counts), and none can be claimed before this transaction
    ends, after which the dispatcher's own check sees the change. Rows being sent (sending, with
    a body) are never waited for: their sender may want the patient's lock, which callers hold.
    """
    out = (Message.direction == Direction.OUT, *about)
    unprepared = (Message.status == MessageStatus.PENDING) | (
        (Message.status == MessageStatus.SENDING) & Message.body.is_(None))
    session.execute(select(Message.id).where(*out, unprepared).with_for_update()).all()
    may_have_left = (Message.status.in_((MessageStatus.SENT, MessageStatus.DELIVERED)) | Message.uncertain.is_(True)
                     | ((Message.status == MessageStatus.SENDING) & Message.body.is_not(None)))
    return bool(session.scalar(select(exists().where(*out, may_have_left))))


def told_of(*appts: Appointment):
    """The texts that tell a patient of these appointments: their own, and their series' booking text."""
    own = Message.appointment_id.in_([a.id for a in appts])
    series = {a.series_id for a in appts} - {None}
    if not series:
        return own
    return own | ((Message.kind == MessageKind.BOOKED_WEEKLY) & Message.appointment_id.in_(
        select(Appointment.id).where(Appointment.series_id.in_(series)).scalar_subquery()))


def appointment_changed(session: Session, appt: Appointment, now: datetime, notice: MessageKind, *,
                        settings: Settings) -> None:
    """After booking, rescheduling or cancelling: withdraw stale texts, add the notice and reminders.

    Moved or cancelled before any text about it left: the patient was never told of it, so a move
    is announced as a booking (for the new time) and a cancellation not at all.
    """
    if notice != MessageKind.BOOKED:
        # A new appointment has no texts yet: its id was never used (rows are never deleted, and
        # messages.appointment_id is a foreign key), so there is nothing to withdraw.
        told = _told(session, told_of(appt))
        # A weekly series' one booking text is about all its sessions: dispatch moves it on to the
        # next one still on, so a change to the session it names does not withdraw it.
        withdraw(session, now, Message.appointment_id == appt.id, Message.kind != MessageKind.BOOKED_WEEKLY,
                 why=None if told else f"{notice} before the patient was told of it")
        if not told:
            if notice == MessageKind.CANCELLED:
                return
            notice = MessageKind.BOOKED
    patient = appt.patient
    prefix = f"appt{appt.id}:v{appt.version}"
    if notice == MessageKind.CANCELLED:
        _notice(session, patient, MessageKind.CANCELLED, f"appt{appt.id}:cancelled", now, appt.start_dt, settings,
                appointment_id=appt.id)
        return
    # The notice and the reminders in one INSERT: every row needs the same keys for that.
    notice_row = _row(patient, notice, f"{prefix}:{notice}", notice_due(now, patient.timezone, settings.quiet_hours),
                      now, appt.start_dt, appointment_id=appt.id, offset_minutes=None, skip_reason=None)
    insert_ignore(session, Message, [notice_row, *_reminder_rows(patient, appt.start_dt, now, prefix, settings,
                                                                appointment_id=appt.id)], "dedupe_key")


def _upcoming_rows(session: Session, patient: Patient, now: datetime, settings: Settings) -> list[dict]:
    """The reminder rows the patient's upcoming appointments and group meetings should have now."""
    rows = []
    for appt in session.scalars(select(Appointment).where(
            Appointment.patient_id == patient.id, Appointment.status.in_(ACTIVE_APPOINTMENT_STATUSES),
            Appointment.start_dt > now)):
        rows += _reminder_rows(patient, appt.start_dt, now, f"appt{appt.id}:v{appt.version}",
                               settings, appointment_id=appt.id)
    enrollments = session.scalars(select(Enrollment).where(
        Enrollment.patient_id == patient.id, Enrollment.status == EnrollmentStatus.ENROLLED)).all()
    meetings: dict[int, list[Occurrence]] = {e.group_id: [] for e in enrollments}
    if meetings:  # one query for all their groups, not one per group
        for occ in session.scalars(select(Occurrence).where(
                Occurrence.group_id.in_(list(meetings)), Occurrence.start_dt > now)):
            meetings[occ.group_id].append(occ)
    for enrollment in enrollments:
        rows += _enrollment_rows(enrollment, meetings[enrollment.group_id], now, settings)
    return rows


def replan_patient(session: Session, patient: Patient, now: datetime, *, settings: Settings) -> None:
    """After anything that moves a patient's texts (zone, phone, language, consent, START).

    A patient who may not be texted has every pending text withdrawn. Otherwise every reminder
    their upcoming sessions should have is planned again with the same rules as at booking:
    pending ones re-timed, ones withdrawn or skipped meanwhile restored (once: rows are keyed),
    missing ones created. Reminders whose moment has passed stay as they are; so do texts
    already sent, and notices (a booking text withdrawn by STOP is not sent after START).
    """
    if not patient.can_text:
        withdraw(session, now, Message.patient_id == patient.id, Message.direction == Direction.OUT,
                 why="patient opted out" if patient.opted_out_at else "no consent to texts")
        return
    wanted = {row["dedupe_key"]: row for row in _upcoming_rows(session, patient, now, settings)}
    if not wanted:
        return
    for msg in session.scalars(select(Message).where(Message.dedupe_key.in_(list(wanted)))):
        row = wanted.pop(msg.dedupe_key)
        if msg.status not in (MessageStatus.PENDING, MessageStatus.SKIPPED, MessageStatus.WITHDRAWN):
            continue  # sending, sent or failed: already on its way or settled
        if (msg.status, msg.due_at, msg.skip_reason) == (row["status"], row["due_at"], row["skip_reason"]):
            continue
        msg.status, msg.due_at, msg.skip_reason = row["status"], row["due_at"], row["skip_reason"]
        msg.session_start_dt = row["session_start_dt"]
        msg.note(row["status"], now, row["skip_reason"] or "replanned")
    by_shape: dict[frozenset, list[dict]] = {}  # one INSERT needs the same keys in every row
    for row in wanted.values():
        by_shape.setdefault(frozenset(row), []).append(row)
    for rows in by_shape.values():
        insert_ignore(session, Message, rows, "dedupe_key")


def _enrollment_rows(enrollment: Enrollment, occurrences: list[Occurrence], now: datetime,
                     settings: Settings) -> list[dict]:
    rows = []
    for occ in occurrences:
        if not occ.cancelled and occ.start_dt > now:
            rows += _reminder_rows(enrollment.patient, occ.start_dt, now, f"enr{enrollment.id}:occ{occ.id}",
                                   settings, occurrence_id=occ.id, enrollment_id=enrollment.id)
    return rows


def enrollment_reminders(session: Session, enrollment: Enrollment, occurrences: list[Occurrence],
                         now: datetime, *, settings: Settings) -> None:
    """Reminders for each of `occurrences` of an enrolled patient (idempotent)."""
    insert_ignore(session, Message, _enrollment_rows(enrollment, occurrences, now, settings), "dedupe_key")


def enrolled(session: Session, enrollment: Enrollment, now: datetime, promoted: bool = False, *,
             settings: Settings) -> None:
    """A patient took a seat: reminders for every upcoming occurrence, and a text if promoted."""
    occurrences = session.scalars(select(Occurrence).where(
        Occurrence.group_id == enrollment.group_id, Occurrence.start_dt > now)).all()
    enrollment_reminders(session, enrollment, list(occurrences), now, settings=settings)
    if promoted:
        first = next((o for o in sorted(occurrences, key=lambda o: o.start_dt) if not o.cancelled), None)
        _notice(session, enrollment.patient, MessageKind.WAITLIST_PROMOTED, f"enr{enrollment.id}:promoted", now,
                first.start_dt if first else None, settings, enrollment_id=enrollment.id,
                occurrence_id=first.id if first else None)


def dropped(session: Session, enrollment: Enrollment, now: datetime) -> None:
    """A patient left a group: their pending group texts are withdrawn."""
    withdraw(session, now, Message.enrollment_id == enrollment.id)


def occurrence_cancelled(session: Session, occurrence: Occurrence, now: datetime, *,
                         settings: Settings) -> int:
    """One meeting was called off: its reminders are withdrawn and each enrolled patient is told.

    The notice carries the enrollment, so dispatch skips it for someone who dropped meanwhile.
    Someone promoted from the waitlist whose notice has not left is not told: that notice names
    the next meeting that is on. Returns how many notices were written.
    """
    withdraw(session, now, Message.occurrence_id == occurrence.id, Message.kind == MessageKind.REMINDER,
             why="meeting cancelled")
    enrollments = session.scalars(select(Enrollment).options(selectinload(Enrollment.patient)).where(
        Enrollment.group_id == occurrence.group_id, Enrollment.status == EnrollmentStatus.ENROLLED)).all()
    told = 0
    for enrollment in enrollments:
        promotion = (Message.enrollment_id == enrollment.id, Message.kind == MessageKind.WAITLIST_PROMOTED)
        if session.scalar(select(exists().where(*promotion))) and not _told(session, *promotion):
            continue
        _notice(session, enrollment.patient, MessageKind.CANCELLED, f"enr{enrollment.id}:occ{occurrence.id}:cancelled",
                now, occurrence.start_dt, settings, enrollment_id=enrollment.id, occurrence_id=occurrence.id)
        told += 1
    return told


def occurrences_added(session: Session, group: GroupSeries, occurrences: list[Occurrence],
                      now: datetime, *, settings: Settings) -> None:
    """The horizon rolled forward: reminders for every enrolled patient."""
    _group_reminders(session, {group.id: occurrences}, now, settings)


def _group_reminders(session: Session, by_group: dict[int, list[Occurrence]], now: datetime,
                     settings: Settings) -> None:
    """Reminders for enrolled patients of each group's occurrences: one query, one insert."""
    if not by_group:
        return
    enrollments = session.scalars(select(Enrollment).options(selectinload(Enrollment.patient)).where(
        Enrollment.group_id.in_(by_group), Enrollment.status == EnrollmentStatus.ENROLLED)).all()
    rows = [row for e in enrollments for row in _enrollment_rows(e, by_group[e.group_id], now, settings)]
    insert_ignore(session, Message, rows, "dedupe_key")


def ensure_planned(session: Session, now: datetime, window: timedelta = timedelta(days=3), *,
                   settings: Settings) -> None:
    """Safety net for dispatch: (re)create any reminder due within `window` that is missing."""
    horizon = now + max(settings.reminder_offsets, default=timedelta()) + window
    appts = session.scalars(select(Appointment).options(selectinload(Appointment.patient)).where(
        Appointment.status.in_(ACTIVE_APPOINTMENT_STATUSES),
        Appointment.start_dt > now, Appointment.start_dt <= horizon)).all()
    rows = [row for appt in appts for row in _reminder_rows(
        appt.patient, appt.start_dt, now, f"appt{appt.id}:v{appt.version}", settings, appointment_id=appt.id)]
    insert_ignore(session, Message, rows, "dedupe_key")
    by_group: dict[int, list[Occurrence]] = {}
    for occ in session.scalars(select(Occurrence).where(
            Occurrence.start_dt > now, Occurrence.start_dt <= horizon, Occurrence.cancelled.is_(False))):
        by_group.setdefault(occ.group_id, []).append(occ)
    _group_reminders(session, by_group, now, settings)


REMINDED = (MessageStatus.SENT, MessageStatus.DELIVERED)  # a reminder that went out


def reminded(session: Session, appointment_ids) -> set[int]:
    """The appointments among these whose reminder went out (sent or delivered)."""
    ids = list(appointment_ids)
    return set(session.scalars(select(Message.appointment_id).where(
        Message.appointment_id.in_(ids), Message.kind == MessageKind.REMINDER,
        Message.status.in_(REMINDED)))) if ids else set()
