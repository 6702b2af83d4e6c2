"""Send the texts that are due: claim rows atomically, check each one at send time, send, record.

A row's life here: pending --claim--> sending --prepare--> sending (body fixed) --send-->
sent | pending again (retry later) | failed; prepare may instead skip it (reason recorded)
or put it back to pending for after quiet hours. `lease_until` is the claim token: whoever
set it owns the row until it passes, and every write re-checks it, so a worker that stalled
past its lease cannot overwrite the row's new owner. No transaction is open while Twilio is
being talked to (on SQLite it would hold the database's write lock).
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from flask import current_app
from sqlalchemy import bindparam, case, select, text, update
from sqlalchemy.orm import Session

from . import reminders, sms, texts
from .dbutil import is_postgres
from .models import Appointment, Enrollment, Message, Occurrence, Patient, Task

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_FIRST = timedelta(seconds=30)
BACKOFF_CAP = timedelta(minutes=15)
AMBIGUOUS_RETRY = timedelta(seconds=10)  # short: the retry starts by asking Twilio anyway
LOOKUP_MARGIN = timedelta(minutes=1)
# Rows are checked, and their sends recorded, a group at a time: at most 25 rows or about half a
# second of sending at the configured pace, so checks are that fresh and records that prompt.
PREPARE_GROUP_MAX = 25
GROUP_SECONDS = 0.5
PLAN_LOCK = 7_301_001  # pg advisory lock: one planner at a time (planning is idempotent anyway)
# Sends in flight at once: Twilio answers in 100-300 ms, so one at a time could not keep pace.
SEND_THREADS = 4
COUNTS = ("claimed", "sent", "skipped", "deferred", "retry", "failed", "lost", "released")


class Verdict(NamedTuple):
    """What the send-time checks decided: skip (with why), defer (until when), or send."""

    skip: str | None = None
    defer_to: datetime | None = None


@dataclass
class Outgoing:
    """A prepared row, ready to leave: who owns it (token) and exactly what goes out."""

    id: int
    token: datetime
    to: str
    body: str
    history: list


class Sent(NamedTuple):
    """Twilio accepted a prepared row's text: its sid, and when we heard."""

    out: Outgoing
    sid: str
    at: datetime


class Pacer:
    """At most `per_second` sends per second in this process, evenly spaced (Twilio's limit)."""

    def __init__(self, per_second: float | None, clock=time.monotonic, sleep=time.sleep):
        self.interval = 1.0 / per_second if per_second else 0.0
        self._clock, self._sleep, self._next = clock, sleep, 0.0
        self._lock = threading.Lock()  # the sending threads share one pace

    def wait(self) -> None:
        """Block until the next send is allowed."""
        if not self.interval:
            return
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            self._sleep(slot - now)


def _note(msg: Message, status: str, now: datetime, detail: str | None = None) -> None:
    entry = {"status": status, "at": now.isoformat()}
    if detail:
        entry["detail"] = detail
    msg.history = [*(msg.history or []), entry]  # a new list, so the JSON column is saved


def backoff(attempts: int) -> timedelta:
    """Wait before retry number `attempts`: 30 s, doubling, at most 15 minutes."""
    return min(BACKOFF_FIRST * 2 ** max(attempts - 1, 0), BACKOFF_CAP)


# -- claiming ------------------------------------------------------------------------------
def claim(session: Session, now: datetime, limit: int, lease: timedelta) -> list[int]:
    """Take up to `limit` due outbound rows for this caller until now + lease; commits."""
    return [msg_id for msg_id, _ in _claim(session, now, limit, lease)]


