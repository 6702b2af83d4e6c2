"""Send the texts that are due: claim rows atomically, check each one at send time, send, record.

A row's life here: pending --claim--> sending --prepare--> sending (body fixed) --send-->
sent | pending again (retry later) | failed; prepare may instead skip it (reason recorded)
or put it back to pending for after quiet hours. `lease_until` is the claim token: whoever
set it owns the row until it passes, and every write re-checks it, so a worker that stalled
past its lease cannot overwrite the row's new owner. Sending and recording the outcome live
in sending.py; why a text was skipped or deferred is decided here, in check().

A pass's `now` is the database server's clock (core.clock.database_clock) unless a caller
hands it another: due times, quiet hours, leases and takeovers then mean the same on every
worker, whatever its own clock says.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from scheduler.core.clock import database_clock
from scheduler.core.db import AdvisoryLock, database_now, is_postgres, take_turn
from scheduler.core.settings import Settings
from scheduler.messaging import reminders, sending, templates, texts, weekly, workers
from scheduler.messaging.sending import Outgoing, Pacer, Sent
from scheduler.messaging.sms import SmsBackend
from scheduler.models import (
    Appointment,
    AppointmentStatus,
    Direction,
    Enrollment,
    EnrollmentStatus,
    Message,
    MessageKind,
    MessageStatus,
    Occurrence,
    Patient,
    SkipReason,
)

log = logging.getLogger(__name__)

# Rows are checked, and their sends recorded, a group at a time: at most 25 rows or about half a
# second of sending at the configured pace, so checks are that fresh and records that prompt.
PREPARE_GROUP_MAX = 25
GROUP_SECONDS = 0.5
# Sends in flight at once: Twilio answers in 100-300 ms, so one at a time could not keep pace.
SEND_THREADS = 4
COUNTS = ("claimed", "sent", "skipped", "deferred", "retry", "failed", "lost", "released")


class Verdict(NamedTuple):
    """What the send-time checks decided: skip (with why), defer (until when), or send."""

    skip: str | None = None
    defer_to: datetime | None = None


# -- claiming ------------------------------------------------------------------------------
def claim(session: Session, now: datetime, limit: int, lease: timedelta, worker_id: str | None = None) -> list[int]:
    """Take up to `limit` due outbound rows for this caller until now + lease; commits."""
    return [msg_id for msg_id, _ in _claim(session, now, limit, lease, worker_id)]


def _claim(session: Session, now: datetime, limit: int, lease: timedelta,
           worker_id: str | None = None) -> list[tuple[int, bool]]:
    """claim(), returning (id, uncertain) pairs.

    Due means pending with due_at <= now, or sending with an expired lease or a dead owner
    (workers.taken_over: its worker stopped beating). Such a row is marked uncertain, as the
    text may have left. PostgreSQL skips rows another claimer holds; SQLite's transaction
    began with BEGIN IMMEDIATE, so claimers take turns. A claim is not an attempt: attempts
    count sends that reached Twilio or failed there (sending.py). Liveness is judged by the
    database's clock, the one heartbeats are written with, whatever `now` the caller passes.
    """
    dead = workers.taken_over(database_now(session))
    due = (((Message.status == MessageStatus.PENDING) & (Message.due_at <= now))
           | ((Message.status == MessageStatus.SENDING) & ((Message.lease_until < now) | dead)))
    pick = (select(Message.id).where(Message.direction == Direction.OUT, due)
            .order_by(Message.due_at, Message.id).limit(limit).with_for_update(skip_locked=True))
    stmt = (update(Message).where(Message.id.in_(pick))
            .values(status=MessageStatus.SENDING, lease_until=now + lease, claimed_by=worker_id,
                    uncertain=case((Message.status == MessageStatus.SENDING, True), else_=Message.uncertain))
            .returning(Message.id, Message.uncertain)
            .execution_options(synchronize_session=False))
    rows = sorted(tuple(row) for row in session.execute(stmt))
    session.commit()
    return rows


# -- checks at send time -------------------------------------------------------------------
def _session_reason(session: Session, msg: Message, now: datetime) -> str | None:
    """Why the appointment or group meeting the text is about no longer fits it, if it does not."""
    if msg.kind == MessageKind.NO_SHOW_OUTREACH:  # about a missed session: its rules are aftercare's
        from scheduler.aftercare import outreach

        return outreach.reason_not_to_send(session, msg, now)
    if msg.kind == MessageKind.BOOKED_WEEKLY and msg.appointment_id is not None:
        return _weekly_reason(session, msg, now)
    if msg.appointment_id is not None:
        appt = session.get(Appointment, msg.appointment_id)
        if msg.kind in (MessageKind.CANCELLED, MessageKind.CANCELLED_WEEKLY):
            return None if appt is not None and appt.status == AppointmentStatus.CANCELLED else SkipReason.NOT_CANCELLED
        if appt is None or appt.status in (AppointmentStatus.CANCELLED, AppointmentStatus.LATE_CANCELLED):
            return SkipReason.CANCELLED
        if not appt.is_active:
            return SkipReason.SESSION_STARTED  # attendance already recorded
        return SkipReason.TIME_CHANGED if appt.start_dt != msg.session_start_dt else None
    if msg.enrollment_id is not None:
        enrollment = session.get(Enrollment, msg.enrollment_id)
        if enrollment is None or enrollment.status != EnrollmentStatus.ENROLLED:
            return SkipReason.DROPPED
        if msg.kind == MessageKind.WAITLIST_PROMOTED:
            # The notice names the next meeting; if that one is gone or past, name the one after.
            occ = session.get(Occurrence, msg.occurrence_id) if msg.occurrence_id else None
            if occ is None or occ.cancelled or occ.start_dt <= now:
                occ = session.scalars(select(Occurrence).where(
                    Occurrence.group_id == enrollment.group_id, Occurrence.cancelled.is_(False),
                    Occurrence.start_dt > now).order_by(Occurrence.start_dt).limit(1)).first()
                if occ is None:
                    return SkipReason.NO_UPCOMING_SESSION
                msg.occurrence_id, msg.session_start_dt = occ.id, occ.start_dt
            return None
    if msg.occurrence_id is not None:
        occ = session.get(Occurrence, msg.occurrence_id)
        if msg.kind == MessageKind.CANCELLED:  # the notice is about the meeting being called off
            return None if occ is not None and occ.cancelled else SkipReason.NOT_CANCELLED
        if occ is None or occ.cancelled:
            return SkipReason.CANCELLED
        return SkipReason.TIME_CHANGED if occ.start_dt != msg.session_start_dt else None
    if msg.kind in (MessageKind.BOOKED, MessageKind.REMINDER, MessageKind.RESCHEDULED,
                    MessageKind.WAITLIST_PROMOTED):
        return SkipReason.NO_SESSION
    return None


def _weekly_reason(session: Session, msg: Message, now: datetime) -> str | None:
    """A weekly series' booking text names its next session still on (moving on when the one it
    named was cancelled, moved or has begun), or is not sent when none is left."""
    appt = session.get(Appointment, msg.appointment_id)
    if appt is not None and appt.is_active and appt.start_dt > now and appt.start_dt == msg.session_start_dt:
        return None
    upcoming = weekly.next_session(session, appt.series_id, now) if appt is not None and appt.series_id else None
    if upcoming is None:
        return SkipReason.NO_UPCOMING_SESSION
    msg.appointment_id, msg.session_start_dt = upcoming.id, upcoming.start_dt
    return None


def check(session: Session, msg: Message, patient: Patient | None, now: datetime,
          quiet, offsets: tuple = ()) -> Verdict:
    """The send-time checks, in order: patient, session, timing, quiet hours."""
    if patient is None:
        return Verdict(skip=SkipReason.NO_PATIENT)
    if patient.opted_out_at is not None:
        return Verdict(skip=SkipReason.OPTED_OUT)
    if not patient.sms_consent:
        return Verdict(skip=SkipReason.NO_CONSENT)
    reason = _session_reason(session, msg, now)
    if reason:
        return Verdict(skip=reason)
    start = msg.session_start_dt if msg.kind not in (MessageKind.CANCELLED, MessageKind.CANCELLED_WEEKLY) else None
    if start is not None and start <= now:
        return Verdict(skip=SkipReason.SESSION_STARTED)
    if msg.offset_minutes and start is not None:
        skip, later = reminders.timing(start, reminders.offset_for(msg.offset_minutes, offsets), patient.timezone,
                                       quiet, now)
        return Verdict(skip=skip, defer_to=later)
    if reminders.in_quiet_hours(now, patient.timezone, quiet):
        later = reminders.notice_due(now, patient.timezone, quiet)
        return Verdict(skip=SkipReason.QUIET_HOURS) if start is not None and later >= start else Verdict(defer_to=later)
    return Verdict()


def _render(msg: Message, patient: Patient, settings: Settings, wording: dict) -> str:
    return texts.render(msg.kind, patient.language, clinic_name=settings.clinic_sms_name,
                        clinic_phone=settings.clinic_phone, start_dt=msg.session_start_dt,
                        tz=patient.timezone, overrides=wording)


def _load_for_checks(session: Session, msgs: list[Message]) -> list:
    """Load the patients, appointments, occurrences and enrollments of `msgs` in a few queries.

    While the caller holds the returned list, session.get() finds them in the identity map.
    """
    loaded = []
    for model, attr in ((Patient, "patient_id"), (Appointment, "appointment_id"),
                        (Occurrence, "occurrence_id"), (Enrollment, "enrollment_id")):
        ids = {getattr(m, attr) for m in msgs} - {None}
        if ids:
            loaded += session.scalars(select(model).where(model.id.in_(ids))).all()
    return loaded


def prepare(session: Session, ids: list[int], token: datetime, now: datetime, send_lease: timedelta,
            settings: Settings, wording: dict | None = None) -> tuple[list[Outgoing], dict[str, int]]:
    """Check claimed rows and fix their texts, or skip/defer them; one commit for all of them.

    Returns the rows ready to send (now owned until now + send_lease) and the other outcomes.
    `wording` is the admins' stored templates (read here when not given; a pass reads them once).
    """
    counts = dict.fromkeys(("skipped", "deferred", "lost"), 0)
    msgs = session.scalars(select(Message).where(Message.id.in_(ids)).order_by(Message.id)
                           .with_for_update().execution_options(populate_existing=True)).all()
    ours = [m for m in msgs if m.status == MessageStatus.SENDING and m.lease_until == token]
    counts["lost"] = len(ids) - len(ours)
    related = _load_for_checks(session, ours)  # noqa: F841 (held so the identity map keeps them)
    ready = []
    if wording is None:
        wording = templates.overrides(session) if ours else {}
    for msg in ours:
        patient = session.get(Patient, msg.patient_id) if msg.patient_id is not None else None
        verdict = check(session, msg, patient, now, settings.quiet_hours, settings.reminder_offsets)
        body = None
        if verdict.skip is None and verdict.defer_to is None:
            try:
                body = _render(msg, patient, settings, wording)
            except ValueError:
                verdict = Verdict(skip=SkipReason.UNRENDERABLE)
        if verdict.skip:
            msg.status, msg.skip_reason, msg.lease_until = MessageStatus.SKIPPED, verdict.skip, None
            msg.note(MessageStatus.SKIPPED, now, verdict.skip)
            counts["skipped"] += 1
        elif verdict.defer_to is not None:
            msg.status, msg.due_at, msg.lease_until = MessageStatus.PENDING, verdict.defer_to, None
            msg.note(MessageStatus.PENDING, now, "quiet hours: deferred")
            counts["deferred"] += 1
        else:
            msg.to_phone, msg.body = patient.phone, body
            # While a send may have left unrecorded, keep the earliest start: the lookup searches from it.
            if not (msg.uncertain and msg.send_started_at):
                msg.send_started_at = now
            msg.lease_until = now + send_lease
            msg.note(MessageStatus.SENDING, now, f"attempt {msg.attempts + 1}")
            ready.append(Outgoing(msg.id, msg.lease_until, patient.phone, body, list(msg.history)))
    session.commit()
    return ready, counts


# -- one pass ------------------------------------------------------------------------------
def plan(session: Session, now: datetime, settings: Settings) -> bool:
    """Materialise missing reminders (reminders.ensure_planned); one planner at a time."""
    if not take_turn(session, AdvisoryLock.PLAN):
        session.rollback()
        return False
    reminders.ensure_planned(session, now, settings=settings)
    session.commit()
    return True


class _Sessions:
    """One session per thread for a pass, each on a connection it keeps (no checkout per commit)."""

    def __init__(self, engine):
        self.engine, self._local, self._open, self._lock = engine, threading.local(), [], threading.Lock()

    def get(self) -> Session:
        session = getattr(self._local, "session", None)
        if session is None:
            conn = self.engine.connect()
            session = self._local.session = Session(bind=conn)
            with self._lock:
                self._open.append((session, conn))
        return session

    def close(self) -> None:
        for session, conn in self._open:
            session.close()
            conn.close()


@dataclass(frozen=True)
class _Pass:
    """What one pass works with, fixed for its length: its clock, sessions, backend and limits."""

    sessions: _Sessions
    pool: ThreadPoolExecutor | None
    now_fn: Callable[[], datetime]
    backend: SmsBackend
    pacer: Pacer
    should_stop: Callable[[], bool]
    planning: bool
    settings: Settings
    worker_id: str

    def send(self, session: Session, out: Outgoing) -> Sent | str:
        """Send one prepared row (sending.send) with this pass's clock, backend and pace."""
        return sending.send(session, out, self.now_fn, self.backend, self.pacer, self.settings,
                            self.should_stop)


