"""The worker process: APScheduler calls plain functions; the database, not APScheduler, remembers.

Nothing here is started by create_app or at import (under gunicorn that would run once per
web worker). `flask --app wsgi worker` calls run_worker. Any number of workers may run
against one database: dispatch claims rows, the horizon and the follow-ups are idempotent
and take turns (core.db.take_turn: an advisory lock on PostgreSQL, BEGIN IMMEDIATE on SQLite).
Dispatch runs on the database's clock, so workers on machines whose clocks differ agree.
"""
from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from scheduler.core import settings
from scheduler.core.clock import now as _now
from scheduler.core.db import AdvisoryLock, database_now, take_turn
from scheduler.extensions import db
from scheduler.messaging import dispatch, sending, sms, statuses, workers
from scheduler.models import (
    ACTIVE_APPOINTMENT_STATUSES,
    Appointment,
    AppointmentStatus,
    Direction,
    Message,
    MessageStatus,
    Task,
    TaskKind,
)
from scheduler.aftercare.no_shows import group_no_show_tasks
from scheduler.scheduling import groups

log = logging.getLogger(__name__)

FOLLOW_UP_AFTER = timedelta(hours=24)  # no attendance recorded this long after the end: ask staff
FOLLOW_UP_LOOKBACK = timedelta(days=14)  # older sessions are not raked up when a worker first starts
PLAN_EVERY = timedelta(minutes=1)


def dispatch_job(app: Flask, backend: sms.SmsBackend, pacer: sending.Pacer, stop: threading.Event,
                 now_fn: Callable[[], datetime] | None = None,
                 worker: workers.Heartbeat | None = None) -> dict[str, int]:
    """Send what is due, by the database's clock unless `now_fn` is given; replanning is the plan job's."""
    with app.app_context():
        return dispatch.run_once(db.session, now_fn, backend, pacer, should_stop=stop.is_set,
                                 planning=False, settings=settings.of(app), worker=worker)


def plan(session: Session, now: datetime) -> bool:
    """Safety net: reminders missing for sessions in the coming days (reminders.ensure_planned)."""
    return dispatch.plan(session, now, settings.current())


def extend_horizon(session: Session, now: datetime) -> None:
    """Materialise group occurrences (and their reminders) GROUP_HORIZON_WEEKS ahead."""
    if not take_turn(session, AdvisoryLock.HORIZON):
        session.rollback()
        return
    groups.extend_horizon(session, now, settings=settings.current())
    session.commit()


def no_show_followups(session: Session, now: datetime) -> int:
    """One staff task per appointment or group seat marked no_show, and per appointment left without
    attendance for a day."""
    if not take_turn(session, AdvisoryLock.FOLLOW_UP):
        session.rollback()
        return 0

    def without_task(kind: str):
        return ~exists().where(Task.appointment_id == Appointment.id, Task.kind == kind)

    recent = Appointment.end_dt > now - FOLLOW_UP_LOOKBACK
    no_shows = session.scalars(select(Appointment).where(
        Appointment.status == AppointmentStatus.NO_SHOW, recent, without_task(TaskKind.NO_SHOW))).all()
    unrecorded = session.scalars(select(Appointment).where(
        Appointment.status.in_(ACTIVE_APPOINTMENT_STATUSES), Appointment.end_dt <= now - FOLLOW_UP_AFTER,
        recent, without_task(TaskKind.ATTENDANCE_MISSING))).all()
    for appt in no_shows:
        session.add(Task(patient_id=appt.patient_id, appointment_id=appt.id, kind=TaskKind.NO_SHOW,
                         detail="Missed the session: call to rebook", created_at=now))
    for appt in unrecorded:
        session.add(Task(patient_id=appt.patient_id, appointment_id=appt.id, kind=TaskKind.ATTENDANCE_MISSING,
                         detail="No attendance recorded a day after the session", created_at=now))
    seats = group_no_show_tasks(session, now, now - FOLLOW_UP_LOOKBACK)
    session.commit()
    return len(no_shows) + len(unrecorded) + seats


def aftercare_followups(session: Session, now: datetime) -> dict[str, int]:
    """The aftercare follow-up tasks (aftercare.followups); a unique cause per task makes a
    concurrent or repeated pass harmless, so no turn-taking is needed."""
    from scheduler.aftercare import followups

    counts = followups.run(session, now)
    session.commit()
    return counts