def _claim(session: Session, now: datetime, limit: int, lease: timedelta) -> list[tuple[int, bool]]:
    """claim(), returning (id, uncertain) pairs.

    Due means pending with due_at <= now, or sending with an expired lease (its worker died:
    the row is marked uncertain, as the text may have left). PostgreSQL skips rows another
    claimer holds; SQLite's transaction began with BEGIN IMMEDIATE, so claimers take turns.
    """
    due = (((Message.status == "pending") & (Message.due_at <= now))
           | ((Message.status == "sending") & (Message.lease_until < now)))
    pick = (select(Message.id).where(Message.direction == "out", due)
            .order_by(Message.due_at, Message.id).limit(limit).with_for_update(skip_locked=True))
    stmt = (update(Message).where(Message.id.in_(pick))
            .values(status="sending", lease_until=now + lease, attempts=Message.attempts + 1,
                    uncertain=case((Message.status == "sending", True), else_=Message.uncertain))
            .returning(Message.id, Message.uncertain)
            .execution_options(synchronize_session=False))
    rows = sorted(tuple(row) for row in session.execute(stmt))
    session.commit()
    return rows


def release(session: Session, ids: list[int], token: datetime) -> int:
    """Hand claimed rows back untouched (a worker shutting down); returns how many."""
    if not ids:
        return 0
    count = session.execute(
        update(Message).where(Message.id.in_(ids), Message.status == "sending",
                              Message.lease_until == token)
        .values(status="pending", lease_until=None, attempts=Message.attempts - 1)
        .execution_options(synchronize_session=False)).rowcount
    session.commit()
    return count or 0


def _ours(session: Session, msg_id: int, token: datetime | None) -> Message | None:
    """The row, locked and fresh, if it is still ours (sending under our lease)."""
    msg = session.execute(select(Message).where(Message.id == msg_id).with_for_update()
                          .execution_options(populate_existing=True)).scalar_one_or_none()
    if msg is None or msg.status != "sending" or msg.lease_until != token:
        return None
    return msg


# -- checks at send time -------------------------------------------------------------------
def _session_reason(session: Session, msg: Message, now: datetime) -> str | None:
    """Why the appointment or group meeting the text is about no longer fits it, if it does not."""
    if msg.appointment_id is not None:
        appt = session.get(Appointment, msg.appointment_id)
        if msg.kind == "cancelled":
            return None if appt is not None and appt.status == "cancelled" else "not_cancelled"
        if appt is None or appt.status in ("cancelled", "late_cancelled"):
            return "cancelled"
        if not appt.is_active:
            return "session_started"  # attendance already recorded
        return "time_changed" if appt.start_dt != msg.session_start_dt else None
    if msg.enrollment_id is not None:
        enrollment = session.get(Enrollment, msg.enrollment_id)
        if enrollment is None or enrollment.status != "enrolled":
            return "dropped"
        if msg.kind == "waitlist_promoted":
            # The notice names the next meeting; if that one is gone or past, name the one after.
            occ = session.get(Occurrence, msg.occurrence_id) if msg.occurrence_id else None
            if occ is None or occ.cancelled or occ.start_dt <= now:
                occ = session.scalars(select(Occurrence).where(
                    Occurrence.group_id == enrollment.group_id, Occurrence.cancelled.is_(False),
                    Occurrence.start_dt > now).order_by(Occurrence.start_dt).limit(1)).first()
                if occ is None:
                    return "no_upcoming_session"
                msg.occurrence_id, msg.session_start_dt = occ.id, occ.start_dt
            return None
    if msg.occurrence_id is not None:
        occ = session.get(Occurrence, msg.occurrence_id)
        if occ is None or occ.cancelled:
            return "cancelled"
        return "time_changed" if occ.start_dt != msg.session_start_dt else None
    if msg.kind in ("booked", "reminder", "rescheduled", "waitlist_promoted"):
        return "no_session"
    return None


def check(session: Session, msg: Message, patient: Patient | None, now: datetime,
          quiet) -> Verdict:
    """The send-time checks, in order: patient, session, timing, quiet hours."""
    if patient is None:
        return Verdict(skip="no_patient")
    if patient.opted_out_at is not None:
        return Verdict(skip="opted_out")
    if not patient.sms_consent:
        return Verdict(skip="no_consent")
    reason = _session_reason(session, msg, now)
    if reason:
        return Verdict(skip=reason)
    start = msg.session_start_dt if msg.kind != "cancelled" else None
    if start is not None and start <= now:
        return Verdict(skip="session_started")
    lead = timedelta(minutes=msg.offset_minutes) if msg.offset_minutes else None
    if lead and start is not None and start - now < lead / 2:
        return Verdict(skip="stale")  # a 48h reminder is not sent 3 hours before
    if reminders.in_quiet_hours(now, patient.timezone, quiet):
        later = reminders.notice_due(now, patient.timezone, quiet)
        if start is not None and (later >= start or (lead and start - later < lead / 2)):
            return Verdict(skip="quiet_hours")
        return Verdict(defer_to=later)
    return Verdict()