def run_once(session: Session, now_fn: Callable[[], datetime] | None, backend: SmsBackend,
             pacer: Pacer | None = None, should_stop: Callable[[], bool] = lambda: False,
             planning: bool = True, *, settings: Settings,
             worker: workers.Heartbeat | None = None) -> dict[str, int]:
    """One pass: plan, then claim and send batches until nothing is due; returns counts.

    `now_fn` None (the worker, the command) means the database's clock (core.clock.database_clock).
    Rows are checked in small groups just before they leave (see GROUP_SECONDS), so a
    cancellation is seen at most about half a second before a send. On PostgreSQL
    several sends are in flight at once (SQLite has one writer: there they go one by one).
    Claims name `worker` (a pass without one beats for itself while it runs); sending stops
    as soon as its heartbeat goes stale, before another worker may take its rows over.
    """
    engine = session.get_bind()
    now_fn = now_fn or database_clock(engine)
    sessions = _Sessions(engine)
    own = workers.Heartbeat(engine).start() if worker is None else None
    beat = worker or own

    def stop() -> bool:
        return should_stop() or not beat.alive()
    work = sessions.get()
    threads = SEND_THREADS if is_postgres(work) else 1
    pool = ThreadPoolExecutor(threads, thread_name_prefix="sms-send") if threads > 1 else None
    run = _Pass(sessions, pool, now_fn, backend, pacer or Pacer(settings.sms_max_per_second), stop, planning,
                settings, beat.id)
    try:
        counts = _run(work, run)
    finally:
        if pool is not None:
            pool.shutdown()
        sessions.close()
        if own is not None:
            own.stop()
    if counts["claimed"]:
        log.info("dispatch: %s", " ".join(f"{k}={v}" for k, v in counts.items()))
    return counts


