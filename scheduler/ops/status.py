"""Is the clinic's texting alive? The database, the workers' heartbeats and the texts that are due.

`health` is for a load balancer: one cheap query, and nothing about workers (a worker outage
must not take the web out of rotation). `status` is for a person or a monitor: it reads the
`workers` heartbeats and the outbox, and calls the texting stalled when no worker has beaten for
a minute while texts are due (sending has stopped, and patients are missing reminders).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from scheduler.models import Message, MessageStatus, Worker

STALLED_AFTER = timedelta(minutes=1)
# A text still to go: waiting, or claimed by a worker that may have died with it.
TO_GO = (MessageStatus.PENDING, MessageStatus.SENDING)


def health(session: Session) -> tuple[dict, bool]:
    """({"database": "ok"}, True), or what failed and False; never raises."""
    try:
        session.execute(text("SELECT 1"))
        return {"database": "ok"}, True
    except Exception as exc:  # any failure to reach the database: the balancer takes us out
        session.rollback()
        return {"database": f"unreachable ({type(exc).__name__})"}, False


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def status(session: Session, now: datetime) -> dict:
    """Workers alive (beaten within a minute) and their oldest heartbeat; texts due and the oldest due."""
    alive_since = now - STALLED_AFTER
    workers, oldest_beat, newest_beat = session.execute(
        select(func.count(), func.min(Worker.heartbeat_at), func.max(Worker.heartbeat_at))
        .where(Worker.heartbeat_at >= alive_since)).one()
    due, oldest_due = session.execute(
        select(func.count(), func.min(Message.due_at))
        .where(Message.status.in_(TO_GO), Message.due_at <= now)).one()
    stalled = bool(due) and not workers
    return {
        "database": "ok",
        "workers_alive": workers,
        "oldest_heartbeat_at": _iso(oldest_beat),
        "newest_heartbeat_at": _iso(newest_beat),
        "texts_due": due,
        "oldest_due_at": _iso(oldest_due),
        "stalled": stalled,
        "checked_at": now.isoformat(),
    }


def describe(report: dict) -> list[str]:
    """The status as lines a person reads (no patient data: counts and times only)."""
    lines = [f"database: {report['database']}",
             f"workers alive: {report['workers_alive']}"
             + (f" (oldest heartbeat {report['oldest_heartbeat_at']})" if report["workers_alive"] else "")]
    lines.append(f"texts due: {report['texts_due']}"
                 + (f" (oldest due {report['oldest_due_at']})" if report["texts_due"] else ""))
    if report["stalled"]:
        lines.append("STALLED: texts are due and no worker has beaten for a minute; "
                     "start one with `flask --app wsgi worker`")
    return lines