def _render(msg: Message, patient: Patient, config) -> str:
    return texts.render(msg.kind, patient.language, clinic_name=config["CLINIC_SMS_NAME"],
                        clinic_phone=config["CLINIC_PHONE"], start_dt=msg.session_start_dt,
                        tz=patient.timezone)


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
            config) -> tuple[list[Outgoing], dict[str, int]]:
    """Check claimed rows and fix their texts, or skip/defer them; one commit for all of them.

    Returns the rows ready to send (now owned until now + send_lease) and the other outcomes.
    """
    counts = dict.fromkeys(("skipped", "deferred", "lost"), 0)
    msgs = session.scalars(select(Message).where(Message.id.in_(ids)).order_by(Message.id)
                           .with_for_update().execution_options(populate_existing=True)).all()
    ours = [m for m in msgs if m.status == "sending" and m.lease_until == token]
    counts["lost"] = len(ids) - len(ours)
    related = _load_for_checks(session, ours)  # noqa: F841 (held so the identity map keeps them)
    ready = []
    for msg in ours:
        patient = session.get(Patient, msg.patient_id) if msg.patient_id is not None else None
        verdict = check(session, msg, patient, now, config["QUIET_HOURS"])
        body = None
        if verdict.skip is None and verdict.defer_to is None:
            try:
                body = _render(msg, patient, config)
            except ValueError:
                verdict = Verdict(skip="unrenderable")
        if verdict.skip:
            msg.status, msg.skip_reason, msg.lease_until = "skipped", verdict.skip, None
            _note(msg, "skipped", now, verdict.skip)
            counts["skipped"] += 1
        elif verdict.defer_to is not None:
            msg.status, msg.due_at, msg.lease_until = "pending", verdict.defer_to, None
            msg.attempts -= 1  # nothing was attempted
            _note(msg, "pending", now, "quiet hours: deferred")
            counts["deferred"] += 1
        else:
            msg.to_phone, msg.body = patient.phone, body
            # While a send may have left unrecorded, keep the earliest start: the lookup searches from it.
            if not (msg.uncertain and msg.send_started_at):
                msg.send_started_at = now
            msg.lease_until = now + send_lease
            _note(msg, "sending", now, f"attempt {msg.attempts}")
            ready.append(Outgoing(msg.id, msg.lease_until, patient.phone, body, list(msg.history)))
    session.commit()
    return ready, counts


# -- outcomes ------------------------------------------------------------------------------
def record_sent(session: Session, msg_id: int, now: datetime, sid: str, detail: str | None = None) -> str:
    """Twilio has the text: record its sid, even if our lease ran out meanwhile (it is the truth)."""
    msg = session.execute(select(Message).where(Message.id == msg_id).with_for_update()
                          .execution_options(populate_existing=True)).scalar_one_or_none()
    if msg is None:
        session.rollback()
        return "lost"
    if msg.twilio_sid is not None:
        if msg.twilio_sid != sid:
            log.error("message %s reached Twilio twice (sids %s and %s)", msg_id, msg.twilio_sid, sid)
        session.rollback()
        return "lost"
    msg.status, msg.twilio_sid, msg.sent_at, msg.uncertain = "sent", sid, now, False
    msg.lease_until, msg.error_code, msg.error = None, None, None
    _note(msg, "sent", now, detail)
    session.commit()
    return "sent"


_table = Message.__table__
# Plain UPDATE run once per accepted text of a group (executemany): no ORM work on the hot path.
_MARK_SENT = (update(_table)
              .where(_table.c.id == bindparam("m_id"), _table.c.status == "sending",
                     _table.c.lease_until == bindparam("token"))
              .values(status="sent", twilio_sid=bindparam("t_sid"), sent_at=bindparam("at"),
                      uncertain=False, lease_until=None, error_code=None, error=None,
                      history=bindparam("hist")))