def _run(work: Session, run: _Pass) -> dict[str, int]:
    """The pass's loop: claim a batch, look up the uncertain, prepare and send in groups."""
    counts = dict.fromkeys(COUNTS, 0)
    settings, now_fn, should_stop = run.settings, run.now_fn, run.should_stop
    if run.planning:
        plan(work, now_fn(), settings)
    lease = timedelta(seconds=settings.dispatch_lease_seconds)
    # Sending can outlast a short lease; a row being sent must not be taken over meanwhile.
    send_lease = max(lease, timedelta(seconds=2 * settings.sms_timeout_seconds + 5))
    group = max(1, min(PREPARE_GROUP_MAX, int(settings.sms_max_per_second * GROUP_SECONDS)))
    wording = None  # the admins' templates, read once per pass when the first group needs them
    while not should_stop():
        now = now_fn()
        claimed = _claim(work, now, settings.dispatch_batch_size, lease, run.worker_id)
        if not claimed:
            break
        counts["claimed"] += len(claimed)
        token = now + lease
        todo = []
        for msg_id, uncertain in claimed:
            try:
                outcome = sending.look_up(work, msg_id, token, now_fn, run.backend) if uncertain else None
            except Exception as exc:  # one row's trouble must never stop the pass or hold up others
                log.error("message %s: lookup failed (%s); retried later", msg_id, type(exc).__name__)
                sending.set_aside(work, msg_id, token, now_fn())
                counts["retry"] += 1
                continue
            if outcome:
                counts[outcome] += 1
            else:
                todo.append(msg_id)
        for start in range(0, len(todo), group):
            if should_stop():
                sending.release(work, todo[start:], token)
                break
            if wording is None:
                wording = templates.overrides(work)
            ready, other = prepare(work, todo[start:start + group], token, now_fn(), send_lease, settings,
                                   wording)
            for key, value in other.items():
                counts[key] += value
            if run.pool is None or len(ready) < 2:
                results = [run.send(work, out) for out in ready]
            else:
                results = list(run.pool.map(lambda out: run.send(run.sessions.get(), out), ready))
            for result in results:
                if isinstance(result, str):
                    counts[result] += 1
            accepted = [r for r in results if isinstance(r, Sent)]
            for key, value in sending.record_sent_many(work, accepted).items():
                counts[key] += value
    return counts
