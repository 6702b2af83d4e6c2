"""Dispatcher heartbeats: a live worker takes over a dead one's claimed texts within seconds.

Each dispatcher (a `worker` process, or one `reminders dispatch` pass) has a row in `workers`
that a thread refreshes every HEARTBEAT_EVERY; its claims name it (messages.claimed_by). A claim
whose worker has not beaten for DEAD_AFTER may be taken over, as an uncertain row (looked up at
Twilio before any resend), long before the claim's lease runs out. A worker that cannot beat
stops sending before others may take its rows: alive() turns false with margin to spare.
Heartbeats and the takeover test read the database server's clock (core.db.database_now), not
this machine's: workers whose clocks differ still agree on who is alive.
"""
from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, update
from sqlalchemy.orm import Session

from scheduler.core.db import database_now
from scheduler.models import Message, Worker

log = logging.getLogger(__name__)

HEARTBEAT_EVERY = 1.5  # seconds
DEAD_AFTER = timedelta(seconds=10)
# A worker sends only while its last successful beat is this recent: well inside DEAD_AFTER,
# so it has stopped sending before anyone may consider it dead.
SEND_WITHIN = DEAD_AFTER.total_seconds() - 3 * HEARTBEAT_EVERY
FORGET_AFTER = timedelta(days=1)


def taken_over(db_now: datetime):
    """SQL: the row's claim belongs to a worker that stopped beating (rows with no owner: never).

    `db_now` is the database's clock (database_now), the clock heartbeats are written with.
    """
    cutoff = db_now - DEAD_AFTER
    live = exists().where(Worker.id == Message.claimed_by, Worker.heartbeat_at >= cutoff)
    return Message.claimed_by.is_not(None) & ~live


class Heartbeat:
    """This process's worker row, refreshed from a thread; a context manager."""

    def __init__(self, engine, every: float = HEARTBEAT_EVERY):
        self.engine, self.every = engine, every
        self.id = f"{socket.gethostname()[:40]}-{os.getpid()}-{secrets.token_hex(4)}"
        self._last_ok = float("-inf")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def alive(self) -> bool:
        """True while this worker's heartbeat is fresh enough for it to keep sending."""
        return time.monotonic() - self._last_ok < SEND_WITHIN

    def beat(self) -> None:
        """Write the heartbeat now (insert the row the first time); forget long-dead workers."""
        started = time.monotonic()
        with Session(self.engine) as session:
            now = database_now(session)
            found = session.execute(update(Worker).where(Worker.id == self.id).values(heartbeat_at=now)
                                    .execution_options(synchronize_session=False)).rowcount
            if not found:
                session.add(Worker(id=self.id, started_at=now, heartbeat_at=now))
                session.execute(delete(Worker).where(Worker.heartbeat_at < now - FORGET_AFTER))
            session.commit()
        self._last_ok = started

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.beat()
            except Exception as exc:  # the database may be briefly away; alive() tells the senders
                log.warning("worker heartbeat failed (%s)", type(exc).__name__)

    def start(self) -> Heartbeat:
        self.beat()
        self._thread = threading.Thread(target=self._run, name="worker-heartbeat", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop beating and remove the row (claims still held are then taken over at once)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            with Session(self.engine) as session:
                session.execute(delete(Worker).where(Worker.id == self.id))
                session.commit()
        except Exception as exc:
            log.warning("worker row not removed (%s)", type(exc).__name__)