def record_sent_many(session: Session, sent: list[Sent]) -> dict[str, int]:
    """Record a group's accepted texts in one transaction; returns outcome counts.

    If a crash loses this commit, the rows are taken over as uncertain and found at Twilio
    by the lookup: never sent twice. A row that changed hands meanwhile is recorded alone.
    """
    if not sent:
        return {}
    done = session.execute(_MARK_SENT, [
        dict(m_id=s.out.id, token=s.out.token, t_sid=s.sid, at=s.at,
             hist=[*s.out.history, {"status": "sent", "at": s.at.isoformat()}]) for s in sent]).rowcount
    session.commit()
    if done == len(sent):  # both dialects report executemany's row count
        return {"sent": done}
    recorded = set(session.scalars(select(Message.id).where(Message.twilio_sid.in_([s.sid for s in sent]))))
    session.rollback()
    counts = {"sent": len(recorded)}
    for s in sent:
        if s.out.id not in recorded:
            outcome = record_sent(session, s.out.id, s.at, s.sid)
            counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def _task(session: Session, msg: Message, kind: str, detail: str, now: datetime) -> None:
    session.add(Task(patient_id=msg.patient_id, kind=kind, message_id=msg.id,
                     appointment_id=msg.appointment_id, detail=detail[:300], created_at=now))


def record_failure(session: Session, msg_id: int, token: datetime, now: datetime,
                   exc: sms.SmsError) -> str:
    """Retry later, or give up visibly (a staff task); a 21610 opts the patient out."""
    msg = _ours(session, msg_id, token)
    if msg is None:
        session.rollback()
        log.warning("message %s: outcome not recorded, the row changed hands", msg_id)
        return "lost"
    msg.error_code, msg.error, msg.lease_until = exc.code, exc.detail[:300], None
    if exc.kind == sms.AMBIGUOUS:
        msg.uncertain = True
    if exc.kind == sms.OPTED_OUT:
        patient = session.get(Patient, msg.patient_id) if msg.patient_id is not None else None
        if patient is not None and patient.opted_out_at is None:
            patient.opted_out_at = now
        _task(session, msg, "opt_out", "Twilio refused: the number replied STOP; call them", now)
    elif exc.kind == sms.PERMANENT:
        _task(session, msg, "sms_failed", f"Text not sent: {exc.detail}", now)
    elif msg.attempts >= MAX_ATTEMPTS:
        msg.error = f"gave up after {msg.attempts} attempts: {exc.detail}"[:300]
        _task(session, msg, "sms_failed", msg.error, now)
    else:
        wait = AMBIGUOUS_RETRY if exc.kind == sms.AMBIGUOUS else backoff(msg.attempts)
        msg.status, msg.due_at = "pending", now + wait
        _note(msg, "pending", now, f"retry: {exc.detail}")
        session.commit()
        return "retry"
    msg.status = "failed"
    _note(msg, "failed", now, msg.error)
    session.commit()
    log.warning("message %s failed (%s)", msg_id, exc.kind)
    return "failed"


# -- one row, one pass ---------------------------------------------------------------------
def _look_up(session: Session, msg_id: int, token: datetime, now_fn: Callable[[], datetime],
             backend) -> str | None:
    """An uncertain row: ask Twilio first. Returns an outcome when that settled it, else None."""
    msg = _ours(session, msg_id, token)
    earlier = None
    if msg is not None and msg.body and msg.to_phone and msg.send_started_at:
        earlier = (msg.to_phone, msg.body, msg.send_started_at - LOOKUP_MARGIN)
    session.rollback()  # no transaction stays open while Twilio is asked
    if earlier is None:
        return None  # never prepared, so never sent
    try:
        sid = backend.find_sent(*earlier)
    except sms.SmsError as exc:
        return record_failure(session, msg_id, token, now_fn(), exc)
    if sid:
        return record_sent(session, msg_id, now_fn(), sid, "found at Twilio after an unanswered send")
    return None