def housekeeping(session: Session, now: datetime) -> dict[str, int]:
    """Forget old webhook signatures and early statuses, apply any left over; log (counts only)
    what went wrong in the last day and anything stuck."""
    from scheduler.webhooks import prune_signatures

    pruned = prune_signatures(session, now)
    session.commit()
    late = statuses.apply_early(session)  # kept for a send recorded by a worker that then crashed
    forgotten = statuses.forget_early(session, now)  # after applying: only those no send claimed
    session.commit()
    day_ago = now - timedelta(days=1)
    out = dict(session.execute(
        select(Message.status, func.count()).where(Message.direction == Direction.OUT, Message.created_at > day_ago,
                                                   Message.status.in_((MessageStatus.FAILED, MessageStatus.UNDELIVERED)))
        .group_by(Message.status)).all())
    for reason, count in session.execute(
            select(Message.skip_reason, func.count()).where(
                Message.direction == Direction.OUT, Message.status == MessageStatus.SKIPPED, Message.created_at > day_ago)
            .group_by(Message.skip_reason)).all():
        out[f"skipped_{reason}"] = count
    # Due for over ten minutes and still pending: no dispatcher is running, or it cannot keep up.
    out["overdue"] = session.scalar(select(func.count()).where(
        Message.direction == Direction.OUT, Message.status == MessageStatus.PENDING,
        Message.due_at < now - timedelta(minutes=10))) or 0
    session.rollback()
    out["signatures_pruned"] = pruned
    out["early_statuses_applied"], out["early_statuses_forgotten"] = late, forgotten
    level = logging.WARNING if out["overdue"] or out.get("failed") else logging.INFO
    log.log(level, "texts, last day: %s", " ".join(f"{k}={v}" for k, v in sorted(out.items())))
    return out


def _job(app: Flask, fn: Callable[[Session, datetime], object]) -> None:
    """Run fn(session, now) in its own app context, `now` by the database's clock (as dispatch's).

    A failure is logged by type only (no data).
    """
    with app.app_context():
        try:
            fn(db.session, database_now(db.session))
        except Exception as exc:  # the next run tries again; SQL errors may quote patient data
            db.session.rollback()
            log.error("job %s failed: %s", fn.__name__, type(exc).__name__)


def build_scheduler(app: Flask, stop: threading.Event,
                    worker: workers.Heartbeat | None = None) -> BlockingScheduler:
    """The worker's scheduler with its jobs; every job may run late or twice without harm."""
    backend = sms.make_backend(settings.of(app).sms)
    pacer = sending.Pacer(settings.of(app).sms_max_per_second)
    scheduler = BlockingScheduler(timezone=UTC)
    start = _now()
    # One run at a time per job; a backlog runs once; a late run still runs (grace None).
    every = {"trigger": "interval", "max_instances": 1, "coalesce": True, "misfire_grace_time": None}

    def add(name: str, func, args: tuple, first, **interval) -> None:
        scheduler.add_job(func, args=args, id=name, name=name, next_run_time=first, **every, **interval)

    add("dispatch", dispatch_job, (app, backend, pacer, stop, None, worker), start,
        seconds=settings.of(app).dispatch_interval_seconds)
    add("plan", _job, (app, plan), start, seconds=PLAN_EVERY.total_seconds())
    add("horizon", _job, (app, extend_horizon), start, hours=1)
    add("follow_up", _job, (app, no_show_followups), start + timedelta(seconds=30), minutes=15)
    add("aftercare_followups", _job, (app, aftercare_followups), start + timedelta(seconds=45), minutes=15)
    add("housekeeping", _job, (app, housekeeping), start + timedelta(minutes=1), hours=1)
    return scheduler


def run_worker(app: Flask) -> None:
    """Run the jobs until SIGTERM or SIGINT; the dispatch in progress hands back unsent rows."""
    stop = threading.Event()
    with app.app_context():
        engine = db.engine
    # The heartbeat outlives every dispatch run: a kill stops it, and others take over in seconds.
    worker = workers.Heartbeat(engine).start()
    scheduler = build_scheduler(app, stop, worker)

    def shut_down(signum, _frame):
        log.info("worker: signal %s, stopping", signum)
        stop.set()
        if scheduler.running:
            scheduler.shutdown(wait=False)  # the running job ends at its next row; exit joins it

    signal.signal(signal.SIGTERM, shut_down)
    signal.signal(signal.SIGINT, shut_down)
    # APScheduler logs every run at INFO (every few seconds); failures still show.
    logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
    log.info("worker: started")
    log.info("worker: id %s", worker.id)
    try:
        scheduler.start()
    finally:
        worker.stop()
    log.info("worker: stopped")