def send(session: Session, out: Outgoing, now_fn: Callable[[], datetime], backend, pacer: Pacer,
         config, should_stop: Callable[[], bool] = lambda: False) -> Sent | str:
    """Send one prepared row. Sent for the caller to record (record_sent_many), else the outcome."""
    base = config.get("PUBLIC_BASE_URL")
    pacer.wait()
    if should_stop():
        release(session, [out.id], out.token)
        return "released"
    try:
        result = backend.send(out.to, out.body, status_callback=f"{base}/sms/status" if base else None)
    except sms.SmsError as exc:
        return record_failure(session, out.id, out.token, now_fn(), exc)
    return Sent(out, result.sid, now_fn())


def plan(session: Session, now: datetime) -> bool:
    """Materialise missing reminders (reminders.ensure_planned); one planner at a time."""
    if is_postgres(session) and not session.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"),
                                                   {"k": PLAN_LOCK}):
        session.rollback()
        return False
    reminders.ensure_planned(session, now)
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


def run_once(session: Session, now_fn: Callable[[], datetime], backend, pacer: Pacer | None = None,
             should_stop: Callable[[], bool] = lambda: False, planning: bool = True) -> dict[str, int]:
    """One pass: plan, then claim and send batches until nothing is due; returns counts.

    Rows are checked in small groups just before they leave (see GROUP_SECONDS), so a
    cancellation is seen at most about half a second before a send. On PostgreSQL
    several sends are in flight at once (SQLite has one writer: there they go one by one).
    """
    config = current_app.config
    pacer = pacer or Pacer(config["SMS_MAX_PER_SECOND"])
    sessions = _Sessions(session.get_bind())
    work = sessions.get()
    threads = SEND_THREADS if is_postgres(work) else 1
    pool = ThreadPoolExecutor(threads, thread_name_prefix="sms-send") if threads > 1 else None
    try:
        counts = _run(work, sessions, pool, now_fn, backend, pacer, should_stop, planning, config)
    finally:
        if pool is not None:
            pool.shutdown()
        sessions.close()
    if counts["claimed"]:
        log.info("dispatch: %s", " ".join(f"{k}={v}" for k, v in counts.items()))
    return counts


def _run(work: Session, sessions: _Sessions, pool, now_fn, backend, pacer: Pacer, should_stop,
         planning: bool, config) -> dict[str, int]:
    counts = dict.fromkeys(COUNTS, 0)
    if planning:
        plan(work, now_fn())
    lease = timedelta(seconds=config["DISPATCH_LEASE_SECONDS"])
    # Sending can outlast a short lease; a row being sent must not be taken over meanwhile.
    send_lease = max(lease, timedelta(seconds=2 * float(config["SMS_TIMEOUT_SECONDS"]) + 5))
    group = max(1, min(PREPARE_GROUP_MAX, int(float(config["SMS_MAX_PER_SECOND"]) * GROUP_SECONDS)))
    sending = (now_fn, backend, pacer, config, should_stop)
    while not should_stop():
        now = now_fn()
        claimed = _claim(work, now, config["DISPATCH_BATCH_SIZE"], lease)
        if not claimed:
            break
        counts["claimed"] += len(claimed)
        token = now + lease
        todo = []
        for msg_id, uncertain in claimed:
            outcome = _look_up(work, msg_id, token, now_fn, backend) if uncertain else None
            if outcome:
                counts[outcome] += 1
            else:
                todo.append(msg_id)
        for start in range(0, len(todo), group):
            if should_stop():
                release(work, todo[start:], token)
                break
            ready, other = prepare(work, todo[start:start + group], token, now_fn(), send_lease, config)
            for key, value in other.items():
                counts[key] += value
            if pool is None or len(ready) < 2:
                results = [send(work, out, *sending) for out in ready]
            else:
                results = list(pool.map(lambda out: send(sessions.get(), out, *sending), ready))
            for result in results:
                if isinstance(result, str):
                    counts[result] += 1
            for key, value in record_sent_many(work, [r for r in results if isinstance(r, Sent)]).items():
                counts[key] += value
    return counts
